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
def _heap_push(keys, pixels, n, key, pixel):
    """Push ``key`` (and its pixel) on the 4-ary min-heap ``keys[:n]``; returns the new size."""
    i = n
    while i > 0:
        parent = (i - 1) >> 2
        if key < keys[parent]:
            keys[i] = keys[parent]
            pixels[i] = pixels[parent]
            i = parent
        else:
            break
    keys[i] = key
    pixels[i] = pixel
    return n + 1


@njit(cache=True, nogil=True)
def _sift_down(keys, pixels, i, n):
    """Move the entry at ``i`` of the 4-ary min-heap ``keys[:n]`` down to its place."""
    key = keys[i]
    pixel = pixels[i]
    while True:
        first = 4 * i + 1
        if first >= n:
            break
        child = first
        last = min(first + 4, n)
        for c in range(first + 1, last):
            if keys[c] < keys[child]:
                child = c
        if keys[child] < key:
            keys[i] = keys[child]
            pixels[i] = pixels[child]
            i = child
        else:
            break
    keys[i] = key
    pixels[i] = pixel


@njit(cache=True, nogil=True)
def _heap_pop(keys, pixels, n):
    """Remove the smallest key of ``keys[:n]``; returns its pixel and the new size."""
    top = pixels[0]
    n -= 1
    keys[0] = keys[n]
    pixels[0] = pixels[n]
    _sift_down(keys, pixels, 0, n)
    return top, n


@njit(cache=True, nogil=True)
def _queue_neighbours(p, h, w, codes, labels, queued, keys, pixels, size, age, sift):
    """Give the unqueued 4-neighbours of pixel ``p`` its label and queue them.

    Neighbours are visited up, left, right, down. A key is the neighbour's value code
    (high 32 bits) and its queueing count ``age`` (low 32 bits), so keys order by value, then
    by insertion; they are pushed on the heap, or only appended when ``sift`` is False (the
    caller heapifies). Returns the new size and age counter.
    """
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
            key = (np.uint64(codes[q]) << np.uint64(32)) | np.uint64(age)
            if sift:
                size = _heap_push(keys, pixels, size, key, q)
            else:
                keys[size] = key
                pixels[size] = q
                size += 1
            age += 1
    return size, age


@njit(cache=True, nogil=True)
def _flood(codes, markers):
    """Priority flood from the markers; every pixel ends with the label of a marker.

    ``codes`` (H, W) uint32 order the pixels as their values do (see :func:`_value_codes`).
    The keys are distinct, so they leave the heap in increasing order however it is built: the
    first front (the neighbours of the markers) is appended, then heapified in linear time.
    """
    h, w = codes.shape
    n = h * w
    flat = codes.ravel()
    seeds = markers.ravel()
    labels = seeds.copy()
    queued = labels > 0
    keys = np.empty(n, dtype=np.uint64)
    pixels = np.empty(n, dtype=np.uint32)  # n < 2**32 (checked by the caller)
    size = 0
    age = 0
    # seed: unlabeled neighbours of marker pixels, in raster order of the marker pixels
    for p in range(n):
        if seeds[p] == 0:
            continue
        size, age = _queue_neighbours(p, h, w, flat, labels, queued, keys, pixels, size, age,
                                      False)
    for i in range((size - 2) // 4, -1, -1):
        _sift_down(keys, pixels, i, size)
    while size > 0:
        p, size = _heap_pop(keys, pixels, size)
        size, age = _queue_neighbours(p, h, w, flat, labels, queued, keys, pixels, size, age,
                                      True)
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
    if edges.size >= 2 ** 32:
        raise ValueError(f"edges has {edges.size} pixels; the watershed handles fewer than 2**32")
    markers, k = _regional_minima(edges)
    labels = _flood(_value_codes(edges), markers)
    return (labels - 1).astype(np.int32)
