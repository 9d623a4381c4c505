"""ncuts layer: intervening-contour affinity, (downsampled) normalized cuts, spectral boundaries.

Public API
----------
intervening_contour_affinity(owt2, radius=2, gamma=0.12, scale=10) -> scipy.sparse.csr_matrix
dncuts(W, shape, n_vectors=6, n_levels=2) -> (eigenvalues (k,), eigenvectors (H*W, k))
exact_ncuts(W, n_vectors=6) -> (eigenvalues (k,), eigenvectors (n, k))
interpolate_eigenvectors(W, shape, coarse_vectors) -> (whitened (H*W, k), upsampled (H*W, k))
spectral_boundaries(eigenvectors, eigenvalues, shape) -> (2H+1, 2W+1) float64
globalize(owt2, solver="dncuts"|"exact", coarse=None, ...) -> (2H+1, 2W+1) float64
SpectralBasis: the eigenvectors of one globalization, reusable at twice the size
cholesky.GridCholesky(matrix, shape).solve(b): single-precision sparse Cholesky of an SPD matrix
    on a pixel grid (nested dissection), DNCuts' solver
"""
from .affinity import check_double_size_map, intervening_contour_affinity
from .dncuts import dncuts, exact_ncuts, interpolate_eigenvectors, solve_generalized_ncuts, whiten
from .spectral import SpectralBasis, globalize, spectral_boundaries, vector_boundary_gradient

__all__ = [
    "check_double_size_map",
    "intervening_contour_affinity",
    "dncuts",
    "exact_ncuts",
    "interpolate_eigenvectors",
    "solve_generalized_ncuts",
    "whiten",
    "globalize",
    "SpectralBasis",
    "spectral_boundaries",
    "vector_boundary_gradient",
]
