"""Channels and patch features of the structured edge forest, against hand-computed values."""
import numpy as np
import pytest

from contours.channels import (N_CHANNELS, compute_channels, conv_tri, gradient_histogram,
                               gradient_magnitude, rgb_to_luv)
from contours.features import (N_FEATURES, N_REG_FEATURES, N_SIM_FEATURES, extract_features,
                               feature_offsets, quantize_features)


def test_feature_counts():
    assert N_CHANNELS == 13
    assert N_REG_FEATURES == 16 * 16 * 13
    assert N_SIM_FEATURES == 300 * 13
    assert N_FEATURES == 7228


def test_extract_features_hand_computed():
    h, w = 24, 26
    ch, y, x = np.meshgrid(np.arange(13), np.arange(h), np.arange(w), indexing="ij")
    reg = (ch * 1000 + y * 100 + x * 1.0).astype(np.float32)
    sim = (ch * 10000 + y * 7 + x * 3.0).astype(np.float32)
    rows, cols = np.array([2, 0]), np.array([3, 10])
    feats = extract_features(reg, sim, rows, cols)
    assert feats.shape == (2, 7228) and feats.dtype == np.float32
    # regular feature f = ch * 256 + i * 16 + j -> reg[ch, r + i, c + j]
    f = 5 * 256 + 4 * 16 + 7
    assert feats[0, f] == 5 * 1000 + (2 + 4) * 100 + (3 + 7)
    assert feats[1, 0] == 0 * 1000 + 0 * 100 + 10
    # self-similarity: channel 0, cell pair (0, 1): cells at (1, 1) and (1, 4)
    assert feats[0, N_REG_FEATURES] == pytest.approx((1 * 7 + 1 * 3) - (1 * 7 + 4 * 3))
    # channel 2, pair (0, 24) is pair number 23: cells (1, 1) and (14, 14)
    assert feats[0, N_REG_FEATURES + 2 * 300 + 23] == pytest.approx((7 + 3) - (14 * 7 + 14 * 3))
    # pair (5, 6): cells (4, 1) and (4, 4) -> pair index: 24+23+22+21+20 + 0 = 110
    assert feats[1, N_REG_FEATURES + 110] == pytest.approx(-(3 * 3))
    sub = extract_features(reg, sim, rows, cols, fids=np.array([f, N_REG_FEATURES]))
    np.testing.assert_array_equal(sub, feats[:, [f, N_REG_FEATURES]])
    with pytest.raises(ValueError):
        extract_features(reg, sim, np.array([h - 15]), np.array([0]))


def test_feature_offsets_shapes():
    reg, a, b = feature_offsets(20, 30)
    assert reg.shape == (3328,) and a.shape == (3900,) and b.shape == (3900,)
    assert reg[1] == 1 and reg[16] == 30 and reg[256] == 600


def test_stack_offsets_give_the_extracted_features():
    from contours.channels import channel_stack
    from contours.features import stack_feature_offsets
    rgb = np.random.default_rng(5).random((48, 56, 3)).astype(np.float32)
    stack = channel_stack(rgb)
    reg, sim = compute_channels(rgb)
    np.testing.assert_array_equal(stack[:13], reg)
    np.testing.assert_array_equal(stack[13:26], sim)
    assert not stack[26].any()
    _, h, w = stack.shape
    a, b = stack_feature_offsets(h, w)
    rows, cols = np.array([0, 3, h - 16]), np.array([0, 5, w - 16])
    expected = extract_features(reg, sim, rows, cols)
    flat = stack.ravel()
    for i, (r, c) in enumerate(zip(rows, cols)):
        base = r * w + c
        np.testing.assert_array_equal(flat[a + base] - flat[b + base], expected[i])


def test_quantize_features():
    edges = np.tile(np.arange(255, dtype=np.float32), (N_FEATURES, 1))
    values = np.array([[-1.0, 0.0, 0.5, 254.0, 300.0]], np.float32)
    bins = quantize_features(values, np.arange(5, dtype=np.int64), edges)
    np.testing.assert_array_equal(bins, [[0, 1, 1, 255, 255]])


def test_conv_tri_hand_computed():
    image = np.zeros((5, 5), np.float32)
    image[2, 2] = 16.0
    out = conv_tri(image, 1)
    np.testing.assert_allclose(out[1:4, 1:4], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    assert out.sum() == pytest.approx(16.0)
    # symmetric border: a constant image stays constant
    np.testing.assert_allclose(conv_tri(np.full((3, 4), 0.7, np.float32), 4), 0.7, rtol=1e-6)


def test_luv_white_and_black():
    luv = rgb_to_luv(np.array([[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]], np.float32))
    assert luv[0, 0, 0] == pytest.approx(100.0 / 270.0, abs=2e-3)
    assert luv[0, 1, 0] == pytest.approx(0.0, abs=1e-6)
    assert luv[0, 1, 1] == pytest.approx(88.0 / 270.0, abs=1e-6)
    assert luv[0, 1, 2] == pytest.approx(134.0 / 270.0, abs=1e-6)


def test_gradient_and_histogram():
    image = np.zeros((6, 8, 1), np.float32)
    image[:, 4:] = 1.0  # vertical step: gradient along +x
    mag, ori = gradient_magnitude(image)
    assert mag[2, 3] > 0 and mag[2, 4] > 0 and mag[2, 0] == 0
    assert ori[2, 3] == pytest.approx(0.0)
    hist = gradient_histogram(mag, ori, 2)
    assert hist.shape == (3, 4, 4)
    assert hist[1, 1, 0] > 0 and hist[1, 1, 1:].sum() == 0
    chns_reg, chns_sim = compute_channels(np.full((10, 12, 3), 0.5, np.float32))
    assert chns_reg.shape == (13, 5, 6) and chns_sim.shape == (13, 5, 6)
    np.testing.assert_allclose(chns_reg[3:], 0.0)


@pytest.mark.parametrize("shape", [(6, 8), (6, 8, 1), (10, 4, 3), (4, 6, 13)])
def test_downsample2_has_the_bits_of_numpy_block_means(shape):
    from contours.channels import downsample2

    image = np.random.default_rng(len(shape) + shape[-1]).random(shape, dtype=np.float32)
    h, w = shape[:2]
    blocks = image.reshape((h // 2, 2, w // 2, 2) + shape[2:])
    expected = blocks.mean(axis=(1, 3)).astype(np.float32)  # float32 sums in numpy's order
    out = downsample2(image)
    assert out.dtype == np.float32 and out.shape == expected.shape
    assert np.array_equal(out, expected)
