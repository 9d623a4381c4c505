"""Resampling hierarchies to another resolution (grouping/resample.py)."""
from __future__ import annotations

import glob

import numpy as np
import pytest
import scipy.io as sio

from conftest import shared_path
from grouping.hierarchy import MergeTree
from grouping.resample import nearest_indices, resample_tree, resample_ucm2
from grouping.ucm import ucm_mean_pb


def _boundaries_ucm2(seg):
    """Double-size boundary indicator of a label image (elements, then vertices by max)."""
    h, w = seg.shape
    bdry = np.zeros((2 * h + 1, 2 * w + 1))
    bdry[1::2, 2:-1:2] = seg[:, :-1] != seg[:, 1:]
    bdry[2:-1:2, 1::2] = seg[:-1, :] != seg[1:, :]
    padded = np.pad(bdry, 1)
    vertices = np.maximum.reduce(
        [padded[0:-2:2, 1:-1:2], padded[2::2, 1:-1:2], padded[1:-1:2, 0:-2:2], padded[1:-1:2, 2::2]]
    )
    bdry[0::2, 0::2] = vertices
    return bdry


def _mcg_style_resample(tree, shape):
    """Per-level resampling as MCG's resample_ucm2 does, at every level of the tree."""
    rows = nearest_indices(tree.shape[0], shape[0])
    cols = nearest_indices(tree.shape[1], shape[1])
    out = np.zeros((2 * shape[0] + 1, 2 * shape[1] + 1))
    for h in np.unique(tree.heights):
        n_before = int(np.searchsorted(tree.heights, h, side="left"))
        seg = tree._partition(n_before)[rows][:, cols]
        out = np.maximum(out, h * _boundaries_ucm2(seg))
    return out


def _random_tree(seed, shape=(12, 15)):
    rng = np.random.default_rng(seed)
    h, w = shape
    owt2 = np.zeros((2 * h + 1, 2 * w + 1))
    owt2[1::2, 2:-1:2] = rng.random((h, w - 1))
    owt2[2:-1:2, 1::2] = rng.random((h - 1, w))
    return ucm_mean_pb(owt2, np.arange(h * w).reshape(h, w))


def test_nearest_indices():
    np.testing.assert_array_equal(nearest_indices(4, 2), [1, 3])
    np.testing.assert_array_equal(nearest_indices(2, 4), [0, 0, 1, 1])
    np.testing.assert_array_equal(nearest_indices(5, 5), np.arange(5))


def test_resample_equals_per_level_mcg_procedure():
    for seed, shape in [(0, (6, 7)), (1, (25, 31)), (2, (12, 15)), (3, (5, 40))]:
        tree = _random_tree(seed)
        ours = resample_tree(tree, shape).to_ucm2()
        np.testing.assert_array_equal(ours, _mcg_style_resample(tree, shape))


def test_resample_keeps_a_valid_hierarchy():
    tree = _random_tree(5)
    for shape in [(6, 7), (24, 30), (13, 14), (1, 9)]:
        small = tree.resample(shape)
        assert small.shape == shape
        # the ucm2 is a valid ultrametric contour map: strict reading reproduces it exactly
        assert MergeTree.from_ucm2(small.to_ucm2()) == small
        # every surviving level is an original level
        assert set(small.heights) <= set(tree.heights)
    assert tree.resample(tree.shape) == tree


def test_resample_published_gpb_ucm2():
    folder = shared_path("bsds500", "gpb_ucm2", "val")
    path = sorted(glob.glob(str(folder / "*.mat")))[0]
    ucm2 = sio.loadmat(path)["ucm2"]
    tree = MergeTree.from_ucm2(ucm2)
    h, w = tree.shape
    for shape in [(h // 2, w // 2), (2 * h, 2 * w)]:
        resampled = resample_ucm2(ucm2, shape)
        assert resampled.shape == (2 * shape[0] + 1, 2 * shape[1] + 1)
        again = MergeTree.from_ucm2(resampled)  # strict: raises if not a valid UCM
        assert again.n_leaves <= tree.n_leaves
    # down and up again: the coarse hierarchy is reproduced at its own resolution
    half = tree.resample((h // 2, w // 2))
    np.testing.assert_array_equal(half.resample(half.shape).to_ucm2(), half.to_ucm2())


def test_resample_bad_shape():
    tree = _random_tree(0, (4, 4))
    with pytest.raises(ValueError, match="shape"):
        tree.resample((3,))
    with pytest.raises(ValueError, match="shape"):
        tree.resample(("a", 2))
