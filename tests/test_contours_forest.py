"""Training a tiny forest on synthetic images, model round trip, NMS and input checks."""
import numpy as np
import pytest

from contours.detect import as_rgb_float, detect_edges
from contours.forest import EdgeForest
from contours.nms import edge_nms, edge_orientation
from contours.train import (TrainingImage, clean_segments, merge_trees, quantization_edges,
                            train_tree)

TINY_OPTS = dict(n_trees=2, n_pos=1500, n_neg=1500, frac_features=0.25, min_child=8,
                 max_depth=64, n_pairs=256, max_pca=4096, edge_samples_per_image=100,
                 min_segment=5)


def synthetic_image(seed: int, size: int = 72):
    """Random axis-aligned rectangles and discs of flat colours with their segmentation."""
    rng = np.random.default_rng(seed)
    seg = np.zeros((size, size), np.int32)
    yy, xx = np.mgrid[:size, :size]
    for label in range(1, 5):
        if rng.random() < 0.5:
            cy, cx, r = rng.integers(10, size - 10, 2).tolist() + [int(rng.integers(6, 20))]
            seg[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = label
        else:
            y0, x0 = rng.integers(0, size - 20, 2)
            seg[y0:y0 + rng.integers(10, 30), x0:x0 + rng.integers(10, 30)] = label
    colours = rng.random((5, 3)).astype(np.float32)
    rgb = colours[seg] + rng.normal(0, 0.02, (size, size, 3)).astype(np.float32)
    bnd = np.zeros_like(seg, dtype=np.uint8)
    bnd[:, :-1] |= seg[:, :-1] != seg[:, 1:]
    bnd[:-1, :] |= seg[:-1, :] != seg[1:, :]
    return np.clip(rgb, 0, 1), seg + 1, bnd


@pytest.fixture(scope="module")
def tiny_forest():
    images = []
    for seed in range(6):
        rgb, seg, bnd = synthetic_image(seed)
        images.append(TrainingImage(rgb, [seg], [bnd]))
    edges = quantization_edges(images, 100, np.random.default_rng(0))
    trees = [train_tree(images, t, 0, edges, TINY_OPTS, log=lambda m: None) for t in range(2)]
    return merge_trees(trees, {"seed": 0}), images, edges


def test_tiny_training_detects_synthetic_boundaries(tiny_forest):
    forest, _, _ = tiny_forest
    assert forest.n_trees == 2 and len(forest.leaf_segs) > 10
    rgb, seg, bnd = synthetic_image(100)
    edges, orientation = detect_edges(rgb, forest, nms=False)
    assert edges.shape == seg.shape and edges.dtype == np.float32
    assert 0.0 <= edges.min() and edges.max() <= 1.0
    near = np.zeros_like(bnd, bool)
    from scipy import ndimage
    near = ndimage.binary_dilation(bnd > 0, iterations=2)
    far = ~ndimage.binary_dilation(bnd > 0, iterations=6)
    assert edges[near].mean() > 3 * edges[far].mean()


def test_training_is_reproducible(tiny_forest):
    forest, images, edges = tiny_forest
    again = train_tree(images, 1, 0, edges, TINY_OPTS, log=lambda m: None)
    second = slice(forest.roots[1], None)
    np.testing.assert_array_equal(again["fids"], forest.fids[second])
    np.testing.assert_array_equal(again["thrs"], forest.thrs[second])


def test_model_save_load_round_trip(tiny_forest, tmp_path):
    forest, _, _ = tiny_forest
    path = tmp_path / "model.npz"
    forest.save(path)
    loaded = EdgeForest.load(path)
    for name in ("fids", "thrs", "child", "roots", "leaf_index", "leaf_segs"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(forest, name))
    assert loaded.metadata["seed"] == 0 and loaded.metadata["version"] == 1
    rgb, _, _ = synthetic_image(7)
    np.testing.assert_array_equal(detect_edges(rgb, loaded)[0], detect_edges(rgb, forest)[0])
    np.testing.assert_array_equal(detect_edges(rgb, str(path))[0], detect_edges(rgb, forest)[0])
    with pytest.raises(FileNotFoundError):
        EdgeForest.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "bad.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="lacks"):
        EdgeForest.load(tmp_path / "bad.npz")


def test_packed_node_table_matches_the_tree_arrays(tiny_forest, monkeypatch):
    import contours.forest as forest_module
    forest, _, _ = tiny_forest
    split = forest.child > 0
    # the packed words hold every split node's feature and threshold and every leaf's row
    words, thresholds = forest.node_words, forest.node_thresholds
    feature = words[:, 1] & ((1 << forest_module.NODE_FEATURE_BITS) - 1)
    step = words[:, 1] >> forest_module.NODE_FEATURE_BITS
    assert np.sum(step > 0) == np.sum(split) and np.sum(step == 0) == np.sum(~split)
    assert sorted(feature[step > 0].tolist()) == sorted(forest.fids[split].tolist())
    assert sorted(thresholds[step > 0, 0].tolist()) == sorted(forest.thrs[split].tolist())
    assert sorted(words[step == 0, 0].tolist()) == sorted(forest.leaf_index[~split].tolist())
    # a table too narrow for the tree is refused with a message naming the limit
    monkeypatch.setattr(forest_module, "NODE_FEATURE_BITS", 31)
    with pytest.raises(ValueError, match="too large for the packed node table"):
        EdgeForest(fids=forest.fids, thrs=forest.thrs, child=forest.child, roots=forest.roots,
                   leaf_index=forest.leaf_index, leaf_segs=forest.leaf_segs)


def test_clean_segments_merges_small_segments():
    segs = np.zeros((1, 16, 16), np.uint8)
    segs[0, :, 8:] = 3
    segs[0, 2:4, 2:4] = 7  # 4 pixels: merged into label of its surroundings
    clean_segments(segs, 5)
    assert set(np.unique(segs[0])) == {0, 1}
    assert segs[0, 2, 2] == 0 and segs[0, 0, 15] == 1


def test_nms_thins_a_ridge():
    x = np.arange(40, dtype=np.float32)
    ridge = np.exp(-0.5 * ((x - 20) / 2.0) ** 2).astype(np.float32)
    edges = np.tile(ridge, (30, 1))
    orientation = edge_orientation(edges)
    # a vertical ridge: normal along x -> orientation near 0 (or pi)
    o = orientation[15, 20]
    assert min(o, np.pi - o) < 0.1
    thin = edge_nms(edges, orientation)
    assert np.all(thin[10:20, 20] > 0.9)
    assert np.all(thin[10:20, 15:19] == 0) and np.all(thin[10:20, 22:26] == 0)
    assert np.all(thin[:, 0] == 0)  # border damping


@pytest.mark.parametrize("bad", [
    np.zeros((5, 5), np.int32),
    np.zeros((5, 5, 2), np.uint8),
    np.zeros((0, 5), np.uint8),
    np.full((4, 4), 1.5, np.float32),
    np.full((4, 4), np.nan, np.float32),
    np.zeros((2, 3, 4, 5), np.uint8),
    [[0, 1], [1, 0]],
])
def test_bad_images_rejected(bad):
    with pytest.raises(ValueError):
        as_rgb_float(bad)


def test_image_conversions():
    gray = np.full((3, 4), 128, np.uint8)
    np.testing.assert_allclose(as_rgb_float(gray), 128 / 255, rtol=1e-6)
    rgba = np.zeros((2, 2, 4), np.uint16)
    rgba[..., 3] = 65535
    out = as_rgb_float(rgba)
    assert out.shape == (2, 2, 3) and out.max() == 0


def test_bad_sharpen_and_model(tiny_forest):
    forest, _, _ = tiny_forest
    with pytest.raises(ValueError, match="sharpen"):
        detect_edges(np.zeros((8, 8), np.uint8), forest, sharpen=3)
    with pytest.raises(FileNotFoundError):
        detect_edges(np.zeros((8, 8), np.uint8), "/nonexistent/model.npz")


def test_mirror_option_adds_the_mirror_image_of_every_training_image(tmp_path):
    import cv2
    import scipy.io

    from contours.train import load_bsds_train
    rng = np.random.default_rng(2)
    (tmp_path / "images" / "train").mkdir(parents=True)
    (tmp_path / "groundTruth" / "train").mkdir(parents=True)
    bgr = (rng.random((40, 52, 3)) * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "images" / "train" / "101.jpg"), bgr)
    segmentation = np.ones((40, 52), np.uint16)
    segmentation[:, 30:] = 2
    boundaries = np.zeros((40, 52), np.uint8)
    boundaries[:, 30] = 1
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = {"Segmentation": segmentation, "Boundaries": boundaries}
    scipy.io.savemat(str(tmp_path / "groundTruth" / "train" / "101.mat"), {"groundTruth": cell})
    plain = load_bsds_train(tmp_path, log=lambda m: None)
    both = load_bsds_train(tmp_path, log=lambda m: None, mirror=True)
    assert len(plain) == 1 and len(both) == 2
    np.testing.assert_array_equal(both[0].segmentations[0], plain[0].segmentations[0])
    np.testing.assert_array_equal(both[1].segmentations[0], plain[0].segmentations[0][:, ::-1])
    # the channels of the mirror image are the mirrored channels (up to filter round-off)
    np.testing.assert_allclose(both[1].chns_reg[0], both[0].chns_reg[0][:, ::-1], atol=1e-6)
    assert len(both[1].positives[0]) == len(both[0].positives[0])


def _reference_rings(seg, n_rings):
    """Rings of one segment mask by the definition: ring 0 = nonzero central difference (edge
    pixels clamped), ring r = Chebyshev distance r from ring 0; raster order within a ring."""
    g = seg.shape[0]
    padded = np.pad(seg.astype(int), 1, mode="edge")
    ring0 = ((padded[1:-1, :-2] != padded[1:-1, 2:]) | (padded[:-2, 1:-1] != padded[2:, 1:-1]))
    if not ring0.any() or np.all(seg == seg[0, 0]):
        return [[] for _ in range(n_rings)]
    ys, xs = np.nonzero(ring0)
    yy, xx = np.mgrid[:g, :g]
    distance = np.min(np.maximum(np.abs(yy[..., None] - ys), np.abs(xx[..., None] - xs)), axis=2)
    return [list(np.flatnonzero(distance.ravel() == r)) for r in range(n_rings)]


@pytest.mark.parametrize("n_rings", [1, 2, 3, 4])
def test_boundary_rings_follow_their_definition(n_rings):
    from contours.forest import _boundary_rings
    rng = np.random.default_rng(n_rings)
    segs = np.zeros((60, 16, 16), np.uint8)
    for i in range(60):
        if i % 3 == 0:
            segs[i] = rng.integers(0, 3, (16, 16))  # noisy masks
        elif i % 3 == 1:
            segs[i, rng.integers(0, 16):, :] = 1  # straight boundaries (some uniform)
            segs[i, :, rng.integers(0, 16):] += 2
        else:
            yy, xx = np.mgrid[:16, :16]
            segs[i] = (np.hypot(yy - rng.uniform(0, 16), xx - rng.uniform(0, 16)) < 6).astype(np.uint8)
    pixels, starts = _boundary_rings(segs, n_rings)
    for i in range(60):
        expected = _reference_rings(segs[i], n_rings)
        for r in range(n_rings):
            assert list(pixels[starts[i, r]:starts[i, r + 1]]) == expected[r], (i, r)
    assert starts[-1, n_rings] == len(pixels)
