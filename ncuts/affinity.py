"""Intervening-contour affinity between nearby pixels, read off a double-size boundary map.

Convention (BSDS "ucm2" double grid, as produced by the OWT in ``grouping``): an image of
``H x W`` pixels has a boundary map ``owt2`` of shape ``(2H+1, 2W+1)``. Pixel ``(r, c)`` sits at
``owt2[2r+1, 2c+1]``; the boundary element between pixels ``(r, c)`` and ``(r+1, c)`` is
``owt2[2r+2, 2c+1]`` and the one between ``(r, c)`` and ``(r, c+1)`` is ``owt2[2r+1, 2c+2]``.
These two families of elements form the "dual lattice" (the horizontal and vertical edge
lattices of the pixel grid) on which the intervening contour cue is measured, as in the
gPb / MCG ``buildW`` affinity.

For a pair of pixels ``p, q`` with ``|p - q| <= radius`` the cue is the maximum boundary
strength (after multiplying the map by ``scale``) crossed by the digital straight segment
(Bresenham line) from ``p`` to ``q``: an axis step crosses one lattice element, a diagonal step
crosses the four elements around the 2x2 block it cuts through. Following the reference:

* a walk stops once the accumulated maximum exceeds 1, so the cue saturates at 1;
* the cue ``m`` is mapped to a probability of "same segment" by the logistic fit
  ``pss = 1 / (1 + exp(-(1.8682 - 1.3113 * m / 0.3130)))``;
* the affinity is ``exp(-(1 - pss) / gamma)``, 1 on the diagonal;
* the matrix is symmetrised by averaging the two directions.

Hence a pair inside a flat region (``m = 0``) gets ``exp(-(1 - 0.8663) / 0.12) ~= 0.328``,
and a pair separated by a boundary of strength >= 0.1 (so ``m >= 1`` after scaling by 10) gets
``exp(-(1 - 0.0894) / 0.12) ~= 5.1e-4``. For ``radius <= 2`` (the MCG setting) the segments are
unambiguous (offsets (1,0), (2,0), (1,1)) and the result equals the reference's; for larger
radii the reference approximates each segment by walks towards the window border, while here the
direct Bresenham segment is used.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from numba import njit

# Logistic fit of P(same segment | intervening contour) from the reference implementation.
_IC_LOGISTIC_BIAS = 1.8682
_IC_LOGISTIC_SLOPE = 1.3113 / 0.3130
# The reference stops a walk once the accumulated (scaled) boundary exceeds this value.
_IC_WALK_THRESHOLD = 1.0


def _neighbour_offsets(radius: float) -> np.ndarray:
    """All (drow, dcol) offsets with drow^2 + dcol^2 <= radius^2, sorted by (drow, dcol).

    The sort order makes the column indices of each CSR row increase monotonically.
    """
    r = int(math.floor(radius))
    offsets = [
        (dr, dc)
        for dr in range(-r, r + 1)
        for dc in range(-r, r + 1)
        if dr * dr + dc * dc <= radius * radius
    ]
    return np.asarray(offsets, dtype=np.int64).reshape(-1, 2)


@njit(cache=True, nogil=True)
def _ic_value(m, gamma):
    """Affinity for a (scaled) intervening-contour maximum m."""
    if m > _IC_WALK_THRESHOLD:
        m = 1.0  # the reference's walk stopped: the pair counts as fully separated
    pss = 1.0 / (1.0 + math.exp(-(_IC_LOGISTIC_BIAS - _IC_LOGISTIC_SLOPE * m)))
    return math.exp(-(1.0 - pss) / gamma)


def _walk_elements(dr: int, dc: int) -> list[tuple[int, int]]:
    """Lattice elements crossed by the Bresenham walk from pixel (0, 0) to pixel (dr, dc): an
    axis step crosses one element, a diagonal step the four around the 2x2 block it cuts. As
    (row, col) positions on the double grid relative to the start pixel's ``(2 r, 2 c)``: a
    walk crosses the same elements wherever it starts."""
    sr = (dr > 0) - (dr < 0)
    sc = (dc > 0) - (dc < 0)
    adr, adc = abs(dr), abs(dc)
    r = c = 0
    if adc >= adr:
        err, n_steps = 2 * adr - adc, adc
    else:
        err, n_steps = 2 * adc - adr, adr
    elements = []
    for _ in range(n_steps):
        nr, nc = r, c
        if adc >= adr:
            nc = c + sc
            if err > 0:
                nr = r + sr
                err -= 2 * adc
            err += 2 * adr
        else:
            nr = r + sr
            if err > 0:
                nc = c + sc
                err -= 2 * adr
            err += 2 * adc
        rmin, cmin = min(r, nr), min(c, nc)
        if nr != r and nc != c:
            elements += [(2 * rmin + 2, 2 * cmin + 1), (2 * rmin + 2, 2 * cmin + 3),
                         (2 * rmin + 1, 2 * cmin + 2), (2 * rmin + 3, 2 * cmin + 2)]
        elif nr != r:
            elements.append((2 * rmin + 2, 2 * c + 1))
        else:
            elements.append((2 * r + 1, 2 * cmin + 2))
        r, c = nr, nc
    return elements


def _segment_max(owt2: np.ndarray, r0: int, c0: int, r1: int, c1: int) -> float:
    """Max of the lattice elements crossed by the walk (r0, c0) -> (r1, c1) (0 if none): the
    intervening-contour cue of one pair, as the affinity kernel reads it from the walk tables."""
    elements = _walk_elements(r1 - r0, c1 - c0)
    return max([0.0] + [float(owt2[2 * r0 + er, 2 * c0 + ec]) for er, ec in elements])


def _walk_tables(offsets: np.ndarray, map_width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat offsets (on a double-size map ``map_width`` wide, from the start pixel's
    ``(2 r, 2 c)``) of the elements crossed by the forward and the backward walk of each
    neighbour offset; ``counts[k] = (n_forward, n_backward)``, ``n_backward = 0`` when the
    backward walk crosses the same elements (axis-aligned and diagonal offsets)."""
    walks = []
    for dr, dc in offsets.tolist():
        forward = _walk_elements(dr, dc)
        backward = [(er + 2 * dr, ec + 2 * dc) for er, ec in _walk_elements(-dr, -dc)]
        if sorted(backward) == sorted(forward):
            backward = []
        walks.append((forward, backward))
    width = max([1] + [max(len(f), len(b)) for f, b in walks])
    forward_table = np.zeros((len(walks), width), np.int64)
    backward_table = np.zeros((len(walks), width), np.int64)
    counts = np.zeros((len(walks), 2), np.int64)
    for k, (forward, backward) in enumerate(walks):
        counts[k] = len(forward), len(backward)
        for j, (er, ec) in enumerate(forward):
            forward_table[k, j] = er * map_width + ec
        for j, (er, ec) in enumerate(backward):
            backward_table[k, j] = er * map_width + ec
    return forward_table, backward_table, counts


@njit(cache=True, nogil=True)
def _walk_argmax(flat, base, table, k, count):
    """Index in ``flat`` of the first largest element crossed by walk ``k`` from ``base``, or
    -1 if none is positive."""
    best = 0.0
    best_at = -1
    for j in range(count):
        at = base + table[k, j]
        if flat[at] > best:
            best = flat[at]
            best_at = at
    return best_at


@njit(cache=True, nogil=True)
def _ic_affinity_csr(owt2_scaled, height, width, offsets, mirror, forward_table, backward_table,
                     walk_counts, gamma):
    """CSR arrays (indptr, indices, data) of the symmetric intervening-contour affinity.

    ``offsets`` is sorted by (drow, dcol) and ``mirror[k]`` is the index of ``-offsets[k]``;
    the walk tables are :func:`_walk_tables`' (the elements of :func:`_walk_elements`).
    Each unordered pair is evaluated once (both walk directions, averaged) from its first
    pixel in scan order ("positive" offsets) and read back for the other row.
    """
    n = height * width
    n_off = offsets.shape[0]
    flat = owt2_scaled.ravel()
    map_width = owt2_scaled.shape[1]
    # column of each "positive" offset in pair_value (-1 for the others and the centre)
    pair_column = np.full(n_off, -1, np.int64)
    n_pairs = 0
    for k in range(n_off):
        if offsets[k, 0] > 0 or (offsets[k, 0] == 0 and offsets[k, 1] > 0):
            pair_column[k] = n_pairs
            n_pairs += 1
    pair_value = np.empty((n, n_pairs))
    value_no_boundary = _ic_value(0.0, gamma)
    # the affinity of a walk whose largest element is e, for every element on a boundary:
    # far fewer elements than pairs cross one
    element_value = np.empty(flat.shape[0])
    for e in range(flat.shape[0]):
        if flat[e] > 0.0:
            element_value[e] = _ic_value(flat[e], gamma)
    for r in range(height):
        for c in range(width):
            p = r * width + c
            base = 2 * r * map_width + 2 * c
            for k in range(n_off):
                if pair_column[k] < 0:
                    continue
                rr = r + offsets[k, 0]
                cc = c + offsets[k, 1]
                if rr >= height or cc < 0 or cc >= width:
                    continue
                e_fwd = _walk_argmax(flat, base, forward_table, k, walk_counts[k, 0])
                # most pairs cross no boundary at all: the value of m = 0
                value = value_no_boundary if e_fwd < 0 else element_value[e_fwd]
                # axis-aligned and diagonal walks cross the same elements both ways
                if walk_counts[k, 1] > 0:
                    e_bwd = _walk_argmax(flat, base, backward_table, k, walk_counts[k, 1])
                    m_fwd = 0.0 if e_fwd < 0 else flat[e_fwd]
                    m_bwd = 0.0 if e_bwd < 0 else flat[e_bwd]
                    if m_bwd != m_fwd:
                        value = 0.5 * (value + _ic_value(m_bwd, gamma))
                pair_value[p, pair_column[k]] = value
    # the neighbour of pixel p at offset k is p + flat_offset[k]; its value sits in row
    # p + source_shift[k] of pair_value, column source_column[k] (-1: the diagonal, 1)
    flat_offset = np.empty(n_off, np.int64)
    source_shift = np.zeros(n_off, np.int64)
    source_column = np.full(n_off, -1, np.int64)
    reach_r = 0
    reach_c = 0
    for k in range(n_off):
        flat_offset[k] = offsets[k, 0] * width + offsets[k, 1]
        reach_r = max(reach_r, abs(offsets[k, 0]))
        reach_c = max(reach_c, abs(offsets[k, 1]))
        if pair_column[k] >= 0:
            source_column[k] = pair_column[k]
        elif offsets[k, 0] != 0 or offsets[k, 1] != 0:
            source_shift[k] = flat_offset[k]
            source_column[k] = pair_column[mirror[k]]
    indptr = np.zeros(n + 1, dtype=np.int64)
    for r in range(height):
        inner_row = r >= reach_r and r < height - reach_r
        for c in range(width):
            if inner_row and c >= reach_c and c < width - reach_c:
                indptr[r * width + c + 1] = n_off
                continue
            count = 0
            for k in range(n_off):
                rr = r + offsets[k, 0]
                cc = c + offsets[k, 1]
                if rr >= 0 and rr < height and cc >= 0 and cc < width:
                    count += 1
            indptr[r * width + c + 1] = count
    for p in range(n):
        indptr[p + 1] += indptr[p]
    nnz = indptr[n]
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz, dtype=np.float64)
    for r in range(height):
        inner_row = r >= reach_r and r < height - reach_r
        for c in range(width):
            p = r * width + c
            pos = indptr[p]
            inner = inner_row and c >= reach_c and c < width - reach_c
            for k in range(n_off):
                if not inner:
                    rr = r + offsets[k, 0]
                    cc = c + offsets[k, 1]
                    if rr < 0 or rr >= height or cc < 0 or cc >= width:
                        continue
                if source_column[k] < 0:
                    data[pos] = 1.0
                else:
                    data[pos] = pair_value[p + source_shift[k], source_column[k]]
                indices[pos] = p + flat_offset[k]
                pos += 1
    return indptr, indices, data


def check_double_size_map(owt2: np.ndarray, name: str = "owt2") -> np.ndarray:
    """Validate a (2H+1, 2W+1) boundary map and return it as C-contiguous float64.

    Raises
    ------
    ValueError
        If the array is not 2-D, a side is even or < 3, or it holds NaN/inf/negative values.
    """
    arr = np.asarray(owt2)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (2H+1)x(2W+1) boundary map, got shape {arr.shape}")
    h2, w2 = arr.shape
    if h2 < 3 or w2 < 3 or h2 % 2 == 0 or w2 % 2 == 0:
        raise ValueError(
            f"{name} must have odd sides >= 3 (double-size grid (2H+1)x(2W+1)), got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if arr.min() < 0:
        raise ValueError(f"{name} must be non-negative, its minimum is {arr.min():g}")
    return arr


def intervening_contour_affinity(
    owt2: np.ndarray, radius: float = 2, gamma: float = 0.12, scale: float = 10.0
) -> sp.csr_matrix:
    """Symmetric intervening-contour affinity matrix over the pixels of an image.

    Parameters
    ----------
    owt2 : ndarray, shape (2H+1, 2W+1), float
        Boundary strengths on the BSDS double-size grid (e.g. the OWT map), non-negative.
    radius : float, default 2
        Pixels ``p, q`` are connected when ``|p - q|_2 <= radius``.
    gamma : float, default 0.12
        Affinity bandwidth: ``W = exp(-(1 - pss) / gamma)``.
    scale : float, default 10
        The map is multiplied by ``scale`` before measuring the cue (MCG's ``mult_Pb``).

    Returns
    -------
    W : scipy.sparse.csr_matrix, shape (H*W, H*W), float64
        Pixel ``(r, c)`` has index ``r * W + c`` (row-major). Symmetric, entries in (0, 1],
        unit diagonal, sorted indices; ``(2*floor(radius)+1)^2``-neighbourhood clipped to the
        disc and to the image. See the module docstring for the exact formula.

    Raises
    ------
    ValueError
        On a malformed map (see :func:`check_double_size_map`) or non-positive parameters.
    """
    if not (radius >= 0 and np.isfinite(radius)):
        raise ValueError(f"radius must be a finite number >= 0, got {radius}")
    if not (gamma > 0 and np.isfinite(gamma)):
        raise ValueError(f"gamma must be a finite number > 0, got {gamma}")
    if not (scale > 0 and np.isfinite(scale)):
        raise ValueError(f"scale must be a finite number > 0, got {scale}")
    arr = check_double_size_map(owt2)
    height = (arr.shape[0] - 1) // 2
    width = (arr.shape[1] - 1) // 2
    offsets = _neighbour_offsets(float(radius))
    mirror = np.array(
        [np.flatnonzero((offsets == -off).all(axis=1))[0] for off in offsets], dtype=np.int64
    )
    forward_table, backward_table, walk_counts = _walk_tables(offsets, arr.shape[1])
    indptr, indices, data = _ic_affinity_csr(
        arr * float(scale), height, width, offsets, mirror, forward_table, backward_table,
        walk_counts, float(gamma)
    )
    n = height * width
    W = sp.csr_matrix((data, indices, indptr), shape=(n, n))
    W.has_sorted_indices = True
    return W
