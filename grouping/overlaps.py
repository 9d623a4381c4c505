"""Exact Jaccard indices between candidates from per-leaf areas, never from masks.

A candidate is at most 4 contiguous ranges in its tree's depth-first order of base leaves,
plus the leaves of its filled holes. Same-tree range intersections are prefix-sum
differences; cross-tree ones are 2-D prefix sums over the pair of orders, with coordinates
compressed to the range bounds actually used (:class:`OverlapIndex`).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from grouping.candidates import MAX_REGIONS, CandidateSet

__all__ = ["OverlapIndex", "pair_intersection"]


# ----------------------------------------------------------------------------------------
# Exact intersections from per-leaf areas
# ----------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _hole_in_ranges(i, leaf, cand_tree, lo, hi, leaf_rank):
    r = leaf_rank[cand_tree[i], leaf]
    for q in range(4):
        if lo[i, q] <= r < hi[i, q]:
            return True
    return False


@njit(cache=True, nogil=True)
def pair_intersection(i, j, cand_tree, lo, hi, clo, chi, prefix, tab, tab_off, tab_cols,
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
        return int(pair_intersection(int(i), int(j), *self._args()))

    def jaccard(self, i: int, j: int) -> float:
        """Jaccard index (IoU) of candidates ``i`` and ``j``."""
        inter = self.intersection(i, j)
        union = self.areas[i] + self.areas[j] - inter
        return inter / union if union > 0 else 0.0
