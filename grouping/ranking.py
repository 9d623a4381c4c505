"""Hole filling, duplicate removal, regression-forest scoring and MMR re-ranking.

The candidate stage (:func:`proposals_from_trees`) follows MCG (paper sections 5-6,
``im2mcg.m`` of the public release):

1. candidates of 1..4 regions from every hierarchy (:mod:`grouping.candidates`);
2. holes filled on the base-leaf graph (:func:`fill_holes`): a connected group of leaves
   outside the candidate that touches neither the image frame nor anything outside the
   candidate's bounding box is added to it;
3. features (:mod:`grouping.features`) and a score: a random-forest regression of the best
   overlap with a ground-truth object, raised to :data:`TARGET_POWER` (3)
   (:class:`RegressionForest`), or without a trained
   model the *untrained fallback* score ``min(end_ths)`` of the candidate's regions (the UCM
   strength up to which all its regions exist: higher means a more salient grouping);
4. duplicates removed: in the order of the stacked lists (as MCG), a candidate whose
   Jaccard with an already kept one is > 0.95 is dropped (:func:`remove_duplicates`) --
   before hole filling and once more after it (steps 2-4 run as 4, 2, 4, 3);
5. diversity re-ranking (:func:`mmr_order`): greedily take the candidate maximizing a value
   of its score and of its largest Jaccard ``J`` with the candidates already taken; the value
   at selection time is the output score (non-increasing). Two rules:

   * ``"decay"`` (default): ``score * (1 - J) ** gamma``, ``gamma = 2`` -- a multiplicative
     decay as in Soft-NMS; a weak candidate stays weak however new it is;
   * ``"mmr"``: MCG's Maximum Marginal Relevance ``theta * score - (1 - theta) * J``,
     ``theta = 0.7``, where a poor but non-overlapping candidate can pass good ones.

   On the 64 held-out COCO images, with the same hierarchies and ranker, the decay rule raised box recall at IoU 0.7 from 0.202 to 0.250 at 100
   proposals and from 0.379 to 0.465 at 1000, and mask ABO from 0.401 to 0.423 at 100 and
   from 0.556 to 0.588 at 1000 (``benchmarks/bench_reranking.py``);
6. optionally (box proposals) box reduction (:func:`box_reduction`): a candidate whose box
   has IoU > 0.95 with the box of a better-ranked kept one is dropped.

All Jaccard indices are exact and come from per-leaf areas, never from masks
(:class:`OverlapIndex`): a candidate is at most 4 contiguous ranges in its tree's
depth-first order of base leaves, plus the leaves of its filled holes. Same-tree range
intersections are prefix-sum differences; cross-tree ones are 2-D prefix sums over the pair
of orders, with coordinates compressed to the range bounds actually used.

The regression forest is trained with scikit-learn (``python -m grouping.ranking train``)
and exported as plain arrays in a ``.npz`` (no pickles); inference is a Numba kernel.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from numba import njit

from grouping.candidates import (CandidateSet, candidates_from_trees, default_n_cands,
                                 MAX_REGIONS)
from grouping.features import (FEATURE_NAMES, LeafGeometry, candidate_features, extend_box,
                               leaf_geometry)
from grouping.hierarchy import MergeTree

__all__ = [
    "J_DUPLICATE", "THETA_MMR", "DECAY_GAMMA", "RERANK_RULES", "IOU_BOX",
    "fill_holes", "OverlapIndex", "remove_duplicates", "mmr_order", "box_reduction",
    "RegressionForest", "untrained_scores", "proposals_from_trees", "CandidateStage",
    "candidate_stage",
]

J_DUPLICATE = 0.95
THETA_MMR = 0.7
DECAY_GAMMA = 2.0
RERANK_RULES = ("decay", "mmr")
IOU_BOX = 0.95
#: The ranking forest regresses (best Jaccard with an object) ** TARGET_POWER: on held-out COCO
#: the power 3 ranked near-perfect candidates higher than the plain Jaccard (MCG), e.g. box
#: recall at IoU 0.7 at 100 proposals 0.276 against 0.255 (same features, decay re-ranking).
TARGET_POWER = 3.0
_FOREST_FORMAT = "mcg.grouping.RegressionForest/1"


# ----------------------------------------------------------------------------------------
# Hole filling
# ----------------------------------------------------------------------------------------


@njit(cache=True)
def _grow(arr, need):
    if need <= arr.shape[0]:
        return arr
    new = np.empty(max(need, 2 * arr.shape[0]), dtype=arr.dtype)
    new[: arr.shape[0]] = arr
    return new


@njit(cache=True)
def _flood_outside(v, inside, state, touched, n_t, queue, adj_ptr, adj_leaf, box, on_frame,
                   x0, y0, x1, y1):
    """Breadth-first search of the component of non-candidate leaves containing leaf ``v``.

    The component *escapes* when it reaches the image frame, leaves the candidate's box
    ``[x0, x1] x [y0, y1]`` or touches a leaf already known to be outside (state 1); then its
    leaves are marked outside. Otherwise it is a hole: its leaves are ``queue[:tail]`` (state 3,
    the caller marks them). Visited leaves are appended to ``touched`` for the reset.

    Returns
    -------
    tail : int, number of leaves in ``queue``; n_t : int, new length of ``touched``;
    escaped : bool.
    """
    head = 0
    tail = 0
    queue[tail] = v
    tail += 1
    state[v] = 3
    touched[n_t] = v
    n_t += 1
    escaped = False
    while head < tail and not escaped:
        x = queue[head]
        head += 1
        if (on_frame[x] or box[x, 0] < x0 or box[x, 1] < y0 or box[x, 2] > x1
                or box[x, 3] > y1):
            escaped = True
            break
        for r in range(adj_ptr[x], adj_ptr[x + 1]):
            y = adj_leaf[r]
            if inside[y] or state[y] == 3 or state[y] == 2:
                continue
            if state[y] == 1:
                escaped = True
                break
            state[y] = 3
            touched[n_t] = y
            n_t += 1
            queue[tail] = y
            tail += 1
    if escaped:
        for k in range(tail):
            state[queue[k]] = 1
    return tail, n_t, escaped


@njit(cache=True)
def _fill_holes(indices, offsets, n_leaves, adj_ptr, adj_leaf, leaf_box, on_frame):
    n = offsets.shape[0] - 1
    inside = np.zeros(n_leaves, dtype=np.bool_)
    state = np.zeros(n_leaves, dtype=np.int8)  # 0 new, 1 outside, 2 hole, 3 in current BFS
    touched = np.empty(n_leaves, dtype=np.int64)
    queue = np.empty(n_leaves, dtype=np.int64)
    hole_idx = np.empty(1024, dtype=np.int64)
    hole_off = np.zeros(n + 1, dtype=np.int64)
    n_hole = 0
    for i in range(n):
        s, e = offsets[i], offsets[i + 1]
        x0 = 1 << 62
        y0 = 1 << 62
        x1 = -1
        y1 = -1
        for p in range(s, e):
            u = indices[p]
            inside[u] = True
            x0, y0, x1, y1 = extend_box(leaf_box, u, x0, y0, x1, y1)
        n_t = 0
        for p in range(s, e):
            u = indices[p]
            for q in range(adj_ptr[u], adj_ptr[u + 1]):
                v = adj_leaf[q]
                if inside[v] or state[v] != 0:
                    continue
                tail, n_t, escaped = _flood_outside(v, inside, state, touched, n_t, queue, adj_ptr,
                                                    adj_leaf, leaf_box, on_frame, x0, y0, x1, y1)
                if not escaped:
                    hole_idx = _grow(hole_idx, n_hole + tail)
                    for k in range(tail):
                        state[queue[k]] = 2
                        hole_idx[n_hole] = queue[k]
                        n_hole += 1
        hole_off[i + 1] = n_hole
        for p in range(s, e):
            inside[indices[p]] = False
        for k in range(n_t):
            state[touched[k]] = 0
    return hole_idx[:n_hole].copy(), hole_off


def fill_holes(geometry: LeafGeometry, leaf_indices, leaf_offsets):
    """Holes of every candidate on the base-leaf graph.

    A hole of a leaf set ``C`` is a connected component of the other leaves (4-adjacency of
    their pixels) that touches neither the image frame nor leaves extending outside the
    bounding box of ``C`` -- i.e. it is enclosed by ``C``.

    Parameters
    ----------
    geometry : LeafGeometry
    leaf_indices, leaf_offsets : CSR leaf sets of N candidates.

    Returns
    -------
    hole_indices : (K,) int64, hole_offsets : (N+1,) int64
        CSR of the leaves to add to each candidate (empty for most).
    """
    on_frame = geometry.frame > 0
    return _fill_holes(np.ascontiguousarray(leaf_indices, dtype=np.int64),
                       np.ascontiguousarray(leaf_offsets, dtype=np.int64), geometry.n_leaves,
                       geometry.adj_ptr, geometry.adj_leaf, geometry.box, on_frame)


@njit(cache=True)
def _stage_sums(cand_tree, lo, hi, leaf_order, n_leaves, area, box, frame, adj_ptr, adj_leaf,
                adj_len, adj_contour, on_frame, fill):
    """Area, box, perimeter, boundary contour sum and holes of candidates given as ranges.

    One pass over the adjacency of each candidate's leaves; with ``fill`` the enclosed
    components of the other leaves (see :func:`fill_holes`) are added, and the boundary
    between the candidate and its holes is removed from its perimeter and contour sum.
    """
    n = cand_tree.shape[0]
    n_q = lo.shape[1]
    out_area = np.zeros(n, dtype=np.int64)
    out_box = np.empty((n, 4), dtype=np.int64)
    out_perim = np.zeros(n, dtype=np.int64)
    out_cont = np.zeros(n, dtype=np.float64)
    inside = np.zeros(n_leaves, dtype=np.bool_)
    seen = np.zeros(n_leaves, dtype=np.bool_)
    state = np.zeros(n_leaves, dtype=np.int8)  # 0 new, 1 outside, 2 hole, 3 in current BFS
    touched = np.empty(n_leaves, dtype=np.int64)
    queue = np.empty(n_leaves, dtype=np.int64)
    nbl = np.empty(n_leaves, dtype=np.int64)
    hole_idx = np.empty(1024, dtype=np.int64)
    hole_off = np.zeros(n + 1, dtype=np.int64)
    n_hole = 0
    for i in range(n):
        t = cand_tree[i]
        x0 = 1 << 62
        y0 = 1 << 62
        x1 = -1
        y1 = -1
        tot = 0
        per = 0
        for q in range(n_q):
            for p in range(lo[i, q], hi[i, q]):
                u = leaf_order[t, p]
                inside[u] = True
                tot += area[u]
                per += frame[u]
                x0, y0, x1, y1 = extend_box(box, u, x0, y0, x1, y1)
        cont = 0.0
        n_nb = 0
        for q in range(n_q):
            for p in range(lo[i, q], hi[i, q]):
                u = leaf_order[t, p]
                for e in range(adj_ptr[u], adj_ptr[u + 1]):
                    v = adj_leaf[e]
                    if not inside[v]:
                        per += adj_len[e]
                        cont += adj_contour[e]
                        if not seen[v]:
                            seen[v] = True
                            nbl[n_nb] = v
                            n_nb += 1
        n_t = 0
        if fill:
            for k0 in range(n_nb):
                v = nbl[k0]
                if state[v] != 0:
                    continue
                tail, n_t, escaped = _flood_outside(v, inside, state, touched, n_t, queue, adj_ptr,
                                                    adj_leaf, box, on_frame, x0, y0, x1, y1)
                if not escaped:
                    hole_idx = _grow(hole_idx, n_hole + tail)
                    for k in range(tail):
                        x = queue[k]
                        state[x] = 2
                        hole_idx[n_hole] = x
                        n_hole += 1
                        tot += area[x]
                        for r in range(adj_ptr[x], adj_ptr[x + 1]):
                            if inside[adj_leaf[r]]:
                                per -= adj_len[r]
                                cont -= adj_contour[r]
        hole_off[i + 1] = n_hole
        for q in range(n_q):
            for p in range(lo[i, q], hi[i, q]):
                inside[leaf_order[t, p]] = False
        for k in range(n_nb):
            seen[nbl[k]] = False
        for k in range(n_t):
            state[touched[k]] = 0
        out_area[i] = tot
        out_box[i, 0] = x0
        out_box[i, 1] = y0
        out_box[i, 2] = x1
        out_box[i, 3] = y1
        out_perim[i] = per
        out_cont[i] = max(cont, 0.0)
    return out_area, out_box, out_perim, out_cont, hole_idx[:n_hole].copy(), hole_off


@njit(cache=True)
def _gather_filled(index, cand_tree, lo, hi, leaf_order, hole_idx, hole_off):
    """Sorted CSR leaf sets (regions + holes) of the candidates ``index``."""
    n = index.shape[0]
    off = np.zeros(n + 1, dtype=np.int64)
    for k in range(n):
        i = index[k]
        tot = hole_off[i + 1] - hole_off[i]
        for q in range(lo.shape[1]):
            tot += hi[i, q] - lo[i, q]
        off[k + 1] = off[k] + tot
    idx = np.empty(off[n], dtype=np.int32)
    for k in range(n):
        i = index[k]
        t = cand_tree[i]
        w = off[k]
        for q in range(lo.shape[1]):
            for p in range(lo[i, q], hi[i, q]):
                idx[w] = leaf_order[t, p]
                w += 1
        for p in range(hole_off[i], hole_off[i + 1]):
            idx[w] = hole_idx[p]
            w += 1
        idx[off[k]:off[k + 1]].sort()
    return idx, off


@njit(cache=True)
def _range_boxes(cand_tree, lo, hi, leaf_order, box):
    """Boxes of candidates given as leaf ranges (sparse-table range min/max per tree)."""
    n_trees, n_base = leaf_order.shape
    levels = 1
    while (1 << levels) <= n_base:
        levels += 1
    st = np.empty((n_trees, levels, n_base, 4), dtype=np.int64)
    for t in range(n_trees):
        for p in range(n_base):
            for c in range(4):
                st[t, 0, p, c] = box[leaf_order[t, p], c]
        for k in range(1, levels):
            half = 1 << (k - 1)
            for p in range(n_base - (1 << k) + 1):
                st[t, k, p, 0] = min(st[t, k - 1, p, 0], st[t, k - 1, p + half, 0])
                st[t, k, p, 1] = min(st[t, k - 1, p, 1], st[t, k - 1, p + half, 1])
                st[t, k, p, 2] = max(st[t, k - 1, p, 2], st[t, k - 1, p + half, 2])
                st[t, k, p, 3] = max(st[t, k - 1, p, 3], st[t, k - 1, p + half, 3])
    n = cand_tree.shape[0]
    out = np.empty((n, 4), dtype=np.int64)
    for i in range(n):
        t = cand_tree[i]
        x0 = 1 << 62
        y0 = 1 << 62
        x1 = -1
        y1 = -1
        for q in range(lo.shape[1]):
            a = lo[i, q]
            b = hi[i, q]
            if b <= a:
                continue
            k = 0
            while (1 << (k + 1)) <= b - a:
                k += 1
            c = b - (1 << k)
            x0 = min(x0, min(st[t, k, a, 0], st[t, k, c, 0]))
            y0 = min(y0, min(st[t, k, a, 1], st[t, k, c, 1]))
            x1 = max(x1, max(st[t, k, a, 2], st[t, k, c, 2]))
            y1 = max(y1, max(st[t, k, a, 3], st[t, k, c, 3]))
        out[i, 0] = x0
        out[i, 1] = y0
        out[i, 2] = x1
        out[i, 3] = y1
    return out


# ----------------------------------------------------------------------------------------
# Exact intersections from per-leaf areas
# ----------------------------------------------------------------------------------------


@njit(cache=True)
def _hole_in_ranges(i, leaf, cand_tree, lo, hi, leaf_rank):
    r = leaf_rank[cand_tree[i], leaf]
    for q in range(4):
        if lo[i, q] <= r < hi[i, q]:
            return True
    return False


@njit(cache=True)
def _intersection(i, j, cand_tree, lo, hi, clo, chi, prefix, tab, tab_off, tab_cols,
                  hole_idx, hole_off, leaf_rank, area, mark):
    ti = cand_tree[i]
    tj = cand_tree[j]
    total = 0
    if ti == tj:
        for p in range(4):
            if hi[i, p] <= lo[i, p]:
                continue
            for q in range(4):
                if hi[j, q] <= lo[j, q]:
                    continue
                a = max(lo[i, p], lo[j, q])
                b = min(hi[i, p], hi[j, q])
                if b > a:
                    total += prefix[ti, b] - prefix[ti, a]
    else:
        if ti < tj:
            s, t, u, v = ti, tj, i, j
        else:
            s, t, u, v = tj, ti, j, i
        off = tab_off[s, t]
        ncol = tab_cols[s, t]
        for p in range(4):
            if hi[u, p] <= lo[u, p]:
                continue
            x1 = clo[u, p]
            x2 = chi[u, p]
            for q in range(4):
                if hi[v, q] <= lo[v, q]:
                    continue
                y1 = clo[v, q]
                y2 = chi[v, q]
                total += (tab[off + x2 * ncol + y2] - tab[off + x1 * ncol + y2]
                          - tab[off + x2 * ncol + y1] + tab[off + x1 * ncol + y1])
    hi_s, hi_e = hole_off[i], hole_off[i + 1]
    hj_s, hj_e = hole_off[j], hole_off[j + 1]
    if hi_e > hi_s or hj_e > hj_s:
        for p in range(hj_s, hj_e):
            b = hole_idx[p]
            if _hole_in_ranges(i, b, cand_tree, lo, hi, leaf_rank):
                total += area[b]
        for p in range(hi_s, hi_e):
            b = hole_idx[p]
            if _hole_in_ranges(j, b, cand_tree, lo, hi, leaf_rank):
                total += area[b]
        if hi_e > hi_s and hj_e > hj_s:
            for p in range(hi_s, hi_e):
                mark[hole_idx[p]] = True
            for p in range(hj_s, hj_e):
                if mark[hole_idx[p]]:
                    total += area[hole_idx[p]]
            for p in range(hi_s, hi_e):
                mark[hole_idx[p]] = False
    return total


class OverlapIndex:
    """Exact pairwise intersections of (hole-filled) candidates from per-leaf areas.

    Parameters
    ----------
    cset : CandidateSet
    leaf_area : (B,) int64, pixel area of every base leaf.
    hole_indices, hole_offsets : CSR holes of every candidate (:func:`fill_holes`), or None.

    Attributes
    ----------
    areas : (N,) int64, area of every filled candidate.
    """

    def __init__(self, cset: CandidateSet, leaf_area, hole_indices=None, hole_offsets=None):
        n = cset.n_candidates
        n_trees = cset.n_trees
        n_base = cset.leaf_order.shape[1]
        area = np.asarray(leaf_area, dtype=np.int64)
        if hole_indices is None:
            hole_indices = np.zeros(0, dtype=np.int64)
            hole_offsets = np.zeros(n + 1, dtype=np.int64)
        self.hole_idx = np.ascontiguousarray(hole_indices, dtype=np.int64)
        self.hole_off = np.ascontiguousarray(hole_offsets, dtype=np.int64)
        self.cand_tree = np.ascontiguousarray(cset.tree, dtype=np.int64)
        self.lo = np.ascontiguousarray(cset.range_lo, dtype=np.int64)
        self.hi = np.ascontiguousarray(cset.range_hi, dtype=np.int64)
        self.leaf_rank = np.ascontiguousarray(cset.leaf_rank, dtype=np.int64)
        self.area = area
        prefix = np.zeros((n_trees, n_base + 1), dtype=np.int64)
        for t in range(n_trees):
            np.cumsum(area[cset.leaf_order[t]], out=prefix[t, 1:])
        self.prefix = prefix
        # Compressed coordinates per tree and cross-tree 2-D prefix tables.
        self.clo = np.zeros_like(self.lo)
        self.chi = np.zeros_like(self.hi)
        bounds = []
        for t in range(n_trees):
            sel = self.cand_tree == t
            u = np.unique(np.concatenate([[0, n_base], self.lo[sel].ravel(),
                                          self.hi[sel].ravel()]))
            bounds.append(u)
            self.clo[sel] = np.searchsorted(u, self.lo[sel])
            self.chi[sel] = np.searchsorted(u, self.hi[sel])
        tab_off = np.zeros((n_trees, n_trees), dtype=np.int64)
        tab_cols = np.zeros((n_trees, n_trees), dtype=np.int64)
        tables = []
        pos = 0
        for s in range(n_trees):
            for t in range(s + 1, n_trees):
                bx = np.searchsorted(bounds[s], self.leaf_rank[s], side="right")
                by = np.searchsorted(bounds[t], self.leaf_rank[t], side="right")
                rows, cols = len(bounds[s]), len(bounds[t])
                hist = np.bincount(bx * cols + by, weights=area, minlength=rows * cols)
                table = np.cumsum(np.cumsum(hist.reshape(rows, cols), axis=0), axis=1)
                tables.append(np.rint(table).astype(np.int64).ravel())
                tab_off[s, t] = pos
                tab_cols[s, t] = cols
                pos += rows * cols
        self.tab = np.concatenate(tables) if tables else np.zeros(1, dtype=np.int64)
        self.tab_off = tab_off
        self.tab_cols = tab_cols
        self.table_bytes = int(self.tab.nbytes)
        self._mark = np.zeros(n_base, dtype=np.bool_)
        core = np.zeros(n, dtype=np.int64)
        for q in range(MAX_REGIONS):
            core += prefix[self.cand_tree, self.hi[:, q]] - prefix[self.cand_tree, self.lo[:, q]]
        holes = np.zeros(n, dtype=np.int64)
        if len(self.hole_idx):
            owner = np.repeat(np.arange(n), np.diff(self.hole_off))
            holes = np.bincount(owner, weights=area[self.hole_idx], minlength=n).astype(np.int64)
        self.areas = core + holes

    def _args(self):
        return (self.cand_tree, self.lo, self.hi, self.clo, self.chi, self.prefix, self.tab,
                self.tab_off, self.tab_cols, self.hole_idx, self.hole_off, self.leaf_rank,
                self.area, self._mark)

    def intersection(self, i: int, j: int) -> int:
        """Pixels shared by candidates ``i`` and ``j``."""
        return int(_intersection(int(i), int(j), *self._args()))

    def jaccard(self, i: int, j: int) -> float:
        """Jaccard index (IoU) of candidates ``i`` and ``j``."""
        inter = self.intersection(i, j)
        union = self.areas[i] + self.areas[j] - inter
        return inter / union if union > 0 else 0.0


# ----------------------------------------------------------------------------------------
# Duplicates, MMR, boxes
# ----------------------------------------------------------------------------------------


@njit(cache=True)
def _box_inter(boxes, i, j):
    w = min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0])
    h = min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1])
    if w <= 0 or h <= 0:
        return 0.0
    return float(w) * float(h)


@njit(cache=True)
def _dedup(order, areas, boxes, j_th, cand_tree, lo, hi, clo, chi, prefix, tab, tab_off,
           tab_cols, hole_idx, hole_off, leaf_rank, area, mark):
    n = order.shape[0]
    width = -np.log(j_th) + 1e-12
    n_buckets = int(np.log(max(areas.max(), 1) + 1.0) / width) + 3
    head = np.full(n_buckets, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    kept = np.empty(n, dtype=np.int64)
    n_kept = 0
    for k in range(n):
        i = order[k]
        ai = areas[i]
        bk = int(np.log(max(ai, 1)) / width) + 1
        dup = False
        for bb in range(bk - 1, bk + 2):
            if bb < 0 or bb >= n_buckets or dup:
                continue
            m = head[bb]
            while m >= 0:
                j = kept[m]
                aj = areas[j]
                big = max(ai, aj)
                if min(ai, aj) >= j_th * big and _box_inter(boxes, i, j) >= j_th * big:
                    inter = _intersection(i, j, cand_tree, lo, hi, clo, chi, prefix, tab,
                                          tab_off, tab_cols, hole_idx, hole_off, leaf_rank,
                                          area, mark)
                    union = ai + aj - inter
                    if union > 0 and inter > j_th * union:
                        dup = True
                        break
                m = nxt[m]
        if not dup:
            kept[n_kept] = i
            nxt[n_kept] = head[bk]
            head[bk] = n_kept
            n_kept += 1
    return kept[:n_kept].copy()


def remove_duplicates(index: OverlapIndex, boxes, order, j_th: float = J_DUPLICATE):
    """Drop candidates whose Jaccard with a better one (earlier in ``order``) is > ``j_th``.

    Parameters
    ----------
    index : OverlapIndex
    boxes : (N, 4) ``[x0, y0, x1, y1)`` boxes of the (filled) candidates.
    order : (M,) int, candidates in priority order (best first).
    j_th : float

    Returns
    -------
    (K,) int64: the kept candidates, in ``order``'s order.
    """
    order = np.ascontiguousarray(order, dtype=np.int64)
    if len(order) == 0:
        return order
    return _dedup(order, index.areas, np.ascontiguousarray(boxes, dtype=np.float64),
                  float(j_th), *index._args())


@njit(cache=True)
def _rerank_value(score, max_j, multiplicative, theta, gamma):
    if multiplicative:
        return score * (1.0 - max_j) ** gamma
    return theta * score - (1.0 - theta) * max_j


@njit(cache=True)
def _mmr(cands, scores, multiplicative, theta, gamma, areas, boxes, cand_tree, lo, hi, clo, chi, prefix, tab, tab_off,
         tab_cols, hole_idx, hole_off, leaf_rank, area, mark):
    m = cands.shape[0]
    max_j = np.zeros(m, dtype=np.float64)
    remaining = np.arange(m)
    n_rem = m
    out = np.empty(m, dtype=np.int64)
    out_score = np.empty(m, dtype=np.float64)
    for step in range(m):
        best_pos = -1
        best_v = -np.inf
        for r in range(n_rem):
            k = remaining[r]
            v = _rerank_value(scores[k], max_j[k], multiplicative, theta, gamma)
            if v > best_v or (v == best_v and k < remaining[best_pos]):
                best_v = v
                best_pos = r
        best = remaining[best_pos]
        # Remove it keeping the remaining list in increasing order (ties -> first).
        for r in range(best_pos, n_rem - 1):
            remaining[r] = remaining[r + 1]
        n_rem -= 1
        out[step] = best
        out_score[step] = best_v
        i = cands[best]
        ai = areas[i]
        for r in range(n_rem):
            k = remaining[r]
            j = cands[k]
            bi = _box_inter(boxes, i, j)
            if bi <= 0.0:
                continue
            aj = areas[j]
            # Upper bound of the Jaccard from areas and boxes: skip when it cannot raise max_j.
            u = min(bi, float(min(ai, aj)))
            if u / (ai + aj - u) <= max_j[k]:
                continue
            inter = _intersection(i, j, cand_tree, lo, hi, clo, chi, prefix, tab, tab_off,
                                  tab_cols, hole_idx, hole_off, leaf_rank, area, mark)
            union = ai + aj - inter
            if union > 0:
                jac = inter / union
                if jac > max_j[k]:
                    max_j[k] = jac
    return out, out_score


def mmr_order(index: OverlapIndex, boxes, candidates, scores, theta: float = THETA_MMR,
              rule: str = "mmr", gamma: float = DECAY_GAMMA):
    """Diversity re-ranking: Maximum Marginal Relevance or multiplicative decay.

    Greedily takes, among the remaining candidates, the one maximizing its value given
    ``J`` = max(Jaccard with the candidates already taken) (first in ``candidates`` order on
    ties): ``theta * score - (1 - theta) * J`` for ``rule="mmr"``, or
    ``score * (1 - J) ** gamma`` for ``rule="decay"``.

    Parameters
    ----------
    index : OverlapIndex
    boxes : (N, 4) boxes of all candidates of the index.
    candidates : (M,) int, the candidates to order.
    scores : (M,) float, their scores (``>= 0`` for ``"decay"``).
    theta : float in [0, 1], MMR trade-off (``"mmr"`` only).
    rule : "mmr" or "decay".
    gamma : float > 0, decay exponent (``"decay"`` only).

    Returns
    -------
    order : (M,) int64, positions into ``candidates`` in selection order.
    values : (M,) float64, the maximized value at each selection (non-increasing).
    """
    if rule not in RERANK_RULES:
        raise ValueError(f"rule must be one of {RERANK_RULES}, got {rule!r}")
    if not 0.0 <= theta <= 1.0:
        raise ValueError(f"theta must be in [0, 1], got {theta}")
    if not gamma > 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    candidates = np.ascontiguousarray(candidates, dtype=np.int64)
    scores = np.ascontiguousarray(scores, dtype=np.float64)
    if scores.shape != candidates.shape:
        raise ValueError(f"scores has shape {scores.shape}, candidates {candidates.shape}")
    if rule == "decay" and len(scores) and scores.min() < 0:
        raise ValueError("the decay rule needs non-negative scores")
    if len(candidates) == 0:
        return candidates.copy(), scores.copy()
    return _mmr(candidates, scores, rule == "decay", float(theta), float(gamma), index.areas,
                np.ascontiguousarray(boxes, dtype=np.float64), *index._args())


@njit(cache=True)
def _box_reduction(boxes, iou_th):
    n = boxes.shape[0]
    keep = np.zeros(n, dtype=np.bool_)
    kept = np.empty(n, dtype=np.int64)
    n_kept = 0
    for i in range(n):
        ai = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
        ok = True
        for m in range(n_kept):
            j = kept[m]
            inter = _box_inter(boxes, i, j)
            if inter <= 0.0:
                continue
            aj = (boxes[j, 2] - boxes[j, 0]) * (boxes[j, 3] - boxes[j, 1])
            if inter > iou_th * (ai + aj - inter):
                ok = False
                break
        if ok:
            keep[i] = True
            kept[n_kept] = i
            n_kept += 1
    return keep


def box_reduction(boxes, iou_th: float = IOU_BOX) -> np.ndarray:
    """Keep-mask dropping boxes with IoU > ``iou_th`` with a better-ranked kept box.

    Parameters
    ----------
    boxes : (N, 4) ``[x0, y0, x1, y1)`` boxes in rank order.

    Returns
    -------
    (N,) bool.
    """
    boxes = np.ascontiguousarray(boxes, dtype=np.float64).reshape(-1, 4)
    return _box_reduction(boxes, float(iou_th))


# ----------------------------------------------------------------------------------------
# Regression forest from plain arrays
# ----------------------------------------------------------------------------------------


@njit(cache=True)
def _forest_predict(x, roots, left, right, feature, threshold, value):
    n = x.shape[0]
    out = np.zeros(n, dtype=np.float64)
    n_trees = roots.shape[0]
    for i in range(n):
        acc = 0.0
        for t in range(n_trees):
            node = roots[t]
            while left[node] >= 0:
                if x[i, feature[node]] <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
            acc += value[node]
        out[i] = acc / n_trees
    return out


@dataclass
class RegressionForest:
    """A regression forest as flat arrays (all trees concatenated).

    Attributes
    ----------
    roots : (T,) int64, index of each tree's root node.
    left, right : (K,) int64, children (global node indices, -1 at leaves).
    feature : (K,) int64, split feature (unused at leaves).
    threshold : (K,) float64, go left when ``x[feature] <= threshold``.
    value : (K,) float64, prediction at leaves.
    feature_names : tuple of str, the columns the forest expects.
    """

    roots: np.ndarray
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    feature_names: tuple = FEATURE_NAMES

    @classmethod
    def from_sklearn(cls, forest, feature_names=FEATURE_NAMES) -> "RegressionForest":
        """Export a fitted ``sklearn.ensemble.RandomForestRegressor`` (single output)."""
        roots, left, right, feat, thr, val = [], [], [], [], [], []
        base = 0
        for est in forest.estimators_:
            tr = est.tree_
            k = tr.node_count
            is_leaf = tr.children_left < 0
            roots.append(base)
            left.append(np.where(is_leaf, -1, tr.children_left + base))
            right.append(np.where(is_leaf, -1, tr.children_right + base))
            feat.append(np.where(is_leaf, 0, tr.feature))
            thr.append(np.where(is_leaf, 0.0, tr.threshold))
            val.append(tr.value.reshape(k, -1)[:, 0])
            base += k
        return cls(np.array(roots, dtype=np.int64), np.concatenate(left).astype(np.int64),
                   np.concatenate(right).astype(np.int64), np.concatenate(feat).astype(np.int64),
                   np.concatenate(thr).astype(np.float64), np.concatenate(val).astype(np.float64),
                   tuple(feature_names))

    def predict(self, x) -> np.ndarray:
        """Mean prediction of the trees, (N,) float64, for features ``x`` (N, F)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            raise ValueError(f"features must have shape (N, {len(self.feature_names)}), got "
                             f"{x.shape}")
        return _forest_predict(x, self.roots, self.left, self.right, self.feature,
                               self.threshold, self.value)

    def save(self, path) -> Path:
        """Write the forest to a ``.npz`` (plain arrays, no pickles)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, format=np.array(_FOREST_FORMAT), roots=self.roots,
                            left=self.left, right=self.right, feature=self.feature,
                            threshold=self.threshold, value=self.value,
                            feature_names=np.array(self.feature_names))
        return path

    @classmethod
    def load(cls, path) -> "RegressionForest":
        """Read a forest written by :meth:`save`.

        Raises
        ------
        FileNotFoundError, ValueError
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ranking model not found: {path}")
        with np.load(path, allow_pickle=False) as d:
            if "format" not in d.files or str(d["format"]) != _FOREST_FORMAT:
                raise ValueError(f"{path}: not a ranking forest file ({_FOREST_FORMAT})")
            names = tuple(str(s) for s in d["feature_names"])
            if names != FEATURE_NAMES:
                raise ValueError(f"{path}: the forest was trained on features {names}, this "
                                 f"version computes {FEATURE_NAMES}; retrain it")
            forest = cls(d["roots"].astype(np.int64), d["left"].astype(np.int64),
                         d["right"].astype(np.int64), d["feature"].astype(np.int64),
                         d["threshold"].astype(np.float64), d["value"].astype(np.float64),
                         names)
        k = len(forest.left)
        if (forest.roots.min(initial=0) < 0 or forest.roots.max(initial=0) >= max(k, 1)
                or forest.left.max(initial=-1) >= k or forest.right.max(initial=-1) >= k
                or forest.feature.max(initial=0) >= len(names)):
            raise ValueError(f"{path}: corrupt forest (node or feature index out of range)")
        return forest


def untrained_scores(cset: CandidateSet) -> np.ndarray:
    """Fallback score without a trained model: ``min(end_ths)`` of the candidate's regions.

    That is the UCM strength up to which all regions of the candidate exist (the level of
    the hierarchy at which the candidate appears in its list). Returns (N,) float64.
    """
    return np.nanmin(cset.end_ths, axis=1).astype(np.float64)


# ----------------------------------------------------------------------------------------
# The whole candidate stage
# ----------------------------------------------------------------------------------------


@dataclass
class CandidateStage:
    """Intermediate products of :func:`candidate_stage` (for training and inspection).

    Attributes
    ----------
    cset : CandidateSet, all candidates before any filtering.
    geometry : LeafGeometry of the base partition.
    hole_indices, hole_offsets : CSR of the leaves added by hole filling.
    index : OverlapIndex
    areas : (N,) int64, boxes : (N, 4) int64, perimeters : (N,) int64,
    contour_sums : (N,) float64 -- of the filled candidates.
    features : (N, F) float32.
    timings : dict of seconds per step.
    """

    cset: CandidateSet
    geometry: LeafGeometry
    hole_indices: np.ndarray
    hole_offsets: np.ndarray
    index: OverlapIndex
    areas: np.ndarray
    boxes: np.ndarray
    perimeters: np.ndarray
    contour_sums: np.ndarray
    features: np.ndarray
    timings: dict

    def filled_csr(self, index=None) -> tuple[np.ndarray, np.ndarray]:
        """Sorted CSR leaf sets (after hole filling) of candidates ``index`` (all if None)."""
        c = self.cset
        index = (np.arange(c.n_candidates) if index is None
                 else np.atleast_1d(np.asarray(index, dtype=np.int64)))
        return _gather_filled(index, c.tree, c.range_lo, c.range_hi, c.leaf_order,
                              self.hole_indices, self.hole_offsets)

    def filled_mask(self, i: int) -> np.ndarray:
        """(H, W) bool mask of candidate ``i`` after hole filling."""
        lookup = np.zeros(self.cset.n_leaves, dtype=bool)
        lookup[self.filled_csr([i])[0]] = True
        return lookup[self.cset.superpixels]


def _region_areas(cset: CandidateSet, index: OverlapIndex) -> np.ndarray:
    t = cset.tree
    ra = np.empty((cset.n_candidates, MAX_REGIONS), dtype=np.float64)
    for q in range(MAX_REGIONS):
        ra[:, q] = index.prefix[t, cset.range_hi[:, q]] - index.prefix[t, cset.range_lo[:, q]]
    ra[cset.regions < 0] = np.nan
    return ra


def default_contours(trees: Sequence[MergeTree]) -> np.ndarray:
    """Pixel-wise maximum of the trees' ucm2 maps (MCG's contour map for features)."""
    out = trees[0].to_ucm2()
    for tree in trees[1:]:
        np.maximum(out, tree.to_ucm2(), out=out)
    return out


def candidate_stage(trees: Sequence[MergeTree], n_cands=None, contours=None,
                    fill: bool = True, j_duplicate: float | None = J_DUPLICATE) -> CandidateStage:
    """Candidates, duplicate removal, hole filling, overlap index and features (no scoring).

    Duplicates are removed in the order of the stacked lists (tree, number of regions, rank;
    as MCG): first on the candidates as generated (cheap, exact), then once more after hole
    filling (two candidates may differ only by a hole).

    Parameters
    ----------
    trees : T MergeTree of one image.
    n_cands : (4, T) ints or None (:func:`grouping.candidates.default_n_cands`).
    contours : None (max of the trees' ucm2), (H, W) or (2H+1, 2W+1) contour map.
    fill : bool, fill holes.
    j_duplicate : Jaccard above which a candidate is a duplicate (0.95); None keeps all.

    Returns
    -------
    CandidateStage
        Its ``cset`` holds the candidates left after both duplicate removals.
    """
    timings = {}
    t0 = time.perf_counter()
    trees = list(trees)
    if not trees:
        raise ValueError("need at least one merge tree")
    if n_cands is None:
        n_cands = default_n_cands(len(trees))
    cset = candidates_from_trees(trees, n_cands)
    t1 = time.perf_counter()
    timings["candidates"] = t1 - t0
    if contours is None:
        contours = default_contours(trees)
    geometry = leaf_geometry(cset.superpixels, contours)
    t2 = time.perf_counter()
    timings["geometry"] = t2 - t1
    if j_duplicate is not None:
        plain = OverlapIndex(cset, geometry.area)
        boxes0 = _range_boxes(cset.tree, cset.range_lo, cset.range_hi, cset.leaf_order,
                              geometry.box)
        kept = remove_duplicates(plain, boxes0, np.arange(cset.n_candidates), j_duplicate)
        cset = cset.subset(kept)
    t3 = time.perf_counter()
    timings["duplicates"] = t3 - t2
    c_area, c_box, c_perim, c_cont, hole_idx, hole_off = _stage_sums(
        cset.tree, cset.range_lo, cset.range_hi, cset.leaf_order, geometry.n_leaves,
        geometry.area, geometry.box, geometry.frame, geometry.adj_ptr, geometry.adj_leaf,
        geometry.adj_len, geometry.adj_contour, geometry.frame > 0, bool(fill))
    t4 = time.perf_counter()
    timings["sums_holes"] = t4 - t3
    index = OverlapIndex(cset, geometry.area, hole_idx, hole_off)
    if j_duplicate is not None and len(hole_idx):
        kept = remove_duplicates(index, c_box, np.arange(cset.n_candidates), j_duplicate)
        if len(kept) < cset.n_candidates:
            lengths = np.diff(hole_off)[kept]
            new_off = np.zeros(len(kept) + 1, dtype=np.int64)
            np.cumsum(lengths, out=new_off[1:])
            gather = np.repeat(hole_off[kept] - new_off[:-1], lengths) + np.arange(new_off[-1])
            hole_idx, hole_off = hole_idx[gather], new_off
            cset = cset.subset(kept)
            c_area, c_box, c_perim, c_cont = c_area[kept], c_box[kept], c_perim[kept], c_cont[kept]
            index = OverlapIndex(cset, geometry.area, hole_idx, hole_off)
    t5 = time.perf_counter()
    timings["overlap_index"] = t5 - t4
    feats = candidate_features(geometry, None, None, _region_areas(cset, index),
                               cset.start_ths, cset.end_ths,
                               sums=(c_area, c_box, c_perim, c_cont), hierarchy=cset.tree)
    timings["features"] = time.perf_counter() - t5
    return CandidateStage(cset, geometry, hole_idx, hole_off, index, c_area, c_box, c_perim,
                          c_cont, feats, timings)


def proposals_from_trees(trees: Sequence[MergeTree], contours=None, model=None, n_cands=None,
                         n_proposals: int | None = None, rerank: str = "decay",
                         theta: float = THETA_MMR, gamma: float = DECAY_GAMMA,
                         j_duplicate: float = J_DUPLICATE, iou_box: float | None = None,
                         mmr_max: int = 3000, return_stage: bool = False):
    """The whole candidate stage: hierarchies to ranked proposals.

    Parameters
    ----------
    trees : sequence of T MergeTree (e.g. MCG's multiscale, 0.5, 1, 2 hierarchies).
    contours : None, (H, W) or (2H+1, 2W+1) float contour map for the boundary features
        (None: the maximum of the trees' ucm2, as MCG).
    model : RegressionForest, path to its ``.npz``, or None for the untrained fallback
        (:func:`untrained_scores`).
    n_cands : (4, T) ints, the working point (:meth:`grouping.pareto.WorkingPoints.n_cands_for`);
        None: :func:`grouping.candidates.default_n_cands`.
    n_proposals : int or None, keep at most this many proposals.
    rerank : "decay" (default, ``score * (1 - J) ** gamma``) or "mmr" (MCG's
        ``theta * score - (1 - theta) * J``); see :func:`mmr_order`.
    theta : MMR trade-off (0.7), for ``rerank="mmr"``.
    gamma : decay exponent (2), for ``rerank="decay"``.
    j_duplicate : Jaccard above which a candidate is a duplicate (0.95).
    iou_box : None (default) or a box IoU (MCG: 0.95) above which a candidate is dropped
        after MMR. Off by default for mask proposals: every candidate touching the four
        image sides has the full-image box, so the box step would keep only one of them;
        use it when only boxes are wanted.
    mmr_max : int, the re-ranking orders the ``mmr_max`` best-scored candidates (quadratic
        cost); the others follow in score order with the value they would have at ``J = 1``
        (``theta * score - (1 - theta)``, or 0 for the decay; never above a re-ranked value,
        so that the output stays sorted).

    Returns
    -------
    grouping.proposal_format.Proposals (and the CandidateStage when ``return_stage``).
    """
    from grouping.proposal_format import Proposals

    stage = candidate_stage(trees, n_cands, contours, j_duplicate=j_duplicate)
    t0 = time.perf_counter()
    if model is None:
        scores = untrained_scores(stage.cset)
    else:
        if not isinstance(model, RegressionForest):
            model = RegressionForest.load(model)
        scores = model.predict(stage.features)
    t1 = time.perf_counter()
    stage.timings["scoring"] = t1 - t0
    kept = np.lexsort((np.arange(len(scores)), -scores))
    head = kept[:mmr_max]
    if rerank == "decay":
        scores = np.maximum(scores, 0.0)
    mmr_pos, mmr_scores = mmr_order(stage.index, stage.boxes, head, scores[head], theta,
                                    rerank, gamma)
    final = np.concatenate([head[mmr_pos], kept[mmr_max:]])
    tail = kept[mmr_max:]
    tail_scores = (np.zeros(len(tail)) if rerank == "decay"
                   else theta * scores[tail] - (1 - theta))
    final_scores = np.concatenate([mmr_scores, tail_scores])
    t3 = time.perf_counter()
    stage.timings["mmr"] = t3 - t1
    if iou_box is not None:
        keep = box_reduction(stage.boxes[final], iou_box)
        final, final_scores = final[keep], final_scores[keep]
    if n_proposals is not None:
        final, final_scores = final[: int(n_proposals)], final_scores[: int(n_proposals)]
    # Guard tiny float inversions between the MMR block and the tail.
    final_scores = np.minimum.accumulate(final_scores)
    indices, offsets = stage.filled_csr(final)
    props = Proposals.from_csr(stage.cset.superpixels, indices, offsets, final_scores,
                               boxes=stage.boxes[final].astype(np.float32), sort=False)
    stage.timings["output"] = time.perf_counter() - t3
    if return_stage:
        return props, stage
    return props


# ----------------------------------------------------------------------------------------
# Training command
# ----------------------------------------------------------------------------------------


def best_jaccards(stage: CandidateStage, gt_masks: np.ndarray) -> np.ndarray:
    """Best Jaccard of every (filled) candidate with any of the objects, (N,) float64."""
    import scipy.sparse

    gt_masks = np.asarray(gt_masks, dtype=bool)
    sp = stage.cset.superpixels.ravel()
    n_leaves = stage.cset.n_leaves
    n = stage.cset.n_candidates
    if len(gt_masks) == 0:
        return np.zeros(n)
    table = np.stack([np.bincount(sp[m.ravel()], minlength=n_leaves) for m in gt_masks])
    idx, off = stage.filled_csr()
    ind = scipy.sparse.csr_matrix((np.ones(len(idx)), idx, off), shape=(n, n_leaves))
    inter = np.asarray(ind @ table.T.astype(np.float64))  # (N, K)
    gt_area = gt_masks.reshape(len(gt_masks), -1).sum(axis=1)
    union = stage.areas[:, None] + gt_area[None, :] - inter
    return (inter / np.maximum(union, 1)).max(axis=1)


def train_forest(features: np.ndarray, targets: np.ndarray, n_trees: int = 50,
                 max_depth: int | None = 16, min_samples_leaf: int = 5,
                 seed: int = 0) -> RegressionForest:
    """Fit a scikit-learn random forest regressor and export it (deterministic for a seed)."""
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(n_estimators=n_trees, max_depth=max_depth,
                                   min_samples_leaf=min_samples_leaf, max_features=0.5,
                                   random_state=seed, n_jobs=1)
    forest.fit(np.asarray(features, dtype=np.float32), np.asarray(targets, dtype=np.float64))
    return RegressionForest.from_sklearn(forest)


def main(argv=None) -> int:
    from grouping.pareto import WorkingPoints, training_samples

    parser = argparse.ArgumentParser(prog="python -m grouping.ranking",
                                     description="Train the candidate ranking forest.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train", help="fit the regression forest on training hierarchies")
    tr.add_argument("--trees", required=True, help="folder of <stem>_<k>.npz merge trees")
    tr.add_argument("--gt", required=True, help="COCO instances JSON or BSDS groundTruth dir")
    tr.add_argument("--out", required=True, help="output forest .npz")
    tr.add_argument("--working-points", default=None, help="WorkingPoints .npz (pareto)")
    tr.add_argument("--n-candidates", type=float, default=5000,
                    help="mean candidates per image of the working point to train at")
    tr.add_argument("--per-image", type=int, default=3000,
                    help="candidates sampled per image (uniformly, seeded)")
    tr.add_argument("--n-trees", type=int, default=50)
    tr.add_argument("--max-depth", type=int, default=16)
    tr.add_argument("--max-images", type=int, default=None)
    tr.add_argument("--skip-images", type=int, default=0)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--target-power", type=float, default=TARGET_POWER,
                    help="regress best Jaccard ** this (default 3: favours near-perfect candidates)")
    args = parser.parse_args(argv)
    if not args.target_power > 0:
        parser.error("--target-power must be positive")
    try:
        wp = WorkingPoints.load(args.working_points) if args.working_points else None
        rng = np.random.default_rng(args.seed)
        feats, targets = [], []
        t0 = time.perf_counter()
        for stem, trees, masks in training_samples(args.trees, args.gt, args.max_images,
                                                   args.skip_images):
            n_cands = wp.n_cands_for(args.n_candidates) if wp is not None else None
            if n_cands is not None and n_cands.shape[1] != len(trees):
                raise ValueError(f"{stem}: {len(trees)} hierarchies but the working points are "
                                 f"for {n_cands.shape[1]}")
            stage = candidate_stage(trees, n_cands)
            y = best_jaccards(stage, masks) ** args.target_power
            pick = np.arange(len(y))
            if len(pick) > args.per_image:
                pick = np.sort(rng.choice(len(y), args.per_image, replace=False))
            feats.append(stage.features[pick])
            targets.append(y[pick])
        x = np.concatenate(feats)
        y = np.concatenate(targets)
        forest = train_forest(x, y, args.n_trees, args.max_depth, seed=args.seed)
        forest.save(args.out)
        pred = forest.predict(x)
        print(f"{len(feats)} images, {len(y)} samples, train MAE {np.abs(pred - y).mean():.4f}, "
              f"{time.perf_counter() - t0:.1f} s -> {args.out}")
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
