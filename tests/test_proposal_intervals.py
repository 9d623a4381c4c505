"""benchmarks/proposal_intervals.py: image-bootstrap intervals of ABO and recall@0.7."""
from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "proposal_intervals.py"


def _write_per_instance(path: Path, best_by_image: dict[str, list[float]]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "instance_id", "iou@100"])
        instance = 0
        for image, values in best_by_image.items():
            for value in values:
                instance += 1
                writer.writerow([image, instance, f"{value:.6f}"])


def _run(path: Path) -> dict[str, tuple[float, float, float]]:
    done = subprocess.run([sys.executable, str(SCRIPT), str(path), "--budgets", "100",
                           "--resamples", "500"], capture_output=True, text=True, check=True)
    scores = {}
    for name, mean, low, high in re.findall(
            r"^(\S+) @100: ([0-9.]+) \[([0-9.]+), ([0-9.]+)\]$", done.stdout, re.M):
        scores[name] = (float(mean), float(low), float(high))
    return scores


def test_identical_images_give_a_zero_width_interval(tmp_path):
    # every image has the same instances: any resample of images has the same mean
    per_image = {f"{i}.jpg": [0.2, 0.8, 0.9] for i in range(10)}
    _write_per_instance(tmp_path / "per_instance.csv", per_image)
    scores = _run(tmp_path / "per_instance.csv")
    assert scores["ABO"] == (0.6333, 0.6333, 0.6333)
    assert scores["recall@0.7"] == (0.6667, 0.6667, 0.6667)


def test_instances_are_weighted_and_resampled_by_image(tmp_path):
    # one image with 9 instances at 1.0, nine images with one instance at 0.0:
    # the mean is over instances (9/18), and the interval spans the image draws
    per_image = {"big.jpg": [1.0] * 9}
    per_image.update({f"{i}.jpg": [0.0] for i in range(9)})
    _write_per_instance(tmp_path / "per_instance.csv", per_image)
    mean, low, high = _run(tmp_path / "per_instance.csv")["ABO"]
    assert mean == 0.5
    # a resample without "big" (probability 0.9^10 = 35%) scores 0, so the lower end is 0;
    # three draws of it give 27 / 34 = 0.79. Resampling instances instead of images would
    # give about [0.28, 0.72].
    assert low == 0.0 and 0.65 < high <= 1.0


def test_missing_budget_column_is_a_clear_error(tmp_path):
    _write_per_instance(tmp_path / "per_instance.csv", {"a.jpg": [0.5]})
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "per_instance.csv"),
                           "--budgets", "1000"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "has no column iou@1000" in done.stderr
