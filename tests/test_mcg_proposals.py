"""Object proposals end to end: mcg.proposals.im2mcg and the ``mcg proposals`` command."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from grouping.proposal_format import load_proposals
from mcg.cli import main
from mcg.proposals import im2mcg


def _two_objects(height=72, width=96):
    rows, cols = np.mgrid[:height, :width]
    disc = (rows - 36) ** 2 + (cols - 28) ** 2 <= 15**2
    square = (rows >= 20) & (rows < 52) & (cols >= 58) & (cols < 86)
    image = np.full((height, width, 3), (60, 110, 60), np.uint8)
    image[disc] = (220, 60, 40)
    image[square] = (40, 60, 220)
    return image, {"disc": disc, "square": square}


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.fixture(autouse=True)
def _quiet_model_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.mark.parametrize("mode", ["scg", "mcg"])
def test_objects_are_found_among_the_top_proposals(mode):
    image, objects = _two_objects()
    proposals = im2mcg(image, mode=mode)
    assert proposals.superpixels.shape == image.shape[:2]
    assert proposals.n_proposals >= 2
    assert np.all(np.diff(proposals.scores) <= 0)  # rank order
    # Each object is among the first 20 proposals (IoU > 0.7) and segmented exactly by one of
    # them all (IoU > 0.9). The square is 10 pixels from the border: the square with the
    # background strip beside it (IoU 0.76) is a second plausible object, and retrained rankers
    # differ on which of the two comes first (the shipped MCG ranker puts the exact square
    # 175th, after the decay re-ranking lowered it below the square with the strip).
    masks = proposals.masks(proposals.n_proposals)
    for name, obj in objects.items():
        ious = np.array([_iou(mask, obj) for mask in masks])
        assert ious[:20].max() > 0.7, f"{mode}: {name} best IoU in the top 20 {ious[:20].max():.3f}"
        assert ious.max() > 0.9, f"{mode}: {name} best IoU {ious.max():.3f}"
    # boxes are the exclusive bounding boxes of the masks
    for index in range(min(10, proposals.n_proposals)):
        ys, xs = np.nonzero(proposals.mask(index))
        np.testing.assert_array_equal(proposals.boxes[index], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


def test_deterministic_and_truncated():
    image, _ = _two_objects()
    first, second = im2mcg(image, mode="scg"), im2mcg(image, mode="scg")
    np.testing.assert_array_equal(first.scores, second.scores)
    np.testing.assert_array_equal(first.leaf_indices, second.leaf_indices)
    top = im2mcg(image, mode="scg", n_proposals=3)
    assert top.n_proposals == 3
    np.testing.assert_array_equal(top.scores, first.scores[:3])


def test_flat_image_gives_the_whole_image():
    proposals = im2mcg(np.full((30, 40, 3), 77, np.uint8), mode="scg")
    assert proposals.n_proposals == 1
    assert proposals.mask(0).all()


def test_bad_arguments():
    image, _ = _two_objects()
    with pytest.raises(ValueError, match="mode"):
        im2mcg(image, mode="accurate")
    with pytest.raises(ValueError, match="n_proposals"):
        im2mcg(image, n_proposals=0)


def test_proposals_command_writes_npz_and_coco(tmp_path):
    import cv2

    image, objects = _two_objects()
    image_path = tmp_path / "42.png"
    cv2.imwrite(str(image_path), image[:, :, ::-1])
    out = tmp_path / "out"
    coco = tmp_path / "results.json"
    assert main(["proposals", str(image_path), "-o", str(out), "--mode", "scg", "--max", "5",
                 "--coco-json", str(coco)]) == 0
    proposals = load_proposals(out / "42.npz")
    assert proposals.n_proposals == 5
    results = json.loads(coco.read_text())
    assert len(results) == 5 and {r["image_id"] for r in results} == {42}
    from pycocotools import mask as mask_utils

    first = mask_utils.decode(results[0]["segmentation"]).astype(bool)
    np.testing.assert_array_equal(first, proposals.mask(0))
    x0, y0, x1, y1 = proposals.boxes[0]
    assert results[0]["bbox"] == [x0, y0, x1 - x0, y1 - y0]
    # a non-numeric stem gets an id in input order, recorded beside the JSON
    named = tmp_path / "photo.png"
    cv2.imwrite(str(named), image[:, :, ::-1])
    assert main(["proposals", str(named), "-o", str(tmp_path / "out2"), "--mode", "scg",
                 "--max", "5", "--coco-json", str(coco)]) == 0
    assert {r["image_id"] for r in json.loads(coco.read_text())} == {1}
    assert json.loads((tmp_path / "results.image_ids.json").read_text()) == {"photo.png": 1}


def test_edge_preset_of_the_proposals():
    # default: the "fast" hierarchies; edges="accurate" uses the other preset and its models
    from mcg.pipeline import im2ucm

    clean, objects = _two_objects()
    image = clean + np.random.default_rng(1).integers(0, 30, clean.shape, dtype=np.uint8)
    _, details = im2mcg(image, mode="scg", return_details=True)
    assert details["hierarchies"].tree == im2ucm(image, mode="scg", edges="fast")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the accurate models are shipped: no fallback warning
        _, details = im2mcg(image, mode="scg", edges="accurate", return_details=True)
        assert details["hierarchies"].tree == im2ucm(image, mode="scg", edges="accurate")
        accurate = im2mcg(clean, mode="mcg", edges="accurate")
    for name, obj in objects.items():
        assert max(_iou(mask, obj) for mask in accurate.masks(20)) > 0.9, name
    with pytest.raises(ValueError, match="edges must be one of"):
        im2mcg(image, edges="best")


def test_candidate_models_are_looked_up_by_preset(tmp_path):
    import shutil

    from mcg.proposals import MODELS_DIR, load_candidate_models

    for kind in ("working_points", "ranker"):
        shutil.copy(MODELS_DIR / f"scg_{kind}.npz", tmp_path / f"scg_accurate_{kind}.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        points, ranker = load_candidate_models("scg", tmp_path, edges="accurate")
    assert points is not None and ranker is not None
    # A model folder given by the user must hold the models asked for: no silent fallback.
    with pytest.raises(FileNotFoundError, match="has no scg_working_points.npz, scg_ranker.npz "
                       r"\(it holds: scg_accurate_ranker.npz, scg_accurate_working_points.npz\)"):
        load_candidate_models("scg", tmp_path, edges="fast")
    with pytest.raises(FileNotFoundError, match="model folder not found"):
        load_candidate_models("scg", tmp_path / "absent")


@pytest.mark.parametrize("mode", ["scg", "mcg"])
def test_threads_option_writes_the_same_file(tmp_path, mode):
    """`mcg proposals --threads 2` (edge bands; MCG scales at once) writes the same bytes."""
    import cv2
    from skimage.data import astronaut

    image_path = tmp_path / "astronaut.png"
    cv2.imwrite(str(image_path), astronaut()[::4, ::4, ::-1])
    files = {}
    for threads in ("1", "2"):
        out = tmp_path / f"out{threads}"
        assert main(["proposals", str(image_path), "-o", str(out), "--mode", mode,
                     "--threads", threads]) == 0
        files[threads] = (out / "astronaut.npz").read_bytes()
    assert files["1"] == files["2"]
    assert load_proposals(tmp_path / "out1" / "astronaut.npz").n_proposals > 100
