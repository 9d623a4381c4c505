"""Distinct values of a flat array of non-negative int64 codes (Numba), in place of ``np.unique``.

The grouping layer encodes pairs of labels as ``a * n + b`` and needs, per pixel, which pair it
belongs to, or, per pair, how many pixels it has. Sorting all pixels (what ``np.unique`` does)
is not needed for that: one pass with a hash table gives the distinct codes in order of first
occurrence, and only those (far fewer than the pixels) are sorted where sorted output is wanted.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["first_occurrence_codes", "unique_counts"]

_EMPTY = -1


@njit(cache=True, nogil=True)
def _slot(code, mask):
    x = np.uint64(code) * np.uint64(0x9E3779B97F4A7C15)
    return np.int64((x >> np.uint64(24)) & np.uint64(mask))


@njit(cache=True, nogil=True)
def _grow(keys, ids):
    """The table twice as large, holding the same codes and ids."""
    capacity = 2 * keys.shape[0]
    mask = capacity - 1
    new_keys = np.full(capacity, _EMPTY, dtype=np.int64)
    new_ids = np.empty(capacity, dtype=np.int64)
    for i in range(keys.shape[0]):
        code = keys[i]
        if code != _EMPTY:
            j = _slot(code, mask)
            while new_keys[j] != _EMPTY:
                j = (j + 1) & mask
            new_keys[j] = code
            new_ids[j] = ids[i]
    return new_keys, new_ids


@njit(cache=True, nogil=True)
def _first_occurrence_kernel(codes):
    n = codes.shape[0]
    labels = np.empty(n, dtype=np.int64)
    distinct = np.empty(n, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    capacity = 1024
    keys = np.full(capacity, _EMPTY, dtype=np.int64)
    ids = np.empty(capacity, dtype=np.int64)
    n_distinct = 0
    previous = np.int64(_EMPTY)
    previous_id = 0
    for p in range(n):
        code = codes[p]
        if code == previous:  # runs along rows: no look-up
            labels[p] = previous_id
            counts[previous_id] += 1
            continue
        mask = keys.shape[0] - 1
        i = _slot(code, mask)
        while True:
            key = keys[i]
            if key == code:
                found = ids[i]
                break
            if key == _EMPTY:
                found = n_distinct
                keys[i] = code
                ids[i] = found
                distinct[found] = code
                n_distinct += 1
                if 2 * n_distinct > keys.shape[0]:
                    keys, ids = _grow(keys, ids)
                break
            i = (i + 1) & mask
        labels[p] = found
        counts[found] += 1
        previous = code
        previous_id = found
    return labels, distinct[:n_distinct], counts[:n_distinct]


def first_occurrence_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label every entry by its code, labels numbered in order of first occurrence.

    Parameters
    ----------
    codes : ndarray of int64, any shape, values >= 0.

    Returns
    -------
    labels : (N,) int64, ``0 .. U-1``, for the flattened ``codes``; the first entry with a new
        code gets the next label.
    distinct : (U,) int64, the code of every label.
    counts : (U,) int64, the entries of every label.
    """
    flat = np.ascontiguousarray(codes, dtype=np.int64).ravel()
    return _first_occurrence_kernel(flat)


def unique_counts(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, return_counts=True)`` for non-negative int64 codes.

    Parameters
    ----------
    codes : ndarray of int64, any shape, values >= 0.

    Returns
    -------
    uniq : (U,) int64, the distinct codes, ascending.
    counts : (U,) int64, how often each occurs.
    """
    _, distinct, counts = first_occurrence_codes(codes)
    order = np.argsort(distinct)
    return distinct[order], counts[order]
