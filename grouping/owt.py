"""Oriented watershed transform (OWT) on the double-size ucm2 grid.

Follows the idea of ``contours2OWT`` / ``create_finest_partition`` (gPb-owt-ucm, Arbelaez et
al. PAMI 2011; MCG): watershed superpixels of the contour map; the boundaries between them
are broken into arcs (between junctions), each arc is approximated by straight segments
(recursive splitting at the point farthest from the chord), and every boundary element's
strength is multiplied by ``|sin(theta - phi)|`` where ``theta`` is the contour orientation
and ``phi`` the direction of the segment containing the element: a contour whose orientation
agrees with the arc keeps its strength, a contour crossing the arc obliquely is attenuated.

Orientation convention (same as the structured edge detector's ``O``): ``theta`` in
``[0, pi)`` is the direction of the edge *normal* (the intensity gradient), measured from the
+column axis towards the +row axis (rows grow downwards); i.e. the normal is the unit
vector ``(d_row, d_col) = (sin theta, cos theta)`` and the edge tangent is ``theta - pi/2``.
For a gradient image, ``theta = arctan2(g_row, g_col) mod pi``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from grouping.hierarchy import leaves_from_ucm2, ucm2_vertices_from_elements
from grouping.watershed import _check_map, watershed_superpixels

__all__ = ["oriented_watershed", "boundary_orientation_weights", "gradient_orientation"]

# Direction steps on the double grid: up, left, right, down (row, col).
_DR = np.array([-1, 0, 0, 1], dtype=np.int64)
_DC = np.array([0, -1, 1, 0], dtype=np.int64)


@njit(cache=True, nogil=True)
def _active_elements(labels, strength, orient):
    """Boundary elements between different labels: active mask, strength, orientation."""
    h, w = labels.shape
    rows, cols = 2 * h + 1, 2 * w + 1
    active = np.zeros((rows, cols), dtype=np.bool_)
    value = np.zeros((rows, cols), dtype=np.float64)
    theta = np.zeros((rows, cols), dtype=np.float64)
    for i in range(h):
        for j in range(w):
            if j + 1 < w and labels[i, j] != labels[i, j + 1]:
                y, x = 2 * i + 1, 2 * j + 2
                active[y, x] = True
                if strength[i, j] >= strength[i, j + 1]:
                    value[y, x] = strength[i, j]
                    theta[y, x] = orient[i, j]
                else:
                    value[y, x] = strength[i, j + 1]
                    theta[y, x] = orient[i, j + 1]
            if i + 1 < h and labels[i, j] != labels[i + 1, j]:
                y, x = 2 * i + 2, 2 * j + 1
                active[y, x] = True
                if strength[i, j] >= strength[i + 1, j]:
                    value[y, x] = strength[i, j]
                    theta[y, x] = orient[i, j]
                else:
                    value[y, x] = strength[i + 1, j]
                    theta[y, x] = orient[i + 1, j]
    return active, value, theta


@njit(cache=True, nogil=True)
def _vertex_degrees(active):
    """Number of active elements around every vertex (even row, even column) of the double
    grid (int8; 0 elsewhere)."""
    rows, cols = active.shape
    degree = np.zeros((rows, cols), dtype=np.int8)
    for y in range(0, rows, 2):
        for x in range(0, cols, 2):
            d = 0
            if y > 0 and active[y - 1, x]:
                d += 1
            if y + 1 < rows and active[y + 1, x]:
                d += 1
            if x > 0 and active[y, x - 1]:
                d += 1
            if x + 1 < cols and active[y, x + 1]:
                d += 1
            degree[y, x] = d
    return degree


@njit(cache=True, nogil=True)
def _walk(active, degree, visited, y0, x0, dr0, dc0, vy, vx, ey, ex, dr, dc):
    """Follow a chain of elements from vertex (y0, x0) leaving in direction (dr0, dc0).

    Fills vertex coordinates vy/vx (n+1 entries) and element coordinates ey/ex (n entries);
    stops at a vertex of degree != 2 or when coming back to the start. Returns n.
    """
    rows, cols = active.shape
    n = 0
    y, x = y0, x0
    r, c = dr0, dc0
    vy[0] = y
    vx[0] = x
    while True:
        ey_ = y + r
        ex_ = x + c
        visited[ey_, ex_] = True
        ey[n] = ey_
        ex[n] = ex_
        y = y + 2 * r
        x = x + 2 * c
        n += 1
        vy[n] = y
        vx[n] = x
        if y == y0 and x == x0:
            break
        if degree[y, x] != 2:
            break
        # continue through the other active element of this vertex
        found = False
        for d in range(4):
            nr = dr[d]
            nc = dc[d]
            if nr == -r and nc == -c:
                continue  # where we came from
            yy = y + nr
            xx = x + nc
            if 0 <= yy < rows and 0 <= xx < cols and active[yy, xx]:
                r, c = nr, nc
                found = True
                break
        if not found:
            break
    return n


@njit(cache=True, nogil=True)
def _assign_segment_angles(vy, vx, n, phi_out, max_frac, tol, stack_s, stack_e):
    """Recursively split the polyline v[0..n] into near-straight segments.

    A piece [s, e] is split at its point farthest from the chord when that distance exceeds
    both ``max_frac`` times the chord length and ``tol`` (pixels), or when some point lies
    behind an endpoint (angle to the chord above 90 degrees), or when the piece is closed.
    Each element k (between vertices k and k+1) gets the direction of its piece's chord.
    """
    top = 0
    stack_s[0] = 0
    stack_e[0] = n
    top = 1
    while top > 0:
        top -= 1
        s = stack_s[top]
        e = stack_e[top]
        # coordinates in pixel units: (row, col) = vertex / 2
        r0 = vy[s] * 0.5
        c0 = vx[s] * 0.5
        r1 = vy[e] * 0.5
        c1 = vx[e] * 0.5
        dr = r1 - r0
        dc = c1 - c0
        length = math.sqrt(dr * dr + dc * dc)
        split = -1
        if e - s >= 2:
            best = -1.0
            best_k = -1
            behind = False
            for k in range(s + 1, e):
                pr = vy[k] * 0.5 - r0
                pc = vx[k] * 0.5 - c0
                if length > 1e-12:
                    proj = (pr * dr + pc * dc) / length
                    dist = abs(pr * dc - pc * dr) / length
                    if proj < 0.0 or proj > length:
                        behind = True
                else:
                    dist = math.sqrt(pr * pr + pc * pc)
                if dist > best:
                    best = dist
                    best_k = k
            if length <= 1e-12 or behind or (best > max_frac * length and best > tol):
                split = best_k
        if split > 0:
            stack_s[top] = s
            stack_e[top] = split
            top += 1
            stack_s[top] = split
            stack_e[top] = e
            top += 1
        else:
            phi = math.atan2(dr, dc)
            for k in range(s, e):
                phi_out[k] = phi


@njit(cache=True, nogil=True)
def _oriented_strengths(active, value, theta, max_frac, tol, dr, dc):
    """``value * |sin(theta - phi)|`` for every active element (0 elsewhere), phi = direction
    of its arc segment."""
    rows, cols = active.shape
    strength = np.zeros((rows, cols), dtype=np.float64)
    visited = np.zeros((rows, cols), dtype=np.bool_)
    cap = rows * cols // 2 + 4
    vy = np.empty(cap + 1, dtype=np.int64)
    vx = np.empty(cap + 1, dtype=np.int64)
    ey = np.empty(cap, dtype=np.int64)
    ex = np.empty(cap, dtype=np.int64)
    phi = np.empty(cap, dtype=np.float64)
    stack_s = np.empty(cap + 2, dtype=np.int64)
    stack_e = np.empty(cap + 2, dtype=np.int64)
    degree = _vertex_degrees(active)
    # pass 0: chains starting at junctions / frame ends (degree != 2)
    # pass 1: remaining closed loops (all their vertices have degree 2)
    for pass_ in range(2):
        for y in range(0, rows, 2):
            for x in range(0, cols, 2):
                deg = degree[y, x]
                if deg == 0 or (pass_ == 0 and deg == 2):
                    continue
                for d in range(4):
                    yy = y + dr[d]
                    xx = x + dc[d]
                    if 0 <= yy < rows and 0 <= xx < cols and active[yy, xx] and not visited[yy, xx]:
                        n = _walk(active, degree, visited, y, x, dr[d], dc[d], vy, vx, ey, ex,
                                  dr, dc)
                        _assign_segment_angles(vy, vx, n, phi, max_frac, tol, stack_s, stack_e)
                        for k in range(n):
                            y_k = ey[k]
                            x_k = ex[k]
                            turn = abs(math.sin(theta[y_k, x_k] - phi[k]))
                            strength[y_k, x_k] = value[y_k, x_k] * turn
    return strength


def gradient_orientation(grad_row, grad_col) -> np.ndarray:
    """Edge-normal orientation in the OWT convention from a gradient.

    Parameters
    ----------
    grad_row, grad_col : (H, W) float ndarrays, derivatives along rows (down) and columns.

    Returns
    -------
    (H, W) float32 in ``[0, pi)``.
    """
    theta = np.mod(np.arctan2(grad_row, grad_col), np.pi)
    theta[theta >= np.pi] = 0.0
    return theta.astype(np.float32)


def boundary_orientation_weights(
    superpixels, orientation, max_fraction: float = 0.05, tolerance: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Orientation-agreement weight of every boundary element of a partition.

    Parameters
    ----------
    superpixels : (H, W) integer label image.
    orientation : (H, W) float, edge-normal orientation (module convention); each element
        uses the orientation of the upper / left pixel of its pair.
    max_fraction, tolerance : segment splitting criteria (fraction of the chord, pixels).

    Returns
    -------
    weight : (2H+1, 2W+1) float64 in [0, 1], 0 off the boundaries;
    active : (2H+1, 2W+1) bool, the boundary elements.
    """
    labels = np.ascontiguousarray(superpixels, dtype=np.int64)
    orient = _check_map(orientation, "orientation")
    if orient.shape != labels.shape:
        raise ValueError(f"orientation shape {orient.shape} != superpixels shape {labels.shape}")
    zeros = np.zeros(labels.shape, dtype=np.float64)
    active, _, theta = _active_elements(labels, zeros, orient)
    ones = np.ones(active.shape, dtype=np.float64)
    weight = _oriented_strengths(active, ones, theta, float(max_fraction), float(tolerance),
                                  _DR, _DC)
    return weight, active


def oriented_watershed(
    edges, orientation, max_fraction: float = 0.05, tolerance: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Oriented watershed transform of a contour map.

    Parameters
    ----------
    edges : (H, W) float ndarray
        Contour strength, e.g. in [0, 1] (negative values are clipped to 0).
    orientation : (H, W) float ndarray
        Edge-normal orientation in radians, ``[0, pi)`` (module docstring convention).
    max_fraction : float
        An arc piece is split when its farthest point from the chord is further than
        ``max_fraction`` times the chord length ...
    tolerance : float
        ... and further than ``tolerance`` pixels (or lies behind an endpoint).

    Returns
    -------
    owt2 : (2H+1, 2W+1) float64
        Boundary strengths on the ucm2 grid: each element between two watershed regions
        holds ``max(E[p], E[q]) * |sin(theta - phi)|`` (``theta`` the orientation at the
        stronger of the two pixels, ``phi`` the direction of the element's arc segment);
        vertices hold the max of their neighbouring elements; pixels and frame hold 0.
    superpixels : (H, W) int32
        Leaves ``0..L-1`` in raster order: the watershed regions, joined where the whole
        boundary between them has zero strength, i.e. the components of pixels connected
        through zero elements of ``owt2`` (every element between two different superpixels
        is > 0). Use as the ``superpixels`` argument of :func:`grouping.ucm.ucm_mean_pb`.

    Raises
    ------
    ValueError
        Shape mismatch, non-finite input.
    """
    edges = _check_map(edges, "edges")
    orient = _check_map(orientation, "orientation")
    if orient.shape != edges.shape:
        raise ValueError(f"orientation shape {orient.shape} != edges shape {edges.shape}")
    edges = np.maximum(edges, 0.0)
    regions = watershed_superpixels(edges).astype(np.int64)
    active, value, theta = _active_elements(regions, edges, orient)
    owt2 = _oriented_strengths(active, value, theta, float(max_fraction), float(tolerance),
                                _DR, _DC)
    ucm2_vertices_from_elements(owt2)
    superpixels = leaves_from_ucm2(owt2)
    return owt2, superpixels
