"""Tests of the on-disk proposal format (grouping.proposal_format)."""
from __future__ import annotations

import numpy as np
import pytest

from grouping.proposal_format import (FORMAT_VERSION, Proposals, boxes_from_leaf_sets,
                                  load_proposals, partition_from_masks, proposals_from_masks,
                                  proposals_to_coco_results, save_proposals)

# 4 x 6 image with 4 leaves:
#   0 0 1 1 1 1
#   0 0 1 1 1 1
#   2 2 2 3 3 3
#   2 2 2 3 3 3
SUPERPIXELS = np.array([[0, 0, 1, 1, 1, 1],
                        [0, 0, 1, 1, 1, 1],
                        [2, 2, 2, 3, 3, 3],
                        [2, 2, 2, 3, 3, 3]], dtype=np.int32)


def make_props() -> Proposals:
    return Proposals.from_leaf_sets(SUPERPIXELS, [[3], [0, 2], [1, 0]], scores=[0.1, 0.9, 0.5])


def test_from_leaf_sets_sorts_by_score_and_computes_exclusive_boxes():
    props = make_props()
    assert props.scores.tolist() == pytest.approx([0.9, 0.5, 0.1])
    assert [props.leaves(i).tolist() for i in range(3)] == [[0, 2], [0, 1], [3]]
    # leaves {0, 2}: columns 0..2, rows 0..3 -> [0, 0, 3, 4]; {0, 1}: rows 0..1, all columns
    # -> [0, 0, 6, 2]; {3}: columns 3..5, rows 2..3 -> [3, 2, 6, 4] (exclusive upper corner)
    assert props.boxes.tolist() == [[0, 0, 3, 4], [0, 0, 6, 2], [3, 2, 6, 4]]
    assert props.areas().tolist() == [10, 12, 6]
    expected0 = np.isin(SUPERPIXELS, [0, 2])
    assert np.array_equal(props.mask(0), expected0)
    masks = props.masks(top_k=2)
    assert masks.shape == (2, 4, 6) and masks.dtype == bool
    assert np.array_equal(masks[1], np.isin(SUPERPIXELS, [0, 1]))
    assert props.masks(top_k=50).shape == (3, 4, 6)


def test_round_trip(tmp_path):
    props = make_props()
    path = save_proposals(tmp_path / "img", props)
    assert path.name == "img.npz"
    loaded = load_proposals(path)
    for name in ("superpixels", "leaf_indices", "leaf_offsets", "scores", "boxes"):
        assert np.array_equal(getattr(loaded, name), getattr(props, name)), name
    assert loaded.superpixels.dtype == np.int32
    assert loaded.leaf_indices.dtype == np.int32
    assert loaded.leaf_offsets.dtype == np.int64
    assert loaded.scores.dtype == np.float32 and loaded.boxes.dtype == np.float32
    with np.load(path) as archive:
        assert int(archive["format_version"]) == FORMAT_VERSION
        assert archive["image_size"].tolist() == [4, 6]
    assert np.array_equal(loaded.masks(), props.masks())


def test_empty_proposal_list_round_trip(tmp_path):
    props = Proposals.from_leaf_sets(SUPERPIXELS, [], scores=[])
    assert props.n_proposals == 0 and props.boxes.shape == (0, 4)
    loaded = load_proposals(save_proposals(tmp_path / "empty.npz", props))
    assert loaded.n_proposals == 0
    assert loaded.masks().shape == (0, 4, 6)


def test_boxes_from_leaf_sets_hand_case():
    boxes = boxes_from_leaf_sets(SUPERPIXELS, np.array([1, 3, 2]), np.array([0, 2, 3]))
    assert boxes.tolist() == [[2, 0, 6, 4], [0, 2, 3, 4]]


def test_partition_from_masks_is_exact_and_minimal():
    rng = np.random.default_rng(3)
    masks = rng.random((70, 9, 11)) < 0.5  # more than one 62-bit chunk
    labels, leaf_sets = partition_from_masks(masks)
    n_patterns = len(np.unique(masks.reshape(70, -1).T, axis=0))
    assert labels.max() + 1 == n_patterns
    for mask, leaves in zip(masks, leaf_sets):
        assert np.array_equal(np.isin(labels, leaves), mask)
    props = proposals_from_masks(masks[:5], scores=[5, 4, 3, 2, 1])
    assert np.array_equal(props.masks(), masks[:5])


def test_proposals_from_masks_rejects_empty_mask():
    masks = np.zeros((2, 3, 3), dtype=bool)
    masks[0, 1, 1] = True
    with pytest.raises(ValueError, match="mask 1 is empty"):
        proposals_from_masks(masks)


def test_coco_export_decodes_to_the_masks():
    from pycocotools import mask as mask_utils

    props = make_props()
    results = proposals_to_coco_results(props, image_id=7)
    assert [r["score"] for r in results] == pytest.approx([0.9, 0.5, 0.1])
    for i, r in enumerate(results):
        assert np.array_equal(mask_utils.decode(r["segmentation"]).astype(bool), props.mask(i))
        assert r["bbox"] == props.boxes[i].tolist()[:2] + [
            float(props.boxes[i, 2] - props.boxes[i, 0]), float(props.boxes[i, 3] - props.boxes[i, 1])]
    box = mask_utils.toBbox(results[2]["segmentation"]).tolist()
    assert box == [3, 2, 3, 2]  # COCO xywh of [3, 2, 6, 4]


def _write(path, **overrides):
    props = make_props()
    arrays = dict(format_version=np.int32(FORMAT_VERSION), image_size=np.array([4, 6]),
                  superpixels=props.superpixels, leaf_indices=props.leaf_indices,
                  leaf_offsets=props.leaf_offsets, scores=props.scores, boxes=props.boxes)
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("overrides, message", [
    ({"leaf_indices": np.array([0, 2, 0, 7, 3], np.int32)}, "leaf index 7 out of range"),
    ({"leaf_offsets": np.array([0, 3, 2, 5])}, "not monotone"),
    ({"leaf_offsets": np.array([0, 2, 4, 6])}, "leaf_indices has 5"),
    ({"scores": np.array([0.9, 0.5], np.float32)}, "scores"),
    ({"scores": np.array([0.1, 0.5, 0.9], np.float32)}, "not sorted"),
    ({"boxes": np.zeros((2, 4), np.float32)}, r"boxes has shape \(2, 4\), expected \(3, 4\)"),
    ({"boxes": np.array([[0, 0, 3, 4], [0, 0, 6, 2], [3, 2, 9, 4]], np.float32)}, "outside"),
    ({"leaf_indices": np.array([0, 0, 0, 1, 3], np.int32)}, "lists leaf 0 more than once"),
    ({"leaf_offsets": np.array([0, 2, 2, 5])}, "proposal 1 has no leaves"),
    ({"image_size": np.array([6, 4])}, "does not match"),
    ({"format_version": np.int32(FORMAT_VERSION + 1)}, "not supported"),
    ({"boxes": None}, "missing arrays boxes"),
    ({"scores": np.array([np.nan, 0.5, 0.1], np.float32)}, "NaN"),
])
def test_corrupt_files_raise_naming_the_file(tmp_path, overrides, message):
    path = _write(tmp_path / "bad_file.npz", **overrides)
    with pytest.raises(ValueError, match=message) as info:
        load_proposals(path)
    assert "bad_file.npz" in str(info.value)


def test_unsorted_distinct_leaves_are_accepted(tmp_path):
    path = _write(tmp_path / "unsorted.npz", leaf_indices=np.array([2, 0, 1, 0, 3], np.int32))
    props = load_proposals(path)
    assert np.array_equal(props.mask(0), np.isin(SUPERPIXELS, [0, 2]))


def test_not_an_archive_and_missing_file(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match="garbage.npz"):
        load_proposals(path)
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        load_proposals(tmp_path / "nowhere.npz")


def test_save_refuses_invalid_proposals(tmp_path):
    props = make_props()
    props.scores = props.scores[::-1].copy()
    with pytest.raises(ValueError, match="not sorted"):
        save_proposals(tmp_path / "x.npz", props)
    assert not (tmp_path / "x.npz").exists()
