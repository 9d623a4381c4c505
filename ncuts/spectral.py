"""Spectral boundaries and the globalization step of SCG / MCG.

The release's ``spectralPb_fast`` + the lines of ``img2ucm`` around it, re-derived:

1. ``W = intervening_contour_affinity(owt2, radius=2, gamma=0.12, scale=10)``;
2. 6 eigenpairs by DNCuts (2 levels of decimation by 2, more on large images so that the reduced
   grid stays within :data:`MAX_REDUCED_NODES` nodes, see :func:`adaptive_levels`) - or by the exact solver;
3. eigenvectors sorted by ascending eigenvalue; the first (trivial, constant) one is skipped;
   each other one is reshaped to ``H x W`` and min-max normalised to [0, 1];
4. its boundary gradient on the double grid (:func:`vector_boundary_gradient`: absolute
   difference of 4-adjacent pixels on the element between them, junctions = max of their 4
   elements, outer frame copied from the adjacent row/column) divided by ``sqrt(lambda)``
   (eigenvectors with ``lambda <= 0`` are skipped) is accumulated;
5. the sum is raised to ``1/sqrt(2)``;
6. the globalized map is ``owt2 + spectral / 60``. The release then hands this map and the
   superpixels to ``ucm_mean_pb``, which only reads the elements between different superpixels -
   all of them arcs of ``owt2`` (``owt2 > 0``). ``globalize`` therefore restricts the spectral
   term to those arcs by default (``restrict_to_arcs=True``), which gives the same UCM and keeps
   ``owt2 == 0`` meaning "inside a region".
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from .affinity import check_double_size_map, intervening_contour_affinity
from .dncuts import dncuts, effective_levels, exact_ncuts, interpolate_eigenvectors

SOLVERS = ("dncuts", "exact")
#: DNCuts adds decimation levels beyond ``n_levels`` until the reduced grid has at most this
#: many nodes (BSDS and COCO images keep the paper's 2 levels, and so do the scale-2 image of a
#: 481x321 BSDS image, 240x160 nodes, and the scale-1.5 image of a 640x480 COCO image, 240x180
#: nodes; a 640x480 COCO image at scale 2 gets 3). The ``fast`` MCG preset passes a smaller bound
#: (``mcg.pipeline.DNCUTS_MAX_REDUCED_NODES``).
MAX_REDUCED_NODES = 45_000
#: Eigenvalues of an image's graph relative to those of the same image at half the size
#: (``globalize(coarse=...)``): the Laplacian's small eigenvalues scale with the squared pixel
#: spacing.
HALF_SIZE_EIGENVALUE_RATIO = 0.25


@dataclass(frozen=True)
class SpectralBasis:
    """The eigenvectors behind one globalization, for reuse at twice the resolution.

    Attributes
    ----------
    shape : (int, int)
        Image size ``(H, W)`` of that globalization.
    eigenvalues : ndarray, shape (k,), float64
        Ascending, already multiplied by the globalization's eigenvalue scale (the values the
        spectral weights ``1/sqrt(lambda)`` used).
    upsampled : ndarray, shape (H*W, k), float64
        The eigenvectors on the pixels, before whitening.
    """

    shape: tuple
    eigenvalues: np.ndarray
    upsampled: np.ndarray


def vector_boundary_gradient(image: np.ndarray) -> np.ndarray:
    """Boundary gradient of a scalar image on the double-size grid (release ``seg2bdry_wt``).

    Parameters
    ----------
    image : ndarray, shape (H, W), float

    Returns
    -------
    bdry : ndarray, shape (2H+1, 2W+1), float64
        ``bdry[2r+2, 2c+1] = |f[r,c] - f[r+1,c]|``, ``bdry[2r+1, 2c+2] = |f[r,c] - f[r,c+1]|``,
        interior junctions ``bdry[2r+2, 2c+2]`` = max of their four elements, pixel sites 0,
        then the outer frame copied from the adjacent row/column (first row, first column, last
        row, last column, in that order).
    """
    f = np.asarray(image, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 1 or f.shape[1] < 1:
        raise ValueError(f"image must be a non-empty 2-D array, got shape {f.shape}")
    h, w = f.shape
    bdry = np.zeros((2 * h + 1, 2 * w + 1))
    vert = np.zeros((h, w))  # between (r, c) and (r+1, c); last row 0
    vert[:-1, :] = np.abs(f[:-1, :] - f[1:, :])
    horz = np.zeros((h, w))  # between (r, c) and (r, c+1); last column 0
    horz[:, :-1] = np.abs(f[:, :-1] - f[:, 1:])
    bdry[2::2, 1::2] = vert
    bdry[1::2, 2::2] = horz
    if h > 1 and w > 1:
        bdry[2:-2:2, 2:-2:2] = np.maximum(
            np.maximum(horz[:-1, :-1], horz[1:, :-1]), np.maximum(vert[:-1, :-1], vert[:-1, 1:])
        )
    _copy_frame(bdry)
    return bdry


@njit(cache=True, nogil=True)
def _accumulate_gradient(total, img, weight):
    """total += weight * vector_boundary_gradient(img), without the outer frame."""
    h, w = img.shape
    for r in range(h):
        for c in range(w):
            if r + 1 < h:
                total[2 * r + 2, 2 * c + 1] += abs(img[r, c] - img[r + 1, c]) * weight
            if c + 1 < w:
                total[2 * r + 1, 2 * c + 2] += abs(img[r, c] - img[r, c + 1]) * weight
            if r + 1 < h and c + 1 < w:
                a = abs(img[r, c] - img[r, c + 1])  # the junction's four elements
                b = abs(img[r + 1, c] - img[r + 1, c + 1])
                d = abs(img[r, c] - img[r + 1, c])
                e = abs(img[r, c + 1] - img[r + 1, c + 1])
                total[2 * r + 2, 2 * c + 2] += max(max(a, b), max(d, e)) * weight


#: The spectral boundary map is the weighted gradient sum to this power (the release's).
SPECTRAL_EXPONENT = 1.0 / np.sqrt(2.0)


def _copy_frame(bdry):
    """Outer frame copied from the adjacent rows/columns, in the release's order."""
    bdry[0, :] = bdry[1, :]
    bdry[:, 0] = bdry[:, 1]
    bdry[-1, :] = bdry[-2, :]
    bdry[:, -1] = bdry[:, -2]


def spectral_boundaries(
    eigenvectors: np.ndarray,
    eigenvalues: np.ndarray,
    shape: tuple[int, int],
    skip_first: bool = True,
) -> np.ndarray:
    """Spectral boundary map from normalized-cuts eigenvectors (release ``spectralPb_fast``).

    Parameters
    ----------
    eigenvectors : ndarray, shape (H*W, k), float
        Columns in the order of ``eigenvalues``, row-major pixel order.
    eigenvalues : ndarray, shape (k,), float
        Ascending; vectors with ``lambda <= 0`` contribute nothing.
    shape : (int, int)
        ``(H, W)``.
    skip_first : bool, default True
        Skip the first (trivial, constant) eigenvector, as the release does.

    Returns
    -------
    spectral : ndarray, shape (2H+1, 2W+1), float64
        ``(sum_v grad(minmax(v)) / sqrt(lambda_v)) ** (1/sqrt(2))`` on the double grid, >= 0.
    """
    return _gradient_sum(eigenvectors, eigenvalues, shape, skip_first) ** SPECTRAL_EXPONENT


def _weighted_vectors(eigenvectors, eigenvalues, shape, skip_first: bool = True):
    """The eigenvectors as rows (``(k, H*W)``, each contiguous), the indices of those that
    contribute to the spectral boundaries (positive eigenvalue, not constant, the first
    skipped if ``skip_first``) and their weights ``1 / ((max - min) sqrt(lambda))``."""
    h, w = int(shape[0]), int(shape[1])
    vecs = np.asarray(eigenvectors, dtype=np.float64)
    vals = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if vecs.ndim != 2 or vecs.shape[0] != h * w:
        raise ValueError(f"eigenvectors must have shape ({h * w}, k) for shape {shape}, got {vecs.shape}")
    if vals.shape[0] != vecs.shape[1]:
        raise ValueError(f"{vals.shape[0]} eigenvalues for {vecs.shape[1]} eigenvectors")
    columns = np.ascontiguousarray(vecs.T)  # each eigenvector contiguous
    used, weights = [], []
    for v in range(1 if skip_first else 0, vecs.shape[1]):
        if not vals[v] > 0:
            continue
        lo, hi = columns[v].min(), columns[v].max()
        if not hi - lo > 1e-12 * max(1.0, abs(hi), abs(lo)):
            continue  # constant vector: no boundary (the release would divide by 0)
        # the gradient of (v - lo) / (hi - lo), weighted by 1 / sqrt(lambda)
        used.append(v)
        weights.append(1.0 / ((hi - lo) * np.sqrt(vals[v])))
    return columns, np.array(used, dtype=np.int64), np.array(weights, dtype=np.float64)


def _gradient_sum(eigenvectors, eigenvalues, shape, skip_first: bool = True) -> np.ndarray:
    """:func:`spectral_boundaries` before the final power (same parameters)."""
    h, w = int(shape[0]), int(shape[1])
    columns, used, weights = _weighted_vectors(eigenvectors, eigenvalues, shape, skip_first)
    total = np.zeros((2 * h + 1, 2 * w + 1))
    for v, weight in zip(used, weights):
        _accumulate_gradient(total, columns[v].reshape(h, w), weight)
    _copy_frame(total)  # linear: applied once to the sum
    return total


@njit(cache=True, nogil=True)
def _arc_gradient_sums(owt2, columns, used, weights, width):
    """Flat indices (raster order) of the positive elements of ``owt2`` and, at each, the
    value of :func:`_gradient_sum`'s map: the weighted gradients of the vectors
    ``columns[used[i]]`` (weight ``weights[i]``) added in order, as
    :func:`_accumulate_gradient` adds them; 0 on pixel cells; on the frame, the value of the
    element :func:`_copy_frame` copies (the nearest element inside the frame)."""
    rows, cols = owt2.shape
    count = 0
    for y in range(rows):
        for x in range(cols):
            count += np.int64(owt2[y, x] > 0)
    positions = np.empty(count, np.int64)
    sums = np.empty(count, np.float64)
    k = 0
    for y in range(rows):
        for x in range(cols):
            if not owt2[y, x] > 0:
                continue
            sy = min(max(y, 1), rows - 2)
            sx = min(max(x, 1), cols - 2)
            total = 0.0
            if sy % 2 == 1 and sx % 2 == 0:  # between pixels (r, c) and (r, c + 1)
                p = (sy // 2) * width + sx // 2 - 1
                for i in range(used.shape[0]):
                    v = used[i]
                    total += abs(columns[v, p] - columns[v, p + 1]) * weights[i]
            elif sy % 2 == 0 and sx % 2 == 1:  # between pixels (r, c) and (r + 1, c)
                p = (sy // 2 - 1) * width + sx // 2
                for i in range(used.shape[0]):
                    v = used[i]
                    total += abs(columns[v, p] - columns[v, p + width]) * weights[i]
            elif sy % 2 == 0:  # the junction of pixels (r, c) .. (r + 1, c + 1)
                p = (sy // 2 - 1) * width + sx // 2 - 1
                for i in range(used.shape[0]):
                    v = used[i]
                    a = abs(columns[v, p] - columns[v, p + 1])
                    b = abs(columns[v, p + width] - columns[v, p + width + 1])
                    d = abs(columns[v, p] - columns[v, p + width])
                    e = abs(columns[v, p + 1] - columns[v, p + width + 1])
                    total += max(max(a, b), max(d, e)) * weights[i]
            positions[k] = y * cols + x
            sums[k] = total
            k += 1
    return positions, sums


def _add_on_arcs(owt2, eigenvectors, eigenvalues, shape, saturation):
    """``owt2`` plus the spectral term where ``owt2 > 0``, the gradient sum and its power
    computed only there (the arcs are a small part of the grid), as the whole map's."""
    columns, used, weights = _weighted_vectors(eigenvectors, eigenvalues, shape)
    positions, sums = _arc_gradient_sums(owt2, columns, used, weights, shape[1])
    out = owt2 + 0.0
    out.ravel()[positions] += sums ** SPECTRAL_EXPONENT / saturation
    return out


def adaptive_levels(shape: tuple[int, int], n_vectors: int, n_levels: int,
                    max_reduced_nodes: int | None) -> int:
    """DNCuts levels for an image: ``n_levels``, plus one per halving still needed to bring the
    reduced grid to at most ``max_reduced_nodes`` nodes (never more than the grid allows).

    Parameters
    ----------
    shape : (int, int)
        Image size ``(H, W)``.
    n_vectors, n_levels : int
        As :func:`ncuts.dncuts`.
    max_reduced_nodes : int or None
        ``None`` returns ``n_levels``.

    Returns
    -------
    int
    """
    if max_reduced_nodes is None:
        return n_levels
    if max_reduced_nodes < 1:
        raise ValueError(f"max_reduced_nodes must be >= 1 or None, got {max_reduced_nodes}")
    levels = n_levels
    while True:
        h, w = shape[0] // 2 ** levels, shape[1] // 2 ** levels
        if h * w <= max_reduced_nodes or effective_levels(shape, n_vectors, levels + 1) <= levels:
            return levels
        levels += 1


def globalize(
    owt2: np.ndarray,
    *,
    solver: str = "dncuts",
    radius: float = 2,
    gamma: float = 0.12,
    scale: float = 10.0,
    n_vectors: int = 6,
    n_levels: int = 2,
    max_reduced_nodes: int | None = MAX_REDUCED_NODES,
    saturation: float = 60.0,
    eigenvalue_scale: float | None = None,
    restrict_to_arcs: bool = True,
    coarse: SpectralBasis | None = None,
    return_details: bool = False,
):
    """Globalized boundary map fed to the UCM: ``owt2 + spectral_boundaries(...) / saturation``.

    Parameters
    ----------
    owt2 : ndarray, shape (2H+1, 2W+1), float
        Oriented-watershed boundary map on the double grid (non-negative).
    solver : {"dncuts", "exact"}, default "dncuts"
        Eigen-solver: Downsampled NCuts (whitened eigenvectors) or the full matrix.
    radius, gamma, scale : affinity parameters (see :func:`intervening_contour_affinity`).
    n_vectors : int, default 6
        Eigenpairs computed (the trivial one included, and skipped).
    n_levels : int, default 2
        DNCuts decimation levels (ignored by the exact solver except for ``eigenvalue_scale``).
    max_reduced_nodes : int or None, default :data:`MAX_REDUCED_NODES` (45,000)
        DNCuts only: while the reduced grid after the levels so far has more nodes than this,
        one more level is applied (a 962x642 image keeps 2 levels, 240x160 nodes; a 1280x960
        one gets 3). The eigenvalues of each extra level are halved back
        (see ``eigenvalue_scale``), so the spectral term keeps its 2-level weighting. ``None``:
        exactly ``n_levels``.
    saturation : float, default 60
        The spectral term is divided by this (MCG ``sat_sPb``).
    eigenvalue_scale : float or None
        Multiplies the eigenvalues before the ``1/sqrt(lambda)`` weights. ``None``: 1 for
        DNCuts (the release uses the reduced problem's eigenvalues as they are), times
        ``2 ** -extra`` for the ``extra`` levels added by ``max_reduced_nodes``, and
        ``2 ** n_levels`` for the exact solver, whose eigenvalues are ~``2^-n_levels`` times the
        reduced ones (each squaring step roughly doubles small eigenvalues); this keeps the
        constant 60 meaningful for both solvers.
    restrict_to_arcs : bool, default True
        Add the spectral term only where ``owt2 > 0`` (see module docstring).
    coarse : SpectralBasis, optional
        The basis of the same image at half the resolution (``shape == (H // 2, W // 2)``, from
        ``return_details=True``): no eigenproblem is solved; its eigenvectors are brought to
        this resolution by one DNCuts upsampling step on this map's affinity
        (:func:`ncuts.dncuts.interpolate_eigenvectors`) and keep their eigenvalues. Ignores
        ``solver``, ``n_vectors``, ``n_levels``, ``max_reduced_nodes`` and
        ``eigenvalue_scale``.
    return_details : bool, default False
        Also return a dict: ``spectral`` (the map before /saturation and masking),
        ``eigenvalues``, ``eigenvectors``, ``basis`` (:class:`SpectralBasis`), ``times``
        (seconds per stage: affinity, eigen, spectral).

    Returns
    -------
    globalized : ndarray, shape (2H+1, 2W+1), float64
    details : dict, only if ``return_details``.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if not (saturation > 0 and np.isfinite(saturation)):
        raise ValueError(f"saturation must be a finite number > 0, got {saturation}")
    if eigenvalue_scale is not None and not (eigenvalue_scale > 0 and np.isfinite(eigenvalue_scale)):
        raise ValueError(f"eigenvalue_scale must be a finite number > 0, got {eigenvalue_scale}")
    arr = check_double_size_map(owt2)
    shape = ((arr.shape[0] - 1) // 2, (arr.shape[1] - 1) // 2)
    times = {}
    t0 = time.perf_counter()
    W = intervening_contour_affinity(arr, radius=radius, gamma=gamma, scale=scale)
    t1 = time.perf_counter()
    times["affinity"] = t1 - t0
    if coarse is not None:
        if tuple(coarse.shape) != (shape[0] // 2, shape[1] // 2):
            raise ValueError(f"coarse basis of a {coarse.shape[0]}x{coarse.shape[1]} image does not "
                             f"fit a {shape[0]}x{shape[1]} one (needs half its size, rounded down)")
        # W is a valid symmetric affinity by construction: skip the input checks
        vectors, upsampled = interpolate_eigenvectors(W, shape, coarse.upsampled,
                                                      check_symmetry=False, check_values=False)
        # the same image at twice the resolution: its graph's small eigenvalues are about a
        # quarter of the half-size graph's (measured: 0.25-0.27 on COCO images at scales 1 and 2)
        values, lam_scale = coarse.eigenvalues, HALF_SIZE_EIGENVALUE_RATIO
    else:
        if solver == "dncuts":
            levels = adaptive_levels(shape, n_vectors, n_levels, max_reduced_nodes)
            values, vectors, info = dncuts(W, shape, n_vectors=n_vectors, n_levels=levels,
                                           check_symmetry=False, check_values=False,
                                           return_info=True)
            upsampled = info["upsampled"]
            # each squaring step roughly doubles the small eigenvalues
            default_scale = 2.0 ** -(levels - n_levels)
        else:
            values, vectors = exact_ncuts(W, n_vectors=n_vectors, check_symmetry=False)
            upsampled = vectors
            default_scale = float(2**n_levels)
        lam_scale = default_scale if eigenvalue_scale is None else float(eigenvalue_scale)
    t2 = time.perf_counter()
    times["eigen"] = t2 - t1
    if restrict_to_arcs and not return_details:
        out = _add_on_arcs(arr, vectors, values * lam_scale, shape, saturation)
    else:
        spectral = _gradient_sum(vectors, values * lam_scale, shape) ** SPECTRAL_EXPONENT
        term = spectral / saturation
        if restrict_to_arcs:
            term = np.where(arr > 0, term, 0.0)
        out = arr + term
    times["spectral"] = time.perf_counter() - t2
    if return_details:
        basis = SpectralBasis(shape=shape, eigenvalues=values * lam_scale, upsampled=upsampled)
        return out, {"spectral": spectral, "eigenvalues": values, "eigenvectors": vectors,
                     "basis": basis, "times": times}
    return out
