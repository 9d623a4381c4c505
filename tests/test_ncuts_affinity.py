"""Tests for ncuts.affinity: the intervening-contour affinity matrix."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ncuts import intervening_contour_affinity


def logistic_pss(m: float) -> float:
    """Reference P(same segment) fit, saturating at m = 1 (hand transcription of the formula)."""
    m = min(m, 1.0)
    return 1.0 / (1.0 + math.exp(-(1.8682 - 1.3113 * m / 0.3130)))


def expected_value(m: float, gamma: float = 0.12) -> float:
    return math.exp(-(1.0 - logistic_pss(m)) / gamma)


FLAT = 0.32805157  # exp(-(1 - sigmoid(1.8682)) / 0.12), a pair inside a flat region
CUT = 5.0623e-4  # exp(-(1 - sigmoid(1.8682 - 1.3113 / 0.3130)) / 0.12), across a saturated contour


def empty_map(h: int, w: int) -> np.ndarray:
    return np.zeros((2 * h + 1, 2 * w + 1))


def vertical_edge(o, r, c):
    """Element between pixels (r, c) and (r+1, c)."""
    return (2 * r + 2, 2 * c + 1)


def horizontal_edge(o, r, c):
    """Element between pixels (r, c) and (r, c+1)."""
    return (2 * r + 1, 2 * c + 2)


def brute_force_affinity(owt2: np.ndarray, scale=10.0, gamma=0.12) -> np.ndarray:
    """Dense radius-2 reference written from the segment rules, pair by pair."""
    s = owt2 * scale
    h, w = (owt2.shape[0] - 1) // 2, (owt2.shape[1] - 1) // 2
    n = h * w
    dense = np.zeros((n, n))

    def between(r0, c0, r1, c1):  # 4-adjacent pixels
        if r0 == r1:
            return s[2 * r0 + 1, 2 * min(c0, c1) + 2]
        return s[2 * min(r0, r1) + 2, 2 * c0 + 1]

    for r in range(h):
        for c in range(w):
            p = r * w + c
            dense[p, p] = 1.0
            for dr in range(-2, 3):
                for dc in range(-2, 3):
                    if (dr, dc) == (0, 0) or dr * dr + dc * dc > 4:
                        continue
                    rr, cc = r + dr, c + dc
                    if not (0 <= rr < h and 0 <= cc < w):
                        continue
                    if abs(dr) + abs(dc) == 1:
                        m = between(r, c, rr, cc)
                    elif dr == 0:  # two horizontal steps
                        mid = c + dc // 2
                        m = max(between(r, c, r, mid), between(r, mid, r, cc))
                    elif dc == 0:
                        mid = r + dr // 2
                        m = max(between(r, c, mid, c), between(mid, c, rr, c))
                    else:  # diagonal: the four elements of the 2x2 block
                        r0, c0 = min(r, rr), min(c, cc)
                        m = max(
                            between(r0, c0, r0, c0 + 1), between(r0 + 1, c0, r0 + 1, c0 + 1),
                            between(r0, c0, r0 + 1, c0), between(r0, c0 + 1, r0 + 1, c0 + 1),
                        )
                    dense[p, rr * w + cc] = expected_value(m, gamma)
    return dense


def test_constants_match_formula():
    assert expected_value(0.0) == pytest.approx(FLAT, rel=1e-6)
    assert expected_value(1.0) == pytest.approx(CUT, rel=1e-3)


def test_flat_region_values_shape_and_structure():
    h, w = 5, 6
    W = intervening_contour_affinity(empty_map(h, w))
    assert W.shape == (h * w, h * w)
    assert W.dtype == np.float64
    # nnz: for each pixel, neighbours within radius 2 inside the image (self included)
    expected_nnz = sum(
        1
        for r in range(h) for c in range(w)
        for dr in range(-2, 3) for dc in range(-2, 3)
        if dr * dr + dc * dc <= 4 and 0 <= r + dr < h and 0 <= c + dc < w
    )
    assert W.nnz == expected_nnz
    assert np.allclose(W.diagonal(), 1.0)
    off = W.copy()
    off.setdiag(0)
    off.eliminate_zeros()
    assert np.allclose(off.data, FLAT, rtol=1e-6)
    assert abs(W - W.T).max() == 0.0


def test_strong_contour_cuts_and_flat_sides_connect():
    h, w = 6, 8
    o = empty_map(h, w)
    o[1::2, 2 * 4] = 1.0  # vertical contour between pixel columns 3 and 4, full height
    W = intervening_contour_affinity(o).toarray()
    left = [r * w + c for r in range(h) for c in range(4)]
    right = [r * w + c for r in range(h) for c in range(4, w)]
    across = W[np.ix_(left, right)]
    assert across[across > 0].max() == pytest.approx(CUT, rel=1e-3)
    inside = W[np.ix_(left, left)]
    vals = inside[(inside > 0) & (inside < 1)]
    assert np.allclose(vals, FLAT, rtol=1e-6)


def test_weak_contour_value_and_saturation():
    o = empty_map(3, 3)
    o[horizontal_edge(o, 1, 0)] = 0.02  # between (1,0) and (1,1); scaled cue 0.2
    W = intervening_contour_affinity(o).toarray()
    p, q = 1 * 3 + 0, 1 * 3 + 1
    assert W[p, q] == pytest.approx(expected_value(0.2), rel=1e-9)
    assert W[p, q] == pytest.approx(0.11171, abs=1e-5)  # by hand: exp(-(1 - sigmoid(1.03031)) / 0.12)
    # any scaled cue above 1 saturates: 0.15 and 0.9 give the same affinity
    o1, o2 = o.copy(), o.copy()
    o1[horizontal_edge(o, 1, 0)] = 0.15
    o2[horizontal_edge(o, 1, 0)] = 0.9
    W1 = intervening_contour_affinity(o1)
    W2 = intervening_contour_affinity(o2)
    assert W1[p, q] == pytest.approx(W2[p, q]) == pytest.approx(CUT, rel=1e-3)


def test_diagonal_and_distance_two_segments():
    o = empty_map(3, 3)
    o[vertical_edge(o, 0, 1)] = 1.0  # between (0,1) and (1,1): inside the 2x2 block of (0,0)-(1,1)
    W = intervening_contour_affinity(o).toarray()
    idx = lambda r, c: r * 3 + c  # noqa: E731
    assert W[idx(0, 0), idx(1, 1)] == pytest.approx(CUT, rel=1e-3)
    assert W[idx(0, 1), idx(1, 0)] == pytest.approx(CUT, rel=1e-3)  # same block, other diagonal
    assert W[idx(0, 0), idx(1, 0)] == pytest.approx(FLAT, rel=1e-6)
    assert W[idx(1, 1), idx(2, 2)] == pytest.approx(FLAT, rel=1e-6)
    o = empty_map(1, 3)
    o[horizontal_edge(o, 0, 1)] = 1.0  # between (0,1) and (0,2)
    W = intervening_contour_affinity(o).toarray()
    assert W[0, 2] == pytest.approx(CUT, rel=1e-3)  # crossed by the 2-step segment
    assert W[0, 1] == pytest.approx(FLAT, rel=1e-6)


def test_matches_brute_force_reference_on_random_map():
    rng = np.random.default_rng(3)
    h, w = 7, 9
    o = rng.random((2 * h + 1, 2 * w + 1)) * 0.12
    o[rng.random(o.shape) < 0.6] = 0.0
    W = intervening_contour_affinity(o).toarray()
    ref = brute_force_affinity(o)
    np.testing.assert_allclose(W, ref, rtol=1e-12, atol=0)


def test_walks_both_ways_and_knight_offsets():
    from ncuts.affinity import _segment_max

    rng = np.random.default_rng(5)
    h, w = 8, 9
    o = rng.random((2 * h + 1, 2 * w + 1))
    o[rng.random(o.shape) < 0.5] = 0.0
    # axis-aligned and diagonal segments cross the same elements in both directions (the
    # affinity walks them once) ...
    for dr, dc in [(0, 1), (0, 2), (1, 0), (2, 0), (1, 1), (1, -1), (2, 2), (2, -2), (0, 3)]:
        for r in range(h - abs(dr)):
            for c in range(max(0, -dc), w - max(0, dc)):
                assert _segment_max(o, r, c, r + dr, c + dc) == _segment_max(o, r + dr, c + dc, r, c)
    # ... other offsets may not, and get the mean of both walks' affinities
    W = intervening_contour_affinity(o, radius=2.3, scale=1.0)  # offsets up to (1, 2)
    np.testing.assert_array_equal(W.toarray(), W.toarray().T)
    found_asymmetric = False
    for r in range(h - 1):
        for c in range(w - 2):
            fwd = _segment_max(o, r, c, r + 1, c + 2)
            bwd = _segment_max(o, r + 1, c + 2, r, c)
            found_asymmetric |= fwd != bwd
            expected = 0.5 * (expected_value(fwd) + expected_value(bwd))
            assert W[r * w + c, (r + 1) * w + c + 2] == pytest.approx(expected, rel=1e-6)
    assert found_asymmetric


def test_gamma_and_scale_parameters():
    o = empty_map(2, 2)
    o[horizontal_edge(o, 0, 0)] = 0.05
    W = intervening_contour_affinity(o, gamma=0.3, scale=4.0)
    assert W[0, 1] == pytest.approx(expected_value(0.2, gamma=0.3), rel=1e-9)
    W1 = intervening_contour_affinity(o, radius=1)
    assert W1.nnz == 4 + 8  # 2x2 image: diagonal + 4-neighbours (each pair twice)


def test_one_pixel_wide_and_single_pixel_images():
    o = empty_map(9, 1)
    o[vertical_edge(o, 4, 0)] = 1.0
    W = intervening_contour_affinity(o).toarray()
    assert W.shape == (9, 9)
    assert W[4, 5] == pytest.approx(CUT, rel=1e-3)
    assert W[3, 5] == pytest.approx(CUT, rel=1e-3)
    assert W[0, 2] == pytest.approx(FLAT, rel=1e-6)
    assert intervening_contour_affinity(empty_map(1, 1)).toarray().tolist() == [[1.0]]


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((4, 5)), "odd sides"),
        (np.zeros((5,)), "2-D"),
        (np.full((5, 5), np.nan), "NaN"),
        (-np.ones((5, 5)), "non-negative"),
    ],
)
def test_bad_maps_raise(bad, message):
    with pytest.raises(ValueError, match=message):
        intervening_contour_affinity(bad)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="gamma"):
        intervening_contour_affinity(empty_map(2, 2), gamma=0)
    with pytest.raises(ValueError, match="scale"):
        intervening_contour_affinity(empty_map(2, 2), scale=-1)


def test_walk_tables_cross_the_elements_of_the_bresenham_walk():
    # the affinity reads precomputed element lists; they must give _segment_max's cue for
    # every offset, both directions, from every start pixel
    from ncuts.affinity import _neighbour_offsets, _segment_max, _walk_tables

    rng = np.random.default_rng(8)
    h, w = 9, 11
    o = rng.random((2 * h + 1, 2 * w + 1))
    o[rng.random(o.shape) < 0.4] = 0.0
    offsets = _neighbour_offsets(3.3)
    forward, backward, counts = _walk_tables(offsets, o.shape[1])
    flat = o.ravel()
    for k, (dr, dc) in enumerate(offsets.tolist()):
        for r in range(max(0, -dr), h - max(0, dr)):
            for c in range(max(0, -dc), w - max(0, dc)):
                base = 2 * r * o.shape[1] + 2 * c
                fwd = max([0.0] + [flat[base + e] for e in forward[k, :counts[k, 0]]])
                assert fwd == _segment_max(o, r, c, r + dr, c + dc)
                if counts[k, 1]:
                    bwd = max([0.0] + [flat[base + e] for e in backward[k, :counts[k, 1]]])
                else:
                    bwd = fwd
                assert bwd == _segment_max(o, r + dr, c + dc, r, c)
