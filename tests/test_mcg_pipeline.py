"""End-to-end hierarchy pipeline (mcg.pipeline.im2ucm) and the ``mcg ucm`` command."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from mcg.cli import main
from mcg.pipeline import DEFAULT_EDGES, _shipped_calibration, im2ucm


def _disc_image(height=64, width=80, radius=18):
    rows, cols = np.mgrid[:height, :width]
    disc = (rows - height / 2) ** 2 + (cols - width / 2) ** 2 <= radius**2
    image = np.full((height, width, 3), (40, 90, 160), np.uint8)
    image[disc] = (230, 200, 40)
    return image, disc


def _best_iou(labels, mask):
    best = 0.0
    for label in np.unique(labels):
        region = labels == label
        best = max(best, (region & mask).sum() / (region | mask).sum())
    return best


def _assert_valid_ucm(tree):
    ucm2 = tree.to_ucm2()
    assert ucm2.shape == (2 * tree.shape[0] + 1, 2 * tree.shape[1] + 1)
    # nested partitions: every region at a higher level is a union of regions at a lower one
    levels = np.unique(tree.heights)
    previous = None
    for level in np.linspace(0, levels.max() if levels.size else 0, 6):
        labels = tree.segmentation_at(level)
        if previous is not None:
            pairs = np.unique(np.stack([previous.ravel(), labels.ravel()]), axis=1)
            assert len(np.unique(pairs[0])) == pairs.shape[1]  # each fine region in one coarse
        previous = labels


@pytest.mark.parametrize("mode", ["scg", "mcg"])
def test_disc_is_a_region_of_the_hierarchy(mode):
    image, disc = _disc_image()
    result = im2ucm(image, mode=mode, return_details=True)
    tree = result.tree
    assert tree.shape == disc.shape
    _assert_valid_ucm(tree)
    # the strongest contour of the hierarchy separates the disc from the background
    two_regions = tree.regions_at(2)
    assert _best_iou(two_regions, disc) > 0.9
    # heights are calibrated into (0, 1)
    assert 0 < tree.heights.max() <= 1
    expected_scales = {"scg": {1.0}, "mcg": {2.0, 1.0, 0.5}}[mode]
    assert set(result.scale_trees) == expected_scales
    assert all(t.shape == disc.shape for t in result.scale_trees.values())


def test_deterministic():
    image, _ = _disc_image()
    noise = np.random.default_rng(0).integers(0, 30, image.shape, dtype=np.uint8)
    noisy = image + noise
    assert im2ucm(noisy) == im2ucm(noisy)


@pytest.mark.parametrize("shape", [(1, 1, 3), (10, 12, 3), (3, 200, 3)])
def test_tiny_images_give_one_region(shape):
    tree = im2ucm(np.zeros(shape, np.uint8))
    assert tree.shape == shape[:2]
    assert tree.n_leaves == 1
    assert not tree.to_ucm2().any()


def test_flat_image_gives_one_region():
    tree = im2ucm(np.full((40, 50, 3), 128, np.uint8))
    assert tree.shape == (40, 50)
    assert np.unique(tree.segmentation_at(0.05)).size == 1


def test_input_forms_agree():
    image, _ = _disc_image()
    as_float = image.astype(np.float64) / 255.0
    assert im2ucm(as_float) == im2ucm(image)
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=2)
    assert im2ucm(rgba) == im2ucm(image)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((4, 4, 4, 3), np.uint8), "shape"),
        (np.full((20, 20, 3), 2.0), r"\[0, 1\]"),
        (np.zeros((0, 5, 3), np.uint8), "empty"),
        (np.zeros((20, 20, 3), np.int64), "dtype"),
    ],
)
def test_bad_images_are_rejected(bad, message):
    with pytest.raises(ValueError, match=message):
        im2ucm(bad)


def test_bad_mode_and_pixel_limit():
    image, _ = _disc_image()
    with pytest.raises(ValueError, match="mode"):
        im2ucm(image, mode="fast")
    with pytest.raises(ValueError, match="max_pixels"):
        im2ucm(image, mode="mcg", max_pixels=100)


def test_ucm_command_writes_bsds_mat(tmp_path):
    import cv2

    image, disc = _disc_image()
    image_path = tmp_path / "disc.png"
    cv2.imwrite(str(image_path), image[:, :, ::-1])
    bad_path = tmp_path / "broken.jpg"
    bad_path.write_bytes(b"not an image")
    out = tmp_path / "out"
    assert main(["ucm", str(image_path), "-o", str(out)]) == 0
    ucm2 = scipy.io.loadmat(out / "disc.mat")["ucm2"]
    assert ucm2.shape == (2 * disc.shape[0] + 1, 2 * disc.shape[1] + 1)
    np.testing.assert_allclose(ucm2, im2ucm(image).to_ucm2())
    # a broken image is named and the others still produce output
    assert main(["ucm", str(bad_path), str(image_path), "-o", str(tmp_path / "o2"),
                 "--format", "png"]) == 1
    assert (tmp_path / "o2" / "disc.png").is_file()
    assert main(["ucm", str(tmp_path / "missing.jpg"), "-o", str(out)]) == 2


def _textured_disc():
    image, disc = _disc_image(72, 96, 22)
    noise = np.random.default_rng(3).integers(0, 40, image.shape, dtype=np.uint8)
    return image + noise, disc


def test_edge_presets_set_the_contours_of_each_scale():
    from contours import detect_edges
    from mcg.pipeline import EDGE_PRESETS, tree_from_contours
    from mcg.proposals import PROPOSAL_EDGES

    image, _ = _textured_disc()
    # scg "accurate": edges averaged over image sizes 0.5, 1, 2, unsharpened (the release)
    edges, orientation = detect_edges(image, multiscale=True, sharpen=0, nms=False)
    raw = tree_from_contours(edges, orientation)
    accurate = im2ucm(image, edges="accurate", return_details=True)
    assert accurate.scale_trees[1.0] == raw
    # scg "fast": one size, sharpened
    edges, orientation = detect_edges(image, multiscale=False, sharpen=2, nms=False)
    fast = im2ucm(image, edges="fast", return_details=True)
    assert fast.scale_trees[1.0] == tree_from_contours(edges, orientation)
    assert fast.tree != accurate.tree
    # mcg: the upsampled scale-2 image keeps one sharpened size in both presets
    assert [s.multiscale for s in EDGE_PRESETS["accurate"]["mcg"]] == [False, True, True]
    assert [s.multiscale for s in EDGE_PRESETS["fast"]["mcg"]] == [False, False, False]
    # mcg: the release's scales with accurate edges, 1.5, 0.75 and 0.5 with fast ones
    fast_mcg = im2ucm(image, mode="mcg", edges="fast", return_details=True)
    assert list(fast_mcg.scale_trees) == [1.5, 0.75, 0.5]
    assert list(im2ucm(image, mode="mcg", return_details=True).scale_trees) == [2.0, 1.0, 0.5]
    # the proposal models were trained on fast hierarchies
    assert PROPOSAL_EDGES == "fast"
    with pytest.raises(ValueError, match="edges must be one of"):
        im2ucm(image, edges="best")


def test_dncuts_bound_per_preset_and_mode(monkeypatch):
    """fast MCG globalizes every scale with its smaller bound (a third DNCuts level at scale 1.5
    of a COCO image, two at 0.75 and 0.5); SCG and the accurate preset keep globalize's."""
    import mcg.pipeline as pipeline
    from ncuts.spectral import MAX_REDUCED_NODES, adaptive_levels

    bound = pipeline.DNCUTS_MAX_REDUCED_NODES["fast"]["mcg"]
    assert [adaptive_levels(shape, 6, 2, bound) for shape in
            [(720, 960), (640, 960), (360, 480), (320, 480), (240, 320)]] == [3, 3, 2, 2, 2]
    assert adaptive_levels((720, 960), 6, 2, MAX_REDUCED_NODES) == 2
    assert pipeline.DNCUTS_MAX_REDUCED_NODES["fast"]["scg"] == MAX_REDUCED_NODES
    assert pipeline.DNCUTS_MAX_REDUCED_NODES["accurate"] == {"scg": MAX_REDUCED_NODES,
                                                             "mcg": MAX_REDUCED_NODES}
    seen = []
    real_globalize = pipeline.globalize

    def recording_globalize(owt2, **kwargs):
        seen.append(kwargs["max_reduced_nodes"])
        return real_globalize(owt2, **kwargs)

    monkeypatch.setattr(pipeline, "globalize", recording_globalize)
    image, _ = _textured_disc()
    for mode, edges, expected in [("mcg", "fast", [bound] * 3), ("scg", "fast", [MAX_REDUCED_NODES]),
                                  ("mcg", "accurate", [MAX_REDUCED_NODES] * 3)]:
        seen.clear()
        im2ucm(image, mode=mode, edges=edges)
        assert seen == expected, (mode, edges)
    # one scale on its own (benchmarks/bench_scales.py) takes the bound it is given
    seen.clear()
    pipeline.single_scale_tree(image, max_reduced_nodes=bound)
    pipeline.single_scale_tree(image)
    assert seen == [bound, MAX_REDUCED_NODES]


def test_ucm_command_edges_option(tmp_path):
    import cv2

    image, _ = _textured_disc()
    image_path = tmp_path / "disc.png"
    cv2.imwrite(str(image_path), image[:, :, ::-1])
    assert main(["ucm", str(image_path), "-o", str(tmp_path), "--edges", "fast"]) == 0
    ucm2 = scipy.io.loadmat(tmp_path / "disc.mat")["ucm2"]
    np.testing.assert_allclose(ucm2, im2ucm(image, edges="fast").to_ucm2())


def test_threads_compute_the_scales_concurrently_with_the_same_result():
    import cv2
    from skimage.data import astronaut

    from mcg.pipeline import im2ucm

    image = cv2.resize(astronaut(), (160, 160), interpolation=cv2.INTER_AREA)
    one = im2ucm(image, mode="mcg", edges="fast", return_details=True)
    two = im2ucm(image, mode="mcg", edges="fast", return_details=True, threads=3)
    assert np.array_equal(one.tree.to_ucm2(), two.tree.to_ucm2())
    for scale, tree in one.scale_trees.items():
        assert np.array_equal(tree.to_ucm2(), two.scale_trees[scale].to_ucm2())
    assert set(one.times) == set(two.times)
    with pytest.raises(ValueError, match="threads must be a whole number"):
        im2ucm(image, mode="mcg", threads=0)


def test_scale_2_can_reuse_the_eigenvectors_of_scale_1(monkeypatch):
    import cv2
    from skimage.data import astronaut

    import importlib

    from mcg.pipeline import HALF_SCALE_EIGENVECTORS, SCALES

    dncuts_module = importlib.import_module("ncuts.dncuts")  # the package exports a function of that name

    image = cv2.resize(astronaut(), (96, 80), interpolation=cv2.INTER_AREA)
    solve = dncuts_module.solve_generalized_ncuts
    solved_sizes = []

    def counting_solve(A, *args, **kwargs):
        solved_sizes.append(A.shape[0])
        return solve(A, *args, **kwargs)

    monkeypatch.setattr(dncuts_module, "solve_generalized_ncuts", counting_solve)
    assert HALF_SCALE_EIGENVECTORS == {"accurate": (), "fast": ()}
    # the release's scales with the cheaper fast edges (scale 2 is half of no fast scale)
    monkeypatch.setitem(SCALES["fast"], "mcg", (2.0, 1.0, 0.5))
    shipped = im2ucm(image, mode="mcg", edges="fast", return_details=True)
    assert len(solved_sizes) == 3  # scales 2, 1 and 0.5
    solved_sizes.clear()
    monkeypatch.setitem(HALF_SCALE_EIGENVECTORS, "fast", (2.0,))
    reused = [im2ucm(image, mode="mcg", edges="fast", threads=threads, return_details=True)
              for threads in (1, 2)]
    # scales 1 and 0.5 (80x96 and 40x48 pixels, 2 DNCuts levels each), for each thread count;
    # scale 2's eigenvectors are scale 1's, upsampled
    assert sorted(solved_sizes) == [10 * 12, 10 * 12, 20 * 24, 20 * 24]
    for scale in (1.0, 0.5):
        assert reused[0].scale_trees[scale] == shipped.scale_trees[scale]
    assert reused[0].scale_trees[2.0] != shipped.scale_trees[2.0]
    assert reused[0].scale_trees[2.0] == reused[1].scale_trees[2.0]
    assert reused[0].tree == reused[1].tree
    # a chain of reuses (2 from 1, 1 from 0.5): one solve, the same trees with threads
    solved_sizes.clear()
    monkeypatch.setitem(HALF_SCALE_EIGENVECTORS, "fast", (2.0, 1.0))
    chained = [im2ucm(image, mode="mcg", edges="fast", threads=threads) for threads in (1, 2)]
    assert solved_sizes == [10 * 12] * 2
    assert chained[0] == chained[1]


def test_scg_combination_is_the_mean_boundary_hierarchy_of_its_tree():
    """SCG's final tree skips combine_ucm2s: the general combination of its one hierarchy has
    the same leaves and merges, and its heights differ only by the round-off of means."""
    from skimage.data import astronaut

    from grouping.multiscale import calibrated_hierarchy, combine_ucm2s

    image = astronaut()[::3, ::3]
    result = im2ucm(image, mode="scg", return_details=True)
    (scale_tree,) = result.scale_trees.values()
    _, sigmoid_thr, sigmoid_slope = _shipped_calibration("scg", DEFAULT_EDGES)
    general = combine_ucm2s([scale_tree.to_ucm2()], sigmoid_thr=sigmoid_thr,
                            sigmoid_slope=sigmoid_slope)
    assert scale_tree.n_merges > 100
    assert np.array_equal(general.leaves, result.tree.leaves)
    assert np.array_equal(general.merges, result.tree.merges)
    np.testing.assert_allclose(result.tree.heights, general.heights, rtol=1e-13, atol=0)
    assert result.tree == calibrated_hierarchy(scale_tree, sigmoid_thr, sigmoid_slope)
    with pytest.raises(ValueError, match="positive merge heights"):
        calibrated_hierarchy(type(scale_tree)(scale_tree.leaves, scale_tree.merges,
                                              np.r_[0.0, scale_tree.heights[1:]]))
