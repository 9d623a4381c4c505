"""Multiscale hierarchy: alignment of per-scale hierarchies and their combination (MCG).

Follows section 3.2 / 4 and Algorithm 2 of the MCG paper (Pont-Tuset et al., TPAMI 2016,
arXiv 1503.00848) and the conventions of its public release (``img2ucms``:
``project_ucms_wrap`` then ``ucms2multi``).

Inputs are per-scale hierarchies (:class:`~grouping.hierarchy.MergeTree`) already resampled
to the original image resolution, ordered from the **finest** scale (largest image scale,
e.g. 2) to the coarsest (e.g. 0.5) -- the release's ``scales = [2, 1, 0.5]`` order.

Alignment (paper Alg. 2, release ``project_ucms_wrap``)
-------------------------------------------------------
* Target segmentations. For scale ``i`` the "finest superpixels" are the partition of its own
  hierarchy at the align threshold, ``S_i = trees[i].segmentation_at(align_thr)`` (release:
  ``bwlabel(ucm2 <= 0.1)``). The hierarchy of scale ``i >= 1`` is aligned onto the chain of
  targets ``S_{i-1}, S_{i-2}, ..., S_0``; ``S_0`` (from the finest scale) is the *reference*:
  every aligned boundary lies on a boundary of ``S_0``. The finest hierarchy itself is not
  projected (its aligned UCM is its own UCM).
* Projection by majority label (paper eq. 1): a segmentation ``R`` projected onto a target
  region ``S_j`` takes the label ``argmax_i |S_j & R_i|``; ties go to the smallest label
  (for tree regions: the smallest region id).
* Composition (paper eq. 2): the target chain is pre-computed once, ``pi(S_{i-1}, S_{i-2})``,
  ``pi(pi(S_{i-1}, S_{i-2}), S_{i-3})``, ... giving for every reference superpixel the id of
  a region of the first target ``S_{i-1}`` (:func:`compose_targets`); each sampled level of
  the hierarchy is projected onto ``S_{i-1}`` only and read through that look-up table.
  The release instead re-projects step by step (the map aligned on ``S_{i-1}`` is read back
  as a hierarchy, re-sampled at 100 levels and projected onto ``S_{i-2}``, ...); this is
  available as ``composition="reproject"``. Majority ties: the release takes the first
  label in MATLAB's column-major ``bwlabel`` numbering, we take the smallest region id.
* Sampled levels: ``K = n_levels = 100`` thresholds ``t_k = k * max_height / K``,
  ``k = 1..K`` (release: ``linspace(mx/100, mx, 100)``); level ``k`` is the partition
  ``segmentation_at(t_k)``. Alternatively ``levels="all"`` uses every distinct merge height
  (no quantization; see :func:`level_schedule`).
* Projection of a level onto ``S_{i-1}`` uses a pre-computed overlap table between the target
  regions and the *leaves* of the hierarchy: the overlap with a region at any level is the sum
  over its leaves (nested levels reuse the same table), Numba kernel over all levels.
* Aligned UCM: the strength of a boundary between two reference superpixels is the largest
  level value at which the two carry different projected labels (release:
  ``ucm_sp = max(ucm_sp, t * bdry)``), written on every boundary element between them.

Combination (release ``ucms2multi``)
------------------------------------
``ucm2_wt = sum_i w_i * aligned_ucm2_i`` with weights normalized to sum 1 (uniform by
default); the leaves are the connected components of zero elements of ``ucm2_wt`` (= the
leaves of the finest hierarchy after alignment); the hierarchy is rebuilt by greedy merging
in order of mean boundary strength (:func:`grouping.ucm.ucm_mean_pb`), and the merge heights
are calibrated by the sigmoid ``1 / (1 + exp(-slope * (h - thr)))`` (thr 0.35, slope 8;
heights equal to 0 stay 0, as the release keeps ``ucm2 == 0`` at 0). The sigmoid is
monotonic, so it changes only the heights, never the merge order.

Ablations (paper section 4, "two degraded versions")
----------------------------------------------------
* ``alignment="none"``: the resampled per-scale UCMs are combined directly (no projection;
  the combined leaves are the intersection of all leaf partitions). This is the paper's
  "transformed per-scale UCMs to the original resolution, but omitted the strength transfer
  to the finest superpixels".
* ``alignment="next_finer"``: each coarser hierarchy is projected onto the superpixels of the
  next finer scale only (``S_{i-1}``), without transferring it down the chain to the finest
  superpixels ``S_0``; boundaries of different scales are then only partly aligned.
* Resizing contours instead of aligning hierarchies: :func:`combine_contour_maps` resizes the
  per-scale contour maps to the original resolution and averages them; the pipeline then
  builds a single OWT-UCM from the result.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numba import njit

from grouping.codes import unique_counts
from grouping.hierarchy import (
    MergeTree,
    leaf_adjacency,
    leaves_from_ucm2,
    ucm2_vertices_from_elements,
)
from grouping.ucm import ucm_mean_pb

__all__ = [
    "ALIGN_THRESHOLD",
    "N_LEVELS",
    "SIGMOID_THRESHOLD",
    "SIGMOID_SLOPE",
    "ALIGNMENT_MODES",
    "majority_projection",
    "compose_targets",
    "level_schedule",
    "project_levels",
    "align_hierarchy",
    "align_hierarchies",
    "combine_ucm2s",
    "sigmoid_calibration",
    "calibrated_hierarchy",
    "multiscale_hierarchy",
    "combine_contour_maps",
]

ALIGN_THRESHOLD = 0.1
N_LEVELS = 100
SIGMOID_THRESHOLD = 0.35
SIGMOID_SLOPE = 8.0
ALIGNMENT_MODES = ("finest", "next_finer", "none")


# ----------------------------------------------------------------------------------------
# Numba kernels
# ----------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _majority_levels(parent, n_leaves, n_applied, ov_start, ov_leaf, ov_cnt):
    """Majority region of every target region at every level of a merge tree.

    parent: (2L-1,) int64 parent ids (-1 for the root); n_applied: (K,) int64 number of
    merges applied at each level; ov_start: (T+1,) int64 run starts of the overlap table
    (sorted by target region); ov_leaf / ov_cnt: (nnz,) int64 leaf id and pixel count.
    Returns (K, T) int64 region ids (ties: smallest region id).
    """
    n_nodes = parent.shape[0]
    n_levels = n_applied.shape[0]
    n_targets = ov_start.shape[0] - 1
    out = np.empty((n_levels, n_targets), dtype=np.int64)
    top = np.empty(n_nodes, dtype=np.int64)
    acc = np.zeros(n_nodes, dtype=np.int64)
    for k in range(n_levels):
        limit = n_leaves + n_applied[k]
        for v in range(n_nodes - 1, -1, -1):
            p = parent[v]
            if v >= limit:
                top[v] = -1
            elif p < 0 or p >= limit:
                top[v] = v
            else:
                top[v] = top[p]
        for j in range(n_targets):
            b = ov_start[j]
            e = ov_start[j + 1]
            for q in range(b, e):
                acc[top[ov_leaf[q]]] += ov_cnt[q]
            best = -1
            best_count = -1
            for q in range(b, e):
                r = top[ov_leaf[q]]
                c = acc[r]
                if c > best_count or (c == best_count and r < best):
                    best = r
                    best_count = c
            for q in range(b, e):
                acc[top[ov_leaf[q]]] = 0
            out[k, j] = best
    return out


@njit(cache=True, nogil=True)
def _edge_strengths(proj, lookup, eu, ev, values):
    """Largest level value at which the two ends of each reference edge differ.

    proj: (K, T) labels on the first target; lookup: (N,) first-target id of every reference
    superpixel; eu, ev: (E,) reference edges; values: (K,) level values.
    """
    n_edges = eu.shape[0]
    strength = np.zeros(n_edges, dtype=np.float64)
    for k in range(proj.shape[0]):
        val = values[k]
        for e in range(n_edges):
            if val > strength[e] and proj[k, lookup[eu[e]]] != proj[k, lookup[ev[e]]]:
                strength[e] = val
    return strength


# ----------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------


def _check_labels(labels, name, shape=None) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D label image, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must hold integer labels, got dtype {labels.dtype}")
    if shape is not None and labels.shape != tuple(shape):
        raise ValueError(f"{name} has shape {labels.shape}, expected {tuple(shape)}")
    if labels.min() < 0:
        raise ValueError(f"{name} contains negative labels")
    return np.ascontiguousarray(labels, dtype=np.int64)


def _overlap_table(targets, labels, n_targets, n_labels):
    """Sparse overlap: run starts per target (T+1,), label ids (nnz,), pixel counts (nnz,)."""
    codes = targets.ravel() * np.int64(n_labels) + labels.ravel()
    uniq, counts = unique_counts(codes)
    tgt = uniq // n_labels
    start = np.searchsorted(tgt, np.arange(n_targets + 1))
    return start.astype(np.int64), (uniq % n_labels).astype(np.int64), counts.astype(np.int64)


def _edge_ucm2(reference, eu, ev, strength) -> np.ndarray:
    """Double-size map holding ``strength[e]`` on every element between the ends of edge e."""
    h, w = reference.shape
    n = int(reference.max()) + 1
    ucm2 = np.zeros((2 * h + 1, 2 * w + 1), dtype=np.float64)
    if eu.size:
        edge_codes = eu * n + ev  # sorted (leaf_adjacency returns lexicographic order)
        for a, b, target in (
            (reference[:, :-1], reference[:, 1:], ucm2[1::2, 2:-1:2]),
            (reference[:-1, :], reference[1:, :], ucm2[2:-1:2, 1::2]),
        ):
            diff = a != b
            codes = np.minimum(a[diff], b[diff]) * n + np.maximum(a[diff], b[diff])
            target[diff] = strength[np.searchsorted(edge_codes, codes)]
        ucm2_vertices_from_elements(ucm2)
    return ucm2


def _trees_in_order(trees_by_scale):
    """(keys or None, list of trees finest first)."""
    if isinstance(trees_by_scale, MergeTree):
        raise ValueError("trees_by_scale must be a sequence or mapping of MergeTrees, got one tree")
    if isinstance(trees_by_scale, Mapping):
        try:
            keys = sorted(trees_by_scale, key=float, reverse=True)
        except (TypeError, ValueError):
            raise ValueError("the keys of trees_by_scale must be numeric scales") from None
        trees = [trees_by_scale[k] for k in keys]
    elif isinstance(trees_by_scale, Sequence):
        keys = None
        trees = list(trees_by_scale)
    else:
        raise ValueError(
            f"trees_by_scale must be a sequence or mapping of MergeTrees, got {type(trees_by_scale)}"
        )
    if not trees:
        raise ValueError("trees_by_scale is empty: at least one hierarchy is needed")
    for i, tree in enumerate(trees):
        if not isinstance(tree, MergeTree):
            raise ValueError(f"hierarchy {i} is a {type(tree).__name__}, expected a MergeTree")
        if tree.shape != trees[0].shape:
            raise ValueError(
                f"hierarchy {i} has shape {tree.shape} but hierarchy 0 has {trees[0].shape}; "
                "resample every scale to the original resolution first (MergeTree.resample)"
            )
    return keys, trees


def _check_threshold(value, name):
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


# ----------------------------------------------------------------------------------------
# Projection and alignment
# ----------------------------------------------------------------------------------------


def majority_projection(labels, targets) -> np.ndarray:
    """Projection of a segmentation onto target regions by majority label (paper eq. 1).

    Parameters
    ----------
    labels : (H, W) integer ndarray, labels >= 0 (need not be consecutive).
    targets : (H, W) integer ndarray, target regions ``0..T-1`` (every label present).

    Returns
    -------
    (T,) int64: for target region ``j`` the label of ``labels`` covering most of its pixels;
    ties go to the smallest label.
    """
    labels = _check_labels(labels, "labels")
    targets = _check_labels(targets, "targets", labels.shape)
    n_targets = int(targets.max()) + 1
    n_labels = int(labels.max()) + 1
    codes = targets.ravel() * np.int64(n_labels) + labels.ravel()
    uniq, counts = unique_counts(codes)
    tgt, lab = uniq // n_labels, uniq % n_labels
    order = np.lexsort((lab, -counts, tgt))
    tgt, lab = tgt[order], lab[order]
    first = np.ones(tgt.size, dtype=bool)
    first[1:] = tgt[1:] != tgt[:-1]
    if np.count_nonzero(first) != n_targets:
        raise ValueError("targets must use every label 0..T-1")
    return lab[first].astype(np.int64)


def compose_targets(targets: Sequence[np.ndarray]) -> np.ndarray:
    """Pre-computed successive projections of a chain of target segmentations (Alg. 2, l.1).

    For the chain ``S^1, S^2, ..., S^N``: ``pi(S^1, S^2)``, then
    ``pi(pi(S^1, S^2), S^3)``, ... so that a labelling of the regions of ``S^1`` is read on
    the regions of ``S^N`` by one look-up.

    Parameters
    ----------
    targets : sequence of (H, W) integer label images (each with labels ``0..T_n-1``).

    Returns
    -------
    (T_N,) int64: for every region of the last target, a region id of the first one.
    """
    if len(targets) == 0:
        raise ValueError("compose_targets needs at least one target segmentation")
    first = _check_labels(targets[0], "targets[0]")
    current = first  # label image in ids of S^1
    lookup = np.arange(int(first.max()) + 1, dtype=np.int64)
    for n, target in enumerate(targets[1:], start=1):
        target = _check_labels(target, f"targets[{n}]", first.shape)
        lookup = majority_projection(current, target)
        current = lookup[target]
    return lookup


def level_schedule(tree: MergeTree, levels="uniform", n_levels: int = N_LEVELS):
    """Sampled levels of a hierarchy: number of merges applied and value of each level.

    Parameters
    ----------
    tree : MergeTree
    levels : "uniform" (default, MCG release) or "all", or a 1-D array of thresholds.
        * "uniform": ``K = n_levels`` thresholds ``t_k = k * max_height / K``, ``k = 1..K``;
          level ``k`` is ``segmentation_at(t_k)`` and has value ``t_k``. Boundaries are
          quantized down to the grid, those below ``max_height / K`` vanish.
        * "all": one level before every distinct merge height ``h``: the partition with all
          merges ``< h`` applied, with value ``h`` (exact, no quantization).
        * array: thresholds ``t``, levels ``segmentation_at(t)`` with values ``t``.
    n_levels : int, K for "uniform".

    Returns
    -------
    n_applied : (K,) int64, merges applied at each level (non-decreasing);
    values : (K,) float64, value of each level.
    """
    heights = tree.heights
    if isinstance(levels, str):
        if levels == "uniform":
            n_levels = int(n_levels)
            if n_levels < 1:
                raise ValueError(f"n_levels must be >= 1, got {n_levels}")
            top = float(heights[-1]) if heights.size else 0.0
            if top <= 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0)
            values = np.linspace(top / n_levels, top, n_levels)
        elif levels == "all":
            values = np.unique(heights[heights > 0])
            n_applied = np.searchsorted(heights, values, side="left").astype(np.int64)
            return n_applied, values.astype(np.float64)
        else:
            raise ValueError(f"levels must be 'uniform', 'all' or an array, got {levels!r}")
    else:
        values = np.asarray(levels, dtype=np.float64).ravel()
        if not np.all(np.isfinite(values)):
            raise ValueError("levels must be finite thresholds")
        values = np.sort(values)
    n_applied = np.searchsorted(heights, values, side="right").astype(np.int64)
    return n_applied, values


def project_levels(tree: MergeTree, target, levels="uniform", n_levels: int = N_LEVELS):
    """Project sampled levels of a hierarchy onto a target segmentation by majority label.

    Parameters
    ----------
    tree : MergeTree, shape (H, W).
    target : (H, W) integer ndarray, target regions ``0..T-1``.
    levels, n_levels : see :func:`level_schedule`.

    Returns
    -------
    proj : (K, T) int64, region id (of ``tree``) of each target region at each level
        (ties: smallest region id);
    values : (K,) float64, level values.
    """
    target = _check_labels(target, "target", tree.shape)
    n_targets = int(target.max()) + 1
    n_applied, values = level_schedule(tree, levels, n_levels)
    start, leaf, cnt = _overlap_table(target, tree.leaves.astype(np.int64), n_targets, tree.n_leaves)
    if np.any(np.diff(start) == 0):
        raise ValueError("target must use every label 0..T-1")
    proj = _majority_levels(tree.parents, tree.n_leaves, n_applied, start, leaf, cnt)
    return proj, values


def align_hierarchy(tree: MergeTree, targets: Sequence[np.ndarray], levels="uniform",
                    n_levels: int = N_LEVELS) -> np.ndarray:
    """Align (rescale-and-project) one hierarchy onto a chain of targets (paper Alg. 2).

    Parameters
    ----------
    tree : MergeTree at the resolution of the targets, (H, W).
    targets : sequence of (H, W) integer label images ``S^1, ..., S^N``; the last one is the
        reference partition on whose boundaries the result lives.
    levels, n_levels : level sampling, see :func:`level_schedule` (release: 100 uniform).

    Returns
    -------
    (2H+1, 2W+1) float64 aligned boundary map: every element between two different
    regions of ``S^N`` holds the largest level value at which their projected labels differ
    (0 if never); other elements hold 0; vertices = max of their neighbouring elements.
    Not necessarily a strict ultrametric (majority projections need not nest); read it as a
    hierarchy with ``MergeTree.from_ucm2(..., strict=False)``.
    """
    if len(targets) == 0:
        raise ValueError("align_hierarchy needs at least one target segmentation")
    reference = _check_labels(targets[-1], "reference target", tree.shape)
    lookup = compose_targets(targets)
    eu, ev = leaf_adjacency(reference)
    proj, values = project_levels(tree, targets[0], levels, n_levels)
    strength = _edge_strengths(proj, lookup, eu, ev, values)
    return _edge_ucm2(reference, eu, ev, strength)


def align_hierarchies(trees_by_scale, align_thr: float = ALIGN_THRESHOLD, alignment: str = "finest",
                      levels="uniform", n_levels: int = N_LEVELS,
                      composition: str = "lookup") -> list[np.ndarray]:
    """Aligned boundary maps of per-scale hierarchies (release ``project_ucms_wrap``).

    Parameters
    ----------
    trees_by_scale : sequence of MergeTree ordered finest scale first, or mapping
        ``{scale: MergeTree}`` (ordered by decreasing scale); all of the same shape (H, W).
    align_thr : threshold defining each scale's superpixels ``S_i = segmentation_at(align_thr)``.
    alignment : "finest" (default; project onto ``S_{i-1}``, ..., ``S_0``), "next_finer"
        (onto ``S_{i-1}`` only) or "none" (the resampled UCMs unchanged); see module docs.
    levels, n_levels : level sampling, see :func:`level_schedule`.
    composition : how a hierarchy travels down the chain of targets (alignment "finest"):
        * "lookup" (default, paper Alg. 2): the sampled levels are projected onto
          ``S_{i-1}`` and read on ``S_0`` through the pre-computed composed projections
          (:func:`compose_targets`);
        * "reproject" (release ``project_ucms_wrap``): the aligned map on ``S_{i-1}`` is
          read back as a hierarchy and aligned again onto ``S_{i-2}`` (re-sampling its own
          levels), and so on down to ``S_0``.
        Both agree for two scales; they may differ slightly with three or more.

    Returns
    -------
    list of (2H+1, 2W+1) float64 maps, finest first; the first is ``trees[0].to_ucm2()``.
    """
    _, trees = _trees_in_order(trees_by_scale)
    align_thr = _check_threshold(align_thr, "align_thr")
    if alignment not in ALIGNMENT_MODES:
        raise ValueError(f"alignment must be one of {ALIGNMENT_MODES}, got {alignment!r}")
    out = [trees[0].to_ucm2()]
    if alignment == "none":
        return out + [tree.to_ucm2() for tree in trees[1:]]
    if composition not in ("lookup", "reproject"):
        raise ValueError(f"composition must be 'lookup' or 'reproject', got {composition!r}")
    supers = [tree.segmentation_at(align_thr) for tree in trees[:-1]]
    for i in range(1, len(trees)):
        chain = [supers[i - 1]] if alignment == "next_finer" else supers[i - 1::-1]
        if composition == "lookup":
            out.append(align_hierarchy(trees[i], chain, levels, n_levels))
            continue
        current = trees[i]
        for k, target in enumerate(chain):
            aligned = align_hierarchy(current, [target], levels, n_levels)
            if k + 1 < len(chain):
                current = MergeTree.from_ucm2(aligned, strict=False)
        out.append(aligned)
    return out


# ----------------------------------------------------------------------------------------
# Combination
# ----------------------------------------------------------------------------------------


def sigmoid_calibration(values, thr: float = SIGMOID_THRESHOLD, slope: float = SIGMOID_SLOPE):
    """Sigmoid ``1 / (1 + exp(-slope * (v - thr)))`` of boundary strengths; zeros stay 0.

    Parameters
    ----------
    values : float ndarray of any shape (e.g. merge heights or a ucm2).

    Returns
    -------
    float64 ndarray of the same shape.
    """
    values = np.asarray(values, dtype=np.float64)
    out = 1.0 / (1.0 + np.exp(-float(slope) * (values - float(thr))))
    out[values == 0] = 0.0
    return out


def _normalized_weights(weights, n):
    if weights is None:
        return np.full(n, 1.0 / n)
    weights = np.asarray(weights, dtype=np.float64).ravel()
    if weights.size != n:
        raise ValueError(f"got {weights.size} weights for {n} hierarchies")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("weights must be finite, >= 0 and not all 0")
    return weights / weights.sum()


def combine_ucm2s(ucm2s: Sequence[np.ndarray], weights=None, sigmoid_thr: float = SIGMOID_THRESHOLD,
                  sigmoid_slope: float = SIGMOID_SLOPE, calibrate: bool = True) -> MergeTree:
    """Combine aligned boundary maps into one hierarchy (release ``ucms2multi``).

    Parameters
    ----------
    ucm2s : sequence of (2H+1, 2W+1) float ndarrays >= 0 (aligned UCMs).
    weights : (n,) weights >= 0, normalized to sum 1; None = uniform.
    sigmoid_thr, sigmoid_slope : calibration of the merge heights (:func:`sigmoid_calibration`).
    calibrate : False to keep the raw mean-boundary heights.

    Returns
    -------
    MergeTree whose leaves are the connected components of zero elements of the weighted sum
    and whose merges follow greedy mean-boundary merging of the weighted sum
    (:func:`grouping.ucm.ucm_mean_pb`), heights calibrated.
    """
    if len(ucm2s) == 0:
        raise ValueError("combine_ucm2s needs at least one boundary map")
    w = _normalized_weights(weights, len(ucm2s))
    shape = np.shape(ucm2s[0])
    total = np.zeros(shape, dtype=np.float64)
    for i, (wi, u) in enumerate(zip(w, ucm2s)):
        u = np.asarray(u, dtype=np.float64)
        if u.shape != shape:
            raise ValueError(f"boundary map {i} has shape {u.shape}, expected {shape}")
        total += wi * u
    leaves = leaves_from_ucm2(total)
    tree = ucm_mean_pb(total, leaves)
    if not calibrate:
        return tree
    heights = sigmoid_calibration(tree.heights, sigmoid_thr, sigmoid_slope)
    return MergeTree(tree.leaves, tree.merges, heights)


def calibrated_hierarchy(tree: MergeTree, sigmoid_thr: float = SIGMOID_THRESHOLD,
                         sigmoid_slope: float = SIGMOID_SLOPE) -> MergeTree:
    """The combination of a single hierarchy: the tree with its heights calibrated.

    Greedy mean-boundary merging of a UCM merges its regions in the tree's own order, each
    pair at the height of its lowest common ancestor (every element of the boundary between
    two regions holds it). So for a canonical tree with positive heights whose leaves are
    connected and numbered in raster order, as :func:`grouping.ucm.ucm_mean_pb` returns over
    :func:`grouping.owt.oriented_watershed` superpixels, :func:`combine_ucm2s` of its UCM alone
    is the tree itself with calibrated heights, except that the merging's means of equal
    values differ from them by a few units of round-off (measured on COCO images: the same
    leaves and merges, heights within 1e-15 relative). This function skips that work.

    Parameters
    ----------
    tree : MergeTree
        Canonical, positive heights, connected leaves labelled in raster order.
    sigmoid_thr, sigmoid_slope : calibration of the merge heights (:func:`sigmoid_calibration`).

    Returns
    -------
    MergeTree, same leaves and merges, heights ``sigmoid_calibration(tree.heights)``.

    Raises
    ------
    ValueError
        If a merge height is not positive (such merges are not in a UCM).
    """
    if tree.n_merges and not tree.heights[0] > 0:
        raise ValueError("calibrated_hierarchy needs positive merge heights; use combine_ucm2s")
    heights = sigmoid_calibration(tree.heights, sigmoid_thr, sigmoid_slope)
    return MergeTree(tree.leaves, tree.merges, heights)


def multiscale_hierarchy(trees_by_scale, weights=None, align_thr: float = ALIGN_THRESHOLD,
                         alignment: str = "finest", levels="uniform", n_levels: int = N_LEVELS,
                         sigmoid_thr: float = SIGMOID_THRESHOLD, sigmoid_slope: float = SIGMOID_SLOPE,
                         calibrate: bool = True, composition: str = "lookup"):
    """MCG multiscale hierarchy: align the per-scale hierarchies, then combine them.

    Parameters
    ----------
    trees_by_scale : sequence of MergeTree ordered finest scale first (e.g. scales 2, 1, 0.5),
        or mapping ``{scale: MergeTree}``; all resampled to the original resolution (H, W).
    weights : per-scale weights in the same order (mapping: ``{scale: weight}`` also
        accepted); None = uniform.
    align_thr : superpixel threshold of the alignment targets (0.1).
    alignment : "finest" (MCG), "next_finer" or "none" (ablations; see module docs).
    levels, n_levels : sampled levels per hierarchy (release: 100 uniform levels).
    sigmoid_thr, sigmoid_slope, calibrate : calibration of the combined heights.
    composition : "lookup" (paper) or "reproject" (release); see :func:`align_hierarchies`.

    Returns
    -------
    combined : MergeTree, the multiscale hierarchy (leaves = finest superpixels).
    aligned : per-scale aligned hierarchies, ``MergeTree.from_ucm2(aligned_ucm2, strict=False)``
        (the finest one is the input tree itself): a list finest first, or a dict keyed by
        scale when ``trees_by_scale`` is a mapping.
    """
    keys, trees = _trees_in_order(trees_by_scale)
    if keys is not None and isinstance(weights, Mapping):
        missing = [k for k in keys if k not in weights]
        if missing:
            raise ValueError(f"weights has no entry for scale(s) {missing}")
        weights = [weights[k] for k in keys]
    ucm2s = align_hierarchies(trees, align_thr, alignment, levels, n_levels, composition)
    combined = combine_ucm2s(ucm2s, weights, sigmoid_thr, sigmoid_slope, calibrate)
    aligned = [trees[0]] + [
        tree if alignment == "none" else MergeTree.from_ucm2(u, strict=False)
        for tree, u in zip(trees[1:], ucm2s[1:])
    ]
    if keys is not None:
        aligned = dict(zip(keys, aligned))
    return combined, aligned


# ----------------------------------------------------------------------------------------
# Ablation: resize contours instead of aligning hierarchies
# ----------------------------------------------------------------------------------------


def combine_contour_maps(edges_by_scale, shape, weights=None, orientations_by_scale=None):
    """Resize per-scale contour maps to one resolution and average them (ablation).

    Parameters
    ----------
    edges_by_scale : sequence of (H_s, W_s) float ndarrays (contour strength per scale).
    shape : (H, W) target resolution.
    weights : (n,) weights >= 0 (normalized); None = uniform.
    orientations_by_scale : optional sequence of (H_s, W_s) float orientation maps in
        ``[0, pi)``; resized with nearest neighbour and, per pixel, taken from the scale
        with the largest weighted resized contour strength (ties: the earlier scale).

    Returns
    -------
    edges : (H, W) float32, weighted mean of the bilinearly resized contour maps;
    orientation : (H, W) float32 or None.
    """
    import cv2

    if len(edges_by_scale) == 0:
        raise ValueError("combine_contour_maps needs at least one contour map")
    try:
        h, w = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be (H, W), got {shape!r}") from None
    if h < 1 or w < 1:
        raise ValueError(f"shape must be positive, got {shape!r}")
    wts = _normalized_weights(weights, len(edges_by_scale))
    resized = []
    for i, e in enumerate(edges_by_scale):
        e = np.asarray(e, dtype=np.float32)
        if e.ndim != 2 or e.size == 0 or not np.all(np.isfinite(e)):
            raise ValueError(f"contour map {i} must be a finite non-empty 2-D array")
        resized.append(cv2.resize(e, (w, h), interpolation=cv2.INTER_LINEAR))
    stack = np.stack(resized) * wts[:, None, None].astype(np.float32)
    edges = stack.sum(axis=0).astype(np.float32)
    orientation = None
    if orientations_by_scale is not None:
        if len(orientations_by_scale) != len(edges_by_scale):
            raise ValueError("orientations_by_scale must have one map per contour map")
        ors = []
        for i, (o, e) in enumerate(zip(orientations_by_scale, edges_by_scale)):
            o = np.asarray(o, dtype=np.float32)
            if o.shape != np.shape(e):
                raise ValueError(f"orientation map {i} has shape {o.shape}, expected {np.shape(e)}")
            ors.append(cv2.resize(o, (w, h), interpolation=cv2.INTER_NEAREST))
        best = np.argmax(stack, axis=0)
        orientation = np.take_along_axis(np.stack(ors), best[None], axis=0)[0].astype(np.float32)
    return edges, orientation
