"""Pixel correspondence between two boundary maps (BSDS ``correspondPixels``).

The original benchmark (``match.cc``) solves a min-cost assignment (CSA)
between the boundary pixels of two maps: a pair of pixels can be matched only
when their Euclidean distance is at most ``max_dist`` (a fraction of the image
diagonal) and costs that distance (in integer 1/100 pixel); every pixel may
instead go to an outlier node at a cost ``100 x radius`` far above any
distance. Because the outlier cost dominates, the optimum first maximizes the
number of matched pairs and then minimizes their total distance; which machine
pixels get matched (and so the union over humans used for precision) depends
on that second criterion.

The original connects each node to only 6 random outlier nodes (plus a
high-cost fallback), so its solutions vary from run to run by a few pixels
(about 1e-3 in a per-image precision or recall, a few 1e-4 on the dataset) and
are sometimes a few matches short of the optimum. :func:`correspond_pixels`
solves the same problem exactly and deterministically with SciPy's sparse
LAPJV on an equivalent dense-outlier graph.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

#: integer cost scale of the original (distances in 1/100 pixel)
MULTIPLIER = 100


def search_offsets(max_dist_pixels: float) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``(dy, dx)`` with ``dy**2 + dx**2 <= max_dist_pixels**2`` (int64 arrays)."""
    r = int(math.ceil(max_dist_pixels))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    keep = (dy * dy + dx * dx) <= max_dist_pixels * max_dist_pixels
    return dy[keep].astype(np.int64), dx[keep].astype(np.int64)


@njit(cache=True)
def _pair_edges(ys1, xs1, node2, off_y, off_x):
    """Edges (node of map 1, node of map 2) between pixels within the offsets.

    ys1, xs1 : (n1,) int64 coordinates of the map-1 pixels (node i = index).
    node2 : (H, W) int64, node id of each map-2 pixel or -1.
    Returns (rows, cols) int64 arrays, rows sorted ascending.
    """
    height, width = node2.shape
    n1 = ys1.shape[0]
    noff = off_y.shape[0]
    count = 0
    for i in range(n1):
        y, x = ys1[i], xs1[i]
        for k in range(noff):
            yy = y + off_y[k]
            xx = x + off_x[k]
            if yy < 0 or yy >= height or xx < 0 or xx >= width:
                continue
            if node2[yy, xx] >= 0:
                count += 1
    rows = np.empty(count, np.int64)
    cols = np.empty(count, np.int64)
    c = 0
    for i in range(n1):
        y, x = ys1[i], xs1[i]
        for k in range(noff):
            yy = y + off_y[k]
            xx = x + off_x[k]
            if yy < 0 or yy >= height or xx < 0 or xx >= width:
                continue
            j = node2[yy, xx]
            if j >= 0:
                rows[c] = i
                cols[c] = j
                c += 1
    return rows, cols


def correspond_pixels(bmap1: np.ndarray, bmap2: np.ndarray, max_dist: float = 0.0075,
                      offsets: tuple | None = None,
                      outlier_cost: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Match the boundary pixels of two maps within a distance (``correspondPixels``).

    Solves, exactly, the assignment problem of the original ``matchEdgeMaps``:
    pixel pairs within the radius cost their distance (in 1/100 pixel,
    rounded as the original's integer costs), a pixel left unmatched costs
    ``outlier_cost x radius`` and so does every matched pair's twin
    outlier-outlier edge, i.e. the total cost is
    ``sum(distances) + ow * (n1 + n2 - matches)``. The optimum is found with
    SciPy's sparse LAPJV (``min_weight_full_bipartite_matching``) on the
    augmented graph where every pixel also has its own outlier node. The
    original's CSA restricts outlier connections to a random sparse subset,
    which makes its result vary by a few pixels from run to run; this
    function returns the optimum of the dense problem, deterministically.

    Parameters
    ----------
    bmap1, bmap2 : (H, W) array_like
        Boundary maps; non-zero pixels are boundary pixels.
    max_dist : float
        Matching radius as a fraction of the image diagonal
        (``sqrt(H**2 + W**2)``), 0.0075 in BSDS.
    offsets : (dy, dx), optional
        Precomputed :func:`search_offsets` for the radius in pixels.
    outlier_cost : float
        Cost of an unmatched pixel in units of the radius (100 in BSDS).

    Returns
    -------
    matched1 : (H, W) bool
        Pixels of ``bmap1`` matched to a pixel of ``bmap2``.
    matched2 : (H, W) bool
        Pixels of ``bmap2`` matched to a pixel of ``bmap1``.
    """
    b1 = np.asarray(bmap1) != 0
    b2 = np.asarray(bmap2) != 0
    if b1.shape != b2.shape or b1.ndim != 2:
        raise ValueError(f"boundary maps must be 2-D of the same size, got {b1.shape} and {b2.shape}")
    height, width = b1.shape
    radius = max_dist * math.hypot(height, width)
    if offsets is None:
        offsets = search_offsets(radius)
    matched1 = np.zeros(b1.shape, bool)
    matched2 = np.zeros(b2.shape, bool)
    ys1, xs1 = np.nonzero(b1)
    ys2, xs2 = np.nonzero(b2)
    n1, n2 = ys1.size, ys2.size
    if n1 == 0 or n2 == 0:
        return matched1, matched2
    node2 = np.full(b2.shape, -1, np.int64)
    node2[ys2, xs2] = np.arange(n2)
    rows, cols = _pair_edges(ys1.astype(np.int64), xs1.astype(np.int64), node2,
                             offsets[0], offsets[1])
    if rows.size == 0:
        return matched1, matched2
    # Only nodes with at least one real edge can be matched; the rest go to outliers.
    used1 = np.unique(rows)
    used2 = np.unique(cols)
    r = np.searchsorted(used1, rows)
    c = np.searchsorted(used2, cols)
    m1, m2 = used1.size, used2.size
    dist = np.hypot((ys1[rows] - ys2[cols]).astype(np.float64),
                    (xs1[rows] - xs2[cols]).astype(np.float64))
    weight = np.rint(dist * MULTIPLIER)
    ow = float(math.ceil(outlier_cost * radius * MULTIPLIER))
    # Left nodes: real pixels of map 1 [0, m1), outliers of map 2 [m1, m1+m2).
    # Right nodes: real pixels of map 2 [0, m2), outliers of map 1 [m2, m2+m1).
    # Real edges cost w+1 and their outlier twins ow-1 (so no edge weighs 0, which
    # SciPy would drop) : a real match costs w + ow in total, as in the original.
    graph_rows = np.concatenate([r, np.arange(m1), m1 + np.arange(m2), m1 + c])
    graph_cols = np.concatenate([c, m2 + np.arange(m1), np.arange(m2), m2 + r])
    graph_w = np.concatenate([weight + 1.0, np.full(m1, ow), np.full(m2, ow),
                              np.full(r.size, ow - 1.0)])
    n = m1 + m2
    graph = csr_matrix((graph_w, (graph_rows, graph_cols)), shape=(n, n))
    _, right_of_left = min_weight_full_bipartite_matching(graph)
    mate = right_of_left[:m1]
    ok = mate < m2
    i = used1[np.flatnonzero(ok)]
    j = used2[mate[ok]]
    matched1[ys1[i], xs1[i]] = True
    matched2[ys2[j], xs2[j]] = True
    return matched1, matched2
