"""Watershed superpixels and the oriented watershed transform (grouping/watershed.py, owt.py)."""
from __future__ import annotations

import glob

import numpy as np
import pytest
from scipy import ndimage

from conftest import shared_path
from grouping.hierarchy import MergeTree, leaves_from_ucm2
from grouping.owt import boundary_orientation_weights, gradient_orientation, oriented_watershed
from grouping.ucm import ucm_mean_pb
from grouping.watershed import regional_minima, watershed_superpixels


def _square_edges(h=40, w=50, top=10, bottom=30, left=15, right=40, noise=0.01, seed=0):
    img = np.zeros((h, w))
    img[top:bottom, left:right] = 1.0
    smooth = ndimage.gaussian_filter(img, 1.0)
    g_row = ndimage.sobel(smooth, 0)
    g_col = ndimage.sobel(smooth, 1)
    edges = np.hypot(g_row, g_col)
    edges /= edges.max()
    edges += noise * np.random.default_rng(seed).random(edges.shape)
    return edges, gradient_orientation(g_row, g_col), img


def test_watershed_regions_match_minima_and_are_4_connected():
    rng = np.random.default_rng(1)
    values = ndimage.gaussian_filter(rng.random((30, 40)), 1.5)
    labels = watershed_superpixels(values)
    markers, k = regional_minima(values)
    assert labels.min() == 0 and labels.max() == k - 1
    assert np.all(labels[markers > 0] == markers[markers > 0] - 1)
    for region in range(k):
        assert ndimage.label(labels == region)[1] == 1
    np.testing.assert_array_equal(watershed_superpixels(values), labels)  # deterministic


def test_watershed_two_basins():
    # a ridge in column 5 separates two basins
    values = np.abs(np.arange(11) - 5.0)[None, :].repeat(4, axis=0)
    values = 5.0 - values
    labels = watershed_superpixels(values)
    assert labels.max() == 1
    assert np.all(labels[:, :5] == labels[0, 0]) and np.all(labels[:, 6:] == labels[0, 10])
    assert labels[0, 0] != labels[0, 10]


def test_value_codes_order_as_the_values():
    from grouping.watershed import _value_codes
    rng = np.random.default_rng(3)
    single = np.concatenate([rng.normal(size=200).astype(np.float32), [0.0, -0.0, 1e-40, -1e-40]])
    for values in (single.astype(np.float64), rng.normal(size=300)):  # float32 path, rank path
        codes = _value_codes(values).astype(np.int64)
        np.testing.assert_array_equal(np.sign(codes[:, None] - codes[None, :]),
                                      np.sign(values[:, None] - values[None, :]))



def test_value_ranks_are_dense_ranks_of_the_codes():
    from grouping.watershed import _value_ranks
    rng = np.random.default_rng(5)
    # codes spread over all 32 bits, with repeats in the low and in the high half-words
    codes = np.concatenate([rng.integers(0, 2**32, size=500), rng.integers(0, 40, size=300),
                            (rng.integers(0, 40, size=300) << 16), [0, 2**32 - 1]])
    codes = codes.astype(np.uint32).reshape(2, -1)
    ranks, n_ranks = _value_ranks(codes)
    distinct, expected = np.unique(codes, return_inverse=True)
    assert n_ranks == distinct.size
    np.testing.assert_array_equal(ranks, expected.ravel())

def test_watershed_is_invariant_to_increasing_transforms():
    # float32-exact values use bit codes, other values ranks: both give the same partition
    rng = np.random.default_rng(4)
    values = ndimage.gaussian_filter(rng.random((40, 60)), 1.0).astype(np.float32)
    values[10:20, 10:30] = values[10, 10]  # a plateau
    labels = watershed_superpixels(values.astype(np.float64))
    np.testing.assert_array_equal(watershed_superpixels(np.exp(values.astype(np.float64)) * 0.3), labels)
    np.testing.assert_array_equal(watershed_superpixels(values.astype(np.float64) - 0.5), labels)


def test_flat_map_gives_one_region_and_empty_hierarchy():
    owt2, sp = oriented_watershed(np.zeros((12, 17)), np.zeros((12, 17)))
    assert sp.shape == (12, 17) and sp.max() == 0
    np.testing.assert_array_equal(owt2, np.zeros((25, 35)))
    tree = ucm_mean_pb(owt2, sp)
    assert tree.n_leaves == 1 and tree.n_merges == 0


def test_orientation_weights_on_a_straight_vertical_boundary():
    sp = np.zeros((20, 10), dtype=np.int32)
    sp[:, 5:] = 1
    # the boundary runs along the rows (vertical): normal along the columns = theta 0
    for theta, expected in [(0.0, 1.0), (np.pi / 2, 0.0), (np.pi / 4, np.sqrt(0.5))]:
        weight, active = boundary_orientation_weights(sp, np.full(sp.shape, theta))
        assert active.sum() == 20
        np.testing.assert_allclose(weight[active], expected, atol=1e-12)
        assert np.all(weight[~active] == 0)


def test_orientation_weights_split_a_corner():
    # an L-shaped boundary: a horizontal and a vertical piece meeting at a corner
    sp = np.zeros((30, 30), dtype=np.int32)
    sp[10:, 10:] = 1
    theta = np.zeros(sp.shape)
    theta[:, :] = np.pi / 2  # normal along the rows: right for the horizontal piece
    weight, active = boundary_orientation_weights(sp, theta)
    horizontal = active.copy()
    horizontal[:, :] = False
    horizontal[20, 21::2] = active[20, 21::2]  # elements between rows 9 and 10
    vertical = np.zeros_like(active)
    vertical[21::2, 20] = active[21::2, 20]  # elements between columns 9 and 10
    assert horizontal.sum() == 20 and vertical.sum() == 20
    np.testing.assert_allclose(weight[horizontal], 1.0, atol=1e-12)
    np.testing.assert_allclose(weight[vertical], 0.0, atol=1e-12)


def test_owt_on_synthetic_square_has_strong_arcs_on_the_square_only():
    edges, theta, img = _square_edges()
    owt2, sp = oriented_watershed(edges, theta)
    assert owt2.shape == (81, 101) and sp.shape == (40, 50)
    # strong boundary elements lie within 2 pixels of the square's outline
    box = np.ones((3, 3), dtype=bool)
    outline = ndimage.binary_dilation(img > 0, box, iterations=2) & ~ndimage.binary_erosion(
        img > 0, box, iterations=2
    )
    strong = np.argwhere(owt2 > 0.3)
    assert strong.shape[0] > 60
    for y, x in strong:
        pixels = [((y - 1) // 2, (x - 1) // 2), (y // 2, x // 2)]
        assert any(outline[min(r, 39), min(c, 49)] for r, c in pixels)
    # the 2-region partition of the hierarchy is the square vs the background
    tree = ucm_mean_pb(owt2, sp)
    two = tree.regions_at(2)
    inside = two == two[20, 27]
    iou = (inside & (img > 0)).sum() / (inside | (img > 0)).sum()
    assert iou > 0.9
    assert tree.heights[-1] > 0.5 > tree.heights[-2]


def test_owt_superpixels_are_the_zero_components_and_deterministic():
    edges, theta, _ = _square_edges(noise=0.05, seed=4)
    owt2, sp = oriented_watershed(edges, theta)
    np.testing.assert_array_equal(sp, leaves_from_ucm2(owt2))
    # every element between two different superpixels is > 0
    assert np.all(owt2[1::2, 2:-1:2][sp[:, :-1] != sp[:, 1:]] > 0)
    assert np.all(owt2[2:-1:2, 1::2][sp[:-1, :] != sp[1:, :]] > 0)
    assert np.all(owt2[1::2, 1::2] == 0)
    owt2_b, sp_b = oriented_watershed(edges.copy(), theta.copy())
    np.testing.assert_array_equal(owt2, owt2_b)
    np.testing.assert_array_equal(sp, sp_b)
    # OWT -> UCM -> tree -> UCM round trip
    tree = ucm_mean_pb(owt2, sp)
    assert MergeTree.from_ucm2(tree.to_ucm2()) == tree


def test_owt_bad_inputs():
    with pytest.raises(ValueError, match="orientation shape"):
        oriented_watershed(np.zeros((5, 5)), np.zeros((5, 6)))
    with pytest.raises(ValueError, match="NaN"):
        oriented_watershed(np.full((5, 5), np.nan), np.zeros((5, 5)))
    with pytest.raises(ValueError, match="2-D"):
        oriented_watershed(np.zeros(5), np.zeros(5))


def test_owt_ucm_on_a_bsds_image():
    from skimage import color, filters, io

    folder = shared_path("bsds500", "images", "val")
    path = sorted(glob.glob(str(folder / "*.jpg")))[0]
    gray = ndimage.gaussian_filter(color.rgb2gray(io.imread(path)), 1.0)
    g_row, g_col = filters.sobel_h(gray), filters.sobel_v(gray)
    edges = np.hypot(g_row, g_col)
    edges /= edges.max()
    owt2, sp = oriented_watershed(edges, gradient_orientation(g_row, g_col))
    tree = ucm_mean_pb(owt2, sp)
    assert tree.shape == gray.shape and tree.n_leaves > 100
    ucm2 = tree.to_ucm2()
    assert MergeTree.from_ucm2(ucm2) == tree
    assert 0 < ucm2.max() <= 1.0


def _reference_flood(values, markers):
    """Meyer's flood with a Python heap of (value, insertion count) keys, neighbours queued up,
    left, right, down; the seeds are the neighbours of the marker pixels in raster order."""
    import heapq

    h, w = values.shape
    labels = markers.copy()
    queued = labels > 0
    heap, age = [], 0

    def queue(i, j):
        nonlocal age
        for di, dj in ((-1, 0), (0, -1), (0, 1), (1, 0)):
            y, x = i + di, j + dj
            if 0 <= y < h and 0 <= x < w and not queued[y, x]:
                queued[y, x] = True
                labels[y, x] = labels[i, j]
                heapq.heappush(heap, (values[y, x], age, y, x))
                age += 1

    for i in range(h):
        for j in range(w):
            if markers[i, j]:
                queue(i, j)
    while heap:
        _, _, i, j = heapq.heappop(heap)
        queue(i, j)
    return labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_watershed_flood_order_matches_a_plain_priority_flood(seed):
    # few distinct values: many ties, broken by insertion order
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 6, size=(37, 29)).astype(np.float64)
    markers, _ = regional_minima(values)
    expected = _reference_flood(values, markers) - 1
    np.testing.assert_array_equal(watershed_superpixels(values), expected)


def test_flood_serves_pixels_queued_below_the_level_first():
    # markers that are not the regional minima: the flood queues pixels below the level it
    # serves, which must still leave first (as from a heap)
    from grouping.watershed import _flood, _value_codes, _value_ranks
    rng = np.random.default_rng(7)
    values = rng.integers(0, 9, size=(31, 23)).astype(np.float64)
    markers = np.zeros(values.shape, np.int32)
    markers[rng.integers(0, 31, size=6), rng.integers(0, 23, size=6)] = np.arange(1, 7)
    ranks, n_ranks = _value_ranks(_value_codes(values))
    np.testing.assert_array_equal(_flood(ranks, n_ranks, markers), _reference_flood(values, markers))
