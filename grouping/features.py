"""Per-candidate features from per-leaf sums (MCG paper section 6, "Ranking").

Everything is computed from sums over the base leaves of a candidate, never from masks:

* :class:`LeafGeometry` holds, per base leaf, its area, bounding box, number of boundary
  elements on the image frame, and per pair of adjacent leaves the length of their common
  boundary and the sum of contour strength along it.
* :func:`candidate_features` turns the leaf sets of the candidates (after hole filling) and
  their regions' thresholds into the feature matrix whose columns are
  :data:`FEATURE_NAMES`.

Conventions. The boundary of a region is made of the unit elements between 4-adjacent
pixels (inside / outside), plus the unit elements on the image frame; its *perimeter* is
their number. The *contour strength* of an element between two pixels is the value of the
double-size map at that element (``ucm2`` convention, see :mod:`grouping.hierarchy`) or, for
an ``(H, W)`` map, the larger of the two pixels' values; frame elements have strength 0.
Boxes are ``[x0, y0, x1, y1)`` with exclusive upper corners, as in
:mod:`grouping.proposal_format`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from grouping.codes import first_occurrence_codes
from grouping.hierarchy import n_boundary_elements

__all__ = ["FEATURE_NAMES", "LeafGeometry", "leaf_geometry", "candidate_features"]

FEATURE_NAMES = (
    "area",                # area / image area
    "perimeter",           # perimeter / (H + W)
    "perimeter_sqrt_area", # perimeter / sqrt(area)
    "contour_sum",         # sum of contour strength on the boundary / (H + W)
    "contour_mean",        # contour sum / perimeter
    "contour_sqrt_area",   # contour sum / sqrt(area)
    "box_x0",              # x0 / W
    "box_y0",              # y0 / H
    "box_x1",              # x1 / W
    "box_y1",              # y1 / H
    "box_area",            # box area / image area
    "area_box_ratio",      # area / box area
    "box_aspect",          # box width / box height
    "area_balance",        # smallest / largest region area
    "n_regions",           # 1..4
    "start_min",           # min start threshold of its regions
    "start_max",
    "end_min",             # min end threshold of its regions
    "end_max",
    "lifetime",            # end_min - start_max: range of levels where all its regions exist
    "log_area",            # log(area / image area)
    "hierarchy_0",         # 1 if the candidate comes from hierarchy 0 of the stacked lists
    "hierarchy_1",         # (MCG: combined, scale 0.5, 1, 2 -- see mcg.proposals)
    "hierarchy_2",
    "hierarchy_3",         # hierarchies beyond the fourth set no indicator
)
"""Column names of :func:`candidate_features`, in order."""


@dataclass
class LeafGeometry:
    """Per-leaf sums of a base partition with ``B`` leaves.

    Attributes
    ----------
    area : (B,) int64
    box : (B, 4) int64, ``[x0, y0, x1, y1)``.
    frame : (B,) int64, number of boundary elements on the image frame.
    adj_ptr : (B+1,) int64, adj_leaf : (2E,) int64
        Symmetric CSR adjacency of the leaves.
    adj_len : (2E,) int64
        Number of boundary elements between the two leaves.
    adj_contour : (2E,) float64
        Sum of contour strength over those elements.
    shape : (H, W)
    """

    area: np.ndarray
    box: np.ndarray
    frame: np.ndarray
    adj_ptr: np.ndarray
    adj_leaf: np.ndarray
    adj_len: np.ndarray
    adj_contour: np.ndarray
    shape: tuple

    @property
    def n_leaves(self) -> int:
        return int(len(self.area))


def _element_strengths(contours, shape):
    """Strength of horizontal (H, W-1) and vertical (H-1, W) inner elements."""
    h, w = shape
    if contours is None:
        return np.zeros((h, max(w - 1, 0))), np.zeros((max(h - 1, 0), w))
    c = np.asarray(contours, dtype=np.float64)
    if c.shape == (2 * h + 1, 2 * w + 1):
        return c[1::2, 2:-1:2], c[2:-1:2, 1::2]
    if c.shape == (h, w):
        return np.maximum(c[:, :-1], c[:, 1:]), np.maximum(c[:-1, :], c[1:, :])
    raise ValueError(f"contour map has shape {c.shape}; expected the image size {(h, w)} or the "
                     f"double-size ucm2 grid {(2 * h + 1, 2 * w + 1)}")


def leaf_geometry(superpixels: np.ndarray, contours=None) -> LeafGeometry:
    """Per-leaf sums of a base partition.

    Parameters
    ----------
    superpixels : (H, W) integer ndarray, labels ``0..B-1``.
    contours : None, (H, W) or (2H+1, 2W+1) float ndarray
        Contour strength map (module docstring); None gives zero contour features.

    Returns
    -------
    LeafGeometry
    """
    sp = np.asarray(superpixels)
    if sp.ndim != 2 or sp.size == 0 or not np.issubdtype(sp.dtype, np.integer):
        raise ValueError("superpixels must be a non-empty 2-D integer label image")
    h, w = sp.shape
    sp = np.ascontiguousarray(sp, dtype=np.int64)
    n = int(sp.max()) + 1
    sh, sv = _element_strengths(contours, (h, w))
    area, box, frame = _leaf_extents(sp, n)
    # the adjacency as numpy's unique of the directed pair codes src * n + dst would give it,
    # each pair's strengths summed in the order of the codes (bincount with weights)
    codes, strengths = _directed_boundary_pairs(sp, np.asarray(sh, dtype=np.float64),
                                                np.asarray(sv, dtype=np.float64), n)
    labels, distinct, counts = first_occurrence_codes(codes)
    sums = np.bincount(labels, weights=strengths, minlength=distinct.size)
    order = np.argsort(distinct)
    distinct = distinct[order]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(distinct // n, minlength=n), out=ptr[1:])
    return LeafGeometry(area, box, frame, ptr, distinct % n, counts[order], sums[order], (h, w))


@njit(cache=True, nogil=True)
def _leaf_extents(sp, n):
    """Per leaf of an (H, W) int64 label image with labels ``0 .. n-1``: the area, the box
    ``[x0, y0, x1, y1)`` and the number of pixels on the image frame (each frame row and
    column counted, so a corner pixel twice)."""
    h, w = sp.shape
    area = np.zeros(n, np.int64)
    box = np.empty((n, 4), np.int64)
    for leaf in range(n):
        box[leaf, 0] = w
        box[leaf, 1] = h
        box[leaf, 2] = 0
        box[leaf, 3] = 0
    for y in range(h):
        for x in range(w):
            leaf = sp[y, x]
            area[leaf] += 1
            box[leaf, 0] = min(box[leaf, 0], x)
            box[leaf, 1] = min(box[leaf, 1], y)
            box[leaf, 2] = max(box[leaf, 2], x + 1)
            box[leaf, 3] = max(box[leaf, 3], y + 1)
    frame = np.zeros(n, np.int64)
    for x in range(w):
        frame[sp[0, x]] += 1
    for x in range(w):
        frame[sp[h - 1, x]] += 1
    for y in range(h):
        frame[sp[y, 0]] += 1
    for y in range(h):
        frame[sp[y, w - 1]] += 1
    return area, box, frame


@njit(cache=True, nogil=True)
def _directed_boundary_pairs(sp, sh, sv, n):
    """Codes ``src * n + dst`` and strengths of the boundary elements between different
    leaves, each element twice: the horizontal, then the vertical ones as (left/top,
    right/bottom) in raster order, then all again as (right/bottom, left/top)."""
    h, w = sp.shape
    m = n_boundary_elements(sp)
    codes = np.empty(2 * m, np.int64)
    strengths = np.empty(2 * m, np.float64)
    k = 0
    for reverse in range(2):
        for y in range(h):
            for x in range(w - 1):
                a = sp[y, x]
                b = sp[y, x + 1]
                if a != b:
                    codes[k] = b * n + a if reverse else a * n + b
                    strengths[k] = sh[y, x]
                    k += 1
        for y in range(h - 1):
            for x in range(w):
                a = sp[y, x]
                b = sp[y + 1, x]
                if a != b:
                    codes[k] = b * n + a if reverse else a * n + b
                    strengths[k] = sv[y, x]
                    k += 1
    return codes, strengths


@njit(cache=True, nogil=True)
def extend_box(boxes, u, x0, y0, x1, y1):
    """Grow the box ``[x0, y0, x1, y1]`` to contain row ``u`` of ``boxes`` ((n, 4) ints)."""
    return (min(x0, boxes[u, 0]), min(y0, boxes[u, 1]), max(x1, boxes[u, 2]),
            max(y1, boxes[u, 3]))


@njit(cache=True, nogil=True)
def _candidate_sums(indices, offsets, n_leaves, area, box, frame, adj_ptr, adj_leaf, adj_len,
                    adj_contour):
    """Area, box, perimeter and boundary contour sum of every CSR leaf set."""
    n = offsets.shape[0] - 1
    out_area = np.zeros(n, dtype=np.int64)
    out_box = np.empty((n, 4), dtype=np.int64)
    out_perim = np.zeros(n, dtype=np.int64)
    out_cont = np.zeros(n, dtype=np.float64)
    inside = np.zeros(n_leaves, dtype=np.bool_)
    for i in range(n):
        s, e = offsets[i], offsets[i + 1]
        for p in range(s, e):
            inside[indices[p]] = True
        x0 = 1 << 62
        y0 = 1 << 62
        x1 = -1
        y1 = -1
        tot = 0
        per = 0
        cont = 0.0
        for p in range(s, e):
            u = indices[p]
            tot += area[u]
            per += frame[u]
            x0, y0, x1, y1 = extend_box(box, u, x0, y0, x1, y1)
            for q in range(adj_ptr[u], adj_ptr[u + 1]):
                if not inside[adj_leaf[q]]:
                    per += adj_len[q]
                    cont += adj_contour[q]
        for p in range(s, e):
            inside[indices[p]] = False
        out_area[i] = tot
        out_box[i, 0] = x0
        out_box[i, 1] = y0
        out_box[i, 2] = x1
        out_box[i, 3] = y1
        out_perim[i] = per
        out_cont[i] = cont
    return out_area, out_box, out_perim, out_cont


def candidate_sums(geometry: LeafGeometry, leaf_indices, leaf_offsets):
    """Area, box, perimeter and contour sum of CSR leaf sets.

    Returns
    -------
    area : (N,) int64; box : (N, 4) int64 ``[x0, y0, x1, y1)``; perimeter : (N,) int64;
    contour_sum : (N,) float64.
    """
    return _candidate_sums(np.ascontiguousarray(leaf_indices, dtype=np.int64),
                           np.ascontiguousarray(leaf_offsets, dtype=np.int64),
                           geometry.n_leaves, geometry.area, geometry.box, geometry.frame,
                           geometry.adj_ptr, geometry.adj_leaf, geometry.adj_len,
                           geometry.adj_contour)


N_HIERARCHY_INDICATORS = 4


def candidate_features(geometry: LeafGeometry, leaf_indices, leaf_offsets, region_areas,
                       start_ths, end_ths, sums=None, hierarchy=None) -> np.ndarray:
    """Feature matrix of candidates (columns :data:`FEATURE_NAMES`).

    Parameters
    ----------
    geometry : LeafGeometry of the base partition.
    leaf_indices, leaf_offsets : CSR leaf sets of the N candidates (after hole filling);
        unused (may be None) when ``sums`` is given.
    region_areas : (N, 4) float, areas of the candidate's regions (NaN or <= 0 padded).
    start_ths, end_ths : (N, 4) float, thresholds of its regions (NaN padded).
    sums : optional precomputed output of :func:`candidate_sums`.
    hierarchy : (N,) int, index of the hierarchy each candidate comes from (None: all 0).

    Returns
    -------
    (N, F) float32.
    """
    h, w = geometry.shape
    if sums is None:
        sums = candidate_sums(geometry, leaf_indices, leaf_offsets)
    area, box, perim, cont = sums
    area = area.astype(np.float64)
    perim = perim.astype(np.float64)
    img_area = float(h * w)
    half_perim = float(h + w)
    bw = (box[:, 2] - box[:, 0]).astype(np.float64)
    bh = (box[:, 3] - box[:, 1]).astype(np.float64)
    region_areas = np.asarray(region_areas, dtype=np.float64)
    valid = np.isfinite(region_areas) & (region_areas > 0)
    rmax = np.where(valid, region_areas, -np.inf).max(axis=1)
    rmin = np.where(valid, region_areas, np.inf).min(axis=1)
    balance = np.where(rmax > 0, rmin / np.maximum(rmax, 1e-12), 1.0)
    n_regions = valid.sum(axis=1).astype(np.float64)
    start_ths = np.asarray(start_ths, dtype=np.float64)
    end_ths = np.asarray(end_ths, dtype=np.float64)
    with np.errstate(all="ignore"):
        cols = [
            area / img_area,
            perim / half_perim,
            perim / np.sqrt(np.maximum(area, 1.0)),
            cont / half_perim,
            np.where(perim > 0, cont / np.maximum(perim, 1.0), 0.0),
            cont / np.sqrt(np.maximum(area, 1.0)),
            box[:, 0] / w,
            box[:, 1] / h,
            box[:, 2] / w,
            box[:, 3] / h,
            bw * bh / img_area,
            area / np.maximum(bw * bh, 1.0),
            bw / np.maximum(bh, 1.0),
            balance,
            n_regions,
            np.nanmin(start_ths, axis=1),
            np.nanmax(start_ths, axis=1),
            np.nanmin(end_ths, axis=1),
            np.nanmax(end_ths, axis=1),
            np.nanmin(end_ths, axis=1) - np.nanmax(start_ths, axis=1),
            np.log(np.maximum(area, 1.0) / img_area),
        ]
        n = len(area)
        hierarchy = np.zeros(n, np.int64) if hierarchy is None else np.asarray(hierarchy)
        cols += [(hierarchy == k).astype(np.float64) for k in range(N_HIERARCHY_INDICATORS)]
    feats = np.stack(cols, axis=1)
    feats = np.where(np.isfinite(feats), feats, 0.0)
    return feats.astype(np.float32)
