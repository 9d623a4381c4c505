"""Calibration fit: raw-threshold counts reproduce the benchmark of calibrated hierarchies."""
import json

import numpy as np
import pytest

from eval.bsds import collect_boundaries, evaluate_boundaries_image
from grouping.multiscale import sigmoid_calibration
from mcg.calibration import evaluate_calibration, fit_sigmoid, grid_counts, height_grid, raw_thresholds
from mcg.pipeline import load_calibration


def _toy_image(seed):
    """A ucm2 of nested boxes with random heights and one human marking two of the boxes."""
    rng = np.random.default_rng(seed)
    h, w = 40, 50
    ucm2 = np.zeros((2 * h + 1, 2 * w + 1))
    gt = np.zeros((h, w), bool)
    for k, (y0, x0, y1, x1) in enumerate([(5, 5, 35, 45), (10, 10, 30, 25), (12, 28, 28, 40)]):
        height = rng.uniform(0.05, 0.95)
        ucm2[2 * y0:2 * y1 + 1:2, 2 * x0:2 * x1 + 1] = height
        ucm2[2 * y0:2 * y1 + 1, 2 * x0:2 * x1 + 1:2] = height
        ucm2[2 * y0 + 2:2 * y1 - 1, 2 * x0 + 2:2 * x1 - 1] = 0
        if k != 1:
            gt[y0, x0:x1] = gt[y1 - 1, x0:x1] = gt[y0:y1, x0] = gt[y0:y1, x1 - 1] = True
    return ucm2, [gt]


def test_raw_thresholds_invert_the_sigmoid():
    t = np.linspace(0.01, 0.99, 99)
    raw = raw_thresholds(0.3, 6.0, t)
    assert np.allclose(sigmoid_calibration(raw, 0.3, 6.0), t)


@pytest.mark.parametrize("thr,slope", [(0.35, 8.0), (0.1, 3.0), (0.5, 15.0)])
def test_calibration_from_raw_counts_equals_benchmark_of_calibrated_map(thr, slope):
    images = [_toy_image(s) for s in range(3)]
    ucms = [u for u, _ in images]
    gts = [g for _, g in images]
    levels = np.unique(np.concatenate([u[u > 0] for u in ucms]))
    grid = np.concatenate([levels, [levels.max() + 1.0]])
    counts = grid_counts(ucms, gts, grid)
    fast = evaluate_calibration(counts, grid, thr, slope)
    direct = collect_boundaries([evaluate_boundaries_image(sigmoid_calibration(u, thr, slope), g)
                                 for u, g in images])
    assert fast.ods_f == pytest.approx(direct.ods_f, abs=1e-12)
    assert fast.ois_f == pytest.approx(direct.ois_f, abs=1e-12)
    assert fast.ap == pytest.approx(direct.ap, abs=1e-12)
    assert np.allclose(fast.recall, direct.recall) and np.allclose(fast.precision, direct.precision)


def test_fit_sigmoid_picks_the_best_pair():
    images = [_toy_image(s) for s in range(3)]
    ucms = [u for u, _ in images]
    levels = np.unique(np.concatenate([u[u > 0] for u in ucms]))
    grid = np.concatenate([levels, [levels.max() + 1.0]])
    counts = grid_counts(ucms, [g for _, g in images], grid)
    thr, slope, table = fit_sigmoid(counts, grid, (0.2, 0.5), (2.0, 8.0))
    assert len(table) == 4
    best = max(r[2] + r[3] + r[4] for r in table)
    chosen = [r for r in table if r[0] == thr and r[1] == slope][0]
    assert chosen[2] + chosen[3] + chosen[4] == best


def test_load_calibration_reads_file_and_falls_back(tmp_path):
    with pytest.warns(UserWarning, match="calibration file not found"):
        assert load_calibration("mcg", tmp_path)["sigmoid_slope"] == 8.0
    (tmp_path / "calibration.json").write_text(json.dumps({"scg": {}}))
    with pytest.warns(UserWarning, match="has no 'mcg' calibration"):
        assert load_calibration("mcg", tmp_path)["sigmoid_slope"] == 8.0
    (tmp_path / "calibration.json").write_text(json.dumps(
        {"mcg": {"weights": [0.5, 0.25, 0.25], "sigmoid_thr": 0.2, "sigmoid_slope": 5}}))
    c = load_calibration("mcg", tmp_path)
    assert c == {"weights": [0.5, 0.25, 0.25], "sigmoid_thr": 0.2, "sigmoid_slope": 5.0}


def test_height_grid_covers_the_whole_range():
    # most heights low, a few strong contours: the grid must still step finely up to the top
    rng = np.random.default_rng(0)
    ucm = np.zeros((41, 41))
    values = np.concatenate([rng.uniform(0.01, 0.05, 400), rng.uniform(0.5, 1.2, 20)])
    ucm[1::2, 0::2] = rng.permutation(values).reshape(20, 21)
    grid = height_grid([ucm], 50)
    heights = ucm[ucm > 0]
    assert grid[0] == heights.min() and grid[-1] > heights.max() >= grid[-2]
    assert np.all(np.diff(grid) > 0)
    assert np.diff(grid[:-1]).max() <= (heights.max() - heights.min()) / 49 + 1e-12
