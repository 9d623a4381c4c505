"""Compiling the candidate stage's Numba kernels in a second process on a first run.

The first run after an install compiles every Numba kernel (``cache=True`` keeps them for later
runs). While one process detects the edges of an image (the first kernels it needs),
:func:`start_warmup` compiles, in another process and in the order the first one will need them,
the kernels of the oriented watershed and of the candidate stage, on small
synthetic inputs of the same types, and writes them to Numba's cache; the first process then
loads them instead of compiling them. Nothing computed in the second process is kept, and the
results do not depend on it.
"""
from __future__ import annotations

import multiprocessing

__all__ = ["synthetic_hierarchy", "compile_kernels", "start_warmup"]


def synthetic_hierarchy(rows: int = 6, columns: int = 8, block: int = 6):
    """A small hierarchy of a grid of square regions, merged in a varied order.

    Parameters
    ----------
    rows, columns : int
        Grid of leaf regions.
    block : int
        Side of each leaf region in pixels.

    Returns
    -------
    grouping.hierarchy.MergeTree
        Leaves of shape ``(rows * block, columns * block)``; each merge joins two regions
        that touch.
    """
    import numpy as np

    from grouping.hierarchy import MergeTree

    n = rows * columns
    labels = np.arange(n, dtype=np.int32).reshape(rows, columns)
    leaves = np.kron(labels, np.ones((block, block), np.int32))
    region = list(range(n))  # current region of each leaf
    merges, heights = [], []
    rng = np.random.default_rng(0)
    pairs = [(labels[r, c], labels[r, c + 1]) for r in range(rows) for c in range(columns - 1)]
    pairs += [(labels[r, c], labels[r + 1, c]) for r in range(rows - 1) for c in range(columns)]
    for index in rng.permutation(len(pairs)):
        a, b = pairs[index]
        ra, rb = region[a], region[b]
        if ra == rb:
            continue
        new = n + len(merges)
        merges.append((ra, rb))
        heights.append(0.05 + 0.9 * len(merges) / (n - 1))
        region = [new if r in (ra, rb) else r for r in region]
    return MergeTree(leaves, np.array(merges), np.array(heights))


def compile_kernels(mode: str) -> None:
    """Run the oriented watershed and the candidate stage of ``mode`` once on synthetic inputs.

    The two take about as long to compile as what the main process compiles meanwhile (the
    edges, the globalization, the UCM, the alignment).

    Parameters
    ----------
    mode : {"mcg", "scg"}
        ``mcg`` gives the candidate stage four hierarchies, as :func:`mcg.proposals.im2mcg` does.
    """
    import numpy as np

    from grouping.candidates import default_n_cands
    from grouping.owt import oriented_watershed
    from grouping.ranking import proposals_from_trees
    from mcg.proposals import load_candidate_models

    rng = np.random.default_rng(0)
    edges = rng.random((40, 48), dtype=np.float32)
    orientation = (rng.random((40, 48), dtype=np.float32) * np.float32(np.pi)).astype(np.float32)
    oriented_watershed(edges, orientation)
    _, ranker = load_candidate_models(mode)
    trees = [synthetic_hierarchy()] * (4 if mode == "mcg" else 1)
    proposals_from_trees(trees, model=ranker, n_cands=default_n_cands(len(trees), total=400))


def start_warmup(mode: str):
    """Compile the later stages' kernels in a background process (see module docstring).

    Parameters
    ----------
    mode : {"mcg", "scg"}

    Returns
    -------
    multiprocessing.Process
        Started, a daemon (it ends with this process at the latest); ``join`` it or let it be.
    """
    process = multiprocessing.get_context("spawn").Process(
        target=compile_kernels, args=(mode,), daemon=True, name="mcg-warmup")
    process.start()
    return process
