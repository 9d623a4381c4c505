"""MergeTree: ucm2 conversions, thresholds, invariants, I/O (grouping/hierarchy.py)."""
from __future__ import annotations

import glob

import numpy as np
import pytest
import scipy.io as sio
from scipy import ndimage

from conftest import shared_path
from grouping.hierarchy import MergeTree, leaf_adjacency, leaves_from_ucm2, max_ucm2

# Hand-made 2x2 hierarchy: leaves 0 1 / 2 3; merge 0+1 at .2, 2+3 at .3, then all at .5.
LEAVES_2X2 = np.array([[0, 1], [2, 3]])
MERGES_2X2 = np.array([[0, 1], [2, 3], [4, 5]])
HEIGHTS_2X2 = np.array([0.2, 0.3, 0.5])
UCM2_2X2 = np.array(
    [
        [0.0, 0.0, 0.2, 0.0, 0.0],
        [0.0, 0.0, 0.2, 0.0, 0.0],
        [0.5, 0.5, 0.5, 0.5, 0.5],
        [0.0, 0.0, 0.3, 0.0, 0.0],
        [0.0, 0.0, 0.3, 0.0, 0.0],
    ]
)


def _gpb_files(n):
    folder = shared_path("bsds500", "gpb_ucm2", "val")
    files = sorted(glob.glob(str(folder / "*.mat")))[:n]
    if not files:
        pytest.skip(f"no .mat files in {folder}")
    return files


def _check_ultrametric(tree: MergeTree, thresholds):
    """Nested partitions and closed contours at each threshold, against the tree's ucm2."""
    ucm2 = tree.to_ucm2()
    horiz = ucm2[1::2, 2:-1:2]
    vert = ucm2[2:-1:2, 1::2]
    previous = None
    for t in sorted(thresholds):
        seg = tree.segmentation_at(t)
        # closed contours: element > t  <=>  the two pixels are in different regions
        np.testing.assert_array_equal(horiz > t, seg[:, :-1] != seg[:, 1:])
        np.testing.assert_array_equal(vert > t, seg[:-1, :] != seg[1:, :])
        # regions are the connected components of ucm2 <= t
        free = ucm2 <= t
        free[0::2, 0::2] = False
        free[1::2, 1::2] = True
        n_cc = ndimage.label(free)[1]
        assert n_cc == seg.max() + 1
        if previous is not None:  # nested: every old region inside one new region
            pairs = np.unique(previous.astype(np.int64) * (seg.max() + 1) + seg)
            assert pairs.size == previous.max() + 1
        previous = seg


def test_hand_made_2x2_to_ucm2_and_back():
    tree = MergeTree(LEAVES_2X2, MERGES_2X2, HEIGHTS_2X2)
    np.testing.assert_array_equal(tree.to_ucm2(), UCM2_2X2)
    np.testing.assert_array_equal(tree.to_ucm(), UCM2_2X2[2::2, 2::2])
    back = MergeTree.from_ucm2(UCM2_2X2)
    assert back == tree
    assert tree.n_leaves == 4 and tree.n_merges == 3 and tree.n_regions == 7


def test_hand_made_2x2_thresholds():
    tree = MergeTree(LEAVES_2X2, MERGES_2X2, HEIGHTS_2X2)
    np.testing.assert_array_equal(tree.segmentation_at(0.0), [[0, 1], [2, 3]])
    # regions at .25: node 2, node 3, node 4 (= leaves 0+1), labelled in id order
    np.testing.assert_array_equal(tree.segmentation_at(0.25), [[2, 2], [0, 1]])
    np.testing.assert_array_equal(tree.segmentation_at(0.3), [[0, 0], [1, 1]])
    np.testing.assert_array_equal(tree.segmentation_at(0.5), [[0, 0], [0, 0]])
    np.testing.assert_array_equal(tree.node_ids_at(0.3), [4, 4, 5, 5])
    for k in range(1, 5):
        assert tree.regions_at(k).max() + 1 == k
    np.testing.assert_array_equal(tree.start_ths, [0, 0, 0, 0, 0.2, 0.3, 0.5])
    np.testing.assert_array_equal(tree.end_ths, [0.2, 0.2, 0.3, 0.3, 0.5, 0.5, np.inf])
    np.testing.assert_array_equal(tree.parents, [4, 4, 5, 5, 6, 6, -1])
    assert [list(s) for s in tree.leaf_sets()][4:] == [[0, 1], [2, 3], [0, 1, 2, 3]]
    np.testing.assert_array_equal(tree.region_areas(), [1, 1, 1, 1, 2, 2, 4])
    np.testing.assert_array_equal(
        tree.leaf_pair_heights([0, 0, 1, 2, 3], [1, 3, 2, 3, 3]), [0.2, 0.5, 0.5, 0.3, 0.0]
    )


def test_hand_made_3x3_chain_from_ucm2():
    # three vertical stripes: a | b | c; a-b boundary at .7, b-c at .4
    ucm2 = np.zeros((7, 7))
    ucm2[1:6, 2] = 0.7
    ucm2[1:6, 4] = 0.4
    ucm2[0, 2] = ucm2[6, 2] = 0.7
    ucm2[0, 4] = ucm2[6, 4] = 0.4
    tree = MergeTree.from_ucm2(ucm2)
    np.testing.assert_array_equal(tree.leaves, [[0, 1, 2]] * 3)
    np.testing.assert_array_equal(tree.merges, [[1, 2], [0, 3]])
    np.testing.assert_array_equal(tree.heights, [0.4, 0.7])
    np.testing.assert_array_equal(tree.to_ucm2(), ucm2)


def test_nonbinary_merges_collapse_ties():
    # four vertical stripes a|b|c|d: a-b at .2, then b-c and c-d both at .6
    ucm2 = np.zeros((5, 9))
    for col, value in [(2, 0.2), (4, 0.6), (6, 0.6)]:
        ucm2[:, col] = value
    tree = MergeTree.from_ucm2(ucm2)
    np.testing.assert_array_equal(tree.merges, [[0, 1], [2, 4], [3, 5]])
    np.testing.assert_array_equal(tree.start_ths[5], tree.end_ths[5])  # zero lifetime
    nodes, heights, ptr, children = tree.nonbinary_merges()
    np.testing.assert_array_equal(nodes, [4, 6])
    np.testing.assert_array_equal(heights, [0.2, 0.6])
    np.testing.assert_array_equal(ptr, [0, 2, 5])
    np.testing.assert_array_equal(children, [0, 1, 2, 3, 4])


def test_flat_image_gives_one_region():
    tree = MergeTree.from_ucm2(np.zeros((9, 13)))
    assert tree.n_leaves == 1 and tree.n_merges == 0
    np.testing.assert_array_equal(tree.leaves, np.zeros((4, 6)))
    np.testing.assert_array_equal(tree.to_ucm2(), np.zeros((9, 13)))
    np.testing.assert_array_equal(tree.segmentation_at(0.5), np.zeros((4, 6)))
    np.testing.assert_array_equal(tree.regions_at(1), np.zeros((4, 6)))
    np.testing.assert_array_equal(tree.end_ths, [np.inf])
    assert tree.resample((7, 3)).n_leaves == 1


def _component_labels(values):
    """Labels 0..L-1 of the 4-connected components of equal values (numbered value by value)."""
    comp = np.zeros_like(values)
    n = 0
    for value in np.unique(values):
        lab, k = ndimage.label(values == value)
        comp[lab > 0] = lab[lab > 0] + n - 1
        n += k
    return comp


def test_random_trees_roundtrip_and_invariants():
    rng = np.random.default_rng(3)
    for trial in range(5):
        # random 4-connected leaves: components of a random coarse label image
        comp = _component_labels(ndimage.zoom(rng.integers(0, 4, size=(9, 11)), 2, order=0))
        n = int(comp.max()) + 1
        # renumber in raster order of first pixel, as from_ucm2 does
        _, first = np.unique(comp.ravel(), return_index=True)
        order = np.argsort(first)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        leaves = rank[comp]
        u, v = leaf_adjacency(leaves)
        w = rng.permutation(u.size) + 1.0  # distinct weights -> no ties
        tree = MergeTree.from_leaf_graph(leaves, u, v, w / w.max())
        assert tree.n_merges == tree.n_leaves - 1
        assert np.all(np.diff(tree.heights) >= 0)
        back = MergeTree.from_ucm2(tree.to_ucm2())
        assert back == tree
        _check_ultrametric(tree, np.concatenate([[0.0], tree.heights, tree.heights - 1e-9]))
        # each merge reduces the number of regions by one
        for k in range(tree.n_merges + 1):
            assert tree.regions_at(tree.n_leaves - k).max() + 1 == tree.n_leaves - k
        for i, h in enumerate(tree.heights):
            assert tree.segmentation_at(h).max() + 1 == tree.n_leaves - (i + 1)


def test_leaf_ranges_are_contiguous_region_members():
    rng = np.random.default_rng(11)
    leaves = np.arange(30).reshape(5, 6)
    u, v = leaf_adjacency(leaves)
    tree = MergeTree.from_leaf_graph(leaves, u, v, rng.random(u.size))
    order, begin, end = tree.leaf_ranges()
    assert sorted(order) == list(range(30))
    members = [{i} for i in range(30)]
    for a, b in tree.merges:
        members.append(members[a] | members[b])
    for node in range(tree.n_regions):
        assert set(order[begin[node]:end[node]]) == members[node]
    np.testing.assert_array_equal(tree.region_areas(), [len(m) for m in members])


def test_lca_heights_against_leaf_sets():
    tree = MergeTree(LEAVES_2X2, MERGES_2X2, HEIGHTS_2X2)
    sets = tree.leaf_sets()
    heights = tree.node_heights
    for a in range(4):
        for b in range(4):
            containing = [n for n, s in enumerate(sets) if a in s and b in s]
            expected = min(heights[n] for n in containing)
            assert tree.leaf_pair_heights([a], [b])[0] == expected


def test_published_gpb_ucm2_roundtrip_exact():
    for path in _gpb_files(3):
        ucm2 = sio.loadmat(path)["ucm2"]
        tree = MergeTree.from_ucm2(ucm2)
        assert tree.to_ucm2().dtype == np.float64
        np.testing.assert_array_equal(tree.to_ucm2(), ucm2)
        assert MergeTree.from_ucm2(tree.to_ucm2()) == tree
        assert tree.n_leaves == int(leaves_from_ucm2(ucm2).max()) + 1
        assert np.all(tree.heights > 0)


def test_published_gpb_ucm2_is_ultrametric():
    ucm2 = sio.loadmat(_gpb_files(1)[0])["ucm2"]
    tree = MergeTree.from_ucm2(ucm2)
    levels = np.unique(tree.heights)
    picks = levels[np.linspace(0, levels.size - 1, 12).astype(int)]
    _check_ultrametric(tree, np.concatenate([[0.0], picks, picks - 1e-12]))


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (6, 1), (9, 13), (40, 31)])
def test_leaves_are_the_components_through_zero_elements(shape):
    # reference: 4-connected components of the double grid with the pixels and the zero
    # elements free, numbered in raster order (as scipy.ndimage.label numbers them); the
    # frame joins no two pixels and is left out, so the first cell of a component is a pixel
    rng = np.random.default_rng(sum(shape))
    h, w = shape
    ucm2 = rng.random((2 * h + 1, 2 * w + 1))
    ucm2[rng.random(ucm2.shape) < 0.7] = 0.0
    free = ucm2 == 0
    free[1::2, 1::2] = True
    free[0::2, 0::2] = False
    free[[0, -1], :] = False
    free[:, [0, -1]] = False
    reference = ndimage.label(free)[0][1::2, 1::2] - 1
    leaves = leaves_from_ucm2(ucm2)
    assert leaves.dtype == np.int32
    np.testing.assert_array_equal(leaves, reference)


def test_leaves_reject_a_map_that_is_not_double_size():
    with pytest.raises(ValueError, match="2H\\+1"):
        leaves_from_ucm2(np.zeros((4, 5)))


def test_save_load_roundtrip(tmp_path):
    tree = MergeTree(LEAVES_2X2, MERGES_2X2, HEIGHTS_2X2)
    path = tmp_path / "tree.npz"
    tree.save(path)
    loaded = MergeTree.load(path)
    assert loaded == tree
    with pytest.raises(FileNotFoundError, match="not found"):
        MergeTree.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "bad.npz", leaves=LEAVES_2X2)
    with pytest.raises(ValueError, match="missing"):
        MergeTree.load(tmp_path / "bad.npz")


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="more than once"):
        MergeTree(LEAVES_2X2, [[0, 1], [0, 2], [4, 5]], HEIGHTS_2X2)
    with pytest.raises(ValueError, match="non-decreasing"):
        MergeTree(LEAVES_2X2, MERGES_2X2, [0.3, 0.2, 0.5])
    with pytest.raises(ValueError, match="needs 3 merges"):
        MergeTree(LEAVES_2X2, MERGES_2X2[:2], HEIGHTS_2X2[:2])
    with pytest.raises(ValueError, match="missing"):
        MergeTree([[0, 2]], [[0, 2]], [0.1])
    with pytest.raises(ValueError, match="existing regions"):
        MergeTree(LEAVES_2X2, [[0, 5], [2, 3], [4, 1]], HEIGHTS_2X2)
    with pytest.raises(ValueError, match="odd sides"):
        MergeTree.from_ucm2(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="NaN"):
        MergeTree.from_ucm2(np.full((3, 3), np.nan))
    tree = MergeTree(LEAVES_2X2, MERGES_2X2, HEIGHTS_2X2)
    with pytest.raises(ValueError, match="k must be"):
        tree.regions_at(0)
    with pytest.raises(ValueError, match="shape"):
        tree.resample((0, 3))


def test_open_contour_rejected_unless_not_strict():
    ucm2 = np.zeros((7, 7))
    ucm2[1:4, 2] = 0.5  # a dangling contour: does not separate anything
    ucm2[0, 2] = ucm2[2, 2] = ucm2[4, 2] = 0.5
    with pytest.raises(ValueError, match="not a valid ucm2"):
        MergeTree.from_ucm2(ucm2)
    tree = MergeTree.from_ucm2(ucm2, strict=False)
    assert tree.n_leaves == 1
    bad_vertex = UCM2_2X2.copy()
    bad_vertex[2, 2] = 0.7
    with pytest.raises(ValueError, match="not a valid ucm2"):
        MergeTree.from_ucm2(bad_vertex)
    # non-strict reading = connected components of ucm2 <= t (single linkage)
    loose = MergeTree.from_ucm2(bad_vertex, strict=False)
    assert loose == MergeTree(LEAVES_2X2, MERGES_2X2, HEIGHTS_2X2)


def leaf_graph_reference(ucm2):
    """Each pair of 4-adjacent leaves with the smallest element between them, by numpy."""
    leaves = leaves_from_ucm2(ucm2)
    a = np.concatenate([leaves[:, :-1].ravel(), leaves[:-1, :].ravel()]).astype(np.int64)
    b = np.concatenate([leaves[:, 1:].ravel(), leaves[1:, :].ravel()]).astype(np.int64)
    w = np.concatenate([ucm2[1::2, 2:-1:2].ravel(), ucm2[2:-1:2, 1::2].ravel()])
    cross = a != b
    pairs = {}
    for lo, hi, weight in zip(np.minimum(a, b)[cross], np.maximum(a, b)[cross], w[cross]):
        pairs[(lo, hi)] = min(pairs.get((lo, hi), np.inf), weight)
    return pairs, int(np.sum(w[~cross] > 0))


@pytest.mark.parametrize("seed", range(4))
def test_leaf_pair_minima_match_the_adjacency_of_the_leaves(seed):
    from grouping.hierarchy import _elements_inside, _leaf_pair_minima

    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 30, size=2)
    ucm2 = rng.random((2 * h + 1, 2 * w + 1)) * (rng.random((2 * h + 1, 2 * w + 1)) < 0.4)
    lo, hi, weight = _leaf_pair_minima(leaves_from_ucm2(ucm2), ucm2)
    n_inside = _elements_inside(leaves_from_ucm2(ucm2), ucm2)
    reference, reference_inside = leaf_graph_reference(ucm2)
    assert np.all(lo < hi) and len(set(zip(lo.tolist(), hi.tolist()))) == lo.size
    assert dict(zip(zip(lo.tolist(), hi.tolist()), weight.tolist())) == reference
    assert n_inside == reference_inside
    # and the tree read from the map is the single-linkage tree of that graph
    tree = MergeTree.from_ucm2(ucm2, strict=False)
    if reference:
        u, v = np.array(list(reference)).T
        expected = MergeTree.from_leaf_graph(tree.leaves, u, v, list(reference.values()))
        assert np.array_equal(tree.merges, expected.merges)
        assert np.array_equal(tree.heights, expected.heights)


def test_max_ucm2_is_the_maximum_of_the_trees_maps():
    rng = np.random.default_rng(11)
    trees = []
    for _ in range(3):
        leaves = _component_labels(rng.integers(0, 5, size=(12, 15)))
        u, v = leaf_adjacency(leaves)
        trees.append(MergeTree.from_leaf_graph(leaves, u, v, rng.random(u.size)))
    trees.append(MergeTree(np.zeros((12, 15), np.int32), np.zeros((0, 2), np.int32), np.zeros(0)))
    expected = np.maximum.reduce([tree.to_ucm2() for tree in trees])
    assert np.array_equal(max_ucm2(trees), expected)
    assert np.array_equal(max_ucm2(trees[:1]), trees[0].to_ucm2())
    with pytest.raises(ValueError, match="one shape"):
        max_ucm2([trees[0], MergeTree(np.zeros((3, 3), np.int32), np.zeros((0, 2), np.int32),
                                      np.zeros(0))])
