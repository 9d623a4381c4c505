"""Hole filling of candidates on the base-leaf graph (step 2 of the candidate stage).

A connected group of base leaves outside a candidate that touches neither the image frame nor
anything outside the candidate's bounding box is a hole: it is added to the candidate
(:func:`fill_holes`; :mod:`grouping.ranking` describes the whole stage).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from grouping.features import LeafGeometry, extend_box

__all__ = ["fill_holes", "filled_candidate_sums", "gather_filled_leaves"]


# ----------------------------------------------------------------------------------------
# Hole filling
# ----------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _grow(arr, need):
    if need <= arr.shape[0]:
        return arr
    new = np.empty(max(need, 2 * arr.shape[0]), dtype=arr.dtype)
    new[: arr.shape[0]] = arr
    return new


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def filled_candidate_sums(cand_tree, lo, hi, leaf_order, n_leaves, area, box, frame, adj_ptr, adj_leaf,
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


@njit(cache=True, nogil=True)
def gather_filled_leaves(index, cand_tree, lo, hi, leaf_order, hole_idx, hole_off):
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
