"""MCG: Multiscale Combinatorial Grouping in Python.

Contours, hierarchies of regions (ultrametric contour maps) and ranked object proposals of an
RGB image, and the benchmarks that judge them. The whole public API is importable from here;
each name is loaded on first use, so ``import mcg`` itself is cheap and changes nothing in the
process.

============================  ===========================================================
``read_image(path)``          (H, W, 3) uint8 RGB image from a file or URL
``detect_edges(image)``       structured-forest contours and their orientation
``im2ucm(image, mode)``       hierarchy of regions (``MergeTree``), ``mode`` "scg" or "mcg"
``im2mcg(image, mode)``       ranked object proposals (``Proposals``)
``proposals_to_coco(...)``    COCO result entries (RLE masks) of proposals
``MergeTree``                 the hierarchy type (to/from BSDS ``ucm2``, segmentations)
``Proposals``                 the proposal type (masks on demand, boxes, scores)
``save_proposals`` /          the per-image ``.npz`` proposal file
``load_proposals``
``bsds_benchmark(results,     BSDS500 boundary and region benchmark of a folder of results
gt)``
``evaluate_proposals(...)``   proposal benchmark of one image; ``evaluate_dataset`` of a set
``train_proposals(...)``      candidate models on a COCO dataset (``im2mcg(models=...)``)
``train_edges(...)``          an edge forest on BSDS or COCO data (``edge_model=...``)
``train_calibration(...)``    the final hierarchy's calibration (``calibration=...``)
============================  ===========================================================

The lower layers (``contours``, ``ncuts``, ``grouping``, ``eval``) are usable on their own and
never import this package.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name -> module that defines it.
_SOURCES = {
    "read_image": "mcg.io",
    "detect_edges": "contours.detect",
    "im2ucm": "mcg.pipeline",
    "im2mcg": "mcg.proposals",
    "proposals_to_coco": "mcg.proposals",
    "MergeTree": "grouping.hierarchy",
    "Proposals": "grouping.proposal_format",
    "save_proposals": "grouping.proposal_format",
    "load_proposals": "grouping.proposal_format",
    "bsds_benchmark": "eval.bsds",
    "evaluate_proposals": "eval.proposals",
    "evaluate_dataset": "eval.proposals",
    "train_proposals": "mcg.proposal_training",
    "train_edges": "mcg.edge_training",
    "train_calibration": "mcg.calibration",
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str):
    """Load a public name from its module on first use (PEP 562)."""
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'mcg' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
