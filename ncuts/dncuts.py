"""Normalized-cuts eigenvectors: exact solver and Downsampled Normalized Cuts (DNCuts).

Both solve the generalized eigenproblem ``(D - A) x = lambda D x`` (``D = diag(A 1)``) for the
``k`` smallest eigenvalues. They are computed through the symmetric normalized Laplacian
``L = I - D^-1/2 A D^-1/2`` (same eigenvalues, ``x = D^-1/2 y``): dense LAPACK for small
graphs, ARPACK Lanczos in shift-invert mode (``sigma`` slightly below 0, deterministic start
vector) otherwise. On DNCuts' reduced graphs the shifted matrix is factorized in float32
(eigenvectors within a few thousandths of a degree, eigenvalues recomputed as float64 Rayleigh
quotients) by a nested-dissection Cholesky of the reduced grid (:mod:`ncuts.cholesky`), or by
SuperLU's LU for a graph that is not a grid graph.

DNCuts (MCG paper, Alg. 1, and the release's ``ncuts_downsample``): for each of ``n_levels``
levels keep the pixels with odd row and odd column (0-based) of the current grid, ``B = A[:, keep]``,
``C = diag(B 1 + eps)^-1 B``, ``A <- B^T C`` (= ``C^T B``); solve on the reduced matrix; bring the
eigenvectors back with ``x <- C x`` level by level; whiten them (centre, ZCA with the covariance's
null direction - the constant vector - left at zero, unit overall RMS).

Eigenvalues are those of the reduced problem, *not* rescaled by ``2^-n_levels``: MCG's
spectral-boundary weights ``1/sqrt(lambda)`` and its saturation constant 60 were tuned on them.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from .cholesky import GridCholesky, NotAGridGraph

# Graphs up to this many nodes are solved with a dense symmetric eigensolver (ARPACK needs
# k < n and is faster from a few dozen nodes on).
DENSE_SOLVER_MAX_NODES = 64
# Shift used for the shift-invert Lanczos iteration on the (PSD, singular) normalized Laplacian.
_SHIFT = -1e-6
# ARPACK relative tolerance. On the reduced graphs of COCO images 1e-5 stops after the first
# 20-vector Lanczos factorization (21 solves instead of 30 at 1e-8) with every eigenvector's
# direction within 1e-12 of the 1e-8 one (1 - |cos|); the proposals' held-out figures and
# the BSDS benchmark are unchanged (docs/speed.md).
_EIGSH_TOL = 1e-5
# DNCuts factorizes the reduced graph's shifted Laplacian in float32 (see docs/speed.md); False
# keeps float64 and SuperLU.
SINGLE_PRECISION_FACTOR = True
# Relative variance below which a whitening direction is treated as null (the constant vector).
_NULL_VARIANCE = 1e-9


@njit(cache=True, nogil=True)
def _csr_asymmetry(indptr, indices, data):
    """Largest |W[i,j] - W[j,i]| of a CSR matrix with sorted indices (missing entries are 0)."""
    n = indptr.shape[0] - 1
    worst = 0.0
    for i in range(n):
        for t in range(indptr[i], indptr[i + 1]):
            j = indices[t]
            lo = indptr[j]
            hi = indptr[j + 1]
            while lo < hi:  # binary search for column i in row j
                mid = (lo + hi) // 2
                if indices[mid] < i:
                    lo = mid + 1
                else:
                    hi = mid
            other = data[lo] if lo < indptr[j + 1] and indices[lo] == i else 0.0
            diff = abs(data[t] - other)
            if diff > worst:
                worst = diff
    return worst


def _check_affinity(W, name: str = "W", check_symmetry: bool = True,
                    check_values: bool = True) -> sp.csr_matrix:
    if not sp.issparse(W):
        W = sp.csr_matrix(np.asarray(W, dtype=np.float64))
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {W.shape}")
    if W.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 nodes)")
    W = sp.csr_matrix(W, dtype=np.float64)
    if not check_values:
        return W
    finite, smallest, n_isolated = _value_summary(W.indptr, W.data)
    if not finite:
        raise ValueError(f"{name} contains NaN or infinite values")
    if smallest < 0:
        raise ValueError(f"{name} must be non-negative, its minimum is {smallest:g}")
    if check_symmetry and W.nnz:
        W.sum_duplicates()
        W.sort_indices()
        asym = _csr_asymmetry(W.indptr, W.indices, W.data)
        if asym > 1e-9 * np.abs(W.data).max():
            raise ValueError(f"{name} must be symmetric (largest |W - W^T| entry is {asym:g})")
    # finite and non-negative: a node's degree is 0 exactly when none of its entries is positive
    if n_isolated:
        raise ValueError(
            f"{name} has {n_isolated} node(s) with zero degree; "
            "give every node a positive self-affinity"
        )
    return W


@njit(cache=True, nogil=True)
def _value_summary(indptr, data):
    """Of a CSR matrix's stored values: whether all are finite, the smallest (0 if none is
    stored), and the number of rows without a positive value."""
    all_finite = True
    smallest = 0.0 if data.shape[0] == 0 else np.inf
    n_isolated = 0
    for i in range(indptr.shape[0] - 1):
        positive = False
        for t in range(indptr[i], indptr[i + 1]):
            value = data[t]
            if not np.isfinite(value):
                all_finite = False
            if value < smallest:
                smallest = value
            if value > 0:
                positive = True
        if not positive:
            n_isolated += 1
    return all_finite, smallest, n_isolated


def _fix_signs(vectors: np.ndarray) -> np.ndarray:
    """Make the entry of largest magnitude of each column positive (deterministic signs)."""
    if vectors.size == 0:
        return vectors
    idx = np.argmax(np.abs(vectors), axis=0)
    signs = np.sign(vectors[idx, np.arange(vectors.shape[1])])
    signs[signs == 0] = 1.0
    return vectors * signs


def _start_vector(n: int) -> np.ndarray:
    """Deterministic, generic Lanczos start vector."""
    return np.random.default_rng(12345).uniform(0.5, 1.5, size=n)


def solve_generalized_ncuts(
    A: sp.spmatrix, n_vectors: int, check_symmetry: bool = True, single_factor: bool = False,
    grid_shape: tuple[int, int] | None = None, check_values: bool = True,
    exactly_symmetric: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Smallest eigenpairs of ``(D - A) x = lambda D x``.

    Parameters
    ----------
    A : sparse matrix, shape (n, n), float64
        Symmetric non-negative affinity with positive degrees.
    n_vectors : int
        Number of eigenpairs wanted; ``min(n_vectors, n)`` are returned.
    check_symmetry : bool, default True
        Raise ValueError on an asymmetric ``A`` (skipped for matrices symmetric by construction).
    single_factor : bool, default False
        Factorize the shifted Laplacian of the Lanczos iteration in float32 (about a third
        faster on reduced DNCuts graphs); the eigenvalues are then the float64 Rayleigh
        quotients of the eigenvectors.
    grid_shape : (int, int) or None
        With ``single_factor``: the nodes are the cells of this grid (row-major) and join only
        nearby cells, so the factorization is a nested-dissection Cholesky
        (:class:`ncuts.cholesky.GridCholesky`) instead of SuperLU's LU; SuperLU is the
        fallback for a graph it does not suit.
    check_values : bool, default True
        Raise ValueError on non-finite or negative entries or a node of zero degree (skipped
        for matrices valid by construction).
    exactly_symmetric : bool, default False
        ``A`` is symmetric to the last bit with sorted indices (a DNCuts level is): its
        normalized Laplacian is then built by one kernel (same result).

    Returns
    -------
    eigenvalues : ndarray, shape (k,), float64
        Ascending, clipped at 0 (the graph Laplacian is PSD; tiny negative round-off removed).
    eigenvectors : ndarray, shape (n, k), float64
        Generalized eigenvectors, ``D``-orthonormal (``x^T D x = 1``), deterministic sign.
    """
    A = _check_affinity(A, "A", check_symmetry=check_symmetry, check_values=check_values)
    n = A.shape[0]
    k = int(min(n_vectors, n))
    if k < 1:
        raise ValueError(f"n_vectors must be >= 1, got {n_vectors}")
    inv_sqrt_d, L, shifted = _normalized_laplacian(A, exactly_symmetric)
    if n <= DENSE_SOLVER_MAX_NODES or k >= n - 1:
        values, vectors = scipy.linalg.eigh(L.toarray(), subset_by_index=(0, k - 1))
    else:
        solve = _shift_invert_solver(shifted, single_factor, grid_shape)

        inverse = spla.LinearOperator((n, n), matvec=solve, dtype=np.float64)
        values, vectors = spla.eigsh(
            L, k=k, sigma=_SHIFT, which="LM", v0=_start_vector(n), OPinv=inverse, tol=_EIGSH_TOL
        )
        if single_factor:  # ARPACK's values are those of the float32 operator
            values = (np.einsum("ij,ij->j", vectors, L @ vectors)
                      / np.einsum("ij,ij->j", vectors, vectors))
    order = np.argsort(values, kind="stable")
    values = np.clip(values[order], 0.0, None)
    vectors = vectors[:, order] * inv_sqrt_d[:, None]
    return values, _fix_signs(vectors)


@njit(cache=True, nogil=True)
def _normalized_laplacian_arrays(indptr, indices, data, shift):
    """Of an exactly symmetric affinity ``A`` (CSR, sorted indices, positive values, a
    diagonal entry in every row): ``D^-1/2`` and the shared CSC/CSR arrays of ``L = I - M``,
    ``M = 0.5 (D^-1/2 A D^-1/2 + its transpose)``, and of ``L - shift I``, bit for bit as
    scipy computes them: each degree the first value plus numpy's pairwise sum of the others
    (``add.reduceat``), ``M``'s entries ``(d_i a_ij) d_j``, the off-diagonal entries of ``L``
    ``0 - m_ij``. The last result is False (the other arrays unusable) if a row has more than
    ``_PAIRWISE_BLOCK + 1`` values, no diagonal entry, or an entry that scipy would drop."""
    n = indptr.shape[0] - 1
    inv_sqrt_d = np.empty(n, np.float64)
    laplacian = np.empty(data.shape[0], np.float64)
    shifted = np.empty(data.shape[0], np.float64)
    for i in range(n):
        count = indptr[i + 1] - indptr[i]
        if count == 0 or count > _PAIRWISE_BLOCK + 1:
            return inv_sqrt_d, laplacian, shifted, False
        start = indptr[i]
        total = data[start] + _pairwise_sum(data, start + 1, count - 1)
        inv_sqrt_d[i] = 1.0 / np.sqrt(total)
    for i in range(n):
        has_diagonal = False
        for t in range(indptr[i], indptr[i + 1]):
            j = indices[t]
            a = data[t]
            m = 0.5 * ((inv_sqrt_d[i] * a) * inv_sqrt_d[j] + (inv_sqrt_d[j] * a) * inv_sqrt_d[i])
            if not m > 0.0:
                return inv_sqrt_d, laplacian, shifted, False
            if j != i:
                laplacian[t] = 0.0 - m
                shifted[t] = laplacian[t]
                continue
            has_diagonal = True
            laplacian[t] = 1.0 - m
            shifted[t] = laplacian[t] - shift
            if laplacian[t] == 0.0 or shifted[t] == 0.0:
                return inv_sqrt_d, laplacian, shifted, False
        if not has_diagonal:
            return inv_sqrt_d, laplacian, shifted, False
    return inv_sqrt_d, laplacian, shifted, True


def _normalized_laplacian(A: sp.csr_matrix, exactly_symmetric: bool):
    """``D^-1/2`` (float64 (n,)), ``L = I - sym(D^-1/2 A D^-1/2)`` and ``L - _SHIFT I`` (CSC)
    of an affinity; :func:`_normalized_laplacian_arrays` for an exactly symmetric ``A`` with
    sorted indices, scipy's sparse products otherwise (the same bits)."""
    n = A.shape[0]
    if exactly_symmetric and A.has_sorted_indices:
        inv_sqrt_d, laplacian, shifted, done = _normalized_laplacian_arrays(
            A.indptr, A.indices, A.data, _SHIFT * 1.0)
        if done:  # both share A's index arrays (symmetric: its CSR arrays are their CSC ones)
            return (inv_sqrt_d, sp.csc_matrix((laplacian, A.indices, A.indptr), shape=(n, n)),
                    sp.csc_matrix((shifted, A.indices, A.indptr), shape=(n, n)))
    degree = np.asarray(A.sum(axis=1)).ravel()
    inv_sqrt_d = 1.0 / np.sqrt(degree)
    Dh = sp.diags(inv_sqrt_d)
    M = (Dh @ A @ Dh).tocsr()
    M = 0.5 * (M + M.T)  # exact symmetry for the solver
    L = (sp.identity(n, format="csr") - M).tocsc()
    return inv_sqrt_d, L, (L - _SHIFT * sp.identity(n, format="csc")).tocsc()


def _shift_invert_solver(shifted: sp.csc_matrix, single_factor: bool,
                         grid_shape: tuple[int, int] | None):
    """``b -> shifted^-1 b`` (float64 in and out; ``shifted = L - sigma I``) for the
    shift-invert iteration: a single-precision nested-dissection Cholesky for a grid graph,
    SuperLU's LU (minimum degree on ``A^T + A``, the matrix being symmetric; much less fill than
    the default COLAMD on these graphs) otherwise."""
    if single_factor and grid_shape is not None:
        try:  # the matrix is exactly symmetric: its CSC arrays are those of its CSR
            factor = GridCholesky(shifted.T, grid_shape)
        except NotAGridGraph:
            pass
        else:
            return lambda b: factor.solve(b).astype(np.float64)
    factor_dtype = np.float32 if single_factor else np.float64
    lu = spla.splu(
        shifted.astype(factor_dtype, copy=False),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    return lambda b: lu.solve(b.astype(factor_dtype, copy=False)).astype(np.float64, copy=False)


def exact_ncuts(
    W: sp.spmatrix, n_vectors: int = 6, check_symmetry: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Normalized-cuts eigenvectors of the full affinity matrix (no downsampling).

    Parameters
    ----------
    W : sparse matrix, shape (n, n), float64
        Symmetric non-negative affinity (e.g. :func:`ncuts.intervening_contour_affinity`).
    n_vectors : int, default 6
        Number of eigenpairs, the trivial (constant, ``lambda = 0``) one included.
    check_symmetry : bool, default True
        Verify that ``W`` is symmetric (skip only for matrices symmetric by construction).

    Returns
    -------
    eigenvalues : ndarray, shape (k,), float64
        ``k = min(n_vectors, n)`` smallest generalized eigenvalues, ascending, >= 0.
    eigenvectors : ndarray, shape (n, k), float64
        Unit L2-norm columns (as the reference ``ncuts``), deterministic sign.

    Raises
    ------
    ValueError
        If ``W`` is not square, has NaN/inf or negative entries, is asymmetric, or has a node
        of zero degree.
    """
    values, vectors = solve_generalized_ncuts(W, n_vectors, check_symmetry=check_symmetry)
    norms = np.linalg.norm(vectors, axis=0)
    norms[norms == 0] = 1.0
    return values, vectors / norms


#: The whitening kernels have a second build for this many columns (the eigenvectors of
#: :func:`ncuts.globalize`), a compile-time constant there, so that their column loops unroll
#: (about 2.5 times faster on a COCO image's vectors; the same operations in the same order).
_UNROLLED_COLUMNS = 6


@njit(nogil=True, inline="always")
def _column_mean_cov_of(X, k):
    """Column means (k,) and covariance (k, k) of X (n, k) in two passes."""
    n = X.shape[0]
    mean = np.zeros(k)
    for i in range(n):
        for a in range(k):
            mean[a] += X[i, a]
    mean /= max(n, 1)
    cov = np.zeros((k, k))
    row = np.empty(k)
    for i in range(n):
        for a in range(k):
            row[a] = X[i, a] - mean[a]
        for a in range(k):
            for b in range(a, k):
                cov[a, b] += row[a] * row[b]
    for a in range(k):
        for b in range(a, k):
            cov[a, b] /= max(n, 1)
            cov[b, a] = cov[a, b]
    return mean, cov


@njit(nogil=True, inline="always")
def _apply_affine_of(X, mean, transform, k):
    """(X - mean) @ transform, row by row, for X (n, k); the result is column-major (each
    vector contiguous, as the spectral boundaries read them)."""
    n = X.shape[0]
    out = np.empty((k, n)).T
    row = np.empty(k)
    for i in range(n):
        for a in range(k):
            row[a] = X[i, a] - mean[a]
        for b in range(k):
            acc = 0.0
            for a in range(k):
                acc += row[a] * transform[a, b]
            out[i, b] = acc
    return out


@njit(cache=True, nogil=True)
def _column_mean_cov(X):
    return _column_mean_cov_of(X, X.shape[1])


@njit(cache=True, nogil=True)
def _column_mean_cov_unrolled(X):
    return _column_mean_cov_of(X, _UNROLLED_COLUMNS)


@njit(cache=True, nogil=True)
def _apply_affine(X, mean, transform):
    return _apply_affine_of(X, mean, transform, X.shape[1])


@njit(cache=True, nogil=True)
def _apply_affine_unrolled(X, mean, transform):
    return _apply_affine_of(X, mean, transform, _UNROLLED_COLUMNS)


def whiten(X: np.ndarray) -> np.ndarray:
    """Centre the columns and ZCA-whiten them, then scale to unit overall RMS.

    Follows the release's ``whiten(X, 1, 0)`` (centre, no variance padding) with two documented
    differences: the covariance uses all rows (the release uses a random subset of <= 1e5 rows),
    and directions with (relative) variance below 1e-9 - the centred constant eigenvector, which
    is pure round-off - get weight 0 instead of an exploding ``1/sqrt(0)``.

    Parameters
    ----------
    X : ndarray, shape (n, k), float

    Returns
    -------
    X_white : ndarray, shape (n, k), float64
        ``(X - mean) V diag(s) V^T / rms`` with ``C = V diag(d) V^T`` the covariance and
        ``s = 1/sqrt(d)`` on non-null directions; ``rms`` makes the mean of squares 1.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D (n, k) array, got shape {X.shape}")
    if X.size == 0:
        return X.copy()
    unrolled = X.shape[1] == _UNROLLED_COLUMNS
    mean, cov = (_column_mean_cov_unrolled if unrolled else _column_mean_cov)(X)
    d, V = np.linalg.eigh(cov)
    top = max(float(d.max()), np.finfo(float).tiny)
    scale = np.zeros_like(d)
    good = d > _NULL_VARIANCE * top
    scale[good] = 1.0 / np.sqrt(d[good])
    transform = (V * scale) @ V.T
    # mean of squares of the output = trace(T^T C T) / k, known in closed form
    mean_square = float(np.trace(transform.T @ cov @ transform)) / X.shape[1]
    if mean_square > 0:
        transform = transform / np.sqrt(mean_square)
    apply = _apply_affine_unrolled if unrolled else _apply_affine
    return apply(X, mean, np.ascontiguousarray(transform))


# numpy sums up to this many values in one block of its pairwise summation
_PAIRWISE_BLOCK = 128


@njit(cache=True, nogil=True)
def _pairwise_sum(values, start, count):
    """``values[start:start + count]`` (``count <= 128``) summed as numpy's pairwise summation
    does: sequentially below 8 values, otherwise in 8 interleaved partial sums."""
    if count < 8:
        total = 0.0
        for i in range(start, start + count):
            total += values[i]
        return total
    p0, p1, p2, p3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    p4, p5, p6, p7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i = start + 8
    while i + 8 <= start + count:
        p0 += values[i]
        p1 += values[i + 1]
        p2 += values[i + 2]
        p3 += values[i + 3]
        p4 += values[i + 4]
        p5 += values[i + 5]
        p6 += values[i + 6]
        p7 += values[i + 7]
        i += 8
    total = ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7))
    for k in range(i, start + count):
        total += values[k]
    return total


@njit(cache=True, nogil=True)
def _interpolation_arrays(indptr, indices, data, column_map):
    """CSR arrays of ``C = diag(B 1 + eps)^-1 B``, ``B = A[:, kept]`` (``column_map[j]``: the new
    index of column j, or -1), bit for bit as scipy builds it: each row's sum the first value
    plus the pairwise sum of the others (``np.add.reduceat``), ``1 / (sum + eps)`` times each
    value, and the entries of a row in the reverse of their stored order, zeros dropped
    (``csr_matmat`` of the diagonal with ``B``). The last result is False (and the arrays empty)
    if a row keeps more than ``_PAIRWISE_BLOCK + 1`` values."""
    n = indptr.shape[0] - 1
    eps = np.finfo(np.float64).eps
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    # at most every stored entry is kept; the arrays are cut to size at the end
    out_idx = np.empty(indices.shape[0], dtype=np.int32)
    out_val = np.empty(indices.shape[0], dtype=np.float64)
    kept_values = np.empty(_PAIRWISE_BLOCK + 1, np.float64)
    kept_columns = np.empty(_PAIRWISE_BLOCK + 1, np.int64)
    pos = 0
    for i in range(n):
        count = 0
        for t in range(indptr[i], indptr[i + 1]):
            j = column_map[indices[t]]
            if j >= 0:
                if count > _PAIRWISE_BLOCK:
                    return out_ptr, np.empty(0, np.int32), np.empty(0, np.float64), False
                kept_values[count] = data[t]
                kept_columns[count] = j
                count += 1
        total = 0.0
        if count > 0:
            total = kept_values[0] + _pairwise_sum(kept_values, 1, count - 1)
        inverse_sum = 1.0 / (total + eps)
        for q in range(count - 1, -1, -1):
            value = inverse_sum * kept_values[q]
            if value != 0.0:
                out_idx[pos] = kept_columns[q]
                out_val[pos] = value
                pos += 1
        out_ptr[i + 1] = pos
    return out_ptr, out_idx[:pos].copy(), out_val[:pos].copy(), True


#: A coarse node's affinities reach at most this many rows and columns of the coarse grid
#: (radius-2 affinities and their DNCuts levels reach 2): the reach of the window of
#: :func:`_coarse_affinity_arrays`.
COARSE_REACH = 2


@njit(cache=True, nogil=True)
def _coarse_affinity_arrays(a_ptr, a_idx, a_val, keep, c_ptr, c_idx, c_val, coarse_width,
                            n_coarse):
    """CSR arrays (sorted indices) of the next DNCuts level's affinity ``0.5 (P + P^T)``,
    ``P = A[keep, :] C``, on a coarse grid ``coarse_width`` nodes wide, bit for bit as scipy
    computes ``0.5 * (A[keep, :] @ C + its transpose)``: each entry of ``P`` sums its products
    over ``A``'s row in stored order starting from 0 (``csr_matmat``), entries whose sum is 0
    are dropped, each symmetrized entry is ``P[i, k] + P[k, i]`` (a missing side adds nothing)
    halved, dropped if the sum is 0. ``A`` (exactly symmetric) and ``C``
    (:func:`_interpolation_arrays`' matrix, any order within a row) have non-negative values.

    ``P``'s rows are accumulated in windows of ``(2 COARSE_REACH + 1)^2`` coarse nodes around
    their node. The last result is False (and the arrays empty) if an entry falls outside."""
    reach = COARSE_REACH
    side = 2 * reach + 1
    n_slots = side * side
    if coarse_width <= 2 * reach:
        return np.zeros(1, np.int64), np.empty(0, np.int32), np.empty(0, np.float64), False
    coarse_height = n_coarse // coarse_width
    # each coarse node's row and column, read instead of divided out
    node_row = np.empty(n_coarse, np.int32)
    node_col = np.empty(n_coarse, np.int32)
    for y in range(coarse_height):
        for x in range(coarse_width):
            node_row[y * coarse_width + x] = y
            node_col[y * coarse_width + x] = x
    window = np.zeros((n_coarse, n_slots), np.float64)
    for i in range(n_coarse):
        r = keep[i]
        base_row = node_row[i] - reach
        base_col = node_col[i] - reach
        for t in range(a_ptr[r], a_ptr[r + 1]):
            j = a_idx[t]
            v = a_val[t]
            for u in range(c_ptr[j], c_ptr[j + 1]):
                k = c_idx[u]
                dy = node_row[k] - base_row
                dx = node_col[k] - base_col
                if dy < 0 or dy >= side or dx < 0 or dx >= side:
                    return (np.zeros(1, np.int64), np.empty(0, np.int32), np.empty(0, np.float64),
                            False)
                window[i, dy * side + dx] += v * c_val[u]
    # at most one entry per window slot; cut to size at the end
    out_ptr = np.zeros(n_coarse + 1, np.int64)
    out_idx = np.empty(n_coarse * n_slots, np.int32)
    out_val = np.empty(n_coarse * n_slots, np.float64)
    pos = 0
    for i in range(n_coarse):
        i_row = node_row[i]
        i_col = node_col[i]
        s = 0
        for dy in range(-reach, reach + 1):
            k_row = i_row + dy
            for dx in range(-reach, reach + 1):
                k_col = i_col + dx
                if 0 <= k_row < coarse_height and 0 <= k_col < coarse_width:
                    k = k_row * coarse_width + k_col
                    total = window[i, s] + window[k, n_slots - 1 - s]
                    if total != 0.0:
                        out_idx[pos] = k
                        out_val[pos] = 0.5 * total
                        pos += 1
                s += 1
        out_ptr[i + 1] = pos
    return out_ptr, out_idx[:pos].copy(), out_val[:pos].copy(), True


def _decimation_keep(shape: tuple[int, int], decimate: int) -> np.ndarray:
    """Flat indices (row-major) of the pixels kept: row % d == d-1 and col % d == d-1."""
    rows = np.arange(decimate - 1, shape[0], decimate)
    cols = np.arange(decimate - 1, shape[1], decimate)
    return (rows[:, None] * shape[1] + cols[None, :]).ravel()


def effective_levels(shape: tuple[int, int], n_vectors: int, n_levels: int, decimate: int = 2) -> int:
    """Number of decimation levels actually applied: at most ``n_levels``, and fewer when the
    reduced grid would lose a whole dimension or have fewer than ``n_vectors + 1`` nodes."""
    h, w = shape
    levels = 0
    while levels < n_levels:
        nh, nw = h // decimate, w // decimate
        if nh < 1 or nw < 1 or nh * nw < n_vectors + 1:
            break
        h, w = nh, nw
        levels += 1
    return levels


def dncuts(
    W: sp.spmatrix,
    shape: tuple[int, int],
    n_vectors: int = 6,
    n_levels: int = 2,
    decimate: int = 2,
    return_info: bool = False,
    check_symmetry: bool = True,
    check_values: bool = True,
):
    """Downsampled Normalized Cuts (MCG paper, Alg. 1).

    Parameters
    ----------
    W : sparse matrix, shape (H*W, H*W), float64
        Symmetric non-negative affinity over the pixels, row-major pixel order.
    shape : (int, int)
        Image size ``(H, W)``.
    n_vectors : int, default 6
        Eigenvectors wanted (trivial one included).
    n_levels : int, default 2
        Squaring-and-decimation steps (reduced automatically on tiny images, see
        :func:`effective_levels`).
    decimate : int, default 2
        Decimation factor per level and axis.
    return_info : bool, default False
        Also return a dict with ``levels`` (applied), ``reduced_nodes``, ``reduced_shape`` and
        ``upsampled`` (the eigenvectors brought to the pixels, before whitening, (H*W, k)).
    check_symmetry : bool, default True
        Verify that ``W`` is symmetric (skip only for matrices symmetric by construction).
    check_values : bool, default True
        Verify that ``W`` is finite and non-negative with positive degrees (skip only for
        matrices valid by construction, as :func:`ncuts.affinity.intervening_contour_affinity`'s:
        entries in (0, 1], unit diagonal).

    Returns
    -------
    eigenvalues : ndarray, shape (k,), float64
        Ascending, >= 0, eigenvalues of the reduced problem (not rescaled),
        ``k = min(n_vectors, reduced nodes)``.
    eigenvectors : ndarray, shape (H*W, k), float64
        Upsampled and whitened (:func:`whiten`) eigenvectors; the first, trivial one is ~0
        after centring.
    info : dict, only if ``return_info``.

    Raises
    ------
    ValueError
        Bad ``W`` (see :func:`exact_ncuts`), ``shape`` not matching ``W``, bad parameters.
    """
    A, h, w = _check_grid_affinity(W, shape, check_symmetry, check_values)
    if n_vectors < 1 or n_levels < 0 or decimate < 2:
        raise ValueError(
            f"need n_vectors >= 1, n_levels >= 0, decimate >= 2; got {n_vectors}, {n_levels}, {decimate}"
        )
    levels = effective_levels((h, w), n_vectors, n_levels, decimate)
    if check_symmetry and levels:
        # the check tolerates a tiny asymmetry; the decimation below reads B^T as rows of A and
        # needs A exactly symmetric (a no-op for an exactly symmetric W)
        A = (0.5 * (A + A.T)).tocsr()
        A.sort_indices()
    transfers = []
    cur = (h, w)
    for _ in range(levels):
        keep, C = _transfer(A, cur, decimate)
        # B^T = A[kept, :] exactly (A is exactly symmetric: checked or promised by the caller at
        # the first level, by the symmetrization of every level): a row selection, not a
        # transpose
        A = _coarse_affinity(A, keep, C, cur[1] // decimate)
        transfers.append(C)
        cur = (cur[0] // decimate, cur[1] // decimate)
    # the levels of an affinity with a positive diagonal keep it positive; others are checked
    values, vectors = solve_generalized_ncuts(A, n_vectors, check_symmetry=False,  # checked above
                                              check_values=check_values,
                                              exactly_symmetric=levels > 0,
                                              single_factor=SINGLE_PRECISION_FACTOR,
                                              grid_shape=cur)
    for C in reversed(transfers):
        vectors = C @ vectors
    # Signs were fixed on the reduced eigenvectors; upsampling and ZCA whitening are
    # sign-equivariant, so the output is deterministic without another pass.
    whitened = whiten(vectors)
    if return_info:
        return values, whitened, {"levels": levels, "reduced_nodes": A.shape[0],
                                  "reduced_shape": cur, "upsampled": vectors}
    return values, whitened


def _check_grid_affinity(W, shape, check_symmetry: bool,
                         check_values: bool = True) -> tuple[sp.csr_matrix, int, int]:
    """``W`` checked (:func:`_check_affinity`) against an image size ``(H, W)``; returns it as
    CSR with ``H`` and ``W``."""
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be (H, W) with H, W >= 1, got {shape}")
    h, w = int(shape[0]), int(shape[1])
    A = _check_affinity(W, "W", check_symmetry=check_symmetry, check_values=check_values)
    if A.shape[0] != h * w:
        raise ValueError(f"W has {A.shape[0]} nodes but shape {shape} has {h * w} pixels")
    return A, h, w


def _transfer(A: sp.csr_matrix, shape: tuple[int, int], decimate: int):
    """One DNCuts level's kept pixels and interpolation matrix ``C = diag(B 1 + eps)^-1 B``,
    ``B = A[:, keep]`` (shape (n, n_kept), CSR)."""
    keep = _decimation_keep(shape, decimate)
    column_map = np.full(A.shape[0], -1, dtype=np.int64)
    column_map[keep] = np.arange(keep.size)
    ptr, idx, val, done = _interpolation_arrays(A.indptr, A.indices, A.data, column_map)
    if done:
        return keep, sp.csr_matrix((val, idx, ptr), shape=(A.shape[0], keep.size))
    B = A[:, keep]
    row_sum = np.asarray(B.sum(axis=1)).ravel() + np.finfo(float).eps
    return keep, (sp.diags(1.0 / row_sum) @ B).tocsr()


def _coarse_affinity(A: sp.csr_matrix, keep: np.ndarray, C: sp.csr_matrix,
                     coarse_width: int) -> sp.csr_matrix:
    """The next DNCuts level's affinity ``0.5 (A[keep, :] C + (A[keep, :] C)^T)`` (CSR, sorted
    indices) on a coarse grid ``coarse_width`` nodes wide, bit for bit as scipy's product, sum
    and scaling give it: :func:`_coarse_affinity_arrays`, or scipy itself for a graph that
    reaches further than its window."""
    n_coarse = keep.size
    ptr, idx, val, done = _coarse_affinity_arrays(
        A.indptr.astype(np.int64, copy=False), A.indices.astype(np.int32, copy=False),
        A.data, keep.astype(np.int64, copy=False), C.indptr.astype(np.int64, copy=False),
        C.indices.astype(np.int32, copy=False), C.data, coarse_width, n_coarse)
    if not done:
        coarse = (A[keep, :] @ C).tocsr()
        coarse = 0.5 * (coarse + coarse.T)
        coarse.sort_indices()
        return coarse
    coarse = sp.csr_matrix((val, idx, ptr), shape=(n_coarse, n_coarse))
    coarse.has_sorted_indices = True
    return coarse


def interpolate_eigenvectors(
    W: sp.spmatrix,
    shape: tuple[int, int],
    coarse_vectors: np.ndarray,
    decimate: int = 2,
    check_symmetry: bool = True,
    check_values: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvectors of a graph brought from the decimated grid by one DNCuts upsampling step.

    The vectors of a graph on the grid of ``W``'s kept pixels (odd rows and columns), e.g.
    those of the same image at half the resolution, are upsampled with the interpolation
    matrix ``C`` of ``W``'s first DNCuts level (``x <- C x``, an average over each pixel's
    kept neighbours weighted by their affinity, so the vectors follow ``W``'s contours), then
    whitened as :func:`dncuts` does. No eigenproblem is solved.

    Parameters
    ----------
    W : sparse matrix, shape (H*W, H*W), float64
        Symmetric non-negative affinity over the pixels, row-major pixel order.
    shape : (int, int)
        Image size ``(H, W)``.
    coarse_vectors : ndarray, shape ((H // decimate) * (W // decimate), k), float
        Vectors on the decimated grid (row-major), before whitening (``dncuts(...,
        return_info=True)[2]["upsampled"]``).
    decimate : int, default 2
    check_symmetry, check_values : bool, default True
        As :func:`dncuts`'s.

    Returns
    -------
    whitened : ndarray, shape (H*W, k), float64
        Upsampled and whitened vectors (as :func:`dncuts`'s).
    upsampled : ndarray, shape (H*W, k), float64
        Upsampled, before whitening.

    Raises
    ------
    ValueError
        ``W`` not matching ``shape``, or ``coarse_vectors`` not on the decimated grid.
    """
    if decimate < 2:
        raise ValueError(f"decimate must be >= 2, got {decimate}")
    A, h, w = _check_grid_affinity(W, shape, check_symmetry, check_values)
    coarse_vectors = np.asarray(coarse_vectors, dtype=np.float64)
    n_coarse = (h // decimate) * (w // decimate)
    if coarse_vectors.ndim != 2 or coarse_vectors.shape[0] != n_coarse or n_coarse == 0:
        raise ValueError(
            f"coarse_vectors must have shape ({n_coarse}, k): one row per pixel of the "
            f"{h // decimate}x{w // decimate} decimated grid, got {coarse_vectors.shape}")
    _, C = _transfer(A, (h, w), decimate)
    upsampled = C.tocsr() @ coarse_vectors
    return whiten(upsampled), upsampled
