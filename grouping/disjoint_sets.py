"""Disjoint sets (union-find) for the Numba kernels of the grouping layer."""
from __future__ import annotations

from numba import njit

__all__ = ["find_root", "join_sets"]


@njit(cache=True, nogil=True)
def find_root(parent, x):
    """Root of ``x``'s set in the parent array ``parent`` (int array), compressing the path.

    ``parent[r] == r`` marks a root; every node on the way from ``x`` is re-pointed to the
    root (in place).
    """
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        nxt = parent[x]
        parent[x] = root
        x = nxt
    return root


@njit(cache=True, nogil=True)
def join_sets(parent, a, b):
    """Merge the sets of ``a`` and ``b`` (in place); the smaller of the two roots becomes the
    root, so the roots do not depend on the order of the merges."""
    a = find_root(parent, a)
    b = find_root(parent, b)
    if a < b:
        parent[b] = a
    elif b < a:
        parent[a] = b
