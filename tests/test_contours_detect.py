"""Edge detection with the shipped BSDS500 model: synthetic shapes, orientation, sizes, CLI."""
import numpy as np
import pytest

from contours.detect import DEFAULT_MODEL, detect_edges, load_model

pytestmark = pytest.mark.skipif(not DEFAULT_MODEL.exists(),
                                reason=f"shipped edge model missing: {DEFAULT_MODEL}")


def disc_image(size=128, radius=30.0):
    yy, xx = np.mgrid[:size, :size]
    dist = np.hypot(yy - size / 2, xx - size / 2)
    image = np.where(dist < radius, 60, 200).astype(np.uint8)
    return np.dstack([image, image, image]), dist


def test_disc_edges_on_rim_only():
    image, dist = disc_image()
    edges, _ = detect_edges(image)
    rim = np.abs(dist - 30.0) <= 3.0
    assert edges[~rim].max() < 0.1, "edge response away from the disc's rim"
    # the rim is found all around: strong response in each angular sector
    yy, xx = np.mgrid[:128, :128]
    angle = np.arctan2(yy - 64, xx - 64)
    for k in range(8):
        sector = rim & (angle >= -np.pi + k * np.pi / 4) & (angle < -np.pi + (k + 1) * np.pi / 4)
        assert edges[sector].max() > 0.3


def test_vertical_edge_orientation():
    image = np.full((64, 64), 40, np.uint8)
    image[:, 32:] = 220
    edges, orientation = detect_edges(image, nms=False)
    column = np.argmax(edges[32])
    assert abs(column - 31.5) <= 2
    o = orientation[20:44, column]
    assert np.all(np.minimum(o, np.pi - o) < 0.15), "vertical edge: normal along x -> 0 or pi"
    edges_h, orientation_h = detect_edges(image.T.copy(), nms=False)
    o = orientation_h[np.argmax(edges_h[:, 32]), 20:44]
    assert np.all(np.abs(o - np.pi / 2) < 0.15), "horizontal edge -> pi/2"


def test_deterministic_and_ranges():
    rng = np.random.default_rng(3)
    image = (rng.random((50, 70, 3)) * 255).astype(np.uint8)
    a = detect_edges(image)
    b = detect_edges(image)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    for edges, orientation in (a, detect_edges(image, multiscale=True, sharpen=0)):
        assert edges.dtype == np.float32 and orientation.dtype == np.float32
        assert edges.min() >= 0 and edges.max() <= 1
        assert orientation.min() >= 0 and orientation.max() < np.pi


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (2000, 30), (7, 9, 3), (5, 6, 4)])
def test_odd_sizes(shape):
    rng = np.random.default_rng(0)
    image = rng.random(shape).astype(np.float32)
    edges, orientation = detect_edges(image)
    assert edges.shape == shape[:2] and orientation.shape == shape[:2]
    assert np.all(np.isfinite(edges)) and edges.min() >= 0 and edges.max() <= 1


def test_model_metadata():
    meta = load_model().metadata
    assert meta["format"] == "mcg-structured-edge-forest" and meta["version"] == 1
    assert "command" in meta and "seed" in meta and meta["training_wall_time_s"] > 0
    assert load_model() is load_model()


def test_cli_writes_png_and_names_bad_image(tmp_path):
    import cv2
    from mcg.cli import main

    image, _ = disc_image(64, 15)
    cv2.imwrite(str(tmp_path / "disc.png"), image)
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "out"
    assert main(["edges", str(tmp_path / "disc.png"), "-o", str(out), "--npy"]) == 0
    png = cv2.imread(str(out / "disc.png"), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint8 and png.shape == (64, 64) and png.max() > 50
    assert np.load(out / "disc.npy").shape == (64, 64)
    # a broken image is named and fails the run (exit 1), the other images are still written
    out2 = tmp_path / "out2"
    assert main(["edges", str(tmp_path / "broken.jpg"), str(tmp_path / "disc.png"), "-o", str(out2)]) == 1
    assert (out2 / "disc.png").is_file()
    assert main(["edges", str(tmp_path / "missing.jpg"), "-o", str(out)]) == 2


@pytest.mark.parametrize("sharpen", [1, 2])
@pytest.mark.parametrize("levels", [256, 2])
def test_two_segment_sharpening_equals_the_general_loop(sharpen, levels):
    # The bit-row path of two-segment leaves must give exactly what the general per-pixel
    # loop gives: relabel segment 1 of those leaves as 2 (3 "segments", one empty) to send
    # them down the general loop, and compare the accumulated edge counts. A posterized image
    # makes exact colour-distance ties, which must go to the left neighbour's segment.
    from skimage import data

    from contours.channels import channel_stack, conv_tri
    from contours.detect import (LABEL_SIZE, PATCH_SIZE, STRIDE, _accumulate_sharpen,
                                 _apply_forest, as_rgb_float)
    from contours.features import stack_feature_offsets

    forest = load_model()
    crop = data.astronaut()[100:260, 150:330]
    rgb = as_rgb_float((crop // (256 // levels)) * (255 // (levels - 1)))  # 2 levels: exact ties
    padded = np.pad(rgb, ((16, 16), (16, 16), (0, 0)), mode="symmetric")
    stack = channel_stack(padded)
    _, chn_h, chn_w = stack.shape
    h1 = (padded.shape[0] - PATCH_SIZE + STRIDE - 1) // STRIDE
    w1 = (padded.shape[1] - PATCH_SIZE + STRIDE - 1) // STRIDE
    leaves = _apply_forest(stack.ravel(), *stack_feature_offsets(chn_h, chn_w), chn_w, h1, w1,
                           forest.node_words, forest.node_thresholds, forest.table_roots, 4)
    used, compact = np.unique(leaves, return_inverse=True)
    compact = compact.reshape(leaves.shape).astype(np.int32)
    nsegs = forest.leaf_nsegs[used]
    assert np.sum(nsegs[compact] == 2) > 1000, "the crop should exercise two-segment leaves"
    segs = forest.leaf_segs[used]
    general_segs = np.where((nsegs == 2)[:, None, None] & (segs == 1), 2, segs).astype(np.uint8)
    general_nsegs = np.where(nsegs == 2, 3, nsegs).astype(np.int32)
    smooth = conv_tri(padded, 1)
    offset = (PATCH_SIZE - LABEL_SIZE) // 2
    common = (forest.ring_pixels, forest.ring_starts[used])
    fast = _accumulate_sharpen(compact, *common, segs, nsegs, forest.leaf_rows[used], smooth,
                               STRIDE, offset, sharpen)
    general = _accumulate_sharpen(compact, *common, general_segs, general_nsegs,
                                  forest.leaf_rows[used], smooth, STRIDE, offset, sharpen)
    assert fast.sum() > 0
    np.testing.assert_array_equal(fast, general)


def test_row_bands_cover_the_rows_and_start_on_even_rows():
    from contours.detect import _row_bands

    assert _row_bands(100, 1) == [(0, 100)]
    assert _row_bands(3, 4) == [(0, 3)]
    for n_rows in (4, 5, 17, 120, 241):
        for threads in (2, 3, 4, 7):
            bands = _row_bands(n_rows, threads)
            assert len(bands) <= threads
            assert bands[0][0] == 0 and bands[-1][1] == n_rows
            assert all(stop == start for (_, stop), (start, _) in zip(bands, bands[1:]))
            assert all(start % 2 == 0 and stop > start for start, stop in bands)


@pytest.mark.parametrize("sharpen,multiscale", [(2, False), (1, False), (0, False), (0, True)])
def test_edges_in_bands_of_rows_equal_one_thread(sharpen, multiscale):
    """threads=N splits the forest and the accumulation by rows: the same bits for any N."""
    from skimage.data import astronaut

    image = astronaut()[::2, ::3][:203, :150]  # odd sizes: uneven bands
    reference = detect_edges(image, sharpen=sharpen, multiscale=multiscale, nms=False)
    for threads in (2, 3, 5):
        banded = detect_edges(image, sharpen=sharpen, multiscale=multiscale, nms=False,
                              threads=threads)
        np.testing.assert_array_equal(banded[0], reference[0])
        np.testing.assert_array_equal(banded[1], reference[1])
    with pytest.raises(ValueError, match="threads must be a whole number"):
        detect_edges(image, threads=0)


@pytest.mark.parametrize("shape", [(2, 2), (2, 9), (9, 2), (37, 52)])
def test_edge_orientation_is_the_numpy_gradient_formula_bit_for_bit(shape):
    from contours.channels import conv_tri
    from contours.nms import edge_orientation

    edges = np.random.default_rng(shape[1]).random(shape).astype(np.float32) ** 3
    smoothed = conv_tri(edges, 4).astype(np.float64)
    oy, ox = np.gradient(smoothed)
    oxx, oxy, oyy = np.gradient(ox, axis=1), np.gradient(oy, axis=1), np.gradient(oy, axis=0)
    expected = np.mod(np.arctan(oyy * np.sign(-oxy) / (oxx + 1e-5)), np.pi).astype(np.float32)
    expected[expected >= np.float32(np.pi)] = 0.0
    assert np.array_equal(edge_orientation(edges).view(np.int32), expected.view(np.int32))
