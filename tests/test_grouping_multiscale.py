"""Multiscale hierarchy: alignment (projection), combination and calibration."""
from __future__ import annotations

import glob

import numpy as np
import pytest
import scipy.io as sio
from scipy import ndimage

from conftest import shared_path
from grouping.hierarchy import MergeTree
from grouping.multiscale import (
    align_hierarchies,
    align_hierarchy,
    combine_contour_maps,
    combine_ucm2s,
    compose_targets,
    level_schedule,
    majority_projection,
    multiscale_hierarchy,
    project_levels,
    sigmoid_calibration,
)
from grouping.ucm import ucm_mean_pb


def _random_tree(seed, shape=(14, 17), scale=1.0):
    rng = np.random.default_rng(seed)
    h, w = shape
    owt2 = np.zeros((2 * h + 1, 2 * w + 1))
    owt2[1::2, 2:-1:2] = scale * rng.random((h, w - 1))
    owt2[2:-1:2, 1::2] = scale * rng.random((h - 1, w))
    return ucm_mean_pb(owt2, np.arange(h * w).reshape(h, w))


def _boundary_elements(labels):
    """(2H+1, 2W+1) bool: elements between 4-adjacent pixels of different labels."""
    h, w = labels.shape
    out = np.zeros((2 * h + 1, 2 * w + 1), dtype=bool)
    out[1::2, 2:-1:2] = labels[:, :-1] != labels[:, 1:]
    out[2:-1:2, 1::2] = labels[:-1, :] != labels[1:, :]
    return out


def _elements(ucm2):
    """Copy of a ucm2 with vertices zeroed (only the elements between pixels)."""
    out = np.array(ucm2, dtype=np.float64)
    out[0::2, 0::2] = 0
    return out


def _same_partition(a, b):
    """True when two label images describe the same partition (up to renumbering)."""
    pairs = np.unique(a.astype(np.int64) * (int(b.max()) + 1) + b)
    return pairs.size == np.unique(a).size == np.unique(b).size


@pytest.fixture(scope="module")
def gpb_scales():
    """A published gPb hierarchy and fake coarser scales (resampled down and back up)."""
    folder = shared_path("bsds500", "gpb_ucm2", "val")
    path = sorted(glob.glob(str(folder / "*.mat")))[0]
    fine = MergeTree.from_ucm2(sio.loadmat(path)["ucm2"])
    h, w = fine.shape
    mid = fine.resample((h // 2, w // 2)).resample((h, w))
    coarse = fine.resample((h // 4, w // 4)).resample((h, w))
    return [fine, mid, coarse]


# -- projection -----------------------------------------------------------------------


def test_majority_projection_hand_made():
    labels = np.array([
        [5, 5, 7, 7],
        [5, 2, 7, 7],
        [2, 2, 2, 7],
    ])
    targets = np.array([
        [0, 0, 1, 1],
        [0, 0, 1, 1],
        [2, 2, 2, 1],
    ])
    # region 0: {5: 3, 2: 1} -> 5; region 1: {7: 5} -> 7; region 2: {2: 3} -> 2
    np.testing.assert_array_equal(majority_projection(labels, targets), [5, 7, 2])
    # a tie (2 pixels of 3 and 2 of 9) goes to the smallest label
    tie = majority_projection(np.array([[9, 3, 9, 3]]), np.array([[0, 0, 0, 0]]))
    np.testing.assert_array_equal(tie, [3])


def test_majority_projection_errors():
    with pytest.raises(ValueError, match="shape"):
        majority_projection(np.zeros((2, 3), int), np.zeros((3, 2), int))
    with pytest.raises(ValueError, match="every label"):
        majority_projection(np.zeros((2, 2), int), np.array([[0, 0], [2, 2]]))


def test_compose_targets_hand_made():
    s1 = np.array([[0, 0, 1, 1, 1, 2]])
    s2 = np.array([[0, 1, 1, 1, 2, 2]])
    s3 = np.array([[0, 0, 0, 1, 1, 1]])
    # pi(S1, S2) = [0, 1, 1]  (region 1 of S2 = {0, 1, 1}; region 2 = {1, 2} tie -> 1)
    np.testing.assert_array_equal(compose_targets([s1, s2]), [0, 1, 1])
    # then on S3 the image [0, 1, 1, 1, 1, 1]: region 0 = {0, 1, 1} -> 1, region 1 -> 1
    np.testing.assert_array_equal(compose_targets([s1, s2, s3]), [1, 1])
    np.testing.assert_array_equal(compose_targets([s1]), [0, 1, 2])


def test_project_levels_equals_direct_projection_of_each_level():
    tree = _random_tree(0)
    target = _random_tree(1).segmentation_at(0.45)
    for levels in ("uniform", "all", np.array([0.1, 0.3, 0.5, 0.7])):
        proj, values = project_levels(tree, target, levels=levels, n_levels=17)
        assert proj.shape == (values.size, target.max() + 1)
        for k, t in enumerate(values):
            # "all": level k has the merges of height < t applied; otherwise <= t
            t_seg = np.nextafter(t, -np.inf) if isinstance(levels, str) and levels == "all" else t
            top = tree.node_ids_at(t_seg)  # region id of every leaf at that level
            np.testing.assert_array_equal(proj[k], majority_projection(top[tree.leaves], target))


def test_level_schedule_uniform_matches_release():
    tree = _random_tree(2)
    n_applied, values = level_schedule(tree, "uniform", 100)
    top = tree.heights[-1]
    np.testing.assert_allclose(values, np.linspace(top / 100, top, 100))
    np.testing.assert_array_equal(n_applied, np.searchsorted(tree.heights, values, side="right"))
    assert n_applied[-1] == tree.n_merges


def test_composed_projection_equals_direct_projection_for_nested_levels():
    tree = _random_tree(3)
    s1 = tree.segmentation_at(0.4)  # coarser target
    s0 = tree.segmentation_at(0.2)  # finer target, nested in s1
    lookup = compose_targets([s1, s0])
    # nested chain: every S0 region reads the S1 region containing it
    np.testing.assert_array_equal(lookup, majority_projection(s1, s0))
    for t in (0.4, 0.5, 0.6, 0.8):
        # levels coarser than S1 are unions of S1 regions: composed == direct onto S0
        proj, _ = project_levels(tree, s1, levels=np.array([t]))
        direct = majority_projection(tree.node_ids_at(t)[tree.leaves], s0)
        np.testing.assert_array_equal(proj[0][lookup], direct)


# -- alignment ------------------------------------------------------------------------


def test_aligned_boundaries_lie_on_finest_superpixel_boundaries(gpb_scales):
    ucm2s = align_hierarchies(gpb_scales, align_thr=0.1)
    reference = gpb_scales[0].segmentation_at(0.1)
    on_reference = _boundary_elements(reference)
    np.testing.assert_array_equal(ucm2s[0], gpb_scales[0].to_ucm2())
    for u in ucm2s[1:]:
        strong = _elements(u) > 0
        assert strong.sum() > 1000
        assert not np.any(strong & ~on_reference)
    for u, tree in zip(ucm2s[1:], gpb_scales[1:]):
        # values are levels of the uniform 100-level grid of that hierarchy
        top = tree.heights[-1]
        assert np.all(np.isin(u[u > 0], np.linspace(top / 100, top, 100)))


def test_next_finer_alignment_lies_on_next_scale_superpixels(gpb_scales):
    ucm2s = align_hierarchies(gpb_scales, alignment="next_finer")
    on_mid = _boundary_elements(gpb_scales[1].segmentation_at(0.1))
    assert not np.any((_elements(ucm2s[2]) > 0) & ~on_mid)
    none = align_hierarchies(gpb_scales, alignment="none")
    for u, tree in zip(none, gpb_scales):
        np.testing.assert_array_equal(u, tree.to_ucm2())


def test_reproject_composition(gpb_scales):
    lookup = align_hierarchies(gpb_scales, composition="lookup")
    reproject = align_hierarchies(gpb_scales, composition="reproject")
    # one projection step (scale 1 onto the finest): both compositions are the same
    np.testing.assert_array_equal(lookup[1], reproject[1])
    # two steps: boundaries on the finest superpixels, values on the re-sampled grid of the
    # intermediate aligned map; most boundary elements agree with the composed look-up
    reference = _boundary_elements(gpb_scales[0].segmentation_at(0.1))
    assert not np.any((_elements(reproject[2]) > 0) & ~reference)
    mid = MergeTree.from_ucm2(align_hierarchy(gpb_scales[2], [gpb_scales[1].segmentation_at(0.1)]),
                              strict=False)
    top = mid.heights[-1]
    assert np.all(np.isin(reproject[2][reproject[2] > 0], np.linspace(top / 100, top, 100)))
    both = (_elements(lookup[2]) > 0) | (_elements(reproject[2]) > 0)
    same = both & ((_elements(lookup[2]) > 0) == (_elements(reproject[2]) > 0))
    assert same.sum() >= 0.9 * both.sum()
    with pytest.raises(ValueError, match="composition"):
        align_hierarchies(gpb_scales, composition="bogus")


def test_self_alignment_with_all_levels_is_exact():
    tree = _random_tree(4)
    reference = tree.segmentation_at(0.3)
    aligned = align_hierarchy(tree, [reference], levels="all")
    expected = _elements(tree.to_ucm2())
    expected[expected <= 0.3] = 0  # elements inside the reference superpixels
    np.testing.assert_array_equal(_elements(aligned), expected)


def test_identical_hierarchies_combine_to_themselves(gpb_scales):
    tree = gpb_scales[0]
    assert np.unique(tree.heights).size == tree.n_merges  # distinct heights: a unique order
    combined, aligned = multiscale_hierarchy([tree, tree, tree])
    np.testing.assert_array_equal(combined.leaves, tree.leaves)
    np.testing.assert_array_equal(combined.merges, tree.merges)
    # expected height: mean of h and twice its projection q(h) (largest level below h,
    # 0 inside the 0.1-superpixels), then the sigmoid
    h = tree.heights
    grid = np.linspace(h[-1] / 100, h[-1], 100)
    idx = np.searchsorted(grid, h, side="left") - 1
    q = np.where(idx >= 0, grid[np.maximum(idx, 0)], 0.0)
    q[h <= 0.1] = 0.0
    expected = sigmoid_calibration((h + 2 * q) / 3, 0.35, 8.0)
    np.testing.assert_allclose(combined.heights, expected, rtol=1e-12)
    # aligned copies: a boundary of height h gets q(h), so the aligned partition at grid
    # level t_k is the original partition at the next level t_(k+1)
    for a in aligned[1:]:
        for k in (20, 35, 50, 70, 90):
            assert _same_partition(a.segmentation_at(grid[k]), tree.segmentation_at(grid[k + 1]))


def test_combination_of_gpb_scales(gpb_scales):
    combined, aligned = multiscale_hierarchy(gpb_scales)
    fine = gpb_scales[0]
    # leaves: the finest superpixels
    np.testing.assert_array_equal(combined.leaves, fine.leaves)
    assert combined.n_leaves == fine.n_leaves
    assert np.all(np.diff(combined.heights) >= 0)
    assert 0 < combined.heights[0] and combined.heights[-1] < 1
    assert len(aligned) == 3 and aligned[0] is fine
    # no calibration: heights are mean strengths of the weighted sum, within [0, max]
    raw, _ = multiscale_hierarchy(gpb_scales, calibrate=False)
    np.testing.assert_array_equal(raw.merges, combined.merges)
    np.testing.assert_allclose(sigmoid_calibration(raw.heights), combined.heights, rtol=1e-12)
    # mapping input sorted by decreasing scale; weights by scale
    by_scale = {0.5: gpb_scales[2], 2: gpb_scales[0], 1: gpb_scales[1]}
    comb2, al2 = multiscale_hierarchy(by_scale, weights={2: 1, 1: 1, 0.5: 1})
    assert comb2 == combined
    assert sorted(al2) == [0.5, 1, 2] and al2[2] is fine
    # weighting only the finest scale gives back the finest hierarchy (calibrated)
    only_fine, _ = multiscale_hierarchy(gpb_scales, weights=[1, 0, 0])
    np.testing.assert_array_equal(only_fine.merges, fine.merges)
    np.testing.assert_allclose(only_fine.heights, sigmoid_calibration(fine.heights), rtol=1e-12)


def test_deterministic(gpb_scales):
    a, al_a = multiscale_hierarchy(gpb_scales)
    b, al_b = multiscale_hierarchy(list(gpb_scales))
    assert a == b
    assert all(x == y for x, y in zip(al_a, al_b))


def test_no_alignment_ablation_leaves_are_intersection():
    trees = []
    for seed, thr in ((7, 0.3), (8, 0.35)):
        u = _random_tree(seed).to_ucm2()
        trees.append(MergeTree.from_ucm2(u * (u > thr)))  # coarser leaves
    combined, aligned = multiscale_hierarchy(trees, alignment="none")
    assert aligned[1] is trees[1]
    # leaves = connected pieces of the intersection of the two leaf partitions
    pair = trees[0].leaves.astype(np.int64) * 10000 + trees[1].leaves
    n_pieces = sum(ndimage.label(pair == code)[1] for code in np.unique(pair))
    assert combined.n_leaves == n_pieces > max(t.n_leaves for t in trees)
    for leaf in range(combined.n_leaves):
        assert np.unique(pair[combined.leaves == leaf]).size == 1


def test_one_region_hierarchies():
    one = MergeTree(np.zeros((6, 5), dtype=np.int32), np.zeros((0, 2), dtype=np.int32), np.zeros(0))
    combined, aligned = multiscale_hierarchy([one, one, one])
    assert combined.n_leaves == 1 and combined.n_merges == 0
    assert all(a.n_leaves == 1 for a in aligned)
    # a detailed finest scale with one-region coarser scales
    fine = _random_tree(9, shape=(6, 5))
    combined, aligned = multiscale_hierarchy([fine, one, one])
    np.testing.assert_array_equal(combined.merges, fine.merges)
    assert aligned[1].n_leaves == 1
    # a coarse hierarchy whose levels are all below the align threshold
    low = _random_tree(10, shape=(6, 5), scale=0.05)
    combined, _ = multiscale_hierarchy([low, fine])
    assert combined.n_leaves == low.n_leaves


def test_sigmoid_calibration_values():
    out = sigmoid_calibration(np.array([0.0, 0.35, 1.0]), 0.35, 8.0)
    np.testing.assert_allclose(out, [0.0, 0.5, 1 / (1 + np.exp(-8 * 0.65))])


def test_combine_ucm2s_weights_and_errors():
    tree = _random_tree(11)
    u = tree.to_ucm2()
    np.testing.assert_array_equal(combine_ucm2s([u, 2 * u], calibrate=False).merges, tree.merges)
    with pytest.raises(ValueError, match="weights"):
        combine_ucm2s([u, u], weights=[1, 2, 3])
    with pytest.raises(ValueError, match="shape"):
        combine_ucm2s([u, u[:-2]])
    with pytest.raises(ValueError, match="resample"):
        multiscale_hierarchy([tree, _random_tree(1, shape=(10, 10))])
    with pytest.raises(ValueError, match="alignment"):
        multiscale_hierarchy([tree, tree], alignment="bogus")
    with pytest.raises(ValueError, match="empty"):
        multiscale_hierarchy([])


def test_combine_contour_maps():
    a = np.full((10, 20), 0.2, dtype=np.float32)
    b = np.full((40, 80), 0.8, dtype=np.float32)
    edges, orient = combine_contour_maps([a, b], (20, 40), weights=[1, 3],
                                         orientations_by_scale=[np.zeros_like(a), np.ones_like(b)])
    assert edges.shape == (20, 40) and edges.dtype == np.float32
    np.testing.assert_allclose(edges, 0.25 * 0.2 + 0.75 * 0.8, rtol=1e-6)
    np.testing.assert_array_equal(orient, 1.0)  # the second scale is stronger everywhere
    e2, o2 = combine_contour_maps([a], (10, 20))
    np.testing.assert_allclose(e2, a) and o2 is None
