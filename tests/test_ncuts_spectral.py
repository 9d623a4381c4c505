"""Tests for ncuts.spectral: boundary gradients, spectral boundaries, globalization."""
from __future__ import annotations

import numpy as np
import pytest

from ncuts import globalize, spectral_boundaries, vector_boundary_gradient
from ncuts.spectral import MAX_REDUCED_NODES, adaptive_levels


def test_vector_boundary_gradient_golden():
    f = np.array([[0.0, 1.0, 3.0], [2.0, 2.0, 7.0]])
    expected = np.array(
        [
            [0, 0, 1, 0, 2, 0, 0],
            [0, 0, 1, 0, 2, 0, 0],
            [2, 2, 2, 1, 5, 4, 4],
            [0, 0, 0, 0, 5, 0, 0],
            [0, 0, 0, 0, 5, 0, 0],
        ],
        dtype=float,
    )  # worked out by hand from the element / junction / frame rules
    np.testing.assert_array_equal(vector_boundary_gradient(f), expected)


def test_vector_boundary_gradient_degenerate_shapes():
    assert vector_boundary_gradient(np.array([[5.0]])).tolist() == [[0.0] * 3] * 3
    g = vector_boundary_gradient(np.array([[0.0], [1.0], [1.0]]))
    assert g.shape == (7, 3)
    assert g[2, 1] == 1.0 and g[4, 1] == 0.0


def step_vectors(h=4, w=6, col=3):
    n = h * w
    step = np.zeros((h, w))
    step[:, col:] = 1.0
    ramp = np.tile(np.arange(w, dtype=float), (h, 1))
    vecs = np.column_stack([np.ones(n), step.ravel() * 5 - 2, ramp.ravel(), -step.ravel()])
    return vecs


def test_spectral_boundaries_weights_and_skips():
    h, w = 4, 6
    vecs = step_vectors(h, w, 3)
    # the trivial vector is skipped, lambda <= 0 skipped, the step weighted by 1/sqrt(0.25)
    out = spectral_boundaries(vecs[:, :2], np.array([0.0, 0.25]), (h, w))
    value = 2.0 ** (1 / np.sqrt(2))
    assert out.shape == (2 * h + 1, 2 * w + 1)
    np.testing.assert_allclose(out[1::2, 6], value)  # elements between columns 2 and 3
    np.testing.assert_allclose(out[2:-2:2, 6], value)  # junctions on that line
    mask = np.zeros_like(out, dtype=bool)
    mask[:, 6] = True
    assert np.all(out[~mask] == 0)
    # a vector with lambda <= 0 adds nothing; the sign of a vector does not matter
    out2 = spectral_boundaries(vecs[:, [0, 1, 2]], np.array([0.0, 0.25, -1e-3]), (h, w))
    np.testing.assert_allclose(out2, out)
    out3 = spectral_boundaries(vecs[:, [0, 3]], np.array([0.0, 0.25]), (h, w))
    np.testing.assert_allclose(out3, out)
    # two vectors add before the 1/sqrt(2) power: ramp steps are 1/5 after min-max, weight 1
    both = spectral_boundaries(vecs[:, :3], np.array([0.0, 0.25, 1.0]), (h, w))
    assert both[1, 6] == pytest.approx((2.0 + 0.2) ** (1 / np.sqrt(2)))
    assert both[1, 2] == pytest.approx(0.2 ** (1 / np.sqrt(2)))
    # skip_first=False uses the first vector too (constant here: contributes nothing)
    np.testing.assert_allclose(
        spectral_boundaries(vecs[:, :2], np.array([0.5, 0.25]), (h, w), skip_first=False), out
    )


def test_spectral_boundaries_is_the_documented_sum():
    rng = np.random.default_rng(7)
    h, w, k = 9, 13, 5
    vecs = rng.standard_normal((h * w, k))
    vals = np.array([0.0, 0.3, 1e-3, 2.0, 0.05])
    reference = np.zeros((2 * h + 1, 2 * w + 1))
    for v in range(1, k):
        f = vecs[:, v].reshape(h, w)
        f = (f - f.min()) / (f.max() - f.min())
        reference += vector_boundary_gradient(f) / np.sqrt(vals[v])
    np.testing.assert_allclose(
        spectral_boundaries(vecs, vals, (h, w)), reference ** (1 / np.sqrt(2)), rtol=1e-12
    )


def test_spectral_boundaries_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        spectral_boundaries(np.zeros((10, 2)), np.zeros(2), (3, 3))
    with pytest.raises(ValueError, match="eigenvalues"):
        spectral_boundaries(np.zeros((9, 2)), np.zeros(3), (3, 3))


def scene(h=40, w=60, strong=0.5, weak=0.05):
    """A strong full-height contour at column 30 and a short weak arc inside the left part."""
    o = np.zeros((2 * h + 1, 2 * w + 1))
    o[1::2, 60] = strong  # between columns 29 and 30
    o[2 * 19 + 2, 1 + 2 * 8 : 2 * 14 : 2] = weak  # between rows 19 and 20, columns 8..13
    return o


def test_globalize_combines_owt_and_spectral():
    o = scene()
    out, details = globalize(o, return_details=True)
    assert out.shape == o.shape and out.dtype == np.float64
    arcs = o > 0
    assert np.all(out[~arcs] == 0)  # the spectral term is restricted to the OWT arcs
    np.testing.assert_allclose(out[arcs], o[arcs] + details["spectral"][arcs] / 60.0)
    assert set(details["times"]) == {"affinity", "eigen", "spectral"}
    spectral = details["spectral"]
    # globalization: the long contour is much stronger than the isolated weak arc
    assert spectral[1::2, 60].mean() > 5 * spectral[2 * 19 + 2, 17:28:2].mean()
    full = globalize(o, restrict_to_arcs=False)
    np.testing.assert_allclose(full, o + spectral / 60.0)


@pytest.mark.parametrize("frame", [False, True])
def test_globalize_arcs_only_power_has_the_bits_of_the_full_map(frame):
    # without details, the gradient sum and its power are taken on the arcs alone: the same
    # bits as the full map, on the frame too (positive vertices where arcs meet it; the corners)
    o = scene()
    if frame:
        o[0, 10:40:2] = 0.3
        o[-1, 4:30:6] = 0.2
        o[5:25:2, 0] = 0.1
        o[8:30:4, -1] = 0.4
        o[0, 0] = o[0, -1] = o[-1, 0] = o[-1, -1] = 0.5
        o[3, 3] = 0.2  # a pixel cell
    fast = globalize(o)
    _, details = globalize(o, return_details=True)
    reference = o + np.where(o > 0, details["spectral"] / 60.0, 0.0)
    assert np.array_equal(fast, reference)


def test_globalize_solvers_agree_on_arcs():
    o = scene()
    dn, d1 = globalize(o, solver="dncuts", return_details=True)
    ex, d2 = globalize(o, solver="exact", return_details=True)
    arcs = o > 0
    s1, s2 = d1["spectral"][arcs], d2["spectral"][arcs]
    assert np.corrcoef(s1, s2)[0, 1] > 0.95
    # the exact eigenvalues are scaled by 2^n_levels by default: comparable magnitudes
    assert 0.7 < s1.mean() / s2.mean() < 1.4
    # without that scaling, the exact spectral map is ~2^(levels/2 * 1/sqrt 2) times larger
    ex_raw = globalize(o, solver="exact", eigenvalue_scale=1.0, return_details=True)[1]["spectral"]
    assert ex_raw[arcs].mean() / s2.mean() == pytest.approx(2.0 ** (1 / np.sqrt(2)), rel=1e-6)


def test_globalize_degenerate_images():
    flat = globalize(np.zeros((2 * 20 + 1, 2 * 30 + 1)))
    assert np.all(flat == 0)
    o = np.zeros((2 * 25 + 1, 3))
    o[2 * 10, 1] = 0.4
    out = globalize(o)
    assert out.shape == o.shape and np.all(np.isfinite(out)) and out[20, 1] > 0.4
    assert np.all(np.isfinite(globalize(np.zeros((3, 3)), solver="exact")))


def test_globalize_bad_arguments():
    with pytest.raises(ValueError, match="solver"):
        globalize(np.zeros((5, 5)), solver="lanczos")
    with pytest.raises(ValueError, match="saturation"):
        globalize(np.zeros((5, 5)), saturation=0)
    with pytest.raises(ValueError, match="odd sides"):
        globalize(np.zeros((4, 5)))


def test_adaptive_levels_keep_the_reduced_grid_small():
    # BSDS and COCO sizes keep the paper's 2 levels, and so do BSDS at scale 2 and COCO at scale
    # 1.5; COCO at scale 2 (MCG, accurate edges) gets a third
    assert adaptive_levels((321, 481), 6, 2, MAX_REDUCED_NODES) == 2
    assert adaptive_levels((480, 640), 6, 2, MAX_REDUCED_NODES) == 2
    assert adaptive_levels((640, 640), 6, 2, MAX_REDUCED_NODES) == 2
    assert adaptive_levels((852, 1280), 6, 2, MAX_REDUCED_NODES) == 3
    assert adaptive_levels((642, 962), 6, 2, MAX_REDUCED_NODES) == 2  # BSDS at scale 2
    assert adaptive_levels((720, 960), 6, 2, MAX_REDUCED_NODES) == 2  # COCO at scale 1.5
    assert adaptive_levels((960, 1280), 6, 2, MAX_REDUCED_NODES) == 3
    assert adaptive_levels((3000, 4000), 6, 2, MAX_REDUCED_NODES) == 5  # 93x125 nodes
    assert adaptive_levels((642, 962), 6, 2, None) == 2
    # never more levels than the grid allows (a 1-pixel-high strip stops at once)
    assert adaptive_levels((1, 100_000), 6, 2, 10) == 2
    assert adaptive_levels((40, 40), 6, 2, 4) == 3  # 5x5 nodes: a 4th level would leave 2x2 < 7
    with pytest.raises(ValueError, match="max_reduced_nodes"):
        adaptive_levels((10, 10), 6, 2, 0)


def test_globalize_extra_levels_keep_the_spectral_weighting():
    o = scene()
    _, two = globalize(o, max_reduced_nodes=None, return_details=True)
    _, three = globalize(o, n_levels=2, max_reduced_nodes=100, return_details=True)
    _, three_raw = globalize(o, n_levels=3, max_reduced_nodes=None, return_details=True)
    arcs = o > 0
    # an extra level roughly doubles the eigenvalues; they are halved back by default
    np.testing.assert_allclose(three["eigenvalues"], three_raw["eigenvalues"])
    ratio = three_raw["spectral"][arcs].mean() / three["spectral"][arcs].mean()
    assert ratio == pytest.approx(2.0 ** (-0.5 / np.sqrt(2)), rel=1e-6)
    assert 0.7 < three["spectral"][arcs].mean() / two["spectral"][arcs].mean() < 1.4
    assert np.corrcoef(three["spectral"][arcs], two["spectral"][arcs])[0, 1] > 0.9


def test_globalize_reuses_the_eigenvectors_of_the_half_size_image():
    def long_contour_and_weak_arc(h, w):
        o = np.zeros((2 * h + 1, 2 * w + 1))
        o[1::2, w] = 0.5  # full height, between columns w/2 - 1 and w/2
        o[h + 1, 1 + w // 4: w // 2 - 4: 2] = 0.05  # a weak arc inside the left half
        return o

    half, half_details = globalize(long_contour_and_weak_arc(40, 60), return_details=True)
    basis = half_details["basis"]
    assert basis.shape == (40, 60) and basis.upsampled.shape == (40 * 60, 6)
    np.testing.assert_array_equal(basis.eigenvalues, half_details["eigenvalues"])
    o = long_contour_and_weak_arc(80, 120)
    own, own_details = globalize(o, return_details=True)
    reused, details = globalize(o, coarse=basis, return_details=True)
    np.testing.assert_array_equal(details["eigenvalues"], basis.eigenvalues)
    assert details["basis"].upsampled.shape == (80 * 120, 6)
    arcs = o > 0
    spectral = details["spectral"]
    np.testing.assert_allclose(reused[arcs], o[arcs] + spectral[arcs] / 60.0)
    # the same globalization as solving at this size: the long contour dominates
    assert spectral[1::2, 120].mean() > 5 * spectral[81, 31:55:2].mean()
    assert np.corrcoef(spectral[arcs], own_details["spectral"][arcs])[0, 1] > 0.9
    with pytest.raises(ValueError, match="coarse basis of a 40x60 image does not fit a 84x120"):
        globalize(np.zeros((2 * 84 + 1, 2 * 120 + 1)), coarse=basis)
