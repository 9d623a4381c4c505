"""Watershed superpixels of a contour-strength map (Numba).

Every pixel gets a label (no watershed-line pixels): the region boundaries live between
pixels, on the double-size ucm2 grid (see :mod:`grouping.hierarchy`). Markers are the
regional minima of the map (4-connected plateaus with no lower 4-neighbour); flooding is
Meyer's priority flood with 4-connectivity, ties broken by insertion order, so each region is
4-connected and the result is deterministic.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from grouping.disjoint_sets import find_root, join_sets

__all__ = ["watershed_superpixels", "regional_minima"]


@njit(cache=True, nogil=True)
def _regional_minima(values):
    """Label regional minima (4-connected equal plateaus without lower neighbours), 1..K."""
    h, w = values.shape
    n = h * w
    flat = values.ravel()
    parent = np.arange(n, dtype=np.int64)
    for i in range(h):
        for j in range(w):
            p = i * w + j
            if j + 1 < w and flat[p] == flat[p + 1]:
                join_sets(parent, p, p + 1)
            if i + 1 < h and flat[p] == flat[p + w]:
                join_sets(parent, p, p + w)
    is_min = np.ones(n, dtype=np.bool_)
    for i in range(h):
        for j in range(w):
            p = i * w + j
            v = flat[p]
            lower = False
            if j > 0 and flat[p - 1] < v:
                lower = True
            elif j + 1 < w and flat[p + 1] < v:
                lower = True
            elif i > 0 and flat[p - w] < v:
                lower = True
            elif i + 1 < h and flat[p + w] < v:
                lower = True
            if lower:
                is_min[find_root(parent, p)] = False
    labels = np.zeros(n, dtype=np.int32)
    root_label = np.zeros(n, dtype=np.int32)
    k = 0
    for p in range(n):
        r = find_root(parent, p)
        if is_min[r]:
            if root_label[r] == 0:
                k += 1
                root_label[r] = k
            labels[p] = root_label[r]
    return labels.reshape(h, w), k


@njit(cache=True, nogil=True)
def _value_ranks(codes):
    """Dense ranks of ``codes`` (uint32, any shape): equal codes get equal ranks, ranks ordered
    as the codes, ``0 .. n_ranks - 1``. Two counting-sort passes on 16 bits each.

    Returns (ranks int32 flat, n_ranks).
    """
    flat = codes.ravel()
    n = flat.size
    radix = 1 << 16
    counts = np.zeros(radix + 1, dtype=np.int64)
    for p in range(n):
        counts[(flat[p] & 0xFFFF) + 1] += 1
    for d in range(radix):
        counts[d + 1] += counts[d]
    by_low = np.empty(n, dtype=np.int32)
    for p in range(n):
        d = flat[p] & 0xFFFF
        by_low[counts[d]] = p
        counts[d] += 1
    counts[:] = 0
    for p in range(n):
        counts[(flat[p] >> 16) + 1] += 1
    for d in range(radix):
        counts[d + 1] += counts[d]
    order = np.empty(n, dtype=np.int32)
    for i in range(n):
        p = by_low[i]
        d = flat[p] >> 16
        order[counts[d]] = p
        counts[d] += 1
    ranks = np.empty(n, dtype=np.int32)
    rank = -1
    previous = np.uint32(0)
    for i in range(n):
        p = order[i]
        if rank < 0 or flat[p] != previous:
            rank += 1
            previous = flat[p]
        ranks[p] = rank
    return ranks, rank + 1


@njit(cache=True, nogil=True)
def _flood(ranks, n_ranks, markers):
    """Priority flood from the markers; every pixel ends with the label of a marker.

    ``ranks`` (flat int32, see :func:`_value_ranks`) order the pixels as their values do.
    Pixels leave the queue by value, then in the order they were queued: one first-in
    first-out list per rank, the lowest non-empty one served first. From the regional minima
    a flood only queues pixels at or above the level it serves, so the level moves up; a
    pixel queued below it (markers elsewhere) moves it down.
    """
    h, w = markers.shape
    n = h * w
    seeds = markers.ravel()
    labels = seeds.copy()
    queued = labels > 0
    head = np.full(n_ranks, -1, dtype=np.int32)
    tail = np.full(n_ranks, -1, dtype=np.int32)
    following = np.empty(n, dtype=np.int32)  # n < 2**31 (checked by the caller)
    level = n_ranks
    seed = 0
    while True:
        # the pixel whose unqueued 4-neighbours get its label and join the queue of their
        # rank (visited up, left, right, down): first every marker pixel in raster order,
        # then the head of the lowest non-empty queue
        while seed < n and seeds[seed] == 0:
            seed += 1
        if seed < n:
            p = seed
            seed += 1
        else:
            if level >= n_ranks:
                break
            p = head[level]
            if p < 0:
                level += 1
                continue
            head[level] = following[p]
            if following[p] < 0:
                tail[level] = -1
        i = p // w
        j = p - i * w
        for d in range(4):
            if d == 0:
                if i == 0:
                    continue
                q = p - w
            elif d == 1:
                if j == 0:
                    continue
                q = p - 1
            elif d == 2:
                if j + 1 == w:
                    continue
                q = p + 1
            else:
                if i + 1 == h:
                    continue
                q = p + w
            if not queued[q]:
                queued[q] = True
                labels[q] = labels[p]
                r = ranks[q]
                following[q] = -1
                if tail[r] < 0:
                    head[r] = q
                else:
                    following[tail[r]] = q
                tail[r] = q
                if r < level:
                    level = r
    return labels.reshape(h, w)


def _value_codes(values: np.ndarray) -> np.ndarray:
    """uint32 codes of a finite float64 map that compare as the values do (equal iff equal).

    Values that are exactly float32 (contour maps are) use their bit pattern made monotone;
    any other map uses the rank of each value among the distinct values.
    """
    single = values.astype(np.float32)
    if np.array_equal(single, values):
        single += np.float32(0.0)  # -0.0 becomes +0.0: the two compare equal
        bits = single.view(np.uint32)
        return np.where(bits >> 31 == 1, ~bits, bits | np.uint32(0x80000000)).astype(np.uint32)
    _, ranks = np.unique(values, return_inverse=True)
    return ranks.reshape(values.shape).astype(np.uint32)


def _check_map(edges, name="edges") -> np.ndarray:
    edges = np.asarray(edges)
    if edges.ndim != 2 or edges.shape[0] < 1 or edges.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {edges.shape}")
    if not np.issubdtype(edges.dtype, np.number) or np.issubdtype(edges.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real-valued, got dtype {edges.dtype}")
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    if not np.all(np.isfinite(edges)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return edges


def regional_minima(edges) -> tuple[np.ndarray, int]:
    """Regional minima of a 2-D map.

    Parameters
    ----------
    edges : (H, W) float ndarray.

    Returns
    -------
    markers : (H, W) int32, 1..K on the minima plateaus (raster order of first pixel), 0
        elsewhere;  K : int.
    """
    edges = _check_map(edges)
    markers, k = _regional_minima(edges)
    return markers, int(k)


def watershed_superpixels(edges) -> np.ndarray:
    """Watershed partition of a contour-strength map, every pixel labeled.

    Parameters
    ----------
    edges : (H, W) float ndarray
        Contour strength (higher = more likely boundary). NaN/inf rejected.

    Returns
    -------
    (H, W) int32 ndarray, labels ``0..K-1`` (one per regional minimum, raster order of the
    minimum's first pixel); every region is 4-connected. A constant map gives one region.
    """
    edges = _check_map(edges)
    if edges.size >= 2 ** 31:
        raise ValueError(f"edges has {edges.size} pixels; the watershed handles fewer than 2**31")
    markers, k = _regional_minima(edges)
    ranks, n_ranks = _value_ranks(_value_codes(edges))
    labels = _flood(ranks, n_ranks, markers)
    return (labels - 1).astype(np.int32)
