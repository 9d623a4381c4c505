"""Tests for ncuts.cholesky: the nested-dissection Cholesky of grid graphs."""
from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ncuts import intervening_contour_affinity
from ncuts.cholesky import GridCholesky, NotAGridGraph, nested_dissection

dn = importlib.import_module("ncuts.dncuts")


def grid_matrix(height, width, reach=2, seed=0, shift=0.05):
    """SPD matrix ``(1 + shift) D - W`` of a random affinity ``W`` joining the cells at most
    ``reach`` rows and columns apart (within the disc of that radius), row-major cells."""
    rng = np.random.default_rng(seed)
    n = height * width
    rows, cols = np.divmod(np.arange(n), width)
    entries_i, entries_j = [], []
    for dy in range(0, reach + 1):
        for dx in range(-reach, reach + 1):
            if (dy, dx) <= (0, 0) or dy * dy + dx * dx > reach * reach:
                continue
            ok = (rows + dy < height) & (cols + dx >= 0) & (cols + dx < width)
            i = np.flatnonzero(ok)
            entries_i.append(i)
            entries_j.append(i + dy * width + dx)
    i = np.concatenate(entries_i) if entries_i else np.zeros(0, int)
    j = np.concatenate(entries_j) if entries_j else np.zeros(0, int)
    weights = rng.uniform(0.01, 1.0, i.size)
    W = sp.coo_matrix((weights, (i, j)), shape=(n, n))
    W = (W + W.T).tocsr()
    degree = np.asarray(W.sum(axis=1)).ravel() + 1.0
    return (sp.diags((1.0 + shift) * degree) - W).tocsr()


@pytest.mark.parametrize("shape,reach", [((1, 1), 1), ((1, 70), 2), ((37, 23), 2), ((60, 80), 2),
                                         ((45, 31), 1), ((29, 52), 3)])
def test_solves_grid_systems(shape, reach):
    S = grid_matrix(*shape, reach=reach, seed=sum(shape))
    factor = GridCholesky(S, shape)
    rhs = np.random.default_rng(1).standard_normal(S.shape[0])
    x = factor.solve(rhs)
    assert x.dtype == np.float32 and x.shape == rhs.shape
    exact = spla.spsolve(S.tocsc(), rhs)
    # single precision on a well-conditioned matrix
    assert np.linalg.norm(x - exact) <= 1e-5 * np.linalg.norm(exact)
    # the rhs is not modified, and solving again gives the same bits
    assert np.array_equal(factor.solve(rhs), x)


def test_solve_is_deterministic_across_factorizations():
    S = grid_matrix(50, 70)
    rhs = np.random.default_rng(2).standard_normal(S.shape[0])
    assert np.array_equal(GridCholesky(S, (50, 70)).solve(rhs), GridCholesky(S, (50, 70)).solve(rhs))


def test_nested_dissection_covers_the_grid_in_postorder():
    front_ptr, cells, parent, first = nested_dissection(41, 67, 2)
    assert np.array_equal(np.sort(cells), np.arange(41 * 67))
    n_fronts = front_ptr.size - 1
    assert parent[-1] == -1 and np.all(parent[:-1] > np.arange(n_fronts - 1))
    for f in range(n_fronts):
        # the subtree of f is the fronts first[f] .. f, each of whose parents lies in it
        assert first[f] <= f
        inside = np.arange(first[f], f)
        assert np.all((parent[inside] >= first[f]) & (parent[inside] <= f))
    front_sizes = np.diff(front_ptr)
    assert front_sizes.max() <= max(2 * 67, 32)


def recursive_dissection(height, width, reach, leaf_cells):
    """The nested dissection written recursively: halves before the band between them."""
    cells, parent, first = [], [], []

    def dissect(r0, r1, c0, c1):
        start, children = len(cells), []
        rows, cols = r1 - r0, c1 - c0
        if rows * cols > leaf_cells and max(rows, cols) > 2 * reach:
            if cols >= rows:
                cut = c0 + (cols - reach) // 2
                children = [dissect(r0, r1, c0, cut), dissect(r0, r1, cut + reach, c1)]
                r0, r1, c0, c1 = r0, r1, cut, cut + reach
            else:
                cut = r0 + (rows - reach) // 2
                children = [dissect(r0, cut, c0, c1), dissect(cut + reach, r1, c0, c1)]
                r0, r1, c0, c1 = cut, cut + reach, c0, c1
        grid_rows, grid_cols = np.mgrid[r0:r1, c0:c1]
        cells.append((grid_rows * width + grid_cols).ravel())
        parent.append(-1)
        first.append(start)
        for child in children:
            parent[child] = len(cells) - 1
        return len(cells) - 1

    dissect(0, height, 0, width)
    front_ptr = np.concatenate([[0], np.cumsum([c.size for c in cells])])
    return front_ptr, np.concatenate(cells), np.array(parent), np.array(first)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (1, 70), (37, 23), (120, 160), (158, 240)])
@pytest.mark.parametrize("reach", [1, 2, 3])
def test_nested_dissection_matches_the_recursive_definition(shape, reach):
    fronts = nested_dissection(*shape, reach, 32)
    for ours, reference in zip(fronts, recursive_dissection(*shape, reach, 32)):
        assert ours.dtype == np.int64 and np.array_equal(ours, reference)


def test_rejects_a_graph_that_is_not_a_grid_graph():
    S = grid_matrix(30, 40).tolil()
    S[0, 30 * 40 - 1] = S[30 * 40 - 1, 0] = -0.01  # a long-range edge, reach 39
    with pytest.raises(NotAGridGraph, match="reaches"):
        GridCholesky(S.tocsr(), (30, 40))
    with pytest.raises(NotAGridGraph, match="crosses a separator"):
        GridCholesky(S.tocsr(), (30, 40), reach=2)  # told the wrong reach


def test_rejects_a_matrix_that_is_not_positive_definite():
    S = grid_matrix(20, 30) - 3.0 * sp.identity(600, format="csr")
    with pytest.raises(NotAGridGraph, match="not positive definite"):
        GridCholesky(S.tocsr(), (20, 30))


def test_checks_shapes():
    S = grid_matrix(10, 12)
    with pytest.raises(ValueError, match="does not match the grid"):
        GridCholesky(S, (12, 12))
    with pytest.raises(ValueError, match="rhs has 3 entries"):
        GridCholesky(S, (10, 12)).solve(np.ones(3))


def image_affinity(h=96, w=128, seed=3):
    """Intervening-contour affinity of a random piecewise map (a few boxes and noise)."""
    rng = np.random.default_rng(seed)
    o = 0.05 * rng.random((2 * h + 1, 2 * w + 1))
    for _ in range(6):
        r0, c0 = rng.integers(2, 2 * h - 40), rng.integers(2, 2 * w - 40)
        r1, c1 = r0 + rng.integers(20, 40), c0 + rng.integers(20, 40)
        o[r0:r1 + 1, c0] = o[r0:r1 + 1, c1] = 1.0
        o[r0, c0:c1 + 1] = o[r1, c0:c1 + 1] = 1.0
    return intervening_contour_affinity(o)


def test_eigenvectors_match_superlu_on_a_reduced_graph(monkeypatch):
    """The DNCuts eigenpairs with the grid Cholesky are those with SuperLU's LU, up to single
    precision round-off."""
    h, w = 96, 128
    W = image_affinity(h, w)
    values, vectors, info = dn.dncuts(W, (h, w), n_vectors=6, return_info=True)
    assert info["reduced_nodes"] == 24 * 32

    calls = []
    original = dn._shift_invert_solver

    def without_grid(L, single_factor, grid_shape):
        calls.append(grid_shape)
        return original(L, single_factor, None)

    monkeypatch.setattr(dn, "_shift_invert_solver", without_grid)
    values_lu, vectors_lu, info_lu = dn.dncuts(W, (h, w), n_vectors=6, return_info=True)
    assert calls == [(24, 32)]
    np.testing.assert_allclose(values[1:], values_lu[1:], rtol=1e-5)
    a, b = info["upsampled"], info_lu["upsampled"]
    cosines = np.abs(np.einsum("ij,ij->j", a, b)) / np.sqrt(
        np.einsum("ij,ij->j", a, a) * np.einsum("ij,ij->j", b, b))
    assert np.all(1.0 - cosines < 1e-6)


def test_falls_back_to_superlu_for_other_graphs():
    """A graph whose nodes are not in grid order is solved by SuperLU with the same result."""
    h, w = 48, 64
    W = image_affinity(h, w, seed=5)
    permutation = np.random.default_rng(0).permutation(h * w)
    shuffled = W[permutation][:, permutation].tocsr()
    values, vectors = dn.solve_generalized_ncuts(shuffled, 6, check_symmetry=False,
                                                 single_factor=True, grid_shape=(h, w))
    values_lu, vectors_lu = dn.solve_generalized_ncuts(shuffled, 6, check_symmetry=False,
                                                       single_factor=True)
    assert np.array_equal(values, values_lu) and np.array_equal(vectors, vectors_lu)
