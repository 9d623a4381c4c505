"""Tests for ncuts.dncuts: exact normalized cuts, DNCuts and whitening."""
from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp

from ncuts import dncuts, exact_ncuts, intervening_contour_affinity, whiten


# the package re-exports the function ``dncuts``, which shadows the submodule attribute
dn = importlib.import_module("ncuts.dncuts")


def two_region_map(h=40, w=60, col=30, noise=0.0, seed=0):
    """Double-size map with a full-height contour between pixel columns col-1 and col."""
    o = np.zeros((2 * h + 1, 2 * w + 1))
    o[1::2, 2 * col] = 1.0
    if noise:
        rng = np.random.default_rng(seed)
        o[2:-1:2, 1::2] += noise * rng.random((h - 1, w))
        o[1::2, 2:-1:2] += noise * rng.random((h, w - 1))
    return o


def max_angle_deg(A, B):
    return float(np.degrees(scipy.linalg.subspace_angles(A, B).max()))


@pytest.fixture(scope="module")
def two_region():
    h, w = 40, 60
    o = two_region_map(h, w, 30, noise=0.02)
    W = intervening_contour_affinity(o)
    return h, w, W


def separates(vec, h, w, col):
    f = vec.reshape(h, w)
    left, right = f[:, :col], f[:, col:]
    return left.max() < right.min() or right.max() < left.min()


def test_exact_solves_generalized_problem(two_region):
    h, w, W = two_region
    vals, vecs = dn.solve_generalized_ncuts(W, 6)
    d = np.asarray(W.sum(axis=1)).ravel()
    L = sp.diags(d) - W
    for j in range(6):
        resid = L @ vecs[:, j] - vals[j] * d * vecs[:, j]
        assert np.linalg.norm(resid) < 1e-8 * max(1.0, np.linalg.norm(d * vecs[:, j]))
    gram = vecs.T @ (d[:, None] * vecs)  # D-orthonormal
    np.testing.assert_allclose(gram, np.eye(6), atol=1e-8)
    assert np.all(np.diff(vals) >= 0) and vals[0] >= 0 and vals[0] < 1e-10
    # the trivial eigenvector is constant
    assert np.ptp(vecs[:, 0]) < 1e-6 * np.abs(vecs[:, 0]).max()


def test_sparse_and_dense_paths_agree(monkeypatch):
    W = intervening_contour_affinity(two_region_map(20, 30, 12, noise=0.03))
    vals_sparse, vecs_sparse = exact_ncuts(W)  # 600 nodes > dense limit: ARPACK path
    assert W.shape[0] > dn.DENSE_SOLVER_MAX_NODES
    monkeypatch.setattr(dn, "DENSE_SOLVER_MAX_NODES", 10**6)
    vals_dense, vecs_dense = exact_ncuts(W)
    np.testing.assert_allclose(vals_sparse, vals_dense, rtol=1e-7, atol=1e-12)
    for j in range(1, 4):  # well separated eigenvalues: vectors equal up to the fixed sign
        np.testing.assert_allclose(vecs_sparse[:, j], vecs_dense[:, j], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vecs_sparse, axis=0), 1.0)


def test_two_regions_separated_and_solvers_agree(two_region):
    h, w, W = two_region
    vals, vecs, info = dncuts(W, (h, w), return_info=True)
    assert info["levels"] == 2 and info["reduced_shape"] == (10, 15) and info["reduced_nodes"] == 150
    evals, evecs = exact_ncuts(W)
    assert vals.shape == (6,) and vecs.shape == (h * w, 6)
    assert np.all(np.diff(vals) >= 0) and np.all(vals >= 0) and vals[0] < 1e-10
    assert separates(vecs[:, 1], h, w, 30)
    assert separates(evecs[:, 1], h, w, 30)
    # The Fiedler eigenvalue is tiny (the cut is cheap), the next one is not.
    assert vals[1] < 0.05 * vals[2] and evals[1] < 0.05 * evals[2]
    # Each squaring step roughly doubles small eigenvalues: reduced ~ 4 x full (2 levels).
    np.testing.assert_allclose(vals[1:4], 4 * evals[1:4], rtol=0.1)
    # Subspace agreement (exact vectors centred, as DNCuts' are after whitening). Measured on
    # this image: 2.5 deg for the Fiedler vector, 6.0 deg for all 5 non-trivial vectors; the
    # bound leaves ~2x margin for platform differences while an upsampling or ordering error
    # (e.g. transposed pixels, unsorted eigenpairs) gives tens of degrees.
    centred = evecs - evecs.mean(axis=0)
    assert max_angle_deg(centred[:, 1:2], vecs[:, 1:2]) < 6.0
    assert max_angle_deg(centred[:, 1:], vecs[:, 1:]) < 12.0


def test_dncuts_whitened_output(two_region):
    h, w, W = two_region
    vals, vecs = dncuts(W, (h, w))
    np.testing.assert_allclose(vecs.mean(axis=0), 0.0, atol=1e-10)
    # trivial vector: null after centring, but for the float32 factorization's 1e-4 relative
    # departure from a constant (3e-6 here; the spectral boundaries skip it)
    assert np.abs(vecs[:, 0]).max() < 1e-4
    cov = vecs[:, 1:].T @ vecs[:, 1:] / vecs.shape[0]
    np.testing.assert_allclose(cov, np.diag(np.diag(cov)), atol=1e-9)  # uncorrelated
    np.testing.assert_allclose(np.diag(cov), np.diag(cov)[0], rtol=1e-9)  # equal variance
    assert np.mean(vecs**2) == pytest.approx(1.0)


def test_determinism(two_region):
    h, w, W = two_region
    a = dncuts(W, (h, w))
    b = dncuts(W, (h, w))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = exact_ncuts(W)
    d = exact_ncuts(W)
    assert np.array_equal(c[0], d[0]) and np.array_equal(c[1], d[1])


def test_flat_image_degenerate_problem():
    h, w = 24, 36
    W = intervening_contour_affinity(np.zeros((2 * h + 1, 2 * w + 1)))
    for vals, vecs in (dncuts(W, (h, w)), exact_ncuts(W)):
        assert vals.shape == (6,) and np.all(np.isfinite(vals)) and np.all(np.isfinite(vecs))
        assert np.all(vals >= 0) and np.all(np.diff(vals) >= 0)
        assert vals[0] < 1e-10 and vals[1] > 1e-6  # connected graph: single zero eigenvalue


def test_one_pixel_wide_and_tiny_images():
    o = two_region_map(30, 1, 0)
    o[:] = 0
    o[2 * 15, 1] = 1.0  # contour between rows 14 and 15
    W = intervening_contour_affinity(o)
    vals, vecs, info = dncuts(W, (30, 1), return_info=True)
    assert info["levels"] == 0  # cannot decimate a 1-pixel-wide grid
    assert vecs.shape == (30, 6)
    f = vecs[:, 1]
    assert f[:15].max() < f[15:].min() or f[15:].max() < f[:15].min()
    vals, vecs = dncuts(intervening_contour_affinity(np.zeros((3, 3))), (1, 1))
    assert vals.shape == (1,) and vecs.shape == (1, 1)
    vals, vecs = dncuts(intervening_contour_affinity(np.zeros((5, 7))), (2, 3))
    assert vals.shape == (6,) and np.all(np.isfinite(vecs))


def test_effective_levels():
    assert dn.effective_levels((481, 321), 6, 2) == 2
    assert dn.effective_levels((481, 321), 6, 5) == 5
    assert dn.effective_levels((7, 7), 6, 2) == 1  # 3x3 = 9 >= 7 nodes, then 1x1 < 7
    assert dn.effective_levels((8, 8), 6, 2) == 1  # 4x4 then 2x2 (4 < 7 nodes)
    assert dn.effective_levels((100, 1), 6, 2) == 0


def test_decimation_matches_release_convention():
    keep = dn._decimation_keep((5, 4), 2)  # odd rows and odd columns (0-based)
    assert keep.tolist() == [1 * 4 + 1, 1 * 4 + 3, 3 * 4 + 1, 3 * 4 + 3]


def test_whiten_properties():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 4)) @ rng.standard_normal((4, 4))
    X = np.column_stack([np.full(5000, 3.0), X])  # a constant column, as the trivial vector
    Xw = whiten(X)
    assert np.abs(Xw[:, 0]).max() < 1e-9
    cov = Xw[:, 1:].T @ Xw[:, 1:] / 5000
    np.testing.assert_allclose(cov, np.eye(4) * cov[0, 0], atol=1e-9)
    assert np.mean(Xw**2) == pytest.approx(1.0)
    # ZCA is symmetric: whitening already white data only rescales it
    Z = rng.standard_normal((20000, 3))
    Z = (Z - Z.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(Z.T, bias=True)).T)
    np.testing.assert_allclose(whiten(Z), Z / np.sqrt(np.mean(Z**2)), atol=1e-8)


def test_bad_inputs_raise():
    W = intervening_contour_affinity(np.zeros((5, 7)))
    with pytest.raises(ValueError, match="pixels"):
        dncuts(W, (3, 3))
    with pytest.raises(ValueError, match="square"):
        exact_ncuts(sp.csr_matrix(np.ones((2, 3))))
    with pytest.raises(ValueError, match="zero degree"):
        exact_ncuts(sp.csr_matrix(np.zeros((3, 3))))
    with pytest.raises(ValueError, match="non-negative"):
        exact_ncuts(sp.csr_matrix(-np.eye(3)))
    asym = sp.csr_matrix(np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.2], [0.0, 0.2, 1.0]]))
    with pytest.raises(ValueError, match="symmetric"):
        exact_ncuts(asym)
    with pytest.raises(ValueError, match="symmetric"):
        dncuts(asym, (1, 3))


def test_tolerated_asymmetry_is_symmetrized_before_decimation():
    rng = np.random.default_rng(0)
    owt2 = rng.random((2 * 30 + 1, 2 * 40 + 1))
    owt2[rng.random(owt2.shape) < 0.7] = 0.0
    W = intervening_contour_affinity(owt2)
    # an exactly symmetric W gives the same result with and without the check
    checked = dncuts(W, (30, 40))
    trusted = dncuts(W, (30, 40), check_symmetry=False)
    assert all(np.array_equal(a, b) for a, b in zip(checked, trusted))
    # an asymmetry the check accepts is treated as its symmetric part
    noisy = W.copy()
    noisy.data = noisy.data * (1 + 1e-12 * rng.standard_normal(noisy.nnz))
    symmetric = (0.5 * (noisy + noisy.T)).tocsr()
    got = dncuts(noisy, (30, 40))
    want = dncuts(symmetric, (30, 40), check_symmetry=False)
    assert all(np.array_equal(a, b) for a, b in zip(got, want))


def scipy_transfer(A, shape):
    """A DNCuts level's interpolation matrix as scipy builds it: ``diag(1 / (B 1 + eps)) @ B``."""
    keep = dn._decimation_keep(shape, 2)
    B = A[:, keep]
    row_sum = np.asarray(B.sum(axis=1)).ravel() + np.finfo(float).eps
    return keep, (sp.diags(1.0 / row_sum) @ B).tocsr()


@pytest.mark.parametrize("density", [None, 0.3, 0.9])
def test_interpolation_matrix_is_scipys_bit_for_bit(two_region, density):
    """Rows keeping a few values, 8 to 128 (numpy's partial sums) and over 129 (scipy's path)."""
    h, w, W = two_region
    A = W.tocsr()
    if density is not None:
        h, w = 20, 30
        rng = np.random.default_rng(4)
        A = sp.random(h * w, h * w, density=density, random_state=rng, format="csr")
        A = (A + A.T).tocsr()
        A.sort_indices()
    keep, C = dn._transfer(A, (h, w), 2)
    keep_ref, C_ref = scipy_transfer(A, (h, w))
    assert np.array_equal(keep, keep_ref)
    for ours, reference in ((C.indptr, C_ref.indptr), (C.indices, C_ref.indices),
                            (C.data, C_ref.data)):
        assert np.array_equal(ours, reference)


def scipy_coarse_affinity(A, keep, C):
    """The next DNCuts level's affinity as scipy computes it."""
    coarse = (A[keep, :] @ C).tocsr()
    coarse = 0.5 * (coarse + coarse.T)
    coarse.sort_indices()
    return coarse


def assert_same_csr(ours, reference):
    for a, b in ((ours.indptr, reference.indptr), (ours.indices, reference.indices)):
        assert np.array_equal(a, b)
    assert np.array_equal(ours.data.view(np.int64), reference.data.view(np.int64))


@pytest.mark.parametrize("radius, shape", [(2, (37, 53)), (2, (9, 11)), (3, (24, 30)),
                                           (2, (40, 9))])
def test_coarse_affinity_is_scipys_bit_for_bit(radius, shape):
    """Levels of radius-2 affinities (the window kernel), a radius-3 one and a grid too narrow
    for the window (scipy's construction)."""
    h, w = shape
    rng = np.random.default_rng(7)
    boundaries = rng.random((2 * h + 1, 2 * w + 1)) ** 4
    A = intervening_contour_affinity(boundaries, radius=radius)
    n_levels = 0
    while h // 2 >= 1 and w // 2 >= 1 and n_levels < 3:
        keep, C = dn._transfer(A, (h, w), 2)
        coarse = dn._coarse_affinity(A, keep, C, w // 2)
        assert_same_csr(coarse, scipy_coarse_affinity(A, keep, C))
        A, h, w = coarse, h // 2, w // 2
        n_levels += 1
    assert n_levels >= 2


def test_coarse_affinity_kernel_refuses_a_graph_beyond_its_window():
    h, w = 24, 30
    rng = np.random.default_rng(8)
    A = intervening_contour_affinity(rng.random((2 * h + 1, 2 * w + 1)), radius=4)
    keep, C = dn._transfer(A, (h, w), 2)
    *_, done = dn._coarse_affinity_arrays(A.indptr.astype(np.int64), A.indices, A.data,
                                          keep.astype(np.int64), C.indptr.astype(np.int64),
                                          C.indices, C.data, w // 2, keep.size)
    assert not done


def test_normalized_laplacian_kernel_is_scipys_bit_for_bit():
    h, w = 37, 53
    rng = np.random.default_rng(9)
    W = intervening_contour_affinity(rng.random((2 * h + 1, 2 * w + 1)) ** 4)
    keep, C = dn._transfer(W, (h, w), 2)
    A = dn._coarse_affinity(W, keep, C, w // 2)
    fast = dn._normalized_laplacian(A, exactly_symmetric=True)
    general = dn._normalized_laplacian(A, exactly_symmetric=False)
    assert np.array_equal(fast[0].view(np.int64), general[0].view(np.int64))
    for ours, reference in zip(fast[1:], general[1:]):
        assert_same_csr(ours, reference)
    # a row without its diagonal entry: scipy's construction
    no_diagonal = A.tolil()
    no_diagonal[0, 0] = 0.0
    no_diagonal = no_diagonal.tocsr()
    no_diagonal.eliminate_zeros()
    no_diagonal.sort_indices()
    *_, done = dn._normalized_laplacian_arrays(no_diagonal.indptr, no_diagonal.indices,
                                               no_diagonal.data, dn._SHIFT)
    assert not done
    fast = dn._normalized_laplacian(no_diagonal, exactly_symmetric=True)
    general = dn._normalized_laplacian(no_diagonal, exactly_symmetric=False)
    for ours, reference in zip(fast[1:], general[1:]):
        assert_same_csr(ours, reference)


def test_unchecked_values_give_the_same_vectors_and_bad_values_still_raise(two_region):
    h, w, W = two_region
    checked = dncuts(W, (h, w), check_symmetry=False)
    unchecked = dncuts(W, (h, w), check_symmetry=False, check_values=False)
    assert all(np.array_equal(a, b) for a, b in zip(checked, unchecked))
    bad = W.tocsr().copy()
    bad.data[5] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        dncuts(bad, (h, w), check_symmetry=False)


def test_interpolating_from_the_first_reduced_graph_is_one_more_dncuts_level(two_region):
    # dncuts with L levels = one upsampling step (interpolate_eigenvectors) of the vectors that
    # L - 1 levels give on the graph reduced once
    h, w, W = two_region
    values, vectors, info = dncuts(W, (h, w), n_vectors=6, n_levels=2, return_info=True)
    keep, C = dn._transfer(W.tocsr(), (h, w), 2)
    reduced = (W.tocsr()[keep, :] @ C).tocsr()
    reduced = (0.5 * (reduced + reduced.T)).tocsr()
    reduced.sort_indices()
    coarse_values, _, coarse_info = dncuts(reduced, (h // 2, w // 2), n_vectors=6, n_levels=1,
                                           return_info=True)
    np.testing.assert_allclose(coarse_values, values, rtol=1e-9, atol=1e-12)
    whitened, upsampled = dn.interpolate_eigenvectors(W, (h, w), coarse_info["upsampled"])
    np.testing.assert_allclose(upsampled, info["upsampled"], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(whitened, vectors, rtol=1e-6, atol=1e-8)
    # the second vector still splits the two regions at the full resolution
    assert separates(whitened[:, 1], h, w, 30)


def test_interpolation_follows_the_fine_graph_contours():
    # vectors of the half-size image, brought to the full size along the full-size affinity
    h, w, col = 40, 60, 31  # the contour lies between two kept columns' neighbours
    W = intervening_contour_affinity(two_region_map(h, w, col, noise=0.02))
    W_half = intervening_contour_affinity(two_region_map(h // 2, w // 2, col // 2, noise=0.02))
    _, _, info = dncuts(W_half, (h // 2, w // 2), n_vectors=4, n_levels=1, return_info=True)
    whitened, upsampled = dn.interpolate_eigenvectors(W, (h, w), info["upsampled"])
    assert whitened.shape == upsampled.shape == (h * w, 4)
    assert separates(whitened[:, 1], h, w, col)
    # each fine pixel's value is a convex combination of kept pixels' values
    coarse = info["upsampled"][:, 1]
    assert upsampled[:, 1].min() >= coarse.min() - 1e-12
    assert upsampled[:, 1].max() <= coarse.max() + 1e-12


def test_interpolation_rejects_vectors_of_another_grid(two_region):
    h, w, W = two_region
    with pytest.raises(ValueError, match=r"coarse_vectors must have shape \(600, k\)"):
        dn.interpolate_eigenvectors(W, (h, w), np.ones((601, 3)))
    with pytest.raises(ValueError, match="W has 2400 nodes"):
        dn.interpolate_eigenvectors(W, (h, w + 1), np.ones((600, 3)))


def test_single_precision_factor_gives_the_same_eigenpairs():
    # DNCuts factorizes the shifted Laplacian in float32: the Lanczos vectors move by a few
    # thousandths of a degree, the Rayleigh-quotient eigenvalues by about 1e-9 relative
    h, w = 60, 80
    o = two_region_map(h, w, 30, noise=0.3)
    o[2 * 25, 1::2] = 0.8  # a second, horizontal contour
    W = intervening_contour_affinity(o)
    values, vectors = dn.solve_generalized_ncuts(W, 6)
    values32, vectors32 = dn.solve_generalized_ncuts(W, 6, single_factor=True)
    assert values32[0] < 1e-10
    np.testing.assert_allclose(values32[1:], values[1:], rtol=1e-6)
    for j in range(6):
        assert max_angle_deg(vectors[:, [j]], vectors32[:, [j]]) < 0.05
    d = np.asarray(W.sum(axis=1)).ravel()
    np.testing.assert_allclose(vectors32.T @ (d[:, None] * vectors32), np.eye(6), atol=1e-8)
    assert dn.SINGLE_PRECISION_FACTOR  # what dncuts uses
