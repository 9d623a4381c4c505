"""The COCO train / held-out split and the shipped candidate-selection models."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grouping.candidates import MAX_REGIONS
from grouping.features import FEATURE_NAMES
from grouping.pareto import WorkingPoints
from grouping.ranker import RegressionForest
from mcg.pipeline import hierarchy_configuration, preset_key
from mcg.proposal_training import (DEFAULT_N_CANDIDATES, N_TRAIN, coco_split, tree_paths)
from tests.conftest import shared_path

MODELS = Path(__file__).resolve().parents[1] / "mcg" / "models"
N_TREES = {"mcg": 4, "scg": 1}
#: shipped candidate models: (mode, edge preset)
SHIPPED = [("mcg", "fast"), ("scg", "fast"), ("mcg", "accurate"), ("scg", "accurate")]


def test_split_of_a_synthetic_folder_is_by_file_name(tmp_path):
    names = ["c.jpg", "a.jpg", "e.png", "b.jpg", "d.JPG", "notes.txt"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.jpg").mkdir()  # a folder is not an image
    train, held = coco_split(tmp_path, n_train=3)
    assert [p.name for p in train] == ["a.jpg", "b.jpg", "c.jpg"]
    assert [p.name for p in held] == ["d.JPG", "e.png"]


def test_split_rejects_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        coco_split(tmp_path / "absent")
    (tmp_path / "a.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="has 1 images"):
        coco_split(tmp_path, n_train=1)
    with pytest.raises(ValueError, match="n_train must be positive"):
        coco_split(tmp_path, n_train=0)


def test_coco_split_is_deterministic_and_disjoint():
    folder = shared_path("coco", "train2017")
    train, held = coco_split(folder)
    assert (len(train), len(held)) == (N_TRAIN, 64)
    assert coco_split(folder) == (train, held)
    names = [p.name for p in train + held]
    assert names == sorted(names) and len(set(names)) == 192
    assert not {p.name for p in train} & {p.name for p in held}
    assert train[0].name == "000000000790.jpg"


def test_tree_paths_follow_the_cache_layout(tmp_path):
    assert [p.name for p in tree_paths(tmp_path, "x", "mcg")] == [f"x_{k}.npz" for k in range(4)]
    assert tree_paths(tmp_path, "x", "scg") == [tmp_path / "x_0.npz"]


def test_preset_keys_name_the_model_files():
    assert preset_key("mcg", "fast") == "mcg"
    assert preset_key("scg", "accurate") == "scg_accurate"
    with pytest.raises(ValueError, match="edges must be one of"):
        preset_key("mcg", "best")


@pytest.mark.parametrize("mode, edges", SHIPPED)
def test_shipped_working_points_are_sane(mode, edges):
    path = MODELS / f"{preset_key(mode, edges)}_working_points.npz"
    assert path.stat().st_size < 25_000_000
    wp = WorkingPoints.load(path)
    assert wp.n_cands.shape[1:] == (MAX_REGIONS, N_TREES[mode])
    assert np.all(np.diff(wp.mean_n) > 0)
    assert np.all(np.diff(wp.quality) >= 0) and 0 < wp.quality[-1] <= 1
    n_cands = wp.n_cands_for(DEFAULT_N_CANDIDATES[mode])
    assert n_cands.shape == (MAX_REGIONS, N_TREES[mode])
    # The default working point is a real compromise, not the cheapest end of the front.
    assert n_cands.sum() > 0.25 * DEFAULT_N_CANDIDATES[mode]


@pytest.mark.parametrize("mode, edges", SHIPPED)
def test_shipped_ranker_is_sane(mode, edges):
    path = MODELS / f"{preset_key(mode, edges)}_ranker.npz"
    assert path.stat().st_size < 25_000_000
    forest = RegressionForest.load(path)
    assert forest.feature_names == FEATURE_NAMES
    assert len(forest.roots) == 50
    rng = np.random.default_rng(0)
    pred = forest.predict(rng.random((200, len(FEATURE_NAMES))).astype(np.float32))
    # Targets are best Jaccard indices, so every leaf value (and mean) is in [0, 1].
    assert np.all((forest.value >= 0) & (forest.value <= 1))
    assert pred.shape == (200,) and np.all((pred >= 0) & (pred <= 1))
    assert pred.std() > 0  # not a constant forest


def test_training_record_names_the_hierarchies_of_this_version():
    """Each shipped record holds the scales and DNCuts bound its models were fit to, and they
    are those the code computes (a change of either needs retrained models)."""
    record = json.loads((MODELS / "training.json").read_text())
    for mode, edges in SHIPPED:
        recorded = record[preset_key(mode, edges)]["parameters"]["hierarchy"]
        assert recorded == hierarchy_configuration(mode, edges)
    assert hierarchy_configuration("mcg", "fast") == {"scales": [1.5, 0.75, 0.5],
                                                      "dncuts_max_reduced_nodes": 30000}


def test_models_fit_to_other_hierarchies_are_refused(tmp_path):
    import shutil

    from mcg.proposals import load_candidate_models

    for name in ("scg_working_points.npz", "scg_ranker.npz"):
        shutil.copy(MODELS / name, tmp_path / name)
    # no record, or a record without the hierarchy entry (older folders): loaded as they are
    points, ranker = load_candidate_models("scg", tmp_path)
    assert points is not None and ranker is not None
    other = tmp_path / "other"
    shutil.copytree(tmp_path, other, ignore=shutil.ignore_patterns("other"))
    record = {"scg": {"parameters": {"hierarchy": {"scales": [2.0],
                                                    "dncuts_max_reduced_nodes": 45000}}}}
    (other / "training.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match=r"scales 2 and .* this version computes scales 1 .*"
                                         r"retrain them with `mcg train proposals --mode scg"):
        load_candidate_models("scg", other)
    matching = tmp_path / "matching"
    shutil.copytree(other, matching)
    record["scg"]["parameters"]["hierarchy"] = hierarchy_configuration("scg", "fast")
    (matching / "training.json").write_text(json.dumps(record))
    assert load_candidate_models("scg", matching)[0] is not None


def test_training_record_matches_the_models():
    record = json.loads((MODELS / "training.json").read_text())
    for mode, edges in SHIPPED:
        key = preset_key(mode, edges)
        r = record[key]
        assert r["default_n_candidates"] == DEFAULT_N_CANDIDATES[mode]
        assert r["n_train_images"] == N_TRAIN
        assert key in Path(r["trees"]).parts  # the hierarchies of this mode and preset
        wp = WorkingPoints.load(MODELS / f"{key}_working_points.npz")
        assert r["working_point"]["n_cands"] == wp.n_cands_for(
            DEFAULT_N_CANDIDATES[mode]).tolist()
        assert r["working_point"]["mean_n"] <= DEFAULT_N_CANDIDATES[mode]
