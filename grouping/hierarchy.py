"""Merge trees: the canonical representation of a hierarchy of regions (a UCM).

A :class:`MergeTree` holds

* ``leaves``: the finest partition, an ``HxW`` int32 label image with labels ``0..L-1``;
* ``merges``: an ``(M, 2)`` int32 array, ``M = L - 1``; merge ``k`` joins the two regions
  ``merges[k, 0] < merges[k, 1]`` into the new region ``L + k``;
* ``heights``: an ``(M,)`` float64 array, non-decreasing, the UCM level of each merge.

Region (node) ids run over ``0 .. 2L-2``: the leaves, then one new region per merge; the last
one is the root (the whole image). Every region exists for the thresholds
``start_ths[n] <= t < end_ths[n]``.

Threshold semantics follow the BSDS / MCG convention ``bwlabel(ucm2 <= t)``: the partition at
threshold ``t`` is obtained by applying every merge whose height is ``<= t``; the boundaries
of that partition are exactly the ucm2 boundary elements whose value is ``> t``.

The double-size "ucm2" grid (BSDS convention), shape ``(2H+1, 2W+1)``:

* pixel ``(i, j)`` sits at ``(2i+1, 2j+1)`` and always holds 0;
* the boundary element between horizontally adjacent pixels ``(i, j)`` and ``(i, j+1)`` is at
  ``(2i+1, 2j+2)``, between vertically adjacent pixels ``(i, j)`` and ``(i+1, j)`` at
  ``(2i+2, 2j+1)``; it holds the height of the merge that joins the two pixels' regions;
* vertices ``(even, even)`` hold the maximum of their (up to 4) neighbouring boundary
  elements; the frame elements (first/last row and column, odd positions) hold 0.

Merges whose height is 0 are invisible in a ucm2; trees built from a ucm2 or by
:func:`grouping.ucm.ucm_mean_pb` have all heights > 0.

Several merges may share a height (a k-way merge in MCG's ``ucm2hier`` is k-1 binary merges
here); their intermediate regions have ``start_ths == end_ths`` (zero lifetime). The
*canonical* order of tied merges is Kruskal's order on the leaf adjacency graph, edges sorted
by (height, smaller leaf id, larger leaf id); :meth:`MergeTree.from_ucm2` and
:func:`grouping.ucm.ucm_mean_pb` always return canonical trees, so
``MergeTree.from_ucm2(tree.to_ucm2()) == tree`` exactly for them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from grouping.disjoint_sets import find_root, join_sets
from ncuts.affinity import check_double_size_map

__all__ = [
    "MergeTree",
    "leaves_from_ucm2",
    "adjacent_label_pairs",
    "leaf_adjacency",
    "ucm2_vertices_from_elements",
    "max_ucm2",
]

_NPZ_FORMAT = "mcg.grouping.MergeTree/1"


# ----------------------------------------------------------------------------------------
# Numba kernels
# ----------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _kruskal(n_leaves, edge_u, edge_v, edge_w):
    """Single-linkage merge sequence of a weighted graph whose edges are already sorted.

    Returns (merges (n_merges, 2) int32, heights (n_merges,) float64, n_merges).
    """
    uf = np.arange(n_leaves, dtype=np.int64)
    node_of_root = np.arange(n_leaves, dtype=np.int64)
    merges = np.empty((max(n_leaves - 1, 0), 2), dtype=np.int32)
    heights = np.empty(max(n_leaves - 1, 0), dtype=np.float64)
    k = 0
    for e in range(edge_u.shape[0]):
        if k == n_leaves - 1:
            break
        ru = find_root(uf, edge_u[e])
        rv = find_root(uf, edge_v[e])
        if ru == rv:
            continue
        a = node_of_root[ru]
        b = node_of_root[rv]
        if a > b:
            a, b = b, a
        merges[k, 0] = a
        merges[k, 1] = b
        heights[k] = edge_w[e]
        uf[ru] = rv
        node_of_root[rv] = n_leaves + k
        k += 1
    return merges, heights, k


@njit(cache=True, nogil=True)
def _build_lifting(parent):
    """Depth and binary-lifting ancestor table of a tree whose parents have larger ids."""
    n = parent.shape[0]
    depth = np.zeros(n, dtype=np.int64)
    for v in range(n - 1, -1, -1):
        if parent[v] >= 0:
            depth[v] = depth[parent[v]] + 1
    max_depth = 0
    for v in range(n):
        if depth[v] > max_depth:
            max_depth = depth[v]
    levels = 1
    while (1 << levels) <= max_depth:
        levels += 1
    up = np.empty((levels, n), dtype=np.int64)
    for v in range(n):
        up[0, v] = parent[v] if parent[v] >= 0 else v
    for j in range(1, levels):
        for v in range(n):
            up[j, v] = up[j - 1, up[j - 1, v]]
    return depth, up


@njit(cache=True, nogil=True)
def _lca(depth, up, a, b):
    if depth[a] < depth[b]:
        a, b = b, a
    diff = depth[a] - depth[b]
    j = 0
    while diff > 0:
        if diff & 1:
            a = up[j, a]
        diff >>= 1
        j += 1
    if a == b:
        return a
    for j in range(up.shape[0] - 1, -1, -1):
        if up[j, a] != up[j, b]:
            a = up[j, a]
            b = up[j, b]
    return up[0, a]


@njit(cache=True, nogil=True)
def _pair_heights(depth, up, node_height, qu, qv):
    out = np.empty(qu.shape[0], dtype=np.float64)
    for i in range(qu.shape[0]):
        if qu[i] == qv[i]:
            out[i] = 0.0
        else:
            out[i] = node_height[_lca(depth, up, qu[i], qv[i])]
    return out


@njit(cache=True, nogil=True)
def _fill_ucm2_elements(labels, depth, up, node_height, ucm2):
    """Raise every element of the ucm2 grid between two 4-adjacent pixels to the LCA height of
    their pair (on a grid of zeros: write it).

    A boundary repeats its pair of leaves from pixel to pixel: the height of the last
    vertical pair of the row, and of the horizontal pair at the same column of the row
    above, are reused when the pair is the same.
    """
    h, w = labels.shape
    above_a = np.full(w, -1, np.int64)  # horizontal pair at column j of the row above
    above_b = np.full(w, -1, np.int64)
    above_height = np.zeros(w)
    for i in range(h):
        last_a = -1  # last vertical pair of this row
        last_b = -1
        last_height = 0.0
        for j in range(w):
            a = labels[i, j]
            if j + 1 < w:
                b = labels[i, j + 1]
                if a != b:
                    if a != above_a[j] or b != above_b[j]:
                        above_a[j] = a
                        above_b[j] = b
                        above_height[j] = node_height[_lca(depth, up, a, b)]
                    ucm2[2 * i + 1, 2 * j + 2] = max(ucm2[2 * i + 1, 2 * j + 2], above_height[j])
            if i + 1 < h:
                b = labels[i + 1, j]
                if a != b:
                    if a != last_a or b != last_b:
                        last_a = a
                        last_b = b
                        last_height = node_height[_lca(depth, up, a, b)]
                    ucm2[2 * i + 2, 2 * j + 1] = max(ucm2[2 * i + 2, 2 * j + 1], last_height)


@njit(cache=True, nogil=True)
def _fill_vertices(ucm2):
    """Vertices (even, even) = max of their 4-neighbouring boundary elements (in place)."""
    rows, cols = ucm2.shape
    for y in range(0, rows, 2):
        for x in range(0, cols, 2):
            m = 0.0
            if y > 0 and ucm2[y - 1, x] > m:
                m = ucm2[y - 1, x]
            if y + 1 < rows and ucm2[y + 1, x] > m:
                m = ucm2[y + 1, x]
            if x > 0 and ucm2[y, x - 1] > m:
                m = ucm2[y, x - 1]
            if x + 1 < cols and ucm2[y, x + 1] > m:
                m = ucm2[y, x + 1]
            ucm2[y, x] = m


@njit(cache=True, nogil=True)
def _top_nodes(parent, n_leaves, n_applied):
    """For every node, the region containing it after the first ``n_applied`` merges."""
    n = parent.shape[0]
    top = np.empty(n, dtype=np.int64)
    limit = n_leaves + n_applied
    for v in range(n - 1, -1, -1):
        p = parent[v]
        if v >= limit:
            top[v] = -1  # does not exist yet
        elif p < 0 or p >= limit:
            top[v] = v
        else:
            top[v] = top[p]
    return top


@njit(cache=True, nogil=True)
def _leaf_ranges(merges, n_leaves):
    """DFS leaf order in which every region's leaves are contiguous: (order, begin, size)."""
    n_merges = merges.shape[0]
    n = n_leaves + n_merges
    size = np.ones(n, dtype=np.int64)
    for k in range(n_merges):
        size[n_leaves + k] = size[merges[k, 0]] + size[merges[k, 1]]
    begin = np.zeros(n, dtype=np.int64)
    for k in range(n_merges - 1, -1, -1):
        node = n_leaves + k
        a = merges[k, 0]
        b = merges[k, 1]
        begin[a] = begin[node]
        begin[b] = begin[node] + size[a]
    order = np.empty(n_leaves, dtype=np.int64)
    for leaf in range(n_leaves):
        order[begin[leaf]] = leaf
    return order, begin, size


# ----------------------------------------------------------------------------------------
# Helpers shared with the other grouping modules
# ----------------------------------------------------------------------------------------


def ucm2_vertices_from_elements(ucm2: np.ndarray) -> np.ndarray:
    """Set the vertices of a ucm2 grid to the max of their neighbouring elements (in place).

    Parameters
    ----------
    ucm2 : (2H+1, 2W+1) float64 ndarray, modified in place.

    Returns
    -------
    The same array.
    """
    _fill_vertices(ucm2)
    return ucm2


def leaves_from_ucm2(ucm2: np.ndarray) -> np.ndarray:
    """Finest partition of a double-size boundary map: pixels joined through zero elements.

    Two 4-adjacent pixels belong to the same leaf when the boundary element between them is
    exactly 0 (vertices and the outer frame are ignored, so regions never connect diagonally).

    Parameters
    ----------
    ucm2 : (2H+1, 2W+1) float ndarray

    Returns
    -------
    (H, W) int32 ndarray, labels ``0..L-1`` numbered in raster order of their first pixel.

    Raises
    ------
    ValueError
        If ``ucm2`` is not a 2-D map with odd sides.
    """
    ucm2 = np.asarray(ucm2)
    if ucm2.ndim != 2 or ucm2.shape[0] % 2 == 0 or ucm2.shape[1] % 2 == 0:
        raise ValueError(f"ucm2 must be a (2H+1, 2W+1) map, got shape {ucm2.shape}")
    return _zero_element_components(ucm2)


@njit(cache=True, nogil=True)
def n_boundary_elements(labels):
    """Number of pairs of 4-adjacent pixels with different labels (the elements of the ucm2
    grid between them) of an (H, W) label image."""
    h, w = labels.shape
    count = 0
    for i in range(h):
        for j in range(w):
            if j + 1 < w and labels[i, j] != labels[i, j + 1]:
                count += 1
            if i + 1 < h and labels[i, j] != labels[i + 1, j]:
                count += 1
    return count


@njit(cache=True, nogil=True)
def _boundary_pairs(sp, owt2):
    """Codes lo*n+hi and strengths of all boundary elements between different labels."""
    h, w = sp.shape
    n = np.int64(0)
    for i in range(h):
        for j in range(w):
            if sp[i, j] + 1 > n:
                n = sp[i, j] + 1
    count = n_boundary_elements(sp)
    codes = np.empty(count, dtype=np.int64)
    values = np.empty(count, dtype=np.float64)
    c = 0
    for i in range(h):
        for j in range(w):
            a = sp[i, j]
            if j + 1 < w and a != sp[i, j + 1]:
                b = sp[i, j + 1]
                codes[c] = min(a, b) * n + max(a, b)
                values[c] = owt2[2 * i + 1, 2 * j + 2]
                c += 1
            if i + 1 < h and a != sp[i + 1, j]:
                b = sp[i + 1, j]
                codes[c] = min(a, b) * n + max(a, b)
                values[c] = owt2[2 * i + 2, 2 * j + 1]
                c += 1
    return codes, values, n


@njit(cache=True, nogil=True)
def _leaf_pair_minima(leaves, ucm2):
    """The leaf adjacency graph of a double-size map: each pair of 4-adjacent leaves once, as
    ``(lo, hi, w)`` with ``lo < hi`` and ``w`` the smallest boundary element between them
    (float64, grouped by ``lo``)."""
    codes, values, n = _boundary_pairs(leaves, ucm2)
    start = np.zeros(n + 1, np.int64)
    for code in codes:
        start[code // n + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    fill = start[:-1].copy()
    order = np.empty(codes.size, np.int64)
    for k in range(codes.size):
        order[fill[codes[k] // n]] = k
        fill[codes[k] // n] += 1
    seen = np.full(n, -1, np.int64)
    slot = np.empty(n, np.int64)
    lo = np.empty(codes.size, np.int64)
    hi = np.empty(codes.size, np.int64)
    weight = np.empty(codes.size, np.float64)
    m = 0
    for k in order:
        a = codes[k] // n
        b = codes[k] % n
        if seen[b] != a:
            seen[b] = a
            slot[b] = m
            lo[m] = a
            hi[m] = b
            weight[m] = values[k]
            m += 1
        elif values[k] < weight[slot[b]]:
            weight[slot[b]] = values[k]
    return lo[:m], hi[:m], weight[:m]


@njit(cache=True, nogil=True)
def _elements_inside(leaves, ucm2):
    """Number of boundary elements > 0 between 4-adjacent pixels of the same leaf."""
    h, w = leaves.shape
    count = 0
    for i in range(h):
        for j in range(w):
            if j + 1 < w and leaves[i, j] == leaves[i, j + 1] and ucm2[2 * i + 1, 2 * j + 2] > 0:
                count += 1
            if i + 1 < h and leaves[i, j] == leaves[i + 1, j] and ucm2[2 * i + 2, 2 * j + 1] > 0:
                count += 1
    return count


@njit(cache=True, nogil=True)
def _zero_element_components(ucm2):
    """Labels (int32, (H, W)) of the pixels joined through zero elements of a double-size
    map, numbered in raster order of their first pixel."""
    height = (ucm2.shape[0] - 1) // 2
    width = (ucm2.shape[1] - 1) // 2
    n = height * width
    parent = np.arange(n)
    for r in range(height):
        for c in range(width):
            p = r * width + c
            if c + 1 < width and ucm2[2 * r + 1, 2 * c + 2] == 0:
                join_sets(parent, p, p + 1)
            if r + 1 < height and ucm2[2 * r + 2, 2 * c + 1] == 0:
                join_sets(parent, p, p + width)
    labels = np.empty((height, width), np.int32)
    label_of_root = np.full(n, -1, np.int32)
    n_labels = 0
    for p in range(n):
        root = find_root(parent, p)
        if label_of_root[root] < 0:
            label_of_root[root] = n_labels
            n_labels += 1
        labels[p // width, p % width] = label_of_root[root]
    return labels


def max_ucm2(trees) -> np.ndarray:
    """Element-wise maximum of the ucm2 maps of several trees on the same pixels.

    Parameters
    ----------
    trees : sequence of MergeTree, all of shape (H, W)

    Returns
    -------
    (2H+1, 2W+1) float64 ndarray
        ``np.maximum.reduce([tree.to_ucm2() for tree in trees])``, computed in one grid: the
        elements of every tree raised in place, the vertices (the largest of their four
        elements, which commutes with the maximum) filled once.
    """
    trees = list(trees)
    if not trees:
        raise ValueError("max_ucm2 needs at least one tree")
    h, w = trees[0].shape
    if any(tree.shape != (h, w) for tree in trees):
        raise ValueError(f"the trees must share one shape, got {[tree.shape for tree in trees]}")
    ucm2 = np.zeros((2 * h + 1, 2 * w + 1), dtype=np.float64)
    for tree in trees:
        if tree.n_merges:
            depth, up = tree._lift()
            _fill_ucm2_elements(tree.leaves, depth, up, tree.node_heights, ucm2)
    _fill_vertices(ucm2)
    return ucm2


def adjacent_label_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels on either side of every 4-adjacent pixel pair whose labels differ.

    Parameters
    ----------
    labels : (H, W) integer ndarray

    Returns
    -------
    a, b : (P,) ndarrays of ``labels``' dtype
        Horizontal pairs (left, right) in raster order, then vertical pairs (top, bottom);
        one entry per pixel pair, so a boundary of length ``n`` gives ``n`` entries.
    """
    a = np.concatenate([labels[:, :-1].ravel(), labels[:-1, :].ravel()])
    b = np.concatenate([labels[:, 1:].ravel(), labels[1:, :].ravel()])
    diff = a != b
    return a[diff], b[diff]


def leaf_adjacency(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique pairs of 4-adjacent different labels.

    Parameters
    ----------
    labels : (H, W) integer ndarray, labels ``0..L-1``.

    Returns
    -------
    u, v : (E,) int64 ndarrays with ``u < v``, sorted lexicographically.
    """
    labels = labels.astype(np.int64, copy=False)
    n = int(labels.max()) + 1 if labels.size else 0
    a, b = adjacent_label_pairs(labels)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    codes = np.unique(lo * n + hi)
    return codes // max(n, 1), codes % max(n, 1)


# ----------------------------------------------------------------------------------------
# The merge tree
# ----------------------------------------------------------------------------------------


def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each target index for nearest-neighbour resizing along one axis.

    Target pixel ``i`` (centre at ``(i + 0.5) * n_in / n_out`` in source pixel units) takes
    source pixel ``floor((i + 0.5) * n_in / n_out)``, clipped to ``[0, n_in - 1]``.

    Returns
    -------
    (n_out,) int64.
    """
    idx = np.floor((np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out)).astype(np.int64)
    return np.clip(idx, 0, n_in - 1)


def _check_shape(shape) -> tuple[int, int]:
    try:
        h, w = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"shape must be a pair of positive integers (H, W), got {shape!r}"
        ) from None
    if h < 1 or w < 1:
        raise ValueError(f"shape must be a pair of positive integers (H, W), got {shape!r}")
    return h, w



class MergeTree:
    """Binary merge tree over a leaf partition (the canonical hierarchy object).

    Parameters
    ----------
    leaves : (H, W) integer ndarray
        Finest partition, labels ``0..L-1`` (every label present). Stored as int32.
    merges : (L-1, 2) integer ndarray
        Merge ``k`` joins regions ``merges[k]`` (ids ``< L + k``, each region merged at most
        once) into region ``L + k``. Stored as int32 with ``merges[k, 0] < merges[k, 1]``.
    heights : (L-1,) float ndarray
        Non-decreasing, finite, >= 0 merge heights. Stored as float64.

    Raises
    ------
    ValueError
        If any of the above conditions is violated.

    Examples
    --------
    >>> import numpy as np
    >>> from mcg import MergeTree
    >>> leaves = np.array([[0, 0, 1], [2, 2, 1]])   # three regions
    >>> tree = MergeTree(leaves, merges=[[0, 2], [1, 3]], heights=[0.2, 0.7])
    >>> tree.segmentation_at(0.5)                 # leaves 0 and 2 are one region above 0.2
    array([[1, 1, 0],
           [1, 1, 0]], dtype=int32)
    >>> float(tree.to_ucm2().max())
    0.7
    """

    def __init__(self, leaves, merges, heights):
        leaves = np.asarray(leaves)
        if leaves.ndim != 2 or leaves.shape[0] < 1 or leaves.shape[1] < 1:
            raise ValueError(
                f"leaves must be a non-empty 2-D label image, got shape {leaves.shape}"
            )
        if not np.issubdtype(leaves.dtype, np.integer):
            raise ValueError(f"leaves must hold integer labels, got dtype {leaves.dtype}")
        if leaves.min() < 0:
            raise ValueError("leaves contains negative labels")
        n_leaves = int(leaves.max()) + 1
        if n_leaves > np.iinfo(np.int32).max // 2:
            raise ValueError(f"too many leaves ({n_leaves})")
        counts = np.bincount(leaves.ravel().astype(np.int64), minlength=n_leaves)
        if np.any(counts == 0):
            missing = int(np.flatnonzero(counts == 0)[0])
            raise ValueError(
                f"leaf labels must be 0..L-1 with every label present; {missing} is missing"
            )
        merges = np.asarray(merges)
        heights = np.asarray(heights, dtype=np.float64)
        if merges.size == 0:
            merges = merges.reshape(0, 2)
        if merges.ndim != 2 or merges.shape[1] != 2:
            raise ValueError(f"merges must have shape (M, 2), got {merges.shape}")
        if not np.issubdtype(merges.dtype, np.integer):
            raise ValueError(f"merges must hold integer region ids, got dtype {merges.dtype}")
        n_merges = merges.shape[0]
        if n_merges != n_leaves - 1:
            raise ValueError(
                f"a merge tree over {n_leaves} leaves needs {n_leaves - 1} merges, got {n_merges}"
            )
        if heights.shape != (n_merges,):
            raise ValueError(f"heights must have shape ({n_merges},), got {heights.shape}")
        if not np.all(np.isfinite(heights)) or np.any(heights < 0):
            raise ValueError("heights must be finite and >= 0")
        if np.any(np.diff(heights) < 0):
            raise ValueError("heights must be non-decreasing")
        merges = np.sort(merges.astype(np.int64), axis=1)
        new_ids = n_leaves + np.arange(n_merges)
        if np.any(merges[:, 0] < 0) or np.any(merges[:, 1] >= new_ids) or np.any(
            merges[:, 0] == merges[:, 1]
        ):
            raise ValueError("merge k must join two different existing regions (ids < L + k)")
        parent = np.full(2 * n_leaves - 1, -1, dtype=np.int64)
        flat = merges.ravel()
        if np.any(np.bincount(flat, minlength=2 * n_leaves - 1) > 1):
            raise ValueError("a region is merged more than once")
        parent[flat] = np.repeat(new_ids, 2)
        self.leaves = np.ascontiguousarray(leaves, dtype=np.int32)
        self.merges = np.ascontiguousarray(merges, dtype=np.int32)
        self.heights = np.ascontiguousarray(heights)
        self._parent = parent
        self._lifting = None

    # -- basic properties ------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the leaf image."""
        return self.leaves.shape

    @property
    def n_leaves(self) -> int:
        """Number of leaves L."""
        return self.merges.shape[0] + 1

    @property
    def n_merges(self) -> int:
        """Number of merges, L - 1."""
        return self.merges.shape[0]

    @property
    def n_regions(self) -> int:
        """Number of regions (nodes) of the tree, 2L - 1."""
        return 2 * self.n_leaves - 1

    @property
    def parents(self) -> np.ndarray:
        """(2L-1,) int64: parent region id of every region, -1 for the root."""
        return self._parent.copy()

    @property
    def node_heights(self) -> np.ndarray:
        """(2L-1,) float64: height at which each region is created (0 for leaves)."""
        return np.concatenate([np.zeros(self.n_leaves), self.heights])

    @property
    def start_ths(self) -> np.ndarray:
        """(2L-1,) float64: threshold from which each region exists (0 for leaves)."""
        return self.node_heights

    @property
    def end_ths(self) -> np.ndarray:
        """(2L-1,) float64: threshold at which each region is merged away (inf for the root)."""
        end = np.full(self.n_regions, np.inf)
        has_parent = self._parent >= 0
        end[has_parent] = self.heights[self._parent[has_parent] - self.n_leaves]
        return end

    def __eq__(self, other) -> bool:
        if not isinstance(other, MergeTree):
            return NotImplemented
        return (
            np.array_equal(self.leaves, other.leaves)
            and np.array_equal(self.merges, other.merges)
            and np.array_equal(self.heights, other.heights)
        )

    def __repr__(self) -> str:
        top = float(self.heights[-1]) if self.n_merges else 0.0
        return f"MergeTree(shape={self.shape}, n_leaves={self.n_leaves}, max_height={top:.6g})"

    # -- construction ----------------------------------------------------------------

    @classmethod
    def _trusted(cls, leaves, merges, heights) -> "MergeTree":
        """Build without validation (inputs produced by this package's kernels)."""
        tree = cls.__new__(cls)
        n_leaves = merges.shape[0] + 1
        merges = np.ascontiguousarray(merges, dtype=np.int32)
        parent = np.full(2 * n_leaves - 1, -1, dtype=np.int64)
        parent[merges.ravel().astype(np.int64)] = np.repeat(
            n_leaves + np.arange(merges.shape[0], dtype=np.int64), 2
        )
        tree.leaves = np.ascontiguousarray(leaves, dtype=np.int32)
        tree.merges = merges
        tree.heights = np.ascontiguousarray(heights, dtype=np.float64)
        tree._parent = parent
        tree._lifting = None
        return tree

    @classmethod
    def from_leaf_graph(cls, leaves, edge_u, edge_v, edge_w, trusted: bool = False) -> "MergeTree":
        """Canonical single-linkage (Kruskal) tree of a weighted leaf adjacency graph.

        Edges are processed in order of (weight, min(u, v), max(u, v)); an edge joining two
        different current regions becomes a merge at its weight.

        Parameters
        ----------
        leaves : (H, W) integer ndarray, labels ``0..L-1``.
        edge_u, edge_v : (E,) integer ndarrays of leaf ids.
        edge_w : (E,) float ndarray of weights >= 0.
        trusted : bool
            Skip the validation of the result (for callers whose inputs are already
            checked: ``leaves`` labels ``0..L-1`` all present, finite weights >= 0).

        Raises
        ------
        ValueError
            If the graph does not connect all the leaves.
        """
        leaves = np.asarray(leaves)
        if leaves.ndim != 2 or leaves.size == 0 or not np.issubdtype(leaves.dtype, np.integer):
            raise ValueError("leaves must be a non-empty 2-D integer label image")
        n_leaves = int(leaves.max()) + 1
        u = np.asarray(edge_u, dtype=np.int64)
        v = np.asarray(edge_v, dtype=np.int64)
        w = np.asarray(edge_w, dtype=np.float64)
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        order = np.lexsort((hi, lo, w))
        merges, heights, k = _kruskal(n_leaves, lo[order], hi[order], w[order])
        if k != n_leaves - 1:
            raise ValueError(
                f"the leaf adjacency graph is not connected ({n_leaves - k} components); "
                "every leaf must touch another one"
            )
        if trusted:
            return cls._trusted(leaves, merges, heights)
        return cls(leaves, merges, heights)

    @classmethod
    def from_ucm2(cls, ucm2, strict: bool = True) -> "MergeTree":
        """Merge tree of a double-size ultrametric contour map.

        Leaves are the connected components of pixels joined through zero boundary elements
        (numbered in raster order); two adjacent regions merge at the smallest value of the
        boundary elements between them (single linkage), so ``segmentation_at(t)`` equals the
        connected components of ``ucm2 <= t`` for every ``t`` -- for any non-negative map.

        Parameters
        ----------
        ucm2 : (2H+1, 2W+1) float ndarray (e.g. a published BSDS ``ucm2``).
        strict : bool
            If True (default), also check that ``ucm2`` is a valid UCM in the BSDS convention
            (closed contours, vertex = max of its elements, zero frame elements and pixels),
            i.e. that ``to_ucm2()`` of the result reproduces it exactly; raise otherwise.

        Raises
        ------
        ValueError
            Bad shape or values, or (strict) not a valid ultrametric contour map.
        """
        ucm2 = check_double_size_map(ucm2, "ucm2")
        leaves = leaves_from_ucm2(ucm2)
        if strict and _elements_inside(leaves, ucm2):
            raise ValueError(
                "not a valid ucm2: some boundary elements > 0 lie inside a region "
                "(open contours); use strict=False to read it as bwlabel(ucm2 <= t)"
            )
        lo, hi, w = _leaf_pair_minima(leaves, ucm2)
        tree = cls.from_leaf_graph(leaves, lo, hi, w, trusted=True)
        if strict and not np.array_equal(tree.to_ucm2(), ucm2):
            raise ValueError(
                "not a valid ucm2: it is not the ultrametric contour map of its own "
                "hierarchy (check closed contours, vertex values = max of neighbouring "
                "elements, zero frame elements and pixel cells); use strict=False to read it "
                "as bwlabel(ucm2 <= t)"
            )
        return tree

    @classmethod
    def from_ucm(cls, ucm, strict: bool = True) -> "MergeTree":
        """Not supported: an HxW ucm loses the elements between pixels; use ``from_ucm2``."""
        raise ValueError(
            "an HxW ucm does not determine the hierarchy; pass the double-size ucm2 to from_ucm2"
        )

    def canonical(self) -> "MergeTree":
        """The canonical tree of the same hierarchy (tied merges in Kruskal order)."""
        u, v = leaf_adjacency(self.leaves)
        w = self.leaf_pair_heights(u, v)
        return MergeTree.from_leaf_graph(self.leaves, u, v, w)

    # -- queries ---------------------------------------------------------------------

    def _lift(self):
        if self._lifting is None:
            self._lifting = _build_lifting(self._parent)
        return self._lifting

    def lca(self, a, b) -> np.ndarray:
        """Lowest common ancestor (smallest region containing both) of region id arrays."""
        depth, up = self._lift()
        a = np.atleast_1d(np.asarray(a, dtype=np.int64))
        b = np.atleast_1d(np.asarray(b, dtype=np.int64))
        out = np.empty(a.shape[0], dtype=np.int64)
        for i in range(a.shape[0]):
            out[i] = _lca(depth, up, a[i], b[i])
        return out

    def leaf_pair_heights(self, u, v) -> np.ndarray:
        """Ultrametric distance between region pairs: height of their lowest common ancestor.

        Parameters
        ----------
        u, v : (N,) integer ndarrays of region ids.

        Returns
        -------
        (N,) float64; 0 where ``u == v``.
        """
        depth, up = self._lift()
        u = np.ascontiguousarray(u, dtype=np.int64)
        v = np.ascontiguousarray(v, dtype=np.int64)
        return _pair_heights(depth, up, self.node_heights, u, v)

    def to_ucm2(self) -> np.ndarray:
        """Double-size ultrametric contour map, shape (2H+1, 2W+1), float64 (module docs)."""
        return self.ucm2_of(self.leaves)

    def ucm2_of(self, leaf_image) -> np.ndarray:
        """Double-size map of the tree's ultrametric between the leaves of a label image.

        Parameters
        ----------
        leaf_image : (H', W') integer ndarray
            Leaf labels of this tree (``0 .. n_leaves - 1``) at any resolution.

        Returns
        -------
        (2H'+1, 2W'+1) float64 ndarray
            Between 4-adjacent pixels of different leaves, the height of their lowest common
            ancestor; vertices hold the largest of their four elements; 0 elsewhere. With
            ``self.leaves`` this is :meth:`to_ucm2`.
        """
        labels = np.ascontiguousarray(leaf_image)
        h, w = labels.shape
        ucm2 = np.zeros((2 * h + 1, 2 * w + 1), dtype=np.float64)
        if self.n_merges:
            depth, up = self._lift()
            _fill_ucm2_elements(labels, depth, up, self.node_heights, ucm2)
            _fill_vertices(ucm2)
        return ucm2

    def to_ucm(self) -> np.ndarray:
        """Image-size UCM, (H, W) float64: ``ucm2[2::2, 2::2]`` (BSDS ``ucm2(3:2:end,3:2:end)``).

        Pixel ``(i, j)`` holds the vertex at its bottom-right corner, i.e. the strongest
        boundary element touching that corner; the last row and column are frame vertices.
        """
        return self.to_ucm2()[2::2, 2::2].copy()

    def node_ids_at(self, t: float) -> np.ndarray:
        """Region id (0..2L-2) containing each leaf in the partition at threshold ``t``.

        Returns
        -------
        (L,) int64.
        """
        n_applied = int(np.searchsorted(self.heights, float(t), side="right"))
        return _top_nodes(self._parent, self.n_leaves, n_applied)[: self.n_leaves]

    def _partition(self, n_applied: int) -> np.ndarray:
        top = _top_nodes(self._parent, self.n_leaves, n_applied)[: self.n_leaves]
        _, compact = np.unique(top, return_inverse=True)
        return compact.astype(np.int32)[self.leaves]

    def segmentation_at(self, t: float) -> np.ndarray:
        """Partition at threshold ``t``: all merges with height ``<= t`` applied.

        Equals the connected components of ``to_ucm2() <= t``.

        Returns
        -------
        (H, W) int32 labels ``0..n-1``, numbered in increasing order of region id.
        """
        t = float(t)
        if not np.isfinite(t):
            raise ValueError(f"threshold must be finite, got {t}")
        return self._partition(int(np.searchsorted(self.heights, t, side="right")))

    def regions_at(self, k: int) -> np.ndarray:
        """Partition with exactly ``k`` regions (the first ``L - k`` merges applied).

        Returns
        -------
        (H, W) int32 labels ``0..k-1``, numbered in increasing order of region id.
        """
        k = int(k)
        if not 1 <= k <= self.n_leaves:
            raise ValueError(f"k must be in [1, {self.n_leaves}], got {k}")
        return self._partition(self.n_leaves - k)

    def leaf_ranges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Compact description of the leaves of every region.

        Returns
        -------
        order : (L,) int64, a permutation of the leaves (depth-first, first child first);
        begin, end : (2L-1,) int64 -- the leaves of region ``n`` are
            ``order[begin[n]:end[n]]`` (contiguous for every region).
        """
        order, begin, size = _leaf_ranges(self.merges.astype(np.int64), self.n_leaves)
        return order, begin, begin + size

    def leaf_sets(self) -> list[np.ndarray]:
        """Leaves (sorted int64 arrays) of every region 0..2L-2.

        Memory is the sum of all region sizes (quadratic for chain-like trees); prefer
        :meth:`leaf_ranges` for large trees.
        """
        order, begin, end = self.leaf_ranges()
        return [np.sort(order[b:e]) for b, e in zip(begin, end)]

    def nonbinary_merges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The hierarchy with tied merges collapsed (MCG ``ucm2hier`` style k-way merges).

        A region created and merged away at the same height (zero lifetime) is replaced by
        its children, recursively; the remaining merged regions each get all their direct
        children in one merge.

        Returns
        -------
        nodes : (G,) int64, ids of the regions created by a (k-way) merge, increasing;
        heights : (G,) float64, their merge heights (non-decreasing);
        children_ptr : (G+1,) int64 and children : (C,) int64 -- the children of
            ``nodes[g]`` are ``children[children_ptr[g]:children_ptr[g+1]]`` (region ids of
            the binary tree, leaves or non-collapsed regions, increasing).
        """
        n_leaves = self.n_leaves
        parent = self._parent
        heights = self.node_heights
        collapsed = np.zeros(self.n_regions, dtype=bool)
        internal = np.arange(n_leaves, self.n_regions)
        has_parent = parent[internal] >= 0
        collapsed[internal[has_parent]] = (
            heights[parent[internal[has_parent]]] == heights[internal[has_parent]]
        )
        nodes, out_heights, ptr, children = [], [], [0], []
        for k in range(self.n_merges):
            node = n_leaves + k
            if collapsed[node]:
                continue
            stack = list(self.merges[k])
            kids = []
            while stack:
                c = int(stack.pop())
                if c >= n_leaves and collapsed[c]:
                    stack.extend(self.merges[c - n_leaves])
                else:
                    kids.append(c)
            kids.sort()
            nodes.append(node)
            out_heights.append(heights[node])
            children.extend(kids)
            ptr.append(len(children))
        return (
            np.array(nodes, dtype=np.int64),
            np.array(out_heights, dtype=np.float64),
            np.array(ptr, dtype=np.int64),
            np.array(children, dtype=np.int64),
        )

    def region_areas(self) -> np.ndarray:
        """(2L-1,) int64: number of pixels of every region."""
        area = np.zeros(self.n_regions, dtype=np.int64)
        area[: self.n_leaves] = np.bincount(self.leaves.ravel(), minlength=self.n_leaves)
        for k, (a, b) in enumerate(self.merges):
            area[self.n_leaves + k] = area[a] + area[b]
        return area

    # -- resampling and I/O ----------------------------------------------------------

    def resample(self, shape) -> "MergeTree":
        """The hierarchy at resolution ``shape`` (nearest-neighbour leaves).

        See :mod:`grouping.resample` for why this equals the MCG release's per-level
        resampling of the ucm2.

        Parameters
        ----------
        shape : (H', W') target size of the leaf image.

        Returns
        -------
        MergeTree
            Canonical tree whose ``to_ucm2()`` is, for every boundary element between target
            pixels ``p`` and ``q``, the source ultrametric distance between the leaves of their
            nearest source pixels. At the same shape the result equals ``self.canonical()``
            when all heights are > 0.
        """
        h, w = _check_shape(shape)
        rows = nearest_indices(self.shape[0], h)
        cols = nearest_indices(self.shape[1], w)
        return MergeTree.from_ucm2(self.ucm2_of(self.leaves[rows][:, cols]), strict=False)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays :meth:`save` writes (``leaves``, ``merges``, ``heights``, ``format``).

        Returns
        -------
        dict of str to ndarray
            Member names and arrays of the ``.npz`` form, which :meth:`load` reads.
        """
        return {"leaves": self.leaves, "merges": self.merges, "heights": self.heights,
                "format": np.array(_NPZ_FORMAT)}

    def save(self, path) -> None:
        """Write the tree to a compressed ``.npz`` (the arrays of :meth:`to_arrays`)."""
        np.savez_compressed(path, **self.to_arrays())

    @classmethod
    def load(cls, path) -> "MergeTree":
        """Read a tree written by :meth:`save`.

        Raises
        ------
        FileNotFoundError, ValueError
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"merge tree file not found: {path}")
        with np.load(path, allow_pickle=False) as data:
            missing = {"leaves", "merges", "heights"} - set(data.files)
            if missing:
                raise ValueError(f"{path} is not a merge tree file: missing {sorted(missing)}")
            return cls(data["leaves"], data["merges"], data["heights"])
