"""``mcg train``: proposals, edges and calibration trained on tiny synthetic datasets and used."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import scipy.io

from mcg.cli import main as cli_main

HEIGHT, WIDTH = 80, 104


def _scene(seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """An RGB image of 2-3 flat-coloured shapes on a textured background, and their masks."""
    rng = np.random.default_rng(seed)
    image = (rng.normal(0, 6, (HEIGHT, WIDTH, 3)) + rng.uniform(60, 120, 3)).clip(0, 255)
    masks = []
    for k in range(2 + seed % 2):
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        cy, cx = rng.integers(22, HEIGHT - 22), rng.integers(22, WIDTH - 22)
        if k % 2:
            cv2.ellipse(mask, (int(cx), int(cy)), (int(rng.integers(10, 18)),
                                                   int(rng.integers(8, 14))), 0, 0, 360, 1, -1)
        else:
            h, w = rng.integers(12, 22, 2)
            mask[cy - h // 2:cy + h // 2, cx - w // 2:cx + w // 2] = 1
        mask = mask.astype(bool)
        for other in masks:
            mask &= ~other
        image[mask] = rng.uniform(0, 255, 3)
        masks.append(mask)
    return image.astype(np.uint8), masks


def _coco_dataset(folder, n_images: int):
    """``n_images`` scenes as JPEG files with a COCO instances JSON (RLE masks)."""
    from pycocotools import mask as mask_utils

    images_dir = folder / "images"
    images_dir.mkdir(parents=True)
    images, annotations = [], []
    for i in range(n_images):
        image, masks = _scene(i)
        name = f"scene_{i:02d}.png"
        cv2.imwrite(str(images_dir / name), image[:, :, ::-1])
        images.append({"id": i + 1, "file_name": name, "height": HEIGHT, "width": WIDTH})
        for mask in masks:
            rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": 1,
                                "iscrowd": 0, "area": int(mask.sum()),
                                "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                                "segmentation": {"size": rle["size"],
                                                 "counts": rle["counts"].decode()}})
    gt = folder / "instances.json"
    gt.write_text(json.dumps({"images": images, "annotations": annotations,
                              "categories": [{"id": 1, "name": "shape"}]}))
    return gt, images_dir, len(annotations)


def _bsds_dataset(folder, n_images: int):
    """``n_images`` scenes in the BSDS layout (JPEG + groundTruth .mat with one human)."""
    from mcg.edge_training import segmentation_of_instances

    (folder / "images" / "train").mkdir(parents=True)
    (folder / "groundTruth" / "train").mkdir(parents=True)
    for i in range(n_images):
        image, masks = _scene(10 + i)
        cv2.imwrite(str(folder / "images" / "train" / f"{i}.jpg"), image[:, :, ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, 98])
        segmentation, boundaries = segmentation_of_instances(np.stack(masks))
        cell = np.empty((1, 1), dtype=object)
        cell[0, 0] = {"Segmentation": (segmentation + 1).astype(np.uint16),
                      "Boundaries": boundaries}
        scipy.io.savemat(folder / "groundTruth" / "train" / f"{i}.mat", {"groundTruth": cell})
    return folder


SMALL_FOREST = {"n_trees": 5, "max_depth": 6, "per_image": 500}


@pytest.fixture(scope="module")
def coco_tiny(tmp_path_factory):
    return _coco_dataset(tmp_path_factory.mktemp("coco"), 6)


@pytest.fixture(scope="module")
def trained_scg(coco_tiny, tmp_path_factory):
    from mcg.proposal_training import train_proposals

    gt, images, _ = coco_tiny
    out = tmp_path_factory.mktemp("models")
    lines = []
    record = train_proposals(gt, images, out, mode="scg", heldout=2, forest_params=SMALL_FOREST,
                             log=lines.append)
    return out, record, lines


def test_train_proposals_writes_a_model_folder_with_its_record(trained_scg, coco_tiny):
    from grouping.pareto import WorkingPoints
    from grouping.ranker import RegressionForest

    out, record, lines = trained_scg
    _, _, n_instances = coco_tiny
    saved = json.loads((out / "training.json").read_text())["scg"]
    assert saved["data"]["train"] == {"images": 4, "images_with_objects": 4,
                                      "instances": sum(2 + i % 2 for i in range(4))}
    assert saved["data"]["heldout"]["images"] == 2
    assert saved["data"]["heldout"]["instances"] + saved["data"]["train"]["instances"] == n_instances
    points = WorkingPoints.load(out / "scg_working_points.npz")
    assert points.n_cands.shape[1:] == (4, 1)
    assert saved["working_point"]["n_cands"] == points.n_cands_for(3000).tolist()
    assert len(RegressionForest.load(out / "scg_ranker.npz").roots) == SMALL_FOREST["n_trees"]
    assert any("scg working points: 4/4 images" in line for line in lines)  # progress lines
    # Held-out figures on the 2 held-out scenes: flat shapes are found almost exactly.
    evaluation = json.loads((out / "evaluation.json").read_text())["scg"]
    assert evaluation["n_images"] == 2
    assert record["evaluation"]["all"]["abo"] == evaluation["key"]["all"]["abo"]
    assert evaluation["key"]["all"]["abo"] > 0.8
    assert not (out / "edge_forest.npz").exists()  # shipped edges: nothing copied


def test_trained_models_are_used_by_im2mcg(trained_scg):
    from mcg import im2mcg
    from mcg.proposals import load_candidate_models

    out, _, _ = trained_scg
    image, masks = _scene(1)
    points, ranker = load_candidate_models("scg", out)
    assert len(ranker.roots) == SMALL_FOREST["n_trees"]
    proposals = im2mcg(image, mode="scg", models=out)
    shipped = im2mcg(image, mode="scg")
    assert not np.array_equal(proposals.scores, shipped.scores)  # another ranker
    for mask in masks:
        best = max(np.logical_and(p, mask).sum() / np.logical_or(p, mask).sum()
                   for p in proposals.masks(20))
        assert best > 0.8
    with pytest.raises(FileNotFoundError, match="has no mcg_working_points.npz"):
        im2mcg(image, mode="mcg", models=out)


def test_rerun_continues_and_other_parameters_are_refused(trained_scg, coco_tiny):
    from mcg.proposal_training import train_proposals

    gt, images, _ = coco_tiny
    out, record, _ = trained_scg
    before = {p.name: p.read_bytes() for p in out.glob("*.npz")}
    lines = []
    again = train_proposals(gt, images, out, mode="scg", heldout=2, forest_params=SMALL_FOREST,
                            log=lines.append)
    assert again["files"] == record["files"]
    assert any("not retrained" in line for line in lines)
    assert {p.name: p.read_bytes() for p in out.glob("*.npz")} == before
    with pytest.raises(ValueError, match="other parameters"):
        train_proposals(gt, images, out, mode="scg", heldout=2, n_candidates=500,
                        forest_params=SMALL_FOREST, log=lines.append)


def test_training_is_deterministic(trained_scg, coco_tiny, tmp_path):
    from mcg.proposal_training import train_proposals

    gt, images, _ = coco_tiny
    out, record, _ = trained_scg
    # The hierarchies are reused (same work folder), the models are trained again.
    copy = train_proposals(gt, images, tmp_path, mode="scg", heldout=2, work=out / "work",
                           forest_params=SMALL_FOREST, log=lambda message: None)
    for name in ("scg_working_points.npz", "scg_ranker.npz"):
        with np.load(out / name) as first, np.load(tmp_path / name) as second:
            assert first.files == second.files
            for key in first.files:
                assert np.array_equal(first[key], second[key]), (name, key)
    assert copy["working_point"] == record["working_point"]


def test_train_proposals_command_and_proposals_models(coco_tiny, trained_scg, tmp_path, capsys):
    gt, images, _ = coco_tiny
    out, _, _ = trained_scg
    status = cli_main(["proposals", str(images), "-o", str(tmp_path / "props"), "--mode", "scg",
                       "--models", str(out), "--max", "5"])
    assert status == 0
    assert len(list((tmp_path / "props").glob("*.npz"))) == 6
    manifest = json.loads((tmp_path / "props" / "mcg_run.json").read_text())
    assert manifest["models"]["ranker"] == json.loads(
        (out / "training.json").read_text())["scg"]["files"]["scg_ranker.npz"]
    capsys.readouterr()
    assert cli_main(["proposals", str(images), "-o", str(tmp_path / "p2"), "--mode", "mcg",
                     "--models", str(out)]) == 2
    assert "has no mcg_working_points.npz" in capsys.readouterr().err
    assert cli_main(["train", "proposals", "--coco-gt", str(gt), "--images", str(images),
                     "-o", str(tmp_path / "m"), "--heldout", "6"]) == 2
    assert "leaves no training image" in capsys.readouterr().err


def test_train_edges_on_coco_resumes_and_detects_the_shapes(coco_tiny, tmp_path):
    from contours.forest import EdgeForest
    from mcg import detect_edges
    from mcg.edge_training import train_edges

    gt, images, _ = coco_tiny
    model = tmp_path / "edges.npz"
    options = dict(coco_gt=gt, images=images, n_trees=2, n_pos=3000, n_neg=3000)
    lines = []
    train_edges(model, log=lines.append, **options)
    assert any("2/2 trees" in line for line in lines)
    first = EdgeForest.load(model)
    assert first.metadata["data"]["images"] == 6
    # A killed training: the model and one tree's checkpoint are gone; the rerun trains one tree.
    model.unlink()
    (tmp_path / "edges_work" / "tree_001.npz").unlink()
    lines.clear()
    second = train_edges(model, log=lines.append, **options)
    assert any("1 of 2 trees done earlier" in line for line in lines)
    for name in ("fids", "thrs", "child", "leaf_segs"):
        assert np.array_equal(getattr(first, name), getattr(second, name))
    with pytest.raises(ValueError, match="other settings"):
        train_edges(model, log=lines.append, **dict(options, n_pos=2000))
    # The trained forest finds the shapes' outlines of an unseen scene.
    image, masks = _scene(7)
    edges, _ = detect_edges(image, model=model)
    outline = np.zeros(image.shape[:2], bool)
    for mask in masks:
        outline |= cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_GRADIENT,
                                    np.ones((3, 3), np.uint8)).astype(bool)
    assert edges[outline].mean() > 4 * edges[~outline].mean()


def test_train_edges_command_refuses_bad_input(tmp_path, capsys):
    assert cli_main(["train", "edges", "-o", str(tmp_path / "e.npz")]) == 2
    assert "either bsds" in capsys.readouterr().err
    (tmp_path / "e.npz").write_bytes(b"x")
    assert cli_main(["train", "edges", "--bsds", str(tmp_path), "-o", str(tmp_path / "e.npz")]) == 2
    assert "exists" in capsys.readouterr().err


def test_train_edges_and_calibration_on_bsds_layout(tmp_path):
    from mcg import im2ucm
    from mcg.calibration import SIGMOID_SLOPE_GRID, SIGMOID_THR_GRID
    from mcg.pipeline import read_calibration

    bsds = _bsds_dataset(tmp_path / "bsds", 3)
    model = tmp_path / "bsds_edges.npz"
    assert cli_main(["train", "edges", "--bsds", str(bsds), "-o", str(model), "--trees", "1",
                     "--pos", "2000", "--neg", "2000"]) == 0
    calibration = tmp_path / "calibration.json"
    assert cli_main(["train", "calibration", "--bsds", str(bsds), "-o", str(calibration),
                     "--modes", "scg", "--edges", "fast", "--images", "3", "--grid", "20",
                     "--edge-model", str(model)]) == 0
    entry = json.loads(calibration.read_text())["scg"]
    assert entry["train_images"] == ["0", "1", "2"]
    assert entry["sigmoid_thr"] in SIGMOID_THR_GRID and entry["sigmoid_slope"] in SIGMOID_SLOPE_GRID
    assert entry["command"].startswith("mcg train calibration")
    values = read_calibration(calibration, "scg")
    image, _ = _scene(20)
    from_file = im2ucm(image, mode="scg", edges="fast", edge_model=model, calibration=calibration)
    from_dict = im2ucm(image, mode="scg", edges="fast", edge_model=model, calibration=values)
    assert np.array_equal(from_file.to_ucm2(), from_dict.to_ucm2())
    # A second fit into the same file would replace the entry: refused without --overwrite.
    assert cli_main(["train", "calibration", "--bsds", str(bsds), "-o", str(calibration),
                     "--modes", "scg", "--edges", "fast", "--images", "3"]) == 2
    with pytest.raises(ValueError, match="no 'mcg_accurate' calibration"):
        im2ucm(image, mode="mcg", calibration=calibration)
