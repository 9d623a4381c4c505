"""Greedy mean-boundary merging (grouping/ucm.py)."""
from __future__ import annotations

import glob

import numpy as np
import pytest
import scipy.io as sio

from conftest import shared_path
from grouping.hierarchy import MergeTree, leaves_from_ucm2
from grouping.ucm import boundary_stats, mean_pb_merges, ucm_mean_pb


def _owt2_from_element_values(superpixels, value_of_pair):
    """A double-size map whose elements between leaves a, b hold value_of_pair[(a, b)]."""
    h, w = superpixels.shape
    owt2 = np.zeros((2 * h + 1, 2 * w + 1))
    for i in range(h):
        for j in range(w):
            a = superpixels[i, j]
            if j + 1 < w and superpixels[i, j + 1] != a:
                b = superpixels[i, j + 1]
                owt2[2 * i + 1, 2 * j + 2] = value_of_pair[(min(a, b), max(a, b))]
            if i + 1 < h and superpixels[i + 1, j] != a:
                b = superpixels[i + 1, j]
                owt2[2 * i + 2, 2 * j + 1] = value_of_pair[(min(a, b), max(a, b))]
    return owt2


def _reference_mean_pb(owt2, superpixels):
    """Brute force: recompute every mean after every merge; ties by (mean, ids)."""
    h, w = superpixels.shape
    elements = []
    for i in range(h):
        for j in range(w):
            a = superpixels[i, j]
            if j + 1 < w and superpixels[i, j + 1] != a:
                elements.append((a, superpixels[i, j + 1], owt2[2 * i + 1, 2 * j + 2]))
            if i + 1 < h and superpixels[i + 1, j] != a:
                elements.append((a, superpixels[i + 1, j], owt2[2 * i + 2, 2 * j + 1]))
    n = int(superpixels.max()) + 1
    region_of = list(range(n))
    merges, heights = [], []
    for k in range(n - 1):
        sums = {}
        for a, b, value in elements:
            ra, rb = region_of[a], region_of[b]
            if ra != rb:
                key = (min(ra, rb), max(ra, rb))
                s, c = sums.get(key, (0.0, 0))
                sums[key] = (s + value, c + 1)
        best = min(sums, key=lambda key: (sums[key][0] / sums[key][1], key))
        merges.append(best)
        heights.append(sums[best][0] / sums[best][1])
        new = n + k
        region_of = [new if r in best else r for r in region_of]
    return np.array(merges), np.array(heights)


def test_hand_made_2x2_merges_by_mean():
    sp = np.array([[0, 1], [2, 3]])
    owt2 = _owt2_from_element_values(sp, {(0, 1): 0.1, (2, 3): 0.2, (0, 2): 0.9, (1, 3): 0.3})
    tree = ucm_mean_pb(owt2, sp)
    np.testing.assert_array_equal(tree.merges, [[0, 1], [2, 3], [4, 5]])
    # last merge: mean of the 0-2 (.9) and 1-3 (.3) boundaries
    np.testing.assert_allclose(tree.heights, [0.1, 0.2, 0.6], rtol=0, atol=1e-15)
    ucm2 = tree.to_ucm2()
    assert ucm2[2, 1] == ucm2[2, 3] == tree.heights[2]
    assert ucm2[1, 2] == 0.1 and ucm2[3, 2] == 0.2


def test_hand_made_chain_merge_order():
    # 1x4 chain of leaves, boundaries .5 | .1 | .3
    sp = np.array([[0, 1, 2, 3]])
    owt2 = _owt2_from_element_values(sp, {(0, 1): 0.5, (1, 2): 0.1, (2, 3): 0.3})
    tree = ucm_mean_pb(owt2, sp)
    np.testing.assert_array_equal(tree.merges, [[1, 2], [3, 4], [0, 5]])
    np.testing.assert_array_equal(tree.heights, [0.1, 0.3, 0.5])


def test_hand_made_3x3_mean_over_longer_boundary():
    # leaves: A = left column, B = centre pixel, C = the rest
    sp = np.array([[0, 2, 2], [0, 1, 2], [0, 2, 2]])
    # A-B: 1 element at .2; A-C: 2 elements at .7; B-C: 3 elements at .4
    owt2 = _owt2_from_element_values(sp, {(0, 1): 0.2, (0, 2): 0.7, (1, 2): 0.4})
    tree = ucm_mean_pb(owt2, sp)
    np.testing.assert_array_equal(tree.merges, [[0, 1], [2, 3]])
    # (A+B)-C boundary: 2 elements at .7 and 3 at .4 -> mean .52
    np.testing.assert_allclose(tree.heights, [0.2, 0.52], rtol=0, atol=1e-15)


def test_matches_brute_force_on_random_partitions():
    rng = np.random.default_rng(7)
    for trial in range(6):
        h, w = rng.integers(4, 9, size=2)
        owt2 = np.zeros((2 * h + 1, 2 * w + 1))
        owt2[1::2, 2:-1:2] = rng.random((h, w - 1))
        owt2[2:-1:2, 1::2] = rng.random((h - 1, w))
        sp = np.arange(h * w).reshape(h, w)  # every pixel a leaf
        tree = mean_pb_merges(owt2, sp)
        ref_merges, ref_heights = _reference_mean_pb(owt2, sp)
        np.testing.assert_array_equal(tree.merges, ref_merges)
        np.testing.assert_allclose(tree.heights, ref_heights, rtol=0, atol=1e-12)
        canon = ucm_mean_pb(owt2, sp)
        np.testing.assert_array_equal(canon.to_ucm2(), tree.to_ucm2())
        assert MergeTree.from_ucm2(canon.to_ucm2()) == canon


def test_ties_are_deterministic_and_canonical():
    sp = np.arange(20).reshape(4, 5)
    owt2 = np.ones((9, 11))
    first = ucm_mean_pb(owt2, sp)
    second = ucm_mean_pb(owt2.copy(), sp.copy())
    assert first == second
    np.testing.assert_array_equal(first.heights, np.ones(19))
    assert MergeTree.from_ucm2(first.to_ucm2()) == first


def test_single_superpixel():
    tree = ucm_mean_pb(np.zeros((7, 9)), np.zeros((3, 4), dtype=np.int32))
    assert tree.n_leaves == 1 and tree.n_merges == 0
    np.testing.assert_array_equal(tree.to_ucm2(), np.zeros((7, 9)))


def test_boundary_stats_counts_elements():
    sp = np.array([[0, 2, 2], [0, 1, 2], [0, 2, 2]])
    owt2 = _owt2_from_element_values(sp, {(0, 1): 0.2, (0, 2): 0.7, (1, 2): 0.4})
    u, v, total, length = boundary_stats(owt2, sp)
    np.testing.assert_array_equal(u, [0, 0, 1])
    np.testing.assert_array_equal(v, [1, 2, 2])
    np.testing.assert_array_equal(length, [1, 2, 3])
    np.testing.assert_allclose(total, [0.2, 1.4, 1.2])


def test_bad_inputs_raise():
    sp = np.array([[0, 1], [2, 3]])
    with pytest.raises(ValueError, match="does not match"):
        ucm_mean_pb(np.zeros((7, 5)), sp)
    with pytest.raises(ValueError, match="every label present"):
        ucm_mean_pb(np.zeros((5, 5)), np.array([[0, 1], [3, 3]]))
    with pytest.raises(ValueError, match="negative"):
        ucm_mean_pb(-np.ones((5, 5)), sp)


def test_idempotent_on_published_gpb_ucm2():
    folder = shared_path("bsds500", "gpb_ucm2", "val")
    path = sorted(glob.glob(str(folder / "*.mat")))[0]
    ucm2 = sio.loadmat(path)["ucm2"]
    tree = ucm_mean_pb(ucm2, leaves_from_ucm2(ucm2))
    # the mean of a UCM boundary is its (constant) value: same hierarchy, up to rounding
    np.testing.assert_allclose(tree.to_ucm2(), ucm2, rtol=0, atol=1e-12)
    reference = MergeTree.from_ucm2(ucm2)
    np.testing.assert_array_equal(tree.merges, reference.merges)
