"""Ultrametric contour map by greedy merging in order of mean boundary strength.

Reimplements the idea of ``ucm_mean_pb`` (Arbelaez et al., "From contours to regions",
CVPR 2009; used by gPb-owt-ucm and MCG): starting from a superpixel partition, repeatedly
merge the pair of adjacent regions whose common boundary has the lowest mean strength; the
UCM value of a boundary is the mean strength at which its two sides merge (the merge height).
The mean of a union of boundaries is a weighted average of means that are all >= the current
minimum, so heights never decrease.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from grouping.codes import EMPTY, hash_delete, hash_get, hash_put_new
from grouping.hierarchy import MergeTree, _boundary_pairs
from ncuts.affinity import check_double_size_map

__all__ = ["ucm_mean_pb", "mean_pb_merges", "boundary_stats"]


# ----------------------------------------------------------------------------------------
# A binary min-heap on parallel arrays, ordered by (energy, edge id).
# ----------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _less(hk, he, i, j):
    if hk[i] != hk[j]:
        return hk[i] < hk[j]
    return he[i] < he[j]


@njit(cache=True, nogil=True)
def _swap(hk, he, hs, i, j):
    hk[i], hk[j] = hk[j], hk[i]
    he[i], he[j] = he[j], he[i]
    hs[i], hs[j] = hs[j], hs[i]


@njit(cache=True, nogil=True)
def _sift_up(hk, he, hs, i):
    while i > 0:
        p = (i - 1) >> 1
        if _less(hk, he, i, p):
            _swap(hk, he, hs, i, p)
            i = p
        else:
            break


@njit(cache=True, nogil=True)
def _sift_down(hk, he, hs, i, n):
    while True:
        l = 2 * i + 1
        if l >= n:
            break
        m = l
        r = l + 1
        if r < n and _less(hk, he, r, l):
            m = r
        if _less(hk, he, m, i):
            _swap(hk, he, hs, i, m)
            i = m
        else:
            break


@njit(cache=True, nogil=True)
def _mean_pb_kernel(n_leaves, eu, ev, esum, elen):
    """Greedy mean-boundary merging on a region adjacency graph.

    eu, ev: int64 (E,) endpoints (leaf ids, eu < ev, unique pairs); esum, elen: float64
    (E,) summed strength and number of boundary elements per edge (all arrays are modified).
    Candidate merges are ordered by (mean strength, edge id). Internally a merged region
    keeps the id of the member with more neighbours (small-to-large updates); a hash map
    maps (region, region) to the edge joining them. Returns (merges, heights, k).
    """
    n_edges = eu.shape[0]
    alive = np.ones(n_edges, dtype=np.bool_)
    stamp = np.zeros(n_edges, dtype=np.int64)
    # incidence lists: incidence 2e is edge e seen from eu[e], 2e+1 from ev[e]
    inc_next = np.full(2 * n_edges, -1, dtype=np.int64)
    head = np.full(n_leaves, -1, dtype=np.int64)
    tail = np.full(n_leaves, -1, dtype=np.int64)
    deg = np.zeros(n_leaves, dtype=np.int64)
    cap_h = 16
    while cap_h < 4 * n_edges:
        cap_h *= 2
    hkeys = np.full(cap_h, EMPTY, dtype=np.int64)
    hvals = np.empty(cap_h, dtype=np.int64)
    hmask = cap_h - 1
    nl = np.int64(n_leaves)
    for e in range(n_edges):
        for side in range(2):
            r = eu[e] if side == 0 else ev[e]
            inc = 2 * e + side
            if tail[r] == -1:
                head[r] = inc
            else:
                inc_next[tail[r]] = inc
            tail[r] = inc
            deg[r] += 1
        hash_put_new(hkeys, hvals, hmask, eu[e] * nl + ev[e], e)
    node_of = np.arange(n_leaves, dtype=np.int64)
    # heap
    cap = 2 * n_edges + 16
    hk = np.empty(cap, dtype=np.float64)
    he = np.empty(cap, dtype=np.int64)
    hs = np.empty(cap, dtype=np.int64)
    n_heap = 0
    for e in range(n_edges):
        hk[n_heap] = esum[e] / elen[e]
        he[n_heap] = e
        hs[n_heap] = 0
        n_heap += 1
        _sift_up(hk, he, hs, n_heap - 1)

    merges = np.empty((max(n_leaves - 1, 0), 2), dtype=np.int32)
    heights = np.empty(max(n_leaves - 1, 0), dtype=np.float64)
    k = 0
    last = 0.0
    while n_heap > 0 and k < n_leaves - 1:
        energy = hk[0]
        e = he[0]
        s = hs[0]
        n_heap -= 1
        if n_heap > 0:
            _swap(hk, he, hs, 0, n_heap)
            _sift_down(hk, he, hs, 0, n_heap)
        if not alive[e] or stamp[e] != s:
            continue
        r1 = eu[e]
        r2 = ev[e]
        # small (absorbed) and great (kept) internal ids
        if deg[r1] < deg[r2] or (deg[r1] == deg[r2] and r1 < r2):
            small, great = r1, r2
        else:
            small, great = r2, r1
        alive[e] = False
        hash_delete(hkeys, hvals, hmask, min(r1, r2) * nl + max(r1, r2))
        deg[small] -= 1
        deg[great] -= 1
        if energy < last:  # guard against rounding: heights stay non-decreasing
            energy = last
        last = energy
        a = node_of[r1]
        b = node_of[r2]
        merges[k, 0] = min(a, b)
        merges[k, 1] = max(a, b)
        heights[k] = energy
        node_of[great] = n_leaves + k
        k += 1
        inc = head[small]
        while inc != -1:
            nxt = inc_next[inc]
            f = inc >> 1
            if alive[f]:
                if (inc & 1) == 0:
                    other = ev[f]
                else:
                    other = eu[f]
                hash_delete(hkeys, hvals, hmask, min(small, other) * nl + max(small, other))
                key = min(great, other) * nl + max(great, other)
                g = hash_get(hkeys, hvals, hmask, key)
                if g >= 0:
                    # parallel edge: accumulate into great's edge, drop this one
                    esum[g] += esum[f]
                    elen[g] += elen[f]
                    alive[f] = False
                    deg[other] -= 1
                    stamp[g] += 1
                    if n_heap == cap:
                        cap *= 2
                        hk2 = np.empty(cap, dtype=np.float64)
                        he2 = np.empty(cap, dtype=np.int64)
                        hs2 = np.empty(cap, dtype=np.int64)
                        hk2[:n_heap] = hk[:n_heap]
                        he2[:n_heap] = he[:n_heap]
                        hs2[:n_heap] = hs[:n_heap]
                        hk, he, hs = hk2, he2, hs2
                    hk[n_heap] = esum[g] / elen[g]
                    he[n_heap] = g
                    hs[n_heap] = stamp[g]
                    n_heap += 1
                    _sift_up(hk, he, hs, n_heap - 1)
                else:
                    # re-point the edge from small to great (mean unchanged)
                    if (inc & 1) == 0:
                        eu[f] = great
                    else:
                        ev[f] = great
                    hash_put_new(hkeys, hvals, hmask, key, f)
                    inc_next[inc] = -1
                    if tail[great] == -1:
                        head[great] = inc
                    else:
                        inc_next[tail[great]] = inc
                    tail[great] = inc
                    deg[great] += 1
            inc = nxt
        head[small] = -1
        tail[small] = -1
        deg[small] = 0
    return merges, heights, k


# ----------------------------------------------------------------------------------------
# Python API
# ----------------------------------------------------------------------------------------


def _check_inputs(owt2, superpixels):
    owt2 = check_double_size_map(owt2, "owt2")
    superpixels = np.asarray(superpixels)
    if superpixels.ndim != 2 or superpixels.size == 0:
        raise ValueError(f"superpixels must be a 2-D label image, got shape {superpixels.shape}")
    h, w = superpixels.shape
    if owt2.shape != (2 * h + 1, 2 * w + 1):
        raise ValueError(
            f"owt2 shape {owt2.shape} does not match superpixels {superpixels.shape}: "
            f"expected ({2 * h + 1}, {2 * w + 1})"
        )
    if not np.issubdtype(superpixels.dtype, np.integer):
        raise ValueError(f"superpixels must hold integer labels, got dtype {superpixels.dtype}")
    if superpixels.min() < 0:
        raise ValueError("superpixels contains negative labels")
    superpixels = np.ascontiguousarray(superpixels, dtype=np.int64)
    n = int(superpixels.max()) + 1
    if np.any(np.bincount(superpixels.ravel(), minlength=n) == 0):
        raise ValueError("superpixel labels must be 0..L-1 with every label present")
    return np.ascontiguousarray(owt2), superpixels


@njit(cache=True, nogil=True)
def _group_sorted(codes_sorted, values_sorted):
    """Run-length grouping of sorted codes: unique codes, sums and counts."""
    m = codes_sorted.shape[0]
    n_groups = 0
    for i in range(m):
        if i == 0 or codes_sorted[i] != codes_sorted[i - 1]:
            n_groups += 1
    uniq = np.empty(n_groups, dtype=np.int64)
    total = np.zeros(n_groups, dtype=np.float64)
    length = np.zeros(n_groups, dtype=np.float64)
    g = -1
    for i in range(m):
        if i == 0 or codes_sorted[i] != codes_sorted[i - 1]:
            g += 1
            uniq[g] = codes_sorted[i]
        total[g] += values_sorted[i]
        length[g] += 1.0
    return uniq, total, length


def _boundary_stats(owt2, sp):
    codes, values, n = _boundary_pairs(sp, owt2)
    order = np.argsort(codes, kind="stable")
    uniq, total, length = _group_sorted(codes[order], values[order])
    n = max(int(n), 1)
    return uniq // n, uniq % n, total, length


def boundary_stats(owt2, superpixels):
    """Per pair of adjacent superpixels: summed boundary strength and boundary length.

    Parameters
    ----------
    owt2 : (2H+1, 2W+1) float ndarray, boundary strengths on the ucm2 grid.
    superpixels : (H, W) integer ndarray, labels ``0..L-1``.

    Returns
    -------
    u, v : (E,) int64, ``u < v``, sorted;  total : (E,) float64 summed strength of the
    boundary elements between ``u`` and ``v``;  length : (E,) float64 their number.
    """
    owt2, sp = _check_inputs(owt2, superpixels)
    return _boundary_stats(owt2, sp)


def _mean_pb(owt2, superpixels):
    owt2, sp = _check_inputs(owt2, superpixels)
    n = int(sp.max()) + 1
    u, v, total, length = _boundary_stats(owt2, sp)
    merges, heights, k = _mean_pb_kernel(n, u.copy(), v.copy(), total, length)
    if k != n - 1:
        raise ValueError(f"superpixel adjacency graph is not connected ({n - k} components)")
    tree = MergeTree._trusted(sp.astype(np.int32), merges, heights)
    return tree, u, v


def mean_pb_merges(owt2, superpixels) -> MergeTree:
    """Greedy mean-boundary merge tree in the exact order the merging took place.

    Same as :func:`ucm_mean_pb` but without canonicalizing the order of tied merges. Ties
    are broken by the id of the adjacency edge (edges are numbered by sorted leaf pair,
    and a merged edge keeps the id of the surviving one).
    """
    tree, _, _ = _mean_pb(owt2, superpixels)
    return tree


def ucm_mean_pb(owt2, superpixels) -> MergeTree:
    """Hierarchy by greedy merging of adjacent regions in order of mean boundary strength.

    Parameters
    ----------
    owt2 : (2H+1, 2W+1) float ndarray, >= 0
        Boundary strength on the double-size grid (e.g. the OWT map, optionally plus the
        spectral boundaries). Only the elements between pixels of different superpixels are
        used (vertices and elements inside a superpixel are ignored).
    superpixels : (H, W) integer ndarray
        Initial partition, labels ``0..L-1`` (every label present); these become the leaves.

    Returns
    -------
    MergeTree
        Canonical tree (tied merges in Kruskal order, so ``from_ucm2(tree.to_ucm2())`` equals
        it). ``tree.to_ucm2()`` is the UCM: each boundary element holds the mean strength at
        which its two sides were merged. Merge heights are 0 only where a whole common
        boundary has zero strength (then the two leaves are not separated in the ucm2; pass
        superpixels from :func:`grouping.owt.oriented_watershed` to avoid this).

    Raises
    ------
    ValueError
        Bad shapes, labels or values.
    """
    tree, u, v = _mean_pb(owt2, superpixels)
    if tree.n_merges < 2 or np.all(tree.heights[1:] > tree.heights[:-1]):
        # no tied merges: Kruskal on the leaf pairs' heights gives back these merges in this
        # order (the pairs of height h_k are those whose lowest common ancestor is merge k)
        return tree
    return MergeTree.from_leaf_graph(tree.leaves, u, v, tree.leaf_pair_heights(u, v), trusted=True)
