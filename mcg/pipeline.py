"""The MCG / SCG pipeline: image -> contours -> oriented watershed -> globalization -> UCM.

``scg`` runs one scale (the image as it is); ``mcg`` runs three scales (:data:`SCALES`: 2, 1
and 0.5 as the MCG release, or 1.5, 0.75 and 0.5 with the ``fast`` preset), resamples each
hierarchy to the image size, aligns them onto the finest superpixels and combines them
(see :mod:`grouping.multiscale`).

The contours of each scale come from :func:`contours.detect_edges` with the settings of an
*edge preset* (:data:`EDGE_PRESETS`):

* ``"accurate"`` (default of :func:`im2ucm`): as the MCG release, whose structured forest
  averages the edges of the image at 0.5, 1 and 2 without sharpening, at scales 1 and 0.5;
  the (already upsampled) scale-2 image keeps single-scale sharpened edges (averaging there
  would detect edges on an image 4x the input's size; sharpened scored better on BSDS500 val
  than unsharpened, see docs/experiments.md).
* ``"fast"``: single-scale sharpened edges at every scale (0.2-0.4 s less per 481x321
  image), and in ``mcg`` mode the scales 1.5, 0.75 and 0.5 instead of 2, 1 and 0.5, with a
  smaller bound on the DNCuts reduced graph (:data:`DNCUTS_MAX_REDUCED_NODES`: a third DNCuts
  level at scale 1.5 of a COCO image), each measured on held-out proposals (docs/speed.md).
  The candidate stage (:func:`mcg.proposals.im2mcg`) uses it: its models were trained on
  these hierarchies.
"""
from __future__ import annotations

import functools
import json
import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from contours import detect_edges
from contours.detect import check_image, check_threads, load_model
from grouping.hierarchy import MergeTree
from grouping.multiscale import (SIGMOID_SLOPE, SIGMOID_THRESHOLD, calibrated_hierarchy,
                                 multiscale_hierarchy)
from grouping.owt import oriented_watershed
from grouping.resample import resample_tree
from grouping.ucm import ucm_mean_pb
from ncuts.spectral import MAX_REDUCED_NODES, SpectralBasis, globalize

MODES = ("scg", "mcg")
#: Image scales per edge preset and mode, finest first (the MCG release's order). ``accurate``
#: keeps the release's 2, 1 and 0.5; ``fast`` (the proposals') runs 1.5, 0.75 and 0.5.
SCALES = {
    "accurate": {"scg": (1.0,), "mcg": (2.0, 1.0, 0.5)},
    "fast": {"scg": (1.0,), "mcg": (1.5, 0.75, 0.5)},
}
#: Bound on the nodes of the DNCuts reduced graph per edge preset and mode
#: (:func:`ncuts.globalize`'s ``max_reduced_nodes``: a level is added while the reduced grid is
#: larger). ``fast`` MCG: 30,000, so that scale 1.5 of a COCO image (960x720 or 960x640 pixels)
#: gets a third level (120x90 or 120x80 nodes) while its scales 0.75 and 0.5 keep two.
DNCUTS_MAX_REDUCED_NODES = {
    "accurate": {"scg": MAX_REDUCED_NODES, "mcg": MAX_REDUCED_NODES},
    "fast": {"scg": MAX_REDUCED_NODES, "mcg": 30_000},
}
#: Images smaller than this (either side) get a one-region hierarchy, as the MCG release.
MIN_SIDE = 15
#: Default refusal limit for ``mcg`` mode (pixels of the input image); scale 2 (``accurate``)
#: quadruples it.
MCG_MAX_PIXELS = 2_500_000


@dataclass(frozen=True)
class EdgeSettings:
    """How the contours of one scale are detected (see :func:`contours.detect_edges`)."""

    multiscale: bool
    sharpen: int


_SINGLE = EdgeSettings(multiscale=False, sharpen=2)
_AVERAGED = EdgeSettings(multiscale=True, sharpen=0)
#: Edge settings per preset and mode, one per scale of :data:`SCALES` (same order).
EDGE_PRESETS = {
    "accurate": {"scg": (_AVERAGED,), "mcg": (_SINGLE, _AVERAGED, _AVERAGED)},
    "fast": {"scg": (_SINGLE,), "mcg": (_SINGLE, _SINGLE, _SINGLE)},
}
DEFAULT_EDGES = "accurate"
#: Scales whose globalization solves no eigenproblem of its own, per edge preset: the
#: eigenvectors of the scale half their size are brought to them by one DNCuts upsampling step
#: on their own affinity (:func:`ncuts.globalize` with ``coarse``). Empty in both presets: tried
#: with ``fast`` edges for a finest scale of 2 (from scale 1) and of 1.5 (from 0.75), it saved
#: about a fifth and a sixth of an MCG image's time but, with the candidate models retrained,
#: lost more than 0.005 of held-out ABO or box recall (docs/speed.md).
HALF_SCALE_EIGENVECTORS = {"accurate": (), "fast": ()}


def preset_key(mode: str, edges: str) -> str:
    """Name of the models fit on ``mode`` hierarchies of an edge preset (calibration entries,
    candidate model files): ``"scg"`` / ``"mcg"`` for ``fast`` (the first shipped models),
    else ``"<mode>_<edges>"``."""
    return mode if check_edge_preset(edges) == "fast" else f"{mode}_{edges}"


def hierarchy_configuration(mode: str, edges: str) -> dict:
    """The settings of a mode's hierarchies that candidate models are fit to.

    ``mcg train proposals`` records them with the models (``training.json``), and a model
    folder whose record differs is refused (:func:`mcg.proposals.load_candidate_models`).

    Parameters
    ----------
    mode : {"scg", "mcg"}
    edges : {"accurate", "fast"}

    Returns
    -------
    dict
        ``scales`` (list of float, :data:`SCALES`) and ``dncuts_max_reduced_nodes`` (int,
        :data:`DNCUTS_MAX_REDUCED_NODES`).
    """
    edges = check_edge_preset(edges)
    return {"scales": [float(scale) for scale in SCALES[edges][mode]],
            "dncuts_max_reduced_nodes": int(DNCUTS_MAX_REDUCED_NODES[edges][mode])}


def check_edge_preset(edges: str) -> str:
    """Return ``edges`` if it names an :data:`EDGE_PRESETS` entry, else raise ValueError."""
    if edges not in EDGE_PRESETS:
        raise ValueError(f"edges must be one of {tuple(EDGE_PRESETS)}, got {edges!r}")
    return edges


@dataclass
class UcmResult:
    """Hierarchy of an image with the per-scale hierarchies and stage timings.

    Attributes
    ----------
    tree : MergeTree
        The final hierarchy at the image resolution (the combined one in ``mcg`` mode).
    scale_trees : dict of float -> MergeTree
        The hierarchy of each scale, resampled to the image resolution.
    aligned_trees : dict of float -> MergeTree
        The per-scale hierarchies aligned onto the finest superpixels (``mcg`` mode; in
        ``scg`` mode the single tree itself); with ``tree`` these are the hierarchies the
        candidate stage uses.
    times : dict of str -> float
        Seconds per stage (``edges``, ``owt``, ``globalization``, ``ucm``, ``resample``,
        ``align_combine``), summed over scales.
    """

    tree: MergeTree
    scale_trees: dict = field(default_factory=dict)
    aligned_trees: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)


def _as_rgb_uint8(image) -> np.ndarray:
    image = check_image(image)
    if image.ndim == 2:
        image = image[:, :, None]
    image = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[:, :, :3]
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    if image.dtype == np.uint16:
        return (image.astype(np.float64) / 257.0).round().astype(np.uint8)
    return (image * 255.0).round().astype(np.uint8)


def _flat_tree(shape) -> MergeTree:
    leaves = np.zeros(shape, dtype=np.int32)
    return MergeTree(leaves, np.zeros((0, 2), np.int32), np.zeros(0, np.float64))


def _add_time(times: dict, key: str, seconds: float) -> None:
    times[key] = times.get(key, 0.0) + seconds


def single_scale_tree(image: np.ndarray, *, solver: str = "dncuts", edge_model=None,
                      edge_nms: bool = False, edge_settings: EdgeSettings = _SINGLE,
                      times: dict | None = None, threads: int = 1,
                      max_reduced_nodes: int = MAX_REDUCED_NODES) -> MergeTree:
    """Hierarchy of one image at its own resolution (one SCG scale).

    Parameters
    ----------
    image : ndarray, (H, W, 3) uint8 RGB
    solver : {"dncuts", "exact"}
        Eigen-solver of the globalization step.
    edge_model : EdgeForest, path or None
        Structured edge forest (``None``: the shipped model).
    edge_nms : bool
        Thin the contours before the watershed (the MCG release uses the soft map).
    edge_settings : EdgeSettings
        Multiscale averaging and sharpening of the edges (default: single scale, sharpen 2).
    times : dict, optional
        Stage timings are added to it.
    threads : int
        Threads of the edge detection (bands of rows, :func:`contours.detect_edges`).
    max_reduced_nodes : int
        DNCuts bound on the reduced graph (:func:`ncuts.globalize`; a preset's scales use
        :data:`DNCUTS_MAX_REDUCED_NODES`).

    Returns
    -------
    MergeTree
        Leaves at (H, W).
    """
    return _scale_hierarchy(image, solver=solver, edge_model=edge_model, edge_nms=edge_nms,
                            edge_settings=edge_settings, times=times, threads=threads,
                            max_reduced_nodes=max_reduced_nodes)[0]


def _scale_hierarchy(image: np.ndarray, *, solver: str, edge_model, edge_settings: EdgeSettings,
                     times: dict | None, threads: int, edge_nms: bool = False,
                     coarse=None, keep_basis: bool = False,
                     max_reduced_nodes: int = MAX_REDUCED_NODES,
                     ) -> tuple[MergeTree, SpectralBasis | None]:
    """:func:`single_scale_tree` and, with ``keep_basis``, its spectral basis (else, and for a
    one-region tree, ``None``). ``coarse``: ``None`` or a function returning the basis of the
    image at half this size (or ``None``), called once the contours are detected.
    ``max_reduced_nodes``: the DNCuts bound (:func:`ncuts.globalize`)."""
    times = {} if times is None else times
    if min(image.shape[:2]) < MIN_SIDE:
        return _flat_tree(image.shape[:2]), None
    t0 = time.perf_counter()
    edges, orientation = detect_edges(image, model=edge_model, nms=edge_nms,
                                      multiscale=edge_settings.multiscale,
                                      sharpen=edge_settings.sharpen, threads=threads)
    _add_time(times, "edges", time.perf_counter() - t0)
    return _contour_hierarchy(edges, orientation, solver=solver, times=times, coarse=coarse,
                              keep_basis=keep_basis, max_reduced_nodes=max_reduced_nodes)


def tree_from_contours(edges: np.ndarray, orientation: np.ndarray, *, solver: str = "dncuts",
                       times: dict | None = None) -> MergeTree:
    """Hierarchy from a contour map: oriented watershed, globalization, UCM by mean boundary.

    Parameters
    ----------
    edges : ndarray, (H, W) float32 in [0, 1]
        Soft contour map.
    orientation : ndarray, (H, W) float32 in [0, pi)
        Edge-normal orientation (:func:`contours.detect_edges` convention).
    solver : {"dncuts", "exact"}
        Eigen-solver of the globalization step.
    times : dict, optional
        Stage timings (``owt``, ``globalization``, ``ucm``) are added to it.

    Returns
    -------
    MergeTree
        Leaves at (H, W) (not calibrated: heights are mean boundary strengths).
    """
    return _contour_hierarchy(edges, orientation, solver=solver, times=times)[0]


def _contour_hierarchy(edges: np.ndarray, orientation: np.ndarray, *, solver: str,
                       times: dict | None, coarse=None, keep_basis: bool = False,
                       max_reduced_nodes: int = MAX_REDUCED_NODES,
                       ) -> tuple[MergeTree, SpectralBasis | None]:
    """:func:`tree_from_contours` and, with ``keep_basis``, its spectral basis (else ``None``);
    ``coarse`` as in :func:`_scale_hierarchy` (a basis that does not fit this size is not
    used)."""
    times = {} if times is None else times
    t1 = time.perf_counter()
    owt2, superpixels = oriented_watershed(edges, orientation)
    t2 = time.perf_counter()
    basis = coarse() if coarse is not None else None
    t2b = time.perf_counter()
    if basis is not None and tuple(basis.shape) != (edges.shape[0] // 2, edges.shape[1] // 2):
        basis = None
    # the details (with the whole spectral map) only when the basis is kept for another scale
    kept = None
    if keep_basis:
        globalized, details = globalize(owt2, solver=solver, coarse=basis, return_details=True,
                                        max_reduced_nodes=max_reduced_nodes)
        kept = details["basis"]
    else:
        globalized = globalize(owt2, solver=solver, coarse=basis,
                               max_reduced_nodes=max_reduced_nodes)
    t3 = time.perf_counter()
    tree = ucm_mean_pb(globalized, superpixels)
    t4 = time.perf_counter()
    _add_time(times, "owt", t2 - t1)
    _add_time(times, "globalization", t3 - t2b)
    _add_time(times, "ucm", t4 - t3)
    return tree, kept


def _resize_image(image: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    return cv2.resize(image, size, interpolation=cv2.INTER_LANCZOS4)


def per_scale_trees(rgb: np.ndarray, mode: str, *, solver: str = "dncuts", edge_model=None,
                    edges: str = DEFAULT_EDGES, times: dict | None = None,
                    threads: int = 1) -> dict:
    """The hierarchy of every scale of a mode, resampled to the image size (before alignment).

    Parameters
    ----------
    rgb : ndarray, (H, W, 3) uint8 RGB
    mode : {"scg", "mcg"}
    solver, edge_model, edges : see :func:`im2ucm`.
    times : dict, optional
        Stage timings are added to it (summed over the scales).
    threads : int
        Scales computed at the same time, each in its own thread (the kernels release the
        GIL), the largest scale first; the edges of each scale are also detected in this many
        bands of rows at once. The trees do not depend on it.

    Returns
    -------
    dict of float -> MergeTree
        Keyed by scale in :data:`SCALES` order (finest first), leaves at (H, W).
    """
    height, width = rgb.shape[:2]
    times = {} if times is None else times
    settings = EDGE_PRESETS[check_edge_preset(edges)][mode]
    reusing = set(HALF_SCALE_EIGENVECTORS[edges]) if solver == "dncuts" else set()
    model = load_model(edge_model)  # loaded once, before any thread starts
    jobs = list(zip(SCALES[edges][mode], settings))
    max_reduced_nodes = DNCUTS_MAX_REDUCED_NODES[edges][mode]
    scales = [scale for scale, _ in jobs]
    # a scale reuses the basis of the scale half its size when the mode has that scale
    coarse_scale = {scale: scale / 2 for scale in scales if scale in reusing and scale / 2 in scales}
    results: dict = {}

    def one_scale(scale: float, edge_settings: EdgeSettings) -> tuple[MergeTree, dict, object]:
        scale_times: dict = {}
        coarse = None
        if scale in coarse_scale:
            def coarse():
                return results[coarse_scale[scale]]()[2]
        tree, basis = _scale_hierarchy(_resize_image(rgb, scale), solver=solver, edge_model=model,
                                       edge_settings=edge_settings, times=scale_times,
                                       threads=threads, coarse=coarse,
                                       keep_basis=scale in coarse_scale.values(),
                                       max_reduced_nodes=max_reduced_nodes)
        if tree.shape != (height, width):
            t0 = time.perf_counter()
            tree = resample_tree(tree, (height, width))
            _add_time(scale_times, "resample", time.perf_counter() - t0)
        return tree, scale_times, basis

    # one thread: smallest scale first, so a scale comes after the one whose basis it reuses
    order = sorted(jobs, key=lambda job: job[0])
    if threads > 1 and len(jobs) > 1:
        from concurrent.futures import ThreadPoolExecutor

        # the largest scale first; a scale waiting for another one's basis could wait for a
        # scale still queued behind it, so then every scale gets its own thread
        largest_first = sorted(jobs, key=lambda job: -job[0])
        submitted = threading.Event()
        with ThreadPoolExecutor(len(jobs) if coarse_scale else min(threads, len(jobs))) as pool:
            for scale, edge_settings in largest_first:
                future = pool.submit(one_scale, scale, edge_settings)
                results[scale] = functools.partial(_after, submitted, future.result)
            submitted.set()
            outputs = {scale: results[scale]() for scale in scales}
    else:
        outputs = {}
        for scale, edge_settings in order:
            outputs[scale] = one_scale(scale, edge_settings)
            results[scale] = functools.partial(outputs.__getitem__, scale)
    trees = {}
    for scale in scales:
        tree, scale_times, _ = outputs[scale]
        trees[scale] = tree
        for key, seconds in scale_times.items():
            _add_time(times, key, seconds)
    return trees


def _after(event, function):
    event.wait()
    return function()


#: Folder of the shipped model files, and the file of the final hierarchy's calibration
#: (combination weights and sigmoid per mode and edge preset, fit by :mod:`mcg.calibration`).
MODELS_DIR = Path(__file__).resolve().parent / "models"
CALIBRATION_FILE = "calibration.json"
#: The MCG release's values (uniform weights, sigmoid 0.35 / 8), used when no file is shipped.
RELEASE_CALIBRATION = {"weights": None, "sigmoid_thr": SIGMOID_THRESHOLD,
                       "sigmoid_slope": SIGMOID_SLOPE}


def read_calibration(path, key: str) -> dict:
    """One entry of a calibration file (``calibration.json``, written by ``mcg train calibration``).

    Parameters
    ----------
    path : str or Path
        The JSON file.
    key : str
        Entry name, :func:`preset_key` of the mode and edge preset (``"scg"``, ``"mcg"``,
        ``"scg_accurate"``, ...).

    Returns
    -------
    dict
        ``weights`` (list of floats for scales finest first, or None = uniform),
        ``sigmoid_thr`` and ``sigmoid_slope`` (floats).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is not a calibration file or has no ``key`` entry (the message lists the entries).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"calibration file not found: {path}")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a calibration file: {error}") from None
    if not isinstance(record, dict) or key not in record:
        entries = ", ".join(sorted(record)) if isinstance(record, dict) else "none"
        raise ValueError(f"{path} has no {key!r} calibration (entries: {entries}); fit it with "
                         f"`mcg train calibration`")
    entry = record[key]
    try:
        return {"weights": entry["weights"], "sigmoid_thr": float(entry["sigmoid_thr"]),
                "sigmoid_slope": float(entry["sigmoid_slope"])}
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: the {key!r} calibration is incomplete ({error})") from None


def load_calibration(mode: str, models_dir=None) -> dict:
    """Weights and sigmoid parameters of a mode's final hierarchy, with the release's as fallback.

    Parameters
    ----------
    mode : str
        Entry name, :func:`preset_key` (``"scg"``, ``"mcg"``, ``"scg_accurate"``, ...).
    models_dir : folder of ``calibration.json`` (default: the shipped ``mcg/models``).

    Returns
    -------
    dict
        As :func:`read_calibration`; the release's values, with a warning, when the file or
        the mode's entry is missing or unreadable.
    """
    path = Path(models_dir or MODELS_DIR) / CALIBRATION_FILE
    try:
        return read_calibration(path, mode)
    except (FileNotFoundError, ValueError) as error:
        warnings.warn(f"{error}; using the release's uniform weights and sigmoid (0.35, 8)",
                      stacklevel=2)
        return dict(RELEASE_CALIBRATION)


@functools.lru_cache(maxsize=None)
def _shipped_calibration(mode: str, edges: str) -> tuple:
    c = load_calibration(preset_key(mode, edges))
    weights = None if c["weights"] is None else tuple(c["weights"])
    return weights, c["sigmoid_thr"], c["sigmoid_slope"]


def im2ucm(image, mode: str = "scg", *, solver: str = "dncuts", edge_model=None,
           edges: str = DEFAULT_EDGES, max_pixels: int | None = MCG_MAX_PIXELS,
           return_details: bool = False, calibration=None, threads: int = 1):
    """Hierarchical segmentation (ultrametric contour map) of an image.

    Parameters
    ----------
    image : ndarray
        (H, W, 3) RGB, (H, W) grayscale or (H, W, 4) RGBA; uint8, uint16 or float in [0, 1].
    mode : {"scg", "mcg"}
        ``scg``: single scale. ``mcg``: three scales (:data:`SCALES`) aligned and combined.
    solver : {"dncuts", "exact"}
        Eigen-solver of the globalization.
    edge_model : EdgeForest, path or None
        Structured edge forest (``None``: the shipped model).
    edges : {"accurate", "fast"}
        Edge preset (module docstring, :data:`EDGE_PRESETS`): ``accurate`` averages the edges
        of three image sizes (the release's setting, better on BSDS500); ``fast`` detects
        them at one size (what the candidate stage uses).
    max_pixels : int or None
        ``mcg`` mode refuses images with more pixels than this (scale 2 of ``accurate`` needs
        about 4x the memory); ``None`` removes the limit.
    return_details : bool
        Return a :class:`UcmResult` (with per-scale trees and timings) instead of the tree.
    calibration : dict, str or Path, optional
        ``weights`` (per scale, finest first, or None = uniform), ``sigmoid_thr`` and
        ``sigmoid_slope`` of the final hierarchy, or a ``calibration.json`` written by ``mcg
        train calibration`` (its entry for this mode and edge preset, :func:`read_calibration`);
        default: the values fit on BSDS500 train and shipped in ``mcg/models/calibration.json``
        (:mod:`mcg.calibration`) for this mode and edge preset.
    threads : int
        Threads for one image (the result does not depend on it): the edges are detected in
        this many bands of rows at once and, in ``mcg`` mode, up to this many scales are
        computed at the same time; 2 or 3 use as many cores.

    Returns
    -------
    MergeTree or UcmResult
        The hierarchy; ``tree.to_ucm2()`` gives the (2H+1, 2W+1) float64 ucm2.

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> from mcg import im2ucm
    >>> tree = im2ucm(astronaut(), mode="scg")   # a MergeTree
    >>> tree.to_ucm2().shape                     # BSDS double-size form
    (1025, 1025)
    >>> regions = tree.segmentation_at(0.3)      # (512, 512) int32 labels at UCM level 0.3
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    check_edge_preset(edges)
    rgb = _as_rgb_uint8(image)
    height, width = rgb.shape[:2]
    if mode == "mcg" and max_pixels is not None and height * width > max_pixels:
        raise ValueError(
            f"image of {height}x{width} = {height * width} pixels exceeds the mcg-mode limit of "
            f"{max_pixels} pixels (the finest scale needs 2-4x the memory); use mode='scg', "
            f"downscale the image, or pass max_pixels=None (CLI: --max-pixels 0) to override"
        )
    times: dict = {}
    check_threads(threads)
    scale_trees = per_scale_trees(rgb, mode, solver=solver, edge_model=edge_model, edges=edges,
                                  times=times, threads=threads)
    # Both modes end as the release's img2ucms: (align,) combine, rebuild by mean boundary
    # strength and calibrate with the sigmoid (one scale: no alignment).
    if isinstance(calibration, (str, os.PathLike)):
        calibration = read_calibration(calibration, preset_key(mode, edges))
    if calibration is None:
        weights, sigmoid_thr, sigmoid_slope = _shipped_calibration(mode, edges)
    else:
        weights = calibration.get("weights")
        sigmoid_thr = calibration["sigmoid_thr"]
        sigmoid_slope = calibration["sigmoid_slope"]
    t0 = time.perf_counter()
    if len(scale_trees) == 1 and weights is None:
        # ucm_mean_pb's canonical tree over the OWT superpixels is its own mean-boundary
        # hierarchy: combining it alone only calibrates its heights (see calibrated_hierarchy)
        final = calibrated_hierarchy(next(iter(scale_trees.values())), sigmoid_thr,
                                     sigmoid_slope)
        aligned = dict(scale_trees)
    else:
        final, aligned = multiscale_hierarchy(scale_trees, weights=weights,
                                              sigmoid_thr=sigmoid_thr,
                                              sigmoid_slope=sigmoid_slope)
    _add_time(times, "align_combine", time.perf_counter() - t0)
    if return_details:
        return UcmResult(tree=final, scale_trees=scale_trees, aligned_trees=aligned, times=times)
    return final
