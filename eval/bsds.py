"""BSDS500 boundary and region benchmark (Arbelaez et al., PAMI 2011).

A re-implementation of the MATLAB ``bench`` code distributed with BSDS500
(``allBench`` / ``boundaryBench`` / ``evaluation_bdry_image`` /
``evaluation_reg_image`` / ``collect_eval_bdry`` / ``collect_eval_reg``):

* Boundaries: the machine map is thresholded (``>=``) at ``nthresh`` values
  ``linspace(1/(n+1), 1-1/(n+1), n)`` (for a cell of segmentations: one
  threshold per segmentation, its boundaries by ``seg2bdry``), thinned
  (``bwmorph(.., 'thin', Inf)``) and matched to each human's boundaries within
  ``0.0075 x`` the image diagonal. Recall sums over humans; a machine pixel is
  correct when it matches any human. ODS (best F of the dataset curve,
  interpolated between thresholds), OIS (best threshold per image, counts
  summed) and "AP" (area under the interpolated PR curve over recall 0:0.01:1,
  as the original computes it).
* Regions: from a ucm2 the segmentation at threshold ``t`` is the
  8-connected components of ``ucm2 <= t`` sampled on the pixel grid; the
  Segmentation Covering (ODS, OIS, Best), the Probabilistic Rand Index and the
  Variation of Information (ODS, OIS).

The per-image numbers pass through the original's ``%10g`` text files before
being collected; this is reproduced (values rounded to 6 significant digits).

Agreement with the original (the 5-image demo shipped with BSDS500, all five
original runs, see ``tests/test_bsds_golden.py``): the region files are
identical to the printed digit; the machine and human pixel totals of the
boundary benchmark are identical (so thinning agrees with ``bwmorph``); the
boundary numbers differ by at most 1.3e-3 per image and 7e-4 on the dataset
curve. That residue is the original's matcher: its CSA connects each pixel to
6 random outlier nodes, so its result changes from run to run (its test_3 and
test_4 runs differ by up to 7e-4) and falls a few matches short of the optimum
(its recall counts are 0-12 pixels below ours per image, never above). Here the
assignment is solved exactly (:mod:`eval.bsds_matching`), deterministically.

Speed: a thresholded map is evaluated once per distinct map (thresholds with no level
between them share it), thinned by a Numba kernel, and matched against human pixel sets
prepared once per image; a ucm2's segmentations come from one incremental union-find over
its boundary cells sorted by level. Each shortcut gives the plain computation's numbers
bit for bit (``tests/test_bsds_fast_paths.py``).

gPb-owt-ucm on BSDS500 val (= BSDS300 test), 99 thresholds: ODS 0.7105,
OIS 0.7389, AP 0.7314; Covering 0.5881 / 0.6455 / 0.7474; PRI 0.8077 / 0.8516;
VI 1.6529 / 1.4657 -- the published PAMI 2011 BSDS300 figures (.71 .74 .73;
.59 .65 .75; .81 .85; 1.65 1.47).

Public API
----------
bsds_benchmark(results_dir, gt_dir, ...) -> BsdsSummary
evaluate_boundaries_image(result, gt_boundaries, nthresh=99, ...) -> BoundaryCounts
evaluate_regions_image(result, gt_segmentations, nthresh=99) -> RegionCounts
collect_boundaries(list of BoundaryCounts) / collect_regions(list of RegionCounts)
nms_boundary_map(pb) -> thinned soft boundary map (``mcg bench bsds --nms``)
run_bsds_benchmark_cli(args) -> int
(paired comparison of two results: :mod:`eval.bsds_compare`)
"""
from __future__ import annotations

import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from numba import njit
from scipy import ndimage

from grouping.disjoint_sets import find_root, join_sets
from eval.bsds_io import (KIND_BOUNDARIES, KIND_SEGS, KIND_UCM2, MachineResult,
                          check_result_size, classify_array, find_results, list_ground_truth,
                          load_ground_truth, load_result)
from eval.bsds_matching import BoundaryMatcher

DEFAULT_MAX_DIST = 0.0075
DEFAULT_NTHRESH = 99


# --------------------------------------------------------------------------------------
# helpers mirroring MATLAB functions
# --------------------------------------------------------------------------------------

def bsds_thresholds(nthresh: int) -> np.ndarray:
    """``linspace(1/(n+1), 1-1/(n+1), n)`` as a float64 array of shape (n,)."""
    if nthresh < 1:
        raise ValueError(f"nthresh must be >= 1, got {nthresh}")
    return np.linspace(1.0 / (nthresh + 1), 1.0 - 1.0 / (nthresh + 1), nthresh)


def seg2bdry(seg: np.ndarray, fmt: str = "imageSize") -> np.ndarray:
    """Boundaries of a label image, as the BSDS ``seg2bdry``.

    Parameters
    ----------
    seg : (H, W) int array
    fmt : {"imageSize", "doubleSize"}

    Returns
    -------
    (H, W) or (2H+1, 2W+1) bool array.
    """
    seg = np.asarray(seg)
    if seg.ndim != 2:
        raise ValueError(f"seg must be a 2-D label image, got shape {seg.shape}")
    if fmt not in ("imageSize", "doubleSize"):
        raise ValueError("fmt must be 'imageSize' or 'doubleSize'")
    tx, ty = seg.shape
    bdry = np.zeros((2 * tx + 1, 2 * ty + 1), bool)
    edgels_v = np.zeros((tx, ty), bool)
    edgels_v[:-1, :] = seg[:-1, :] != seg[1:, :]
    edgels_h = np.zeros((tx, ty), bool)
    edgels_h[:, :-1] = seg[:, :-1] != seg[:, 1:]
    bdry[2::2, 1::2] = edgels_v
    bdry[1::2, 2::2] = edgels_h
    bdry[2:-1:2, 2:-1:2] = (edgels_h[:-1, :-1] | edgels_h[1:, :-1]
                            | edgels_v[:-1, :-1] | edgels_v[:-1, 1:])
    bdry[0, :] = bdry[1, :]
    bdry[:, 0] = bdry[:, 1]
    bdry[-1, :] = bdry[-2, :]
    bdry[:, -1] = bdry[:, -2]
    if fmt == "imageSize":
        return bdry[2::2, 2::2].copy()
    return bdry


def _thin_luts() -> tuple[np.ndarray, np.ndarray]:
    """Deletion tables of the two sub-iterations of Guo & Hall's parallel thinning.

    The algorithm of MATLAB ``bwmorph(.., 'thin')`` (and of scikit-image's ``thin``). A
    pixel's neighbourhood code has bit ``k`` set when neighbour ``k`` is on, neighbours
    counted anticlockwise from the east: E, NE, N, NW, W, SW, S, SE.

    Returns
    -------
    lut1, lut2 : (256,) uint8 arrays
        1 where the centre pixel is deleted in the first / second sub-iteration.
    """
    lut1 = np.zeros(256, np.uint8)
    lut2 = np.zeros(256, np.uint8)
    for code in range(256):
        x = [(code >> k) & 1 for k in range(8)] + [code & 1]   # x[8] wraps to x[0]
        # G1: exactly one 4-connected crossing (Hilditch's crossing number is 1)
        crossings = sum(1 for k in (0, 2, 4, 6) if not x[k] and (x[k + 1] or x[k + 2]))
        # G2: 2 <= min(n1, n2) <= 3
        n1 = sum(1 for k in (1, 3, 5, 7) if x[k - 1] or x[k])
        n2 = sum(1 for k in (1, 3, 5, 7) if x[k] or x[k + 1])
        g12 = crossings == 1 and min(n1, n2) in (2, 3)
        # G3 / G3': (x2 or x3 or not x8) and x1 is false / (x6 or x7 or not x4) and x5 is false
        g3 = not ((x[1] or x[2] or not x[7]) and x[0])
        g3p = not ((x[5] or x[6] or not x[3]) and x[4])
        lut1[code] = g12 and g3
        lut2[code] = g12 and g3p
    return lut1, lut2


_THIN_LUT1, _THIN_LUT2 = _thin_luts()


@njit(cache=True, nogil=True)
def _thin_kernel(skel, lut1, lut2):
    """Thin ``skel`` ((H, W) uint8 of 0/1) in place to convergence; only its on pixels are visited."""
    height, width = skel.shape
    n = 0
    for y in range(height):
        for x in range(width):
            if skel[y, x]:
                n += 1
    ys = np.empty(n, np.int64)
    xs = np.empty(n, np.int64)
    k = 0
    for y in range(height):
        for x in range(width):
            if skel[y, x]:
                ys[k] = y
                xs[k] = x
                k += 1
    delete = np.empty(n, np.int64)
    while True:
        removed = 0
        for sub in range(2):
            lut = lut1 if sub == 0 else lut2
            ndel = 0
            for k in range(n):
                y = ys[k]
                x = xs[k]
                code = 0
                up = y > 0
                down = y < height - 1
                left = x > 0
                right = x < width - 1
                if right and skel[y, x + 1]:
                    code |= 1
                if up and right and skel[y - 1, x + 1]:
                    code |= 2
                if up and skel[y - 1, x]:
                    code |= 4
                if up and left and skel[y - 1, x - 1]:
                    code |= 8
                if left and skel[y, x - 1]:
                    code |= 16
                if down and left and skel[y + 1, x - 1]:
                    code |= 32
                if down and skel[y + 1, x]:
                    code |= 64
                if down and right and skel[y + 1, x + 1]:
                    code |= 128
                if lut[code]:
                    delete[ndel] = k
                    ndel += 1
            if ndel == 0:
                continue
            for d in range(ndel):
                skel[ys[delete[d]], xs[delete[d]]] = 0
            removed += ndel
            m = 0
            for k in range(n):
                if skel[ys[k], xs[k]]:
                    ys[m] = ys[k]
                    xs[m] = xs[k]
                    m += 1
            n = m
        if removed == 0:
            break


def thin_boundaries(bmap: np.ndarray) -> np.ndarray:
    """Morphological thinning to convergence, as MATLAB ``bwmorph(bmap, 'thin', Inf)``.

    Guo & Hall's two-sub-iteration parallel thinning (the same pixels as scikit-image's
    ``thin``), in a Numba kernel that visits only the pixels still on.

    Parameters
    ----------
    bmap : (H, W) array_like
        Non-zero pixels are on.

    Returns
    -------
    (H, W) bool array
    """
    skel = np.ascontiguousarray(np.asarray(bmap) != 0).view(np.uint8)
    if skel.ndim != 2:
        raise ValueError(f"thin_boundaries needs a 2-D map, got shape {skel.shape}")
    skel = skel.copy()
    if skel.any():
        _thin_kernel(skel, _THIN_LUT1, _THIN_LUT2)
    return skel.view(bool)


#: edge NMS of the HED evaluation (its ``nms_process.m``, also in the structured edges
#: toolbox's edgesDetect): triangle pre-smoothing radius, suppression radius, border
#: width, multiplier
NMS_SMOOTH = 1
NMS_RADIUS = 1
NMS_BORDER = 5
NMS_MARGIN = 1.01


def nms_boundary_map(pb: np.ndarray, quantize: bool = True, radius: int = NMS_RADIUS,
                     smooth: int = NMS_SMOOTH) -> np.ndarray:
    """Thin a soft boundary map by edge non-maximum suppression, as the MATLAB pipelines do.

    The HED evaluation's ``nms_process.m`` (the structured edges toolbox's edgesDetect does
    the same to its own maps): ``E = convTri(E, 1)``; the edge normal from ``E``'s own
    second derivatives (triangle smoothing of radius 4, then
    ``O = mod(atan(Oyy * sign(-Oxy) / (Oxx + 1e-5)), pi)``,
    :func:`contours.nms.edge_orientation`); a pixel survives when 1.01 times its value is
    not below the bilinearly interpolated values at distances 1..``radius`` on both sides
    along the normal, and values within 5 pixels of the border fade linearly to 0 at the
    border (``edgesNmsMex(E, O, 1, 5, 1.01)``, :func:`contours.nms.edge_nms`). With
    ``quantize`` the result is rounded to 8 bits as ``imwrite(uint8(E * 255))`` writes the
    PNG that the benchmark then reads back. RCF's ``edge_nms.m`` differs by ``smooth=0,
    radius=2``.

    Parameters
    ----------
    pb : (H, W) array_like
        Soft boundary map, float values in [0, 1] (larger = more likely a boundary).
    quantize : bool
        Round to multiples of 1/255 (half away from zero) like an 8-bit PNG.
    radius : int
        Suppression radius in pixels (>= 1).
    smooth : int
        Radius of the triangle filter applied to the map first (0: none).

    Returns
    -------
    (H, W) float64 array
        The thinned map, in [0, 1].
    """
    from contours.channels import conv_tri
    from contours.nms import edge_nms, edge_orientation

    pb = np.asarray(pb)
    if pb.ndim != 2 or pb.dtype.kind not in "fiub":
        raise ValueError(f"NMS needs a 2-D numeric boundary map, got shape {pb.shape} "
                         f"and dtype {pb.dtype}")
    if int(radius) < 1 or int(smooth) < 0:
        raise ValueError(f"NMS radius must be >= 1 and smoothing >= 0, got {radius}, {smooth}")
    edges = pb.astype(np.float32)
    if not np.all(np.isfinite(edges)):
        raise ValueError("NMS needs a finite boundary map (NaN or infinite values found)")
    if edges.size and (edges.min() < 0 or edges.max() > 1):
        raise ValueError(f"NMS needs a boundary map in [0, 1], got values in "
                         f"[{edges.min():g}, {edges.max():g}]")
    if smooth > 0:
        edges = conv_tri(edges, int(smooth))
    thinned = edge_nms(edges, edge_orientation(edges), int(radius), NMS_BORDER, NMS_MARGIN)
    if not quantize:
        return thinned.astype(np.float64)
    levels = np.floor((thinned * np.float32(255)).astype(np.float64) + 0.5)
    return np.clip(levels, 0, 255) / 255.0


def round_g6(values) -> np.ndarray:
    """Round to what MATLAB ``fprintf('%10g')`` writes (6 significant digits), elementwise."""
    arr = np.asarray(values, dtype=np.float64)
    flat = np.array([float("%g" % v) for v in arr.ravel()], dtype=np.float64)
    return flat.reshape(arr.shape)


def fmeasure(r, p):
    """F-measure ``2PR / (P + R)`` elementwise (0 where ``P + R == 0``), float64."""
    r = np.asarray(r, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    return 2 * p * r / (p + r + ((p + r) == 0))


def safe_ratio(cnt, tot):
    """``cnt / tot`` elementwise as the original benchmark (``tot == 0`` counts as 1), float64."""
    cnt = np.asarray(cnt, dtype=np.float64)
    tot = np.asarray(tot, dtype=np.float64)
    return cnt / (tot + (tot == 0))


def _max_f(thresh, r, p) -> tuple[float, float, float, float]:
    """Best F along the PR curve, interpolating linearly between thresholds (``maxF``)."""
    thresh = np.asarray(thresh, np.float64)
    r = np.asarray(r, np.float64)
    p = np.asarray(p, np.float64)
    best_t, best_r, best_p = thresh[0], r[0], p[0]
    best_f = float(fmeasure(r[0], p[0]))
    d = np.linspace(0.0, 1.0, 100)
    for i in range(1, thresh.size):
        ts = thresh[i] * d + thresh[i - 1] * (1 - d)
        rs = r[i] * d + r[i - 1] * (1 - d)
        ps = p[i] * d + p[i - 1] * (1 - d)
        fs = fmeasure(rs, ps)
        k = int(np.argmax(fs))  # first maximum, as the strict '>' scan keeps it
        if fs[k] > best_f:
            best_t, best_r, best_p, best_f = ts[k], rs[k], ps[k], float(fs[k])
    return float(best_t), float(best_r), float(best_p), float(best_f)


# --------------------------------------------------------------------------------------
# per-image evaluation
# --------------------------------------------------------------------------------------

@dataclass
class BoundaryCounts:
    """Boundary counts of one image at each threshold (the original ``*_ev1.txt``).

    All arrays have shape (nthresh,), float64. Recall = cnt_r / sum_r,
    precision = cnt_p / sum_p.
    """

    thresholds: np.ndarray
    cnt_r: np.ndarray
    sum_r: np.ndarray
    cnt_p: np.ndarray
    sum_p: np.ndarray


@dataclass
class RegionCounts:
    """Region counts of one image at each threshold (``*_ev2/3/4.txt``).

    ``cnt_r/sum_r``: covering of the ground truth by the segmentation;
    ``cnt_p/sum_p``: covering of the segmentation by the ground truth;
    ``cnt_r_best``: covering with the best segment for each ground-truth
    region over all thresholds (scalar); ``ri``/``voi``: Rand index and
    variation of information averaged over the humans.
    """

    thresholds: np.ndarray
    cnt_r: np.ndarray
    sum_r: np.ndarray
    cnt_p: np.ndarray
    sum_p: np.ndarray
    cnt_r_best: float
    ri: np.ndarray
    voi: np.ndarray


def _as_machine_result(result, image_shape) -> MachineResult:
    if isinstance(result, MachineResult):
        check_result_size(result, image_shape, "result")
        return result
    if isinstance(result, (list, tuple)):
        segs = [np.asarray(s) for s in result]
        res = MachineResult(KIND_SEGS, [s.astype(np.int64) for s in segs])
        check_result_size(res, image_shape, "result")
        return res
    return classify_array(np.asarray(result), image_shape)


def _level_keys(values: np.ndarray, thresholds: np.ndarray, side: str) -> np.ndarray:
    """For each threshold, a key that changes only when the thresholded mask changes."""
    levels = np.unique(values)
    return np.searchsorted(levels, thresholds, side=side)


def evaluate_boundaries_image(result, gt_boundaries: Sequence[np.ndarray],
                              nthresh: int = DEFAULT_NTHRESH, max_dist: float = DEFAULT_MAX_DIST,
                              thin: bool = True, thresholds=None) -> BoundaryCounts:
    """Boundary precision/recall counts of one image (``evaluation_bdry_image``).

    Parameters
    ----------
    result : MachineResult, ndarray or list of ndarray
        ``(H, W)`` float boundary map in [0, 1], ``(2H+1, 2W+1)`` ucm2 (its
        boundary map is ``ucm2[2::2, 2::2]``), or a list of ``(H, W)`` label
        images (one threshold per segmentation).
    gt_boundaries : sequence of (H, W) array
        One boundary map per human (non-zero = boundary).
    nthresh : int
        Number of thresholds for a boundary map or ucm2 (ignored for segs).
    max_dist : float
        Matching radius as a fraction of the image diagonal.
    thin : bool
        Thin the thresholded machine map (as the original, default True).
    thresholds : (n,) array_like, optional
        Explicit thresholds instead of the ``nthresh`` BSDS ones (boundary map
        or ucm2 only).

    Returns
    -------
    BoundaryCounts
    """
    gts = [np.asarray(g) != 0 for g in gt_boundaries]
    if not gts:
        raise ValueError("no ground-truth boundary map given")
    shape = gts[0].shape
    if any(g.shape != shape for g in gts):
        raise ValueError("ground-truth boundary maps differ in size")
    res = _as_machine_result(result, shape)
    matcher = BoundaryMatcher(gts, max_dist)
    gt_total = sum(matcher.human_totals)

    if res.kind == KIND_SEGS:
        n = len(res.data)
        thresholds = np.arange(1, n + 1, dtype=np.float64)
        maps = (lambda t, segs=res.data: seg2bdry(segs[t], "imageSize"))
        keys = np.arange(n)
    else:
        pb = res.data[2::2, 2::2] if res.kind == KIND_UCM2 else res.data
        thresholds = (bsds_thresholds(nthresh) if thresholds is None
                      else np.asarray(thresholds, np.float64).ravel())
        n = thresholds.size
        maps = (lambda t, pb=pb: pb >= thresholds[t])
        keys = _level_keys(pb, thresholds, "left")

    cnt_r = np.zeros(n)
    sum_r = np.zeros(n)
    cnt_p = np.zeros(n)
    sum_p = np.zeros(n)
    cache: dict = {}
    for t in range(n):
        key = int(keys[t])
        if key not in cache:
            bmap = maps(t)
            if thin:
                bmap = thin_boundaries(bmap)
            cache[key] = matcher.counts(bmap)
        c_r, s_p, c_p = cache[key]
        cnt_r[t] = c_r
        sum_r[t] = gt_total
        cnt_p[t] = c_p
        sum_p[t] = s_p
    return BoundaryCounts(thresholds, cnt_r, sum_r, cnt_p, sum_p)


@njit(cache=True, nogil=True)
def _joint_counts(seg, gt, nseg, ngt):
    """Joint histogram (ngt+1, nseg+1) int64 of gt labels (rows) and seg labels (columns)."""
    table = np.zeros((ngt + 1, nseg + 1), np.int64)
    height, width = seg.shape
    for y in range(height):
        for x in range(width):
            table[gt[y, x], seg[y, x]] += 1
    return table


def _label_counts(seg: np.ndarray, gt: np.ndarray, nseg: int, ngt: int) -> np.ndarray:
    """Joint histogram (ngt+1, nseg+1) of gt labels (rows) and seg labels (columns).

    Parameters
    ----------
    seg, gt : (H, W) int64 label images (labels from 1, 0 = none)
    nseg, ngt : int
        Their largest labels.

    Returns
    -------
    (ngt + 1, nseg + 1) int64 array
    """
    return _joint_counts(np.asarray(seg, np.int64), np.asarray(gt, np.int64), int(nseg), int(ngt))


def _ri_voi(joint: np.ndarray) -> tuple[float, float]:
    """Rand index and variation of information of a contingency table (labels 0 excluded)."""
    n = joint[1:, 1:].astype(np.float64)
    total = n.sum()
    n_u = n.sum(axis=1)
    n_v = n.sum(axis=0)
    n_choose_2 = total * (total - 1) / 2
    ri = 1 - ((n_u * n_u).sum() / 2 + (n_v * n_v).sum() / 2 - (n * n).sum()) / n_choose_2
    pj = n / total
    m1 = pj.sum(axis=1)
    m2 = pj.sum(axis=0)
    h1 = -np.sum(m1 * np.log2(m1 + (m1 == 0)))
    h2 = -np.sum(m2 * np.log2(m2 + (m2 == 0)))
    outer = np.outer(m1, m2)
    quotient = (pj + (pj == 0) * outer + (outer == 0)) / (outer + (outer == 0))
    mi = np.sum(pj * np.log2(quotient))
    return float(ri), float(h1 + h2 - 2 * mi)


def _segment_ucm(ucm2: np.ndarray, threshold: float) -> np.ndarray:
    """Regions of ``ucm2 <= threshold`` (8-connected, as ``bwlabel``) on the pixel grid."""
    labels, _ = ndimage.label(ucm2 <= threshold, structure=np.ones((3, 3), bool))
    return labels[1::2, 1::2]


@njit(cache=True, nogil=True)
def _join_cells(parent, cell_y, cell_x, height, width):
    """Union the pixels that each (now open) boundary cell of a ucm2 connects."""
    for k in range(cell_y.size):
        y = cell_y[k]
        x = cell_x[k]
        if y % 2 == 1:          # between horizontal neighbours
            i = (y - 1) // 2
            j = x // 2
            if j >= 1 and j < width:
                join_sets(parent, i * width + j - 1, i * width + j)
        elif x % 2 == 1:        # between vertical neighbours
            i = y // 2
            j = (x - 1) // 2
            if i >= 1 and i < height:
                join_sets(parent, (i - 1) * width + j, i * width + j)
        else:                   # a corner: the (up to) 4 diagonal pixels around it
            i = y // 2
            j = x // 2
            first = -1
            for ii in range(i - 1, i + 1):
                for jj in range(j - 1, j + 1):
                    if 0 <= ii < height and 0 <= jj < width:
                        if first < 0:
                            first = ii * width + jj
                        else:
                            join_sets(parent, first, ii * width + jj)


@njit(cache=True, nogil=True)
def _number_regions(parent, top_open, height, width):
    """Label the pixel grid by region, numbered in order of first appearance in a raster scan
    of the ucm2 (as ``bwlabel``): open cells of its top row come before every pixel."""
    label_of_root = np.zeros(height * width, np.int64)
    out = np.empty((height, width), np.int64)
    count = 0
    for x in range(top_open.size):
        if top_open[x]:
            j = (x - 1) // 2 if x % 2 == 1 else min(x // 2, width - 1)
            r = find_root(parent, j)
            if label_of_root[r] == 0:
                count += 1
                label_of_root[r] = count
    for p in range(height * width):
        r = find_root(parent, p)
        if label_of_root[r] == 0:
            count += 1
            label_of_root[r] = count
        out[p // width, p % width] = label_of_root[r]
    return out


class _UcmSegmenter:
    """The segmentations of one ucm2 at increasing thresholds, by incremental union-find.

    ``segment(t)`` equals ``_segment_ucm(ucm2, t)``, label for label: the regions of
    ``ucm2 <= t`` (8-connected on the double-size grid), sampled on the pixel grid and
    numbered in raster order of first appearance. Boundary cells are sorted once; each
    call joins the pixels of the cells that opened since the previous one. A threshold
    below the previous one starts again from single pixels; a ucm2 with a pixel cell
    above the threshold (not a hierarchy of the pixels) goes through ``ndimage.label``.
    """

    def __init__(self, ucm2: np.ndarray):
        self.ucm2 = ucm2
        rows, cols = ucm2.shape
        self.height, self.width = (rows - 1) // 2, (cols - 1) // 2
        boundary = np.ones(ucm2.shape, bool)
        boundary[1::2, 1::2] = False
        ys, xs = np.nonzero(boundary)
        values = ucm2[ys, xs]
        order = np.argsort(values, kind="stable")
        self.values = values[order]
        self.cell_y = ys[order].astype(np.int64)
        self.cell_x = xs[order].astype(np.int64)
        self.pixel_max = float(ucm2[1::2, 1::2].max())
        self._reset()

    def _reset(self):
        self.parent = np.arange(self.height * self.width, dtype=np.int64)
        self.joined = 0
        self.threshold = -np.inf

    def segment(self, threshold: float) -> np.ndarray:
        """(H, W) int64 labels of the regions of ``ucm2 <= threshold``."""
        if not self.pixel_max <= threshold:
            return _segment_ucm(self.ucm2, threshold)
        if threshold < self.threshold:
            self._reset()
        self.threshold = threshold
        stop = int(np.searchsorted(self.values, threshold, side="right"))
        if stop > self.joined:
            _join_cells(self.parent, self.cell_y[self.joined:stop], self.cell_x[self.joined:stop],
                        self.height, self.width)
            self.joined = stop
        return _number_regions(self.parent, self.ucm2[0] <= threshold, self.height, self.width)


def evaluate_regions_image(result, gt_segmentations: Sequence[np.ndarray],
                           nthresh: int = DEFAULT_NTHRESH, thresholds=None) -> RegionCounts:
    """Covering, PRI and VI counts of one image (``evaluation_reg_image``).

    Parameters
    ----------
    result : MachineResult, ndarray or list of ndarray
        ``(2H+1, 2W+1)`` ucm2 or a list of ``(H, W)`` label images.
    gt_segmentations : sequence of (H, W) int array
        One label image per human (labels from 1; 0 = unlabelled).
    nthresh : int
        Number of thresholds for a ucm2 (ignored for segs).
    thresholds : (n,) array_like, optional
        Explicit thresholds instead of the ``nthresh`` BSDS ones (ucm2 only).

    Returns
    -------
    RegionCounts
    """
    gts = [np.asarray(g).astype(np.int64) for g in gt_segmentations]
    if not gts:
        raise ValueError("no ground-truth segmentation given")
    shape = gts[0].shape
    res = _as_machine_result(result, shape)
    if res.kind == KIND_BOUNDARIES:
        raise ValueError("the region benchmark needs a ucm2 or a list of segmentations, "
                         "not a boundary map")
    ngts = [int(g.max()) for g in gts]
    gt_areas = [np.bincount(g.ravel(), minlength=m + 1)[1:].astype(np.float64)
                for g, m in zip(gts, ngts)]
    gt_area_all = np.concatenate(gt_areas)
    total_gt_area = float(gt_area_all.sum())

    if res.kind == KIND_SEGS:
        n = len(res.data)
        thresholds = np.arange(1, n + 1, dtype=np.float64)
        segment = (lambda t, segs=res.data: segs[t])
        keys = np.arange(n)
    else:
        thresholds = (bsds_thresholds(nthresh) if thresholds is None
                      else np.asarray(thresholds, np.float64).ravel())
        n = thresholds.size
        segment = (lambda t, seg=_UcmSegmenter(res.data): seg.segment(thresholds[t]))
        keys = _level_keys(res.data, thresholds, "right")

    cnt_r = np.zeros(n)
    sum_r = np.zeros(n)
    cnt_p = np.zeros(n)
    sum_p = np.zeros(n)
    ri = np.zeros(n)
    voi = np.zeros(n)
    best_matches_gt = np.zeros(gt_area_all.size)
    cache: dict = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for t in range(n):
            key = int(keys[t])
            if key not in cache:
                seg = np.asarray(segment(t)).astype(np.int64)
                nseg = int(seg.max())
                seg_area = np.bincount(seg.ravel(), minlength=nseg + 1)[1:].astype(np.float64)
                matches_seg = np.full(nseg, -np.inf)
                matches_gt_parts = []
                ri_sum = voi_sum = 0.0
                for g, m in zip(gts, ngts):
                    joint = _label_counts(seg, g, nseg, m)
                    r_i, v_i = _ri_voi(joint)
                    ri_sum += r_i
                    voi_sum += v_i
                    area_gt = joint.sum(axis=1, dtype=np.float64)[:, None]
                    area_seg = joint.sum(axis=0, dtype=np.float64)[None, :]
                    iou = (joint / (area_gt + area_seg - joint))[1:, 1:]
                    # MATLAB max ignores NaN (0/0 for labels absent from both)
                    iou = np.where(np.isnan(iou), -np.inf, iou)
                    matches_seg = np.maximum(matches_seg, iou.max(axis=0, initial=-np.inf))
                    col = iou.max(axis=1, initial=-np.inf)
                    matches_gt_parts.append(col)
                matches_gt = np.concatenate(matches_gt_parts) if matches_gt_parts else np.zeros(0)
                matches_gt = np.where(np.isfinite(matches_gt), matches_gt, 0.0)
                matches_seg = np.where(np.isfinite(matches_seg), matches_seg, 0.0)
                c_p = float(np.sum(seg_area * matches_seg))
                s_p = float(seg_area.sum())
                c_r = float(np.sum(gt_area_all * matches_gt))
                cache[key] = (c_r, c_p, s_p, ri_sum / len(gts), voi_sum / len(gts), matches_gt)
            c_r, c_p, s_p, ri_t, voi_t, matches_gt = cache[key]
            cnt_r[t] = c_r
            sum_r[t] = total_gt_area
            cnt_p[t] = c_p
            sum_p[t] = s_p
            ri[t] = ri_t
            voi[t] = voi_t
            best_matches_gt = np.maximum(best_matches_gt, matches_gt)
    cnt_r_best = float(np.sum(gt_area_all * best_matches_gt))
    return RegionCounts(thresholds, cnt_r, sum_r, cnt_p, sum_p, cnt_r_best, ri, voi)


# --------------------------------------------------------------------------------------
# dataset aggregation (collect_eval_bdry / collect_eval_reg)
# --------------------------------------------------------------------------------------

@dataclass
class BoundaryEvaluation:
    """Dataset boundary results (what ``collect_eval_bdry`` writes)."""

    ods_threshold: float
    ods_recall: float
    ods_precision: float
    ods_f: float
    ois_recall: float
    ois_precision: float
    ois_f: float
    ap: float
    thresholds: np.ndarray          # (nthresh,)
    recall: np.ndarray              # (nthresh,) dataset curve
    precision: np.ndarray
    f: np.ndarray
    per_image: np.ndarray           # (nimages, 5): index, threshold, R, P, F at the image's best


@dataclass
class RegionEvaluation:
    """Dataset region results (what ``collect_eval_reg`` writes)."""

    cover_ods_threshold: float
    cover_ods: float
    cover_ois: float
    cover_best: float
    pri_ods_threshold: float
    pri_ods: float
    pri_ois: float
    vi_ods_threshold: float
    vi_ods: float
    vi_ois: float
    thresholds: np.ndarray          # (nthresh,)
    cover: np.ndarray               # (nthresh,) covering per threshold
    pri: np.ndarray                 # (nthresh,) mean PRI per threshold
    vi: np.ndarray                  # (nthresh,) mean VI per threshold
    per_image: np.ndarray           # (nimages, 4): index, threshold, covering G->S, S->G


def _check_same_thresholds(counts, what: str, ids=None):
    first = counts[0].thresholds
    for k, c in enumerate(counts):
        if c.thresholds.shape != first.shape:
            name = ids[k] if ids else str(k + 1)
            raise ValueError(f"{what}: image {name} has {c.thresholds.size} thresholds but image "
                             f"{ids[0] if ids else 1} has {first.size} (for segs, every image "
                             "needs the same number of segmentations)")


def rounded_counts(counts: BoundaryCounts | RegionCounts) -> np.ndarray:
    """The counts of one image as the original's ``*_ev1.txt`` / ``*_ev2.txt`` file holds them.

    Parameters
    ----------
    counts : BoundaryCounts or RegionCounts

    Returns
    -------
    ndarray, shape (4, nthresh), float64
        Rows ``cnt_r, sum_r, cnt_p, sum_p``, rounded to 6 significant digits.
    """
    return np.stack([round_g6(a) for a in (counts.cnt_r, counts.sum_r, counts.cnt_p, counts.sum_p)])


def best_threshold_counts(rounded: np.ndarray, measure: str = "f") -> np.ndarray:
    """Counts of one image at its best threshold, what OIS sums.

    Parameters
    ----------
    rounded : ndarray, shape (4, nthresh), float64
        From :func:`rounded_counts`.
    measure : {"f", "covering"}
        ``"f"``: boundaries, the first maximum of F (``collect_eval_bdry``); ``"covering"``:
        regions, the last maximum of ``cnt_r / sum_r`` (``collect_eval_reg``).

    Returns
    -------
    ndarray, shape (4,), float64
        ``cnt_r, sum_r, cnt_p, sum_p`` at that threshold.
    """
    recall = safe_ratio(rounded[0], rounded[1])
    if measure == "f":
        f = fmeasure(recall, safe_ratio(rounded[2], rounded[3]))
        return rounded[:, int(np.flatnonzero(f == f.max())[0])]
    if measure == "covering":
        return rounded[:, int(np.flatnonzero(recall == recall.max())[-1])]
    raise ValueError(f"measure must be 'f' or 'covering', got {measure!r}")


def collect_boundaries(counts: Sequence[BoundaryCounts], image_ids=None) -> BoundaryEvaluation:
    """ODS / OIS / AP from per-image boundary counts (``collect_eval_bdry``).

    Per-image counts are first rounded as the original's text files do.
    """
    if not counts:
        raise ValueError("no image to collect")
    _check_same_thresholds(counts, "boundary benchmark", image_ids)
    thresh = round_g6(counts[0].thresholds)
    n = thresh.size
    tot = np.zeros((4, n))
    best = np.zeros(4)
    scores = np.zeros((len(counts), 5))
    for i, c in enumerate(counts):
        rounded = rounded_counts(c)
        r = safe_ratio(rounded[0], rounded[1])
        p = safe_ratio(rounded[2], rounded[3])
        bt, br, bp, bf = _max_f(thresh, r, p)
        scores[i] = (i + 1, bt, br, bp, bf)
        tot += rounded
        best += best_threshold_counts(rounded)
    r = safe_ratio(tot[0], tot[1])
    p = safe_ratio(tot[2], tot[3])
    f = fmeasure(r, p)
    bt, br, bp, bf = _max_f(thresh, r, p)
    r_max = float(safe_ratio(best[0], best[1]))
    p_max = float(safe_ratio(best[2], best[3]))
    f_max = float(fmeasure(r_max, p_max))
    ap = area_pr(r, p)
    return BoundaryEvaluation(bt, br, bp, bf, r_max, p_max, f_max, ap, thresh, r, p, f, scores)


def area_pr(r: np.ndarray, p: np.ndarray) -> float:
    """``sum(interp1(unique R, P, 0:0.01:1), NaN -> 0) * 0.01`` as ``collect_eval_bdry``."""
    # MATLAB unique: sorted values; the index of the last occurrence (legacy default)
    order = np.argsort(r, kind="stable")
    rs = r[order]
    last = np.r_[rs[1:] != rs[:-1], True]
    ru = rs[last]
    pu = p[order][last]
    if ru.size <= 1:
        return 0.0
    ri = np.arange(101) * 0.01
    inside = (ri >= ru[0]) & (ri <= ru[-1])
    pi = np.where(inside, np.interp(ri, ru, pu), 0.0)
    return float(pi.sum() * 0.01)


def collect_regions(counts: Sequence[RegionCounts], image_ids=None) -> RegionEvaluation:
    """Covering, PRI and VI summaries from per-image region counts (``collect_eval_reg``)."""
    if not counts:
        raise ValueError("no image to collect")
    _check_same_thresholds(counts, "region benchmark", image_ids)
    thresh = round_g6(counts[0].thresholds)
    n = thresh.size
    tot = np.zeros((4, n))
    best = np.zeros(4)
    cnt_r_best_total = 0.0
    global_ri = np.zeros(n)
    global_voi = np.zeros(n)
    ri_best = voi_best = 0.0
    scores = np.zeros((len(counts), 4))
    for i, c in enumerate(counts):
        rounded = rounded_counts(c)
        r = safe_ratio(rounded[0], rounded[1])
        p = safe_ratio(rounded[2], rounded[3])
        k = int(np.argmax(r))
        scores[i] = (i + 1, thresh[k], r[k], p[k])
        tot += rounded
        best += best_threshold_counts(rounded, "covering")
        cnt_r_best_total += float(round_g6(c.cnt_r_best))
        ri = round_g6(c.ri)
        voi = round_g6(c.voi)
        global_ri += ri
        global_voi += voi
        ri_best += ri[np.flatnonzero(ri == ri.max())[-1]]
        voi_best += voi[np.flatnonzero(voi == voi.min())[-1]]
    r = safe_ratio(tot[0], tot[1])
    k = int(np.argmax(r))
    cover_t, cover_ods = float(thresh[k]), float(r[k])
    cover_ois = float(safe_ratio(best[0], best[1]))
    cover_best = cnt_r_best_total / tot[1][0]
    m = len(counts)
    global_ri /= m
    global_voi /= m
    i_ri = int(np.argmax(global_ri))
    i_voi = int(np.argmin(global_voi))
    return RegionEvaluation(cover_t, cover_ods, cover_ois, float(cover_best),
                            float(thresh[i_ri]), float(global_ri[i_ri]), float(ri_best / m),
                            float(thresh[i_voi]), float(global_voi[i_voi]), float(voi_best / m),
                            thresh, r, global_ri, global_voi, scores)


# --------------------------------------------------------------------------------------
# output files in the original layout
# --------------------------------------------------------------------------------------

def _fmt_rows(fmt: str, rows) -> str:
    return "".join(fmt % tuple(row) + "\n" for row in rows)


def write_boundary_files(ev: BoundaryEvaluation, out_dir: str | os.PathLike) -> None:
    """Write ``eval_bdry.txt``, ``eval_bdry_img.txt`` and ``eval_bdry_thr.txt``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval_bdry_img.txt").write_text(
        _fmt_rows("%10d %10g %10g %10g %10g", ev.per_image))
    (out / "eval_bdry_thr.txt").write_text(
        _fmt_rows("%10g %10g %10g %10g", np.column_stack([ev.thresholds, ev.recall,
                                                          ev.precision, ev.f])))
    (out / "eval_bdry.txt").write_text(_fmt_rows(
        "%10g %10g %10g %10g %10g %10g %10g %10g",
        [(ev.ods_threshold, ev.ods_recall, ev.ods_precision, ev.ods_f, ev.ois_recall,
          ev.ois_precision, ev.ois_f, ev.ap)]))


def write_region_files(ev: RegionEvaluation, out_dir: str | os.PathLike) -> None:
    """Write ``eval_cover*.txt`` and ``eval_RI_VOI*.txt``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval_cover_img.txt").write_text(_fmt_rows("%10d %10g %10g %10g", ev.per_image))
    (out / "eval_cover_th.txt").write_text(
        _fmt_rows("%10g %10g", np.column_stack([ev.thresholds, ev.cover])))
    (out / "eval_cover.txt").write_text(_fmt_rows(
        "%10g %10g %10g %10g", [(ev.cover_ods_threshold, ev.cover_ods, ev.cover_ois,
                                 ev.cover_best)]))
    (out / "eval_RI_VOI_thr.txt").write_text(
        _fmt_rows("%10g %10g %10g", np.column_stack([ev.thresholds, ev.pri, ev.vi])))
    (out / "eval_RI_VOI.txt").write_text(_fmt_rows(
        "%10g %10g %10g %10g %10g %10g",
        [(ev.pri_ods_threshold, ev.pri_ods, ev.pri_ois, ev.vi_ods_threshold, ev.vi_ods,
          ev.vi_ois)]))


# --------------------------------------------------------------------------------------
# dataset driver
# --------------------------------------------------------------------------------------

@dataclass
class BsdsSummary:
    """Summary numbers of a benchmark run.

    ``boundary`` / ``regions`` hold the full evaluations (``regions`` is None
    when the region benchmark was not run). ``n_images`` images were
    evaluated out of ``n_ground_truth``; ``missing`` lists the images without
    a result. ``boundary_counts`` / ``region_counts`` map each evaluated image
    id to its :class:`BoundaryCounts` / :class:`RegionCounts` (empty when that
    benchmark was not run), what :mod:`eval.bsds_compare` resamples.
    """

    boundary: BoundaryEvaluation | None
    regions: RegionEvaluation | None
    image_ids: list
    missing: list
    n_ground_truth: int
    result_kind: str
    seconds: float = 0.0
    out_dir: str | None = None
    notes: list = field(default_factory=list)
    boundary_counts: dict = field(default_factory=dict)
    region_counts: dict = field(default_factory=dict)

    @property
    def n_images(self) -> int:
        return len(self.image_ids)

    def to_dict(self) -> dict:
        """Scalar summary numbers as a plain dict."""
        d = {"n_images": self.n_images, "n_ground_truth": self.n_ground_truth,
             "missing": list(self.missing), "result_kind": self.result_kind,
             "seconds": self.seconds}
        if self.boundary is not None:
            b = self.boundary
            d.update(ods=b.ods_f, ods_threshold=b.ods_threshold, ods_recall=b.ods_recall,
                     ods_precision=b.ods_precision, ois=b.ois_f, ois_recall=b.ois_recall,
                     ois_precision=b.ois_precision, ap=b.ap)
        if self.regions is not None:
            r = self.regions
            d.update(cover_ods=r.cover_ods, cover_ois=r.cover_ois, cover_best=r.cover_best,
                     cover_ods_threshold=r.cover_ods_threshold, pri_ods=r.pri_ods,
                     pri_ois=r.pri_ois, pri_ods_threshold=r.pri_ods_threshold, vi_ods=r.vi_ods,
                     vi_ois=r.vi_ois, vi_ods_threshold=r.vi_ods_threshold)
        return d

    def format(self) -> str:
        """Human-readable summary."""
        lines = [f"BSDS benchmark: {self.n_images} of {self.n_ground_truth} images "
                 f"({self.result_kind}), {self.seconds:.1f} s"]
        if self.missing:
            lines.append(f"  WARNING: {len(self.missing)} image(s) have no result and were "
                         f"not evaluated: {', '.join(self.missing[:10])}"
                         + (" ..." if len(self.missing) > 10 else ""))
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.boundary is not None:
            b = self.boundary
            lines.append(f"  Boundary  ODS F={b.ods_f:.4f} (R={b.ods_recall:.4f} "
                         f"P={b.ods_precision:.4f} t={b.ods_threshold:.4g})  "
                         f"OIS F={b.ois_f:.4f} (R={b.ois_recall:.4f} P={b.ois_precision:.4f})  "
                         f"AP={b.ap:.4f}")
        if self.regions is not None:
            r = self.regions
            lines.append(f"  Covering  ODS={r.cover_ods:.4f} (t={r.cover_ods_threshold:.4g})  "
                         f"OIS={r.cover_ois:.4f}  Best={r.cover_best:.4f}")
            lines.append(f"  PRI       ODS={r.pri_ods:.4f} (t={r.pri_ods_threshold:.4g})  "
                         f"OIS={r.pri_ois:.4f}")
            lines.append(f"  VI        ODS={r.vi_ods:.4f} (t={r.vi_ods_threshold:.4g})  "
                         f"OIS={r.vi_ois:.4f}")
        if self.out_dir:
            lines.append(f"  files in {self.out_dir}")
        return "\n".join(lines)


def _evaluate_one(task):
    """Worker: evaluate one image from files. Returns (id, kind, bdry counts, region counts)."""
    (iid, result_path, gt_path, nthresh, max_dist, thin, do_bdry, do_regions, nms, nms_radius,
     nms_smooth) = task
    gt = load_ground_truth(gt_path)
    res = load_result(result_path, gt.shape)
    if nms:
        if res.kind != KIND_BOUNDARIES:
            raise ValueError(f"{result_path}: NMS thins soft boundary maps; this result is a "
                             f"{res.kind} (evaluate hierarchies and segmentations without it)")
        res = MachineResult(KIND_BOUNDARIES, nms_boundary_map(res.data, radius=nms_radius,
                                                              smooth=nms_smooth))
    bdry = reg = None
    if do_bdry:
        bdry = evaluate_boundaries_image(res, gt.boundaries, nthresh, max_dist, thin)
    if do_regions and res.kind != KIND_BOUNDARIES:
        reg = evaluate_regions_image(res, gt.segmentations, nthresh)
    return iid, res.kind, bdry, reg


def bsds_benchmark(results_dir, gt_dir, out_dir=None, nthresh: int = DEFAULT_NTHRESH,
                   workers: int | None = None, regions: bool = True, boundaries: bool = True,
                   max_dist: float = DEFAULT_MAX_DIST, thin: bool = True,
                   plot: bool = True, verbose: bool = False, nms: bool = False,
                   nms_radius: int = NMS_RADIUS, nms_smooth: int = NMS_SMOOTH) -> BsdsSummary:
    """Run the BSDS benchmark on a folder of results.

    Parameters
    ----------
    results_dir : path-like
        One result per image named ``<id>.<ext>`` (see :mod:`eval.bsds_io`).
    gt_dir : path-like
        BSDS ``groundTruth`` folder (``<id>.mat``); defines the image list.
    out_dir : path-like, optional
        Where to write the original's ``eval_*.txt`` files and ``pr_curve.png``;
        None writes nothing.
    nthresh : int
        Thresholds for boundary maps and ucm2 (segs use one per segmentation).
    workers : int, optional
        Parallel processes (None: all cores; 1: in-process).
    regions, boundaries : bool
        Which benchmarks to run. Regions are skipped (with a note) for
        boundary-map results, which have no regions.
    max_dist : float
        Matching radius as a fraction of the image diagonal.
    thin : bool
        Thin the thresholded machine boundaries.
    plot : bool
        Also save the precision-recall plot (when ``out_dir`` is given).
    verbose : bool
        Report progress on stderr.
    nms : bool
        Thin each soft boundary map by the structured edges toolbox's non-maximum
        suppression and round it to 8 bits first (:func:`nms_boundary_map`), as the
        MATLAB evaluation of HED/RCF-style edge maps does; results must be boundary maps.
    nms_radius, nms_smooth : int
        Suppression radius and pre-smoothing radius of that NMS (HED's 1 and 1; RCF's
        script uses 2 and 0).

    Returns
    -------
    BsdsSummary
    """
    start = time.perf_counter()
    gt_files = list_ground_truth(gt_dir)
    ids = list(gt_files)
    found, missing = find_results(results_dir, ids)
    if missing:
        warnings.warn(f"{len(missing)} of {len(ids)} ground-truth images have no result in "
                      f"{results_dir} and are NOT evaluated (averages cover {len(found)} images): "
                      f"{', '.join(missing[:10])}" + (" ..." if len(missing) > 10 else ""),
                      stacklevel=2)
    if workers is None:
        workers = os.cpu_count() or 1
    tasks = [(iid, str(found[iid]), str(gt_files[iid]), nthresh, max_dist, thin, boundaries,
              regions, nms, nms_radius, nms_smooth) for iid in found]
    if workers <= 1 or len(tasks) == 1:
        outputs = []
        for k, task in enumerate(tasks):
            outputs.append(_evaluate_one(task))
            if verbose and ((k + 1) % 10 == 0 or k + 1 == len(tasks)):
                print(f"  evaluated {k + 1}/{len(tasks)} images "
                      f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork")
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
            outputs = []
            for k, out in enumerate(pool.map(_evaluate_one, tasks, chunksize=1)):
                outputs.append(out)
                if verbose and ((k + 1) % 10 == 0 or k + 1 == len(tasks)):
                    print(f"  evaluated {k + 1}/{len(tasks)} images "
                          f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    kinds = {o[1] for o in outputs}
    if len(kinds) > 1:
        by_kind = {k: [o[0] for o in outputs if o[1] == k][:3] for k in kinds}
        raise ValueError(f"results mix formats {by_kind}; use one kind for all images")
    kind = kinds.pop()
    notes = []
    if kind == KIND_SEGS:
        notes.append("segs input: one threshold per segmentation (nthresh ignored)")
    if nms:
        notes.append(f"boundary maps thinned by edge NMS (convTri {nms_smooth}, r={nms_radius}, "
                     f"s={NMS_BORDER}, m={NMS_MARGIN}) and rounded to 8 bits before the benchmark")
    bdry_ev = reg_ev = None
    if boundaries:
        bdry_ev = collect_boundaries([o[2] for o in outputs], list(found))
    if regions:
        if kind == KIND_BOUNDARIES:
            notes.append("region benchmark skipped: boundary maps have no regions "
                         "(needs ucm2 or segs)")
        else:
            reg_ev = collect_regions([o[3] for o in outputs], list(found))
    summary = BsdsSummary(bdry_ev, reg_ev, list(found), missing, len(ids), kind,
                          notes=notes)
    if bdry_ev is not None:
        summary.boundary_counts = {o[0]: o[2] for o in outputs}
    if reg_ev is not None:
        summary.region_counts = {o[0]: o[3] for o in outputs}
    if out_dir is not None:
        out_dir = Path(out_dir)
        if bdry_ev is not None:
            write_boundary_files(bdry_ev, out_dir)
        if reg_ev is not None:
            write_region_files(reg_ev, out_dir)
        if plot and bdry_ev is not None:
            from eval.plots import plot_pr_curve

            plot_pr_curve(bdry_ev, out_dir / "pr_curve.png")
        summary.out_dir = str(out_dir)
    summary.seconds = time.perf_counter() - start
    return summary
