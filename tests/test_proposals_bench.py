"""Tests of the object-proposal benchmark (eval.proposals) on hand-built cases."""
from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pytest

from eval.coco_io import BsdsGroundTruth, CocoGroundTruth, match_images
from grouping.proposal_format import Proposals, proposals_from_masks, save_proposals
from eval.proposals import (AR_THRESHOLDS, ImageEvaluation, ProposalBenchmarkWarning,
                            box_iou_matrix, evaluate_dataset, evaluate_proposals, format_table,
                            summarize, write_outputs)
from tests.conftest import shared_path

H, W = 20, 30


def square(y0, x0, size=4, shape=(H, W)):
    mask = np.zeros(shape, dtype=bool)
    mask[y0:y0 + size, x0:x0 + size] = True
    return mask


def rle_of(mask):
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def as_forms(masks):
    """The same ranked masks as dense array, leaf-set Proposals and RLE list."""
    masks = np.asarray(masks, dtype=bool)
    return {"dense": masks, "leafsets": proposals_from_masks(masks),
            "rle": [rle_of(m) for m in masks]}


FORMS = ("dense", "leafsets", "rle")


# ----------------------------------------------------------------------------- single image
@pytest.mark.parametrize("form", FORMS)
def test_perfect_proposals_give_one(form):
    gt = np.stack([square(2, 3), square(10, 20, 6), square(5, 10, 3)])
    props = as_forms(gt[::-1])[form]
    ev = evaluate_proposals(gt, props, category_ids=[1, 2, 1])
    assert np.all(ev.best_iou == 1.0) and np.all(ev.best_box_iou == 1.0)
    assert np.all(ev.best_fp == 0) and np.all(ev.best_fn == 0)
    summary = summarize([ev])
    for key in ("abo", "recall@0.5", "recall@0.7", "recall@0.85", "ar", "jaccard_class"):
        assert summary["masks"][key] == [1.0] * 10, key
    for key in ("abo", "recall@0.85", "ar"):
        assert summary["boxes"][key] == [1.0] * 10, key


@pytest.mark.parametrize("form", FORMS)
def test_disjoint_proposals_give_zero(form):
    gt = np.stack([square(0, 0)])
    props = as_forms(np.stack([square(10, 10), square(0, 20)]))[form]
    ev = evaluate_proposals(gt, props)
    assert np.all(ev.best_iou == 0.0) and np.all(ev.best_box_iou == 0.0)
    assert ev.best_fn[0, -1] == 16 and ev.best_inter[0, -1] == 0
    summary = summarize([ev])
    assert summary["masks"]["abo"][-1] == 0.0 and summary["masks"]["ar"][-1] == 0.0
    assert summary["masks"]["jaccard_class"][-1] == 0.0


@pytest.mark.parametrize("form", FORMS)
def test_half_overlapping_square_gives_one_third(form):
    # 4x4 square shifted by 2 columns: intersection 8, union 24
    gt = np.stack([square(2, 2)])
    props = as_forms(np.stack([square(2, 4)]))[form]
    ev = evaluate_proposals(gt, props)
    assert ev.best_iou[0, -1] == pytest.approx(1 / 3, abs=1e-15)
    assert ev.best_box_iou[0, -1] == pytest.approx(1 / 3, abs=1e-15)
    assert (ev.best_inter[0, -1], ev.best_fp[0, -1], ev.best_fn[0, -1]) == (8, 8, 8)


@pytest.mark.parametrize("form", FORMS)
def test_rank_order_respected_at_each_budget(form):
    gt = np.stack([square(2, 2)])
    bad = [square(12, 1 + 2 * i, 2) for i in range(10)]  # 10 disjoint proposals
    ranked = np.stack(bad + [square(2, 2), square(2, 4)])  # perfect one ranked 11th
    ev = evaluate_proposals(gt, as_forms(ranked)[form])
    labels = [str(n) for n in ev.n_values]
    assert ev.best_iou[0, labels.index("10")] == 0.0
    assert ev.best_iou[0, labels.index("20")] == 1.0
    assert ev.best_index[0, labels.index("20")] == 10
    assert ev.n_used().tolist() == [10] + [12] * 9


def test_leaf_set_proposals_respect_their_stored_rank_not_their_leaves():
    sp = np.zeros((H, W), dtype=np.int32)
    sp[:, 15:] = 1
    gt = np.stack([sp == 1])
    props = Proposals.from_leaf_sets(sp, [[0], [1], [0, 1]], scores=[3, 2, 1])
    ev = evaluate_proposals(gt, props, n_values=(1, 2, None))
    assert ev.best_iou[0].tolist() == [0.0, 1.0, 1.0]
    assert ev.best_index[0].tolist() == [0, 1, 1]


def test_recall_uses_greater_or_equal_and_ar_is_mean_of_ten_recalls():
    gt = np.stack([square(0, 0)])
    half = np.zeros((H, W), dtype=bool)
    half[0:4, 0:2] = True  # inside the square, half its area: IoU exactly 0.5
    summary = summarize([evaluate_proposals(gt, half[None])])
    assert summary["masks"]["abo"][-1] == 0.5
    assert summary["masks"]["recall@0.5"][-1] == 1.0
    assert summary["masks"]["recall@0.7"][-1] == 0.0
    assert summary["masks"]["ar"][-1] == pytest.approx(0.1)
    assert AR_THRESHOLDS.tolist() == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]


def _hand_eval(best, inter, fp, fn, cats):
    k = len(best)
    return ImageEvaluation("x.png", np.array(cats), np.arange(k), np.array(inter) + np.array(fn),
                           5, (None,), np.array(best, float).reshape(k, 1),
                           np.zeros((k, 1), np.int64), np.array(inter).reshape(k, 1),
                           np.array(fp).reshape(k, 1), np.array(fn).reshape(k, 1),
                           np.array(best, float).reshape(k, 1))


def test_average_recall_and_class_jaccard_hand_computed():
    # best IoUs 1.0, 0.6, 0.3: recalls per threshold: 2/3 at 0.5..0.6 (3 levels), 1/3 after
    ev1 = _hand_eval([1.0, 0.6], inter=[16, 6], fp=[0, 2], fn=[0, 2], cats=[1, 1])
    ev2 = _hand_eval([0.3], inter=[3], fp=[3], fn=[4], cats=[2])
    summary = summarize([ev1, ev2])
    assert summary["masks"]["abo"] == [pytest.approx(1.9 / 3)]
    assert summary["masks"]["ar"] == [pytest.approx((3 * 2 + 7 * 1) / 30)]
    assert summary["masks"]["recall@0.5"] == [pytest.approx(2 / 3)]
    # class 1: (16 + 6) / (22 + 2 + 2) = 22/26; class 2: 3 / 10
    assert summary["per_class"]["1"]["jaccard_class"] == [pytest.approx(22 / 26)]
    assert summary["per_class"]["2"]["jaccard_class"] == [pytest.approx(0.3)]
    assert summary["masks"]["jaccard_class"] == [pytest.approx((22 / 26 + 0.3) / 2)]


def test_class_jaccard_pools_pixels_over_images():
    gt_a = np.stack([square(2, 2)])
    gt_b = np.stack([square(2, 2), square(10, 10)])
    ev_a = evaluate_proposals(gt_a, np.stack([square(2, 4)]), category_ids=[1])  # 8/8/8
    ev_b = evaluate_proposals(gt_b, np.stack([square(2, 2)]), category_ids=[1, 2])
    summary = summarize([ev_a, ev_b])
    # class 1: inter 8 + 16, fp 8 + 0, fn 8 + 0 -> 24/40; class 2: 0 -> mean 0.3
    assert summary["per_class"]["1"]["jaccard_class"][-1] == pytest.approx(0.6)
    assert summary["masks"]["jaccard_class"][-1] == pytest.approx(0.3)
    assert summary["masks"]["abo"][-1] == pytest.approx((1 / 3 + 1 + 0) / 3)


def test_box_iou_exact_hand_case_and_box_only_evaluation():
    assert box_iou_matrix([[0, 0, 4, 4]], [[2, 2, 6, 6], [0, 0, 4, 2], [5, 5, 9, 9]]).tolist() \
        == [[4 / 28, 0.5, 0.0]]
    gt = np.stack([square(0, 0)])  # tight box [0, 0, 4, 4]
    ev = evaluate_proposals(gt, None, boxes=np.array([[2, 2, 6, 6], [0, 0, 4, 2]]),
                            n_values=(1, None))
    assert ev.best_iou is None
    assert ev.best_box_iou[0].tolist() == [pytest.approx(1 / 7), 0.5]
    summary = summarize([ev])
    assert summary["masks"] is None
    assert summary["boxes"]["recall@0.5"] == [0.0, 1.0]


@pytest.mark.parametrize("form", FORMS)
def test_void_crowd_pixels_are_not_penalties(form):
    gt = np.stack([square(2, 2)])
    crowd = np.zeros((H, W), dtype=bool)
    crowd[2:6, 6:12] = True  # a crowd region right of the object
    with_crowd = square(2, 2) | crowd
    with_background = square(2, 2) | square(10, 2)
    ev = evaluate_proposals(gt, as_forms(np.stack([with_crowd, with_background]))[form],
                            void=crowd, n_values=(1, 2))
    assert ev.best_iou[0].tolist() == [1.0, 1.0]
    assert ev.best_fp[0, 0] == 0
    # the same proposal without the void rule is penalized: 16 / 40
    ev = evaluate_proposals(gt, as_forms(np.stack([with_crowd]))[form], n_values=(1,))
    assert ev.best_iou[0, 0] == pytest.approx(0.4)


def test_size_mismatch_is_an_error_naming_the_image():
    gt = np.stack([square(2, 2)])
    with pytest.raises(ValueError, match="img7.*10x30"):
        evaluate_proposals(gt, np.zeros((1, 10, 30), bool), image_name="img7")
    small = proposals_from_masks(square(0, 0, 2, (10, 10))[None])
    with pytest.raises(ValueError, match="img7"):
        evaluate_proposals(gt, small, image_name="img7")
    with pytest.raises(ValueError, match="img7"):
        evaluate_proposals(gt, [rle_of(square(0, 0, 2, (10, 10)))], image_name="img7")


@pytest.mark.parametrize("form", FORMS)
def test_image_without_instances(form):
    ev = evaluate_proposals(np.zeros((0, H, W), bool), as_forms(square(2, 2)[None])[form])
    assert ev.n_instances == 0 and ev.best_iou.shape == (0, 10)
    assert summarize([ev, evaluate_proposals(square(2, 2)[None], square(2, 2)[None])])[
        "masks"]["abo"][-1] == 1.0


def test_empty_proposal_list_counts_zero():
    gt = np.stack([square(2, 2)])
    ev = evaluate_proposals(gt, np.zeros((0, H, W), bool))
    assert ev.n_proposals == 0 and ev.status == "no proposals"
    assert np.all(ev.best_iou == 0) and np.all(ev.best_fn == 16)


# ----------------------------------------------------------------------------- datasets
def _tiny_coco(tmp_path):
    """Three GT images (c.png absent from the folder), polygon/RLE/crowd annotations."""
    import cv2

    images = tmp_path / "images"
    images.mkdir()
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(images / name), np.zeros((H, W, 3), np.uint8))
    cv2.imwrite(str(images / "unrelated.png"), np.zeros((5, 5, 3), np.uint8))
    b_mask = square(10, 20, 6)
    b_rle = rle_of(b_mask)
    uncompressed = {"size": [H, W], "counts": []}  # column-major run lengths of square(0, 0)
    col = square(0, 0)[:, 0]
    counts, current, run = [], False, 0
    for value in square(0, 0).T.ravel():
        if value != current:
            counts.append(run)
            current, run = value, 0
        run += 1
    counts.append(run)
    uncompressed["counts"] = counts
    assert col.sum() == 4
    annotations = [
        # polygon: rectangle covering pixels rows 2..7, columns 3..9 (pycocotools rule)
        {"id": 11, "image_id": 1, "category_id": 1, "iscrowd": 0,
         "segmentation": [[3, 2, 10, 2, 10, 8, 3, 8]], "area": 42, "bbox": [3, 2, 7, 6]},
        {"id": 12, "image_id": 1, "category_id": 2, "iscrowd": 0, "segmentation": uncompressed,
         "area": 16, "bbox": [0, 0, 4, 4]},
        {"id": 13, "image_id": 1, "category_id": 1, "iscrowd": 1,
         "segmentation": rle_of(square(12, 0, 6)), "area": 36, "bbox": [0, 12, 6, 6]},
        {"id": 21, "image_id": 2, "category_id": 2, "iscrowd": 0, "segmentation": b_rle,
         "area": 36, "bbox": [20, 10, 6, 6]},
        {"id": 31, "image_id": 3, "category_id": 2, "iscrowd": 0,
         "segmentation": rle_of(square(0, 0)), "area": 16, "bbox": [0, 0, 4, 4]},
    ]
    gt = {"images": [{"id": 1, "file_name": "a.png", "height": H, "width": W},
                     {"id": 2, "file_name": "b.png", "height": H, "width": W},
                     {"id": 3, "file_name": "c.png", "height": H, "width": W}],
          "annotations": annotations,
          "categories": [{"id": 1, "name": "one"}, {"id": 2, "name": "two"}]}
    gt_path = tmp_path / "instances.json"
    gt_path.write_text(json.dumps(gt))
    return gt_path, images


def test_coco_reader_decodes_polygons_rle_and_crowd(tmp_path):
    gt_path, images = _tiny_coco(tmp_path)
    gt = CocoGroundTruth(gt_path)
    matched, absent = match_images(gt, images)
    assert [info.file_name for info, _ in matched] == ["a.png", "b.png"]
    assert [info.file_name for info in absent] == ["c.png"]
    inst = gt.instances(matched[0][0])
    assert inst.n_instances == 2 and inst.n_crowd == 1
    assert inst.instance_ids.tolist() == [11, 12] and inst.category_ids.tolist() == [1, 2]
    assert np.array_equal(inst.masks[1], square(0, 0))
    assert inst.masks[0].sum() == 42
    assert np.array_equal(inst.void, square(12, 0, 6))


def test_coco_json_results_path_end_to_end(tmp_path, capsys):
    from mcg.cli import main

    gt_path, images = _tiny_coco(tmp_path)
    gt = CocoGroundTruth(gt_path)
    results = []
    # image 1: a bad proposal (score 0.9) plus both instances, the polygon one with the
    # crowd region added (void pixels: no penalty); image 2: its instance as second best.
    inst_a = gt.instances(gt.images[0])
    results.append({"image_id": 1, "category_id": 1, "score": 0.2,
                    "segmentation": rle_of(inst_a.masks[0] | inst_a.void)})
    results.append({"image_id": 1, "category_id": 1, "score": 0.9,
                    "segmentation": rle_of(square(15, 25, 3))})
    results.append({"image_id": 1, "category_id": 1, "score": 0.5,
                    "segmentation": rle_of(inst_a.masks[1])})
    results.append({"image_id": 2, "category_id": 1, "score": 0.1,
                    "segmentation": rle_of(square(10, 20, 6))})
    results.append({"image_id": 2, "category_id": 1, "score": 0.3,
                    "segmentation": rle_of(square(0, 0, 6))})
    res_path = tmp_path / "results.json"
    res_path.write_text(json.dumps(results))
    with pytest.warns(ProposalBenchmarkWarning, match="c.png"):
        result = evaluate_dataset(gt_path, images, res_path, n_values=(1, 2, None))
    s = result.summary
    assert s["n_images"] == 2 and s["n_instances"] == 3
    assert s["n_images_absent_from_folder"] == 1 and s["n_crowd_annotations"] == 1
    # N=1: the bad proposal (image 1) and the wrong square (image 2); N=2: instance 12 and
    # image 2's instance found, the polygon (42 px) overlaps instance 12's mask (16 px) by 2
    # pixels; N=all: the polygon instance too, despite the crowd pixels
    assert s["masks"]["abo"] == [0.0, pytest.approx((2 / 56 + 1 + 1) / 3), 1.0]
    # boxes know no void: the polygon+crowd proposal box [0, 2, 10, 18] (160 px) contains the
    # polygon's box [3, 2, 10, 8] (42 px)
    assert s["boxes"]["abo"][-1] == pytest.approx((42 / 160 + 1 + 1) / 3)

    out = tmp_path / "out"
    code = main(["bench", "proposals", "--gt", str(gt_path), "--images", str(images),
                 "--proposals", str(res_path), "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr()
    assert "ABO" in printed.out and "c.png" in printed.err
    for name in ("summary.txt", "summary.csv", "summary.json", "per_instance.csv",
                 "recall_vs_n.png"):
        assert (out / name).stat().st_size > 0, name
    saved = json.loads((out / "summary.json").read_text())
    assert saved["masks"]["abo"][-1] == 1.0 and saved["n_values"][-1] == "all"
    assert (out / "summary.csv").read_text().splitlines()[0].startswith("N,mean #,ABO")
    # default output folder next to the JSON
    code = main(["bench", "proposals", "--gt", str(gt_path), "--images", str(images),
                 "--proposals", str(res_path)])
    assert code == 0 and (tmp_path / "results_eval" / "summary.json").is_file()
    assert "results_eval" in capsys.readouterr().err


def test_box_only_and_mixed_coco_results(tmp_path):
    gt_path, images = _tiny_coco(tmp_path)
    results = [{"image_id": 1, "category_id": 1, "score": 0.5, "bbox": [0, 0, 4, 4]},
               {"image_id": 2, "category_id": 1, "score": 0.5, "bbox": [20, 10, 6, 6]},
               {"image_id": 2, "category_id": 1, "score": 0.9, "bbox": [23, 10, 6, 6]}]
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps(results))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProposalBenchmarkWarning)
        s = evaluate_dataset(gt_path, images, path, n_values=(1, None)).summary
    assert s["masks"] is None
    # instances: polygon [3, 2, 10, 8] vs [0, 0, 4, 4] -> 2*1... ; square(0,0): 1; image 2:
    # N=1 box [23, 10, 29, 16] vs [20, 10, 26, 16] -> 18/54 = 1/3, N=all -> 1
    polygon_iou = box_iou_matrix([[3, 2, 10, 8]], [[0, 0, 4, 4]])[0, 0]
    assert s["boxes"]["abo"] == [pytest.approx((polygon_iou + 1 + 1 / 3) / 3),
                                 pytest.approx((polygon_iou + 1 + 1) / 3)]
    assert "mask metrics not computed" in format_table(s)
    results[0]["segmentation"] = rle_of(square(0, 0))
    path.write_text(json.dumps(results))
    with pytest.raises(ValueError, match="1 of 3 results have a segmentation"):
        evaluate_dataset(gt_path, images, path)


def _warning_messages(caught) -> list[str]:
    """Messages of the ProposalBenchmarkWarnings recorded by ``pytest.warns``."""
    return [str(w.message) for w in caught if issubclass(w.category, ProposalBenchmarkWarning)]


def test_npz_folder_missing_file_and_empty_list_are_counted(tmp_path):
    gt_path, images = _tiny_coco(tmp_path)
    gt = CocoGroundTruth(gt_path)
    folder = tmp_path / "props"
    inst_a = gt.instances(gt.images[0])
    save_proposals(folder / "a.npz", proposals_from_masks(inst_a.masks))
    save_proposals(folder / "zzz.npz", proposals_from_masks(inst_a.masks))  # no such image
    with pytest.warns(ProposalBenchmarkWarning) as caught:
        result = evaluate_dataset(gt, images, folder)
    messages = _warning_messages(caught)
    assert any("b.png has no proposal file" in m for m in messages), messages
    assert any("1 of 3 ground-truth images are not in" in m and "c.png" in m for m in messages)
    assert any("1 proposal entries match no evaluated image" in m and "zzz" in m for m in messages)
    s = result.summary
    assert s["n_images_without_proposal_file"] == 1
    assert s["images_without_proposal_file"] == ["b.png"]
    assert s["n_unused_proposal_entries"] == 1
    assert s["masks"]["abo"][-1] == pytest.approx(2 / 3)
    assert "1 images had no proposal file" in format_table(s)
    paths = write_outputs(result, tmp_path / "out")
    assert "b.png" in paths["json"].read_text()

    sp = np.zeros((H, W), np.int32)
    save_proposals(folder / "b.npz", Proposals.from_leaf_sets(sp, [], scores=[]))
    with pytest.warns(ProposalBenchmarkWarning) as caught:
        s = evaluate_dataset(gt, images, folder).summary
    assert any("b.png has no proposals" in m for m in _warning_messages(caught))
    assert s["n_images_without_proposals"] == 1 and s["n_images_without_proposal_file"] == 0
    assert s["masks"]["abo"][-1] == pytest.approx(2 / 3)

    save_proposals(folder / "b.npz", proposals_from_masks(square(0, 0, 3, (H + 1, W))[None]))
    with pytest.raises(ValueError, match="b.png.*21x30"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProposalBenchmarkWarning)
            evaluate_dataset(gt, images, folder)


def test_rle_result_of_wrong_size_names_the_image(tmp_path):
    gt_path, images = _tiny_coco(tmp_path)
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"image_id": 2, "category_id": 1, "score": 1.0,
                                 "segmentation": rle_of(square(0, 0, 3, (H, W + 2)))}]))
    with pytest.raises(ValueError, match="b.png"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProposalBenchmarkWarning)
            evaluate_dataset(gt_path, images, path)


def test_missing_inputs_raise(tmp_path):
    from mcg.cli import main

    gt_path, images = _tiny_coco(tmp_path)
    props = tmp_path / "props"
    props.mkdir()
    save_proposals(props / "a.npz", proposals_from_masks(square(0, 0)[None]))
    with pytest.raises(FileNotFoundError, match="nope.json"):
        evaluate_dataset(tmp_path / "nope.json", images, props)
    with pytest.raises(FileNotFoundError, match="no_images"):
        evaluate_dataset(gt_path, tmp_path / "no_images", props)
    with pytest.raises(FileNotFoundError, match="no_props"):
        evaluate_dataset(gt_path, images, tmp_path / "no_props")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no .npz proposal files"):
        evaluate_dataset(gt_path, images, empty)
    with pytest.raises(ValueError, match="none of the 3 ground-truth images"):
        evaluate_dataset(gt_path, empty, props)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        evaluate_dataset(bad_json, images, props)
    assert main(["bench", "proposals", "--gt", str(gt_path), "--images", str(images),
                 "--proposals", str(tmp_path / "no_props")]) == 2


def test_image_size_mismatch_with_ground_truth(tmp_path):
    import cv2

    gt_path, images = _tiny_coco(tmp_path)
    cv2.imwrite(str(images / "b.png"), np.zeros((H, W + 1, 3), np.uint8))
    with pytest.raises(ValueError, match="b.png"):
        match_images(CocoGroundTruth(gt_path), images)


def test_bsds_ground_truth_every_region_of_every_human(tmp_path):
    import cv2
    import scipy.io

    seg1 = np.ones((H, W), np.uint16)
    seg1[:, 10:] = 2
    seg2 = np.ones((H, W), np.uint16)
    seg2[5:15, 5:25] = 2
    seg2[0:3, 0:3] = 3
    cell = np.empty((1, 2), dtype=object)
    for i, seg in enumerate((seg1, seg2)):
        entry = np.zeros((1, 1), dtype=[("Segmentation", "O"), ("Boundaries", "O")])
        entry[0, 0]["Segmentation"] = seg
        entry[0, 0]["Boundaries"] = np.zeros_like(seg, dtype=bool)
        cell[0, i] = entry
    gt_dir = tmp_path / "gt"
    gt_dir.mkdir()
    scipy.io.savemat(gt_dir / "12345.mat", {"groundTruth": cell})
    images = tmp_path / "img"
    images.mkdir()
    cv2.imwrite(str(images / "12345.jpg"), np.zeros((H, W, 3), np.uint8))
    gt = BsdsGroundTruth(gt_dir)
    inst = gt.instances(gt.images[0])
    assert inst.n_instances == 5 and set(inst.category_ids.tolist()) == {1}
    # proposals: the two regions of human 1 only -> 3 regions of human 2 get < 1
    props = tmp_path / "props"
    save_proposals(props / "12345.npz", Proposals.from_leaf_sets(
        (seg1 - 1).astype(np.int32), [[0], [1]]))
    s = evaluate_dataset(gt_dir, images, props, n_values=(None,)).summary
    masks = [seg2 == 1, seg2 == 2, seg2 == 3]
    left = seg1 == 1
    right = seg1 == 2
    best = [max((m & p).sum() / (m | p).sum() for p in (left, right)) for m in masks]
    assert s["masks"]["abo"][0] == pytest.approx((2 + sum(best)) / 5)


# ----------------------------------------------------------------------------- real data
def test_coco_subset_ground_truth_as_proposals_gives_abo_one(tmp_path):
    coco = shared_path("coco")
    gt = CocoGroundTruth(coco / "annotations" / "instances_train2017.json")
    matched, absent = match_images(gt, coco / "train2017")
    assert len(matched) == 192 and not absent
    folder = tmp_path / "props"
    n_targets = 0
    start = time.perf_counter()
    for info, _ in matched:
        inst = gt.instances(info)
        n_targets += inst.n_instances
        # ground-truth masks in reverse order with the crowd union as an extra (worst) one
        masks = list(inst.masks[::-1])
        if inst.void.any():
            masks.append(inst.void)
        if masks:
            save_proposals(folder / f"{info.stem}.npz", proposals_from_masks(np.stack(masks)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProposalBenchmarkWarning)
        result = evaluate_dataset(gt, coco / "train2017", folder)
    elapsed = time.perf_counter() - start
    s = result.summary
    assert s["n_instances"] == n_targets == 1732 - 18
    assert s["n_crowd_annotations"] == 18
    assert s["masks"]["abo"][-1] == 1.0
    assert s["masks"]["ar"][-1] == 1.0 and s["masks"]["jaccard_class"][-1] == 1.0
    assert s["boxes"]["abo"][-1] == 1.0
    assert 0 < s["masks"]["abo"][0] < 1.0  # some images have more than 10 instances
    assert elapsed < 120
