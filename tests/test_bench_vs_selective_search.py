"""benchmarks/bench_vs_selective_search.py: the parts that run without opencv-contrib."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eval.coco_io import GroundTruthImage
from eval.proposals import CocoResultProposals

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_vs_selective_search.py"


@pytest.fixture(scope="module")
def bench():
    """The script as a module; its import-time thread settings are undone afterwards."""
    saved = dict(os.environ)
    spec = importlib.util.spec_from_file_location("bench_vs_selective_search", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return module


def test_selective_search_boxes_round_trip_through_the_proposal_benchmark(bench, tmp_path):
    """Boxes written as COCO results come back from the benchmark's reader in the same order."""
    boxes = [[10, 20, 30, 40], [0, 0, 5, 5], [7, 3, 1, 2], [7, 3, 1, 2]]
    entries = bench.selective_search_results(42, boxes)
    assert [e["score"] for e in entries] == [1.0, 0.75, 0.5, 0.25]
    assert all(e["image_id"] == 42 and e["category_id"] == 1 for e in entries)
    path = tmp_path / "ss.json"
    path.write_text(json.dumps(entries))
    reader = CocoResultProposals(path)
    info = GroundTruthImage(file_name="a.jpg", image_id=42, height=60, width=50)
    masks, xyxy, status = reader.get(info)
    assert status == "ok" and masks is None
    np.testing.assert_array_equal(xyxy, [[10, 20, 40, 60], [0, 0, 5, 5], [7, 3, 8, 5], [7, 3, 8, 5]])


def test_image_ids_by_file_name(bench, tmp_path):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"images": [{"id": 7, "file_name": "b.jpg", "height": 4, "width": 5},
                                         {"id": 3, "file_name": "a.jpg", "height": 4, "width": 5}],
                              "annotations": [], "categories": []}))
    assert bench.coco_image_ids(str(gt), [Path("x/a.jpg"), Path("y/b.jpg")]) == {"a.jpg": 3,
                                                                                 "b.jpg": 7}
    with pytest.raises(SystemExit):
        bench.coco_image_ids(str(gt), [Path("c.jpg")])


def test_rotation_and_summary(bench):
    assert [bench.rotated(["ss", "mcg", "scg"], i) for i in range(4)] == [
        ["ss", "mcg", "scg"], ["mcg", "scg", "ss"], ["scg", "ss", "mcg"], ["ss", "mcg", "scg"]]
    summary = bench.summarize([1.0, 2.0, 3.0, 10.0])
    assert summary == {"n": 4, "median": 2.5, "mean": 4.0, "p90": pytest.approx(7.9)}
    assert bench.target_holds("mcg", 1.01) and not bench.target_holds("mcg", 1.0)
    assert bench.target_holds("scg", 5.0) and not bench.target_holds("scg", 4.99)


def test_paired_comparison_counts_each_image(bench):
    records = [{"seconds": {"ss": 1.0, "mcg": 0.5}}, {"seconds": {"ss": 1.0, "mcg": 2.0}},
               {"seconds": {"ss": 3.0, "mcg": 1.0}}, {"seconds": {"ss": 1.0, "mcg": 1.0}}]
    pair = bench.paired_comparison(records, "mcg")
    # ratios 2, 0.5, 3, 1: faster on two images (a tie is not faster), median 1.5
    assert pair == {"faster_images": 2, "median_ratio": 1.5, "total_ss": 6.0, "total_mode": 4.5}


def test_results_file_needs_the_ground_truth(tmp_path):
    """--ss-results without --coco-gt is refused before anything runs."""
    run = subprocess.run([sys.executable, str(SCRIPT), "--ss-python", sys.executable,
                          "--ss-results", str(tmp_path / "ss.json")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "--ss-results needs --coco-gt" in run.stderr


def test_missing_contrib_is_one_clear_error(tmp_path):
    """An interpreter without cv2.ximgproc gives a one-line error, not a traceback."""
    image = tmp_path / "a.png"
    import cv2

    cv2.imwrite(str(image), np.zeros((8, 8, 3), np.uint8))
    run = subprocess.run([sys.executable, str(SCRIPT), "--ss-python", sys.executable,
                          "--images", str(image)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    assert "error:" in run.stderr and "Traceback" not in run.stderr
