"""Disjoint sets (union-find) for the Numba kernels of the grouping layer."""
from __future__ import annotations

from numba import njit

__all__ = ["find_root"]


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
