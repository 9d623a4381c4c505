"""The candidate stage (grouping.ranking) and its parts: holes, Jaccard, duplicates, MMR, forest."""
from __future__ import annotations

import numpy as np
import pytest

from grouping.features import FEATURE_NAMES, candidate_sums, leaf_geometry
from grouping.hierarchy import MergeTree
from grouping.diversity import box_reduction, mmr_order, remove_duplicates
from grouping.holes import fill_holes
from grouping.ranker import RegressionForest
from grouping.ranking import candidate_stage, proposals_from_trees
from tests.test_grouping_candidates import quad_tree, random_tree


def _filled_mask(stage, i):
    return stage.filled_mask(i)


def ring_tree():
    # 0 = outside frame band, 1 = ring, 2 = centre.
    lab = np.zeros((7, 7), dtype=np.int32)
    lab[1:6, 1:6] = 1
    lab[3, 3] = 2
    return MergeTree(lab, [[1, 2], [0, 3]], [0.5, 0.9])


def test_hole_filling_on_ring():
    lab = ring_tree().leaves
    geo = leaf_geometry(lab)
    idx = np.array([1, 0, 2])
    off = np.array([0, 1, 2, 3])  # candidates {ring}, {outside}, {centre}
    hidx, hoff = fill_holes(geo, idx, off)
    assert hidx[hoff[0]:hoff[1]].tolist() == [2]  # the ring's hole is the centre
    # the band encloses ring + centre (they touch neither the frame nor outside its box)
    assert sorted(hidx[hoff[1]:hoff[2]].tolist()) == [1, 2]
    assert hoff[3] - hoff[2] == 0  # the centre has no hole


def test_leaf_sums_match_masks():
    tree = random_tree(7)
    geo = leaf_geometry(tree.leaves)
    order, begin, end = tree.leaf_ranges()
    idx = np.concatenate([order[begin[n]:end[n]] for n in range(tree.n_regions)])
    off = np.concatenate([[0], np.cumsum(end - begin)])
    area, box, perim, _ = candidate_sums(geo, idx, off)
    h, w = tree.shape
    for n in range(tree.n_regions):
        m = np.isin(tree.leaves, order[begin[n]:end[n]])
        assert area[n] == m.sum()
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        assert box[n].tolist() == [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]
        p = np.pad(m, 1)
        expected = (p[:, 1:] != p[:, :-1]).sum() + (p[1:, :] != p[:-1, :]).sum()
        assert perim[n] == expected


def test_jaccard_from_leaf_areas_equals_masks():
    trees = [random_tree(8, 9, 9, 12), random_tree(9, 9, 9, 12), ring_tree().resample((9, 9))]
    stage = candidate_stage(trees, np.full((4, 3), 40))
    n = len(stage.cset)
    rng = np.random.default_rng(0)
    masks = [_filled_mask(stage, i) for i in range(n)]
    for _ in range(400):
        i, j = rng.integers(n, size=2)
        a, b = masks[i], masks[j]
        assert stage.index.areas[i] == a.sum()
        assert stage.index.intersection(i, j) == (a & b).sum()
        assert stage.index.jaccard(i, j) == pytest.approx((a & b).sum() / (a | b).sum(), abs=1e-12)


def test_duplicates_removed_across_identical_trees():
    tree = random_tree(10)
    stage = candidate_stage([tree, tree], np.full((4, 2), 20), j_duplicate=None)
    n = len(stage.cset)
    kept = remove_duplicates(stage.index, stage.boxes, np.arange(n), 0.99999)
    masks = {_filled_mask(stage, i).tobytes() for i in range(n)}
    assert len(kept) == len(masks)
    assert np.all(stage.cset.tree[kept] == 0)  # the first of each duplicate pair is kept
    # Jaccard 0.8 against a greedy reference on masks, in a shuffled order
    order = np.random.default_rng(1).permutation(n)
    m = [_filled_mask(stage, i) for i in range(n)]
    ref = []
    for i in order:
        if all((m[i] & m[j]).sum() <= 0.8 * (m[i] | m[j]).sum() for j in ref):
            ref.append(i)
    assert remove_duplicates(stage.index, stage.boxes, order, 0.8).tolist() == ref


def _mmr_reference(masks, scores, theta, rule="mmr", gamma=2.0):
    left = list(range(len(masks)))
    max_j = np.zeros(len(masks))
    out = []
    while left:
        if rule == "mmr":
            vals = [theta * scores[k] - (1 - theta) * max_j[k] for k in left]
        else:
            vals = [scores[k] * (1 - max_j[k]) ** gamma for k in left]
        k = left.pop(int(np.argmax(vals)))
        out.append(k)
        for r in left:
            jac = (masks[k] & masks[r]).sum() / (masks[k] | masks[r]).sum()
            max_j[r] = max(max_j[r], jac)
    return out


def test_mmr_hand_made_order():
    stage = candidate_stage([quad_tree()], np.array([[7], [4], [2], [0]]))
    n = len(stage.cset)
    masks = [_filled_mask(stage, i) for i in range(n)]
    # Root (score 0.9), then a near copy of it, then small disjoint pieces.
    scores = np.linspace(0.9, 0.5, n)
    order, values = mmr_order(stage.index, stage.boxes, np.arange(n), scores, 0.7)
    assert order.tolist() == _mmr_reference(masks, scores, 0.7)
    assert np.all(np.diff(values) <= 1e-12)
    # theta = 1 is the plain score order
    order1, _ = mmr_order(stage.index, stage.boxes, np.arange(n), scores, 1.0)
    assert order1.tolist() == list(range(n))
    for gamma in (0.5, 2.0, 3.0):
        order, values = mmr_order(stage.index, stage.boxes, np.arange(n), scores, rule="decay",
                                  gamma=gamma)
        assert order.tolist() == _mmr_reference(masks, scores, None, "decay", gamma)
        assert np.all(np.diff(values) <= 1e-12)
        assert values[0] == scores[0]


def test_mmr_diversity_known_answer():
    # quad tree: candidate 0 = root, 1 = top half (node 4), 5 = leaf 0 ...
    stage = candidate_stage([quad_tree()], np.array([[7], [0], [0], [0]]))
    regs = stage.cset.regions[:, 0].tolist()
    assert regs == [6, 4, 5, 2, 3, 0, 1]
    # scores: top half 0.9, leaf 0 (inside top half) 0.85, bottom half 0.6
    cands = np.array([1, 5, 2])
    scores = np.array([0.9, 0.85, 0.6])
    order, _ = mmr_order(stage.index, stage.boxes, cands, scores, 0.7)
    # after the top half, leaf 0 has J = 0.5: 0.7*0.85-0.3*0.5 = 0.445 > 0.42 = 0.7*0.6
    assert order.tolist() == [0, 1, 2]
    order, _ = mmr_order(stage.index, stage.boxes, cands, np.array([0.9, 0.7, 0.6]), 0.7)
    # now 0.7*0.7-0.15 = 0.34 < 0.42: the disjoint bottom half goes first
    assert order.tolist() == [0, 2, 1]
    # decay: leaf 0 falls to 0.85 * (1 - 0.5)**2 = 0.2125 < 0.6, the bottom half goes first
    order, values = mmr_order(stage.index, stage.boxes, cands, scores, rule="decay", gamma=2.0)
    assert order.tolist() == [0, 2, 1]
    assert np.allclose(values, [0.9, 0.6, 0.2125])


def test_rerank_rejects_bad_arguments():
    stage = candidate_stage([quad_tree()], np.array([[7], [0], [0], [0]]))
    cands = np.array([1, 5, 2])
    with pytest.raises(ValueError, match="rule"):
        mmr_order(stage.index, stage.boxes, cands, np.ones(3), rule="nms")
    with pytest.raises(ValueError, match="non-negative"):
        mmr_order(stage.index, stage.boxes, cands, np.array([0.5, -0.1, 0.2]), rule="decay")
    with pytest.raises(ValueError, match="gamma"):
        mmr_order(stage.index, stage.boxes, cands, np.ones(3), rule="decay", gamma=0.0)


def test_box_reduction():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10.2], [0, 0, 5, 5], [20, 20, 30, 30]])
    assert box_reduction(boxes, 0.95).tolist() == [True, False, True, True]


def test_forest_matches_sklearn_and_roundtrips(tmp_path):
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, len(FEATURE_NAMES))).astype(np.float32)
    y = np.sin(x[:, 0]) + 0.1 * x[:, 3]
    skl = RandomForestRegressor(n_estimators=5, max_depth=6, random_state=0).fit(x, y)
    forest = RegressionForest.from_sklearn(skl)
    xt = rng.normal(size=(100, len(FEATURE_NAMES))).astype(np.float32)
    assert np.allclose(forest.predict(xt), skl.predict(xt), atol=1e-12)
    # bit for bit: each row's tree predictions summed in tree order, then averaged
    expected = []
    for row in xt:
        total = 0.0
        for root in forest.roots:
            node = root
            while forest.left[node] >= 0:
                below = row[forest.feature[node]] <= forest.threshold[node]
                node = forest.left[node] if below else forest.right[node]
            total += forest.value[node]
        expected.append(total / len(forest.roots))
    assert np.array_equal(forest.predict(xt), np.array(expected))
    path = forest.save(tmp_path / "rf.npz")
    again = RegressionForest.load(path)
    assert np.array_equal(again.predict(xt), forest.predict(xt))
    with pytest.raises(FileNotFoundError):
        RegressionForest.load(tmp_path / "missing.npz")


def test_proposals_pipeline_and_one_region():
    trees = [random_tree(11, 12, 12, 15), random_tree(12, 12, 12, 15)]
    props = proposals_from_trees(trees, n_cands=np.full((4, 2), 30))
    assert len(props) > 10
    assert np.all(np.diff(props.scores) <= 0)
    again = proposals_from_trees(trees, n_cands=np.full((4, 2), 30))
    assert np.array_equal(props.leaf_indices, again.leaf_indices)
    one = MergeTree(np.zeros((5, 6), dtype=np.int32), np.zeros((0, 2), dtype=np.int32), [])
    p1 = proposals_from_trees([one])
    assert len(p1) == 1 and p1.mask(0).all()


def test_stage_sums_of_filled_candidates_match_masks():
    trees = [random_tree(13, 10, 10, 14), ring_tree().resample((10, 10))]
    stage = candidate_stage(trees, np.full((4, 2), 40))
    idx, off = stage.cset.leaf_csr()
    hidx, hoff = fill_holes(stage.geometry, idx, off)
    assert np.array_equal(np.diff(hoff), np.diff(stage.hole_offsets))
    assert np.array_equal(np.sort(hidx), np.sort(stage.hole_indices))
    assert np.diff(stage.hole_offsets).sum() > 0  # the ring tree has holes
    for i in range(len(stage.cset)):
        m = stage.filled_mask(i)
        p = np.pad(m, 1)
        assert stage.areas[i] == m.sum() == stage.index.areas[i]
        assert stage.perimeters[i] == (p[:, 1:] != p[:, :-1]).sum() + (p[1:, :] != p[:-1, :]).sum()


def test_contour_sums_known_answer():
    tree = quad_tree()
    geo = leaf_geometry(tree.leaves, tree.to_ucm2())
    idx = np.array([0, 0, 1])
    off = np.array([0, 1, 3])  # {leaf 0}, {leaf 0, leaf 1}
    area, box, perim, cont = candidate_sums(geo, idx, off)
    assert area.tolist() == [4, 8]
    assert perim.tolist() == [8, 12]  # 4 frame + 4 inner elements; 8 frame + 4 inner
    # leaf 0 touches leaf 1 along 2 elements (height 1) and leaf 2 along 2 (height 3)
    assert cont.tolist() == [2 * 1.0 + 2 * 3.0, 4 * 3.0]
    pix = np.zeros((4, 4))
    pix[:, 1] = 0.5
    geo2 = leaf_geometry(tree.leaves, pix)
    _, _, _, cont2 = candidate_sums(geo2, idx, off)
    # (H, W) map: an element takes the larger of its two pixels; only column 1 is 0.5:
    # leaf 0 -> 2 elements towards leaf 1 + 1 element (column 1) towards leaf 2
    assert cont2.tolist() == [3 * 0.5, 0.5]
    with pytest.raises(ValueError, match="contour map"):
        leaf_geometry(tree.leaves, np.zeros((5, 5)))


def test_pipeline_with_forest_file_and_format_roundtrip(tmp_path):
    from sklearn.ensemble import RandomForestRegressor

    from grouping.proposal_format import load_proposals, save_proposals

    trees = [random_tree(14, 12, 12, 15), random_tree(15, 12, 12, 15)]
    stage = candidate_stage(trees, np.full((4, 2), 30))
    y = stage.features[:, 0]  # "prefer large candidates"
    skl = RandomForestRegressor(n_estimators=3, random_state=0).fit(stage.features, y)
    path = RegressionForest.from_sklearn(skl).save(tmp_path / "rf.npz")
    props = proposals_from_trees(trees, n_cands=np.full((4, 2), 30), model=path, rerank="mmr", theta=1.0)
    areas = props.areas()
    assert areas[0] == areas.max()  # theta = 1: plain forest order, largest first
    decayed = proposals_from_trees(trees, n_cands=np.full((4, 2), 30), model=path)
    assert decayed.areas()[0] == areas.max()  # the best score is always taken first
    assert np.all(np.diff(decayed.scores) <= 0)
    again = load_proposals(save_proposals(tmp_path / "p.npz", props))
    assert np.array_equal(again.masks(), props.masks())
    with pytest.raises(FileNotFoundError):
        proposals_from_trees(trees, model=tmp_path / "missing.npz")


def test_feature_columns_known_answer():
    trees = [random_tree(13, 10, 10, 14), ring_tree().resample((10, 10))]
    stage = candidate_stage(trees, np.full((4, 2), 40))
    f = stage.features
    assert f.shape == (len(stage.cset), len(FEATURE_NAMES))
    col = {name: f[:, k] for k, name in enumerate(FEATURE_NAMES)}
    # one hierarchy indicator per candidate, the one of the tree it comes from
    onehot = np.stack([col[f"hierarchy_{k}"] for k in range(4)], axis=1)
    assert np.array_equal(onehot.sum(axis=1), np.ones(len(f)))
    assert np.array_equal(np.argmax(onehot, axis=1), stage.cset.tree)
    assert set(stage.cset.tree.tolist()) == {0, 1}
    assert np.allclose(col["log_area"], np.log(stage.areas / 100.0), atol=1e-6)
    assert np.allclose(col["lifetime"], col["end_min"] - col["start_max"], atol=1e-6)


def _numpy_leaf_geometry(sp, contours):
    """LeafGeometry's arrays built with numpy (bincount, ufunc.at, unique)."""
    h, w = sp.shape
    n = int(sp.max()) + 1
    rows, cols, flat = np.repeat(np.arange(h), w), np.tile(np.arange(w), h), sp.ravel()
    box = np.array([[w, h, 0, 0]] * n, dtype=np.int64)
    np.minimum.at(box[:, 0], flat, cols)
    np.minimum.at(box[:, 1], flat, rows)
    np.maximum.at(box[:, 2], flat, cols + 1)
    np.maximum.at(box[:, 3], flat, rows + 1)
    frame = (np.bincount(sp[0], minlength=n) + np.bincount(sp[-1], minlength=n)
             + np.bincount(sp[:, 0], minlength=n) + np.bincount(sp[:, -1], minlength=n))
    sh, sv = contours[1::2, 2:-1:2], contours[2:-1:2, 1::2]
    a = np.concatenate([sp[:, :-1].ravel(), sp[:-1, :].ravel()])
    b = np.concatenate([sp[:, 1:].ravel(), sp[1:, :].ravel()])
    s = np.concatenate([sh.ravel(), sv.ravel()])
    keep = a != b
    a, b, s = a[keep], b[keep], s[keep]
    codes, inverse, counts = np.unique(np.concatenate([a, b]) * n + np.concatenate([b, a]),
                                       return_inverse=True, return_counts=True)
    sums = np.bincount(inverse.ravel(), weights=np.concatenate([s, s]), minlength=len(codes))
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(codes // n, minlength=n), out=ptr[1:])
    return (np.bincount(flat, minlength=n), box, frame, ptr, codes % n, counts, sums)


@pytest.mark.parametrize("shape", [(1, 9), (9, 1), (23, 31)])
def test_leaf_geometry_is_the_numpy_construction_bit_for_bit(shape):
    rng = np.random.default_rng(shape[0])
    sp = rng.integers(0, 7, size=shape)
    sp = np.unique(sp, return_inverse=True)[1].reshape(shape)  # labels 0..B-1, all present
    contours = rng.random((2 * shape[0] + 1, 2 * shape[1] + 1)) ** 3
    geometry = leaf_geometry(sp, contours)
    ours = (geometry.area, geometry.box, geometry.frame, geometry.adj_ptr, geometry.adj_leaf,
            geometry.adj_len, geometry.adj_contour)
    for got, want in zip(ours, _numpy_leaf_geometry(sp, contours)):
        assert np.array_equal(got, want)
    assert geometry.adj_contour.dtype == np.float64 and geometry.adj_len.dtype == np.int64
