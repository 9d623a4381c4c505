"""Paired bootstrap comparison of two BSDS boundary results (eval.bsds_compare)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from eval.bsds import (BoundaryCounts, _max_f, bsds_thresholds, collect_boundaries, seg2bdry)
from eval.bsds_compare import _max_f_batch, _scores, _stack, compare_boundaries
from mcg.cli import main

N_THRESH = 9


def _random_counts(rng, n_images, quality=1.0):
    """Per-image counts of a plausible result: recall falls and precision rises with t."""
    thresholds = bsds_thresholds(N_THRESH)
    out = {}
    for k in range(n_images):
        sum_r = float(rng.integers(500, 3000))
        recall = np.sort(rng.uniform(0.2, 0.95, N_THRESH))[::-1] * min(1.0, quality)
        machine = np.sort(rng.integers(200, 5000, N_THRESH))[::-1].astype(float)
        precision = np.sort(rng.uniform(0.3, 0.95, N_THRESH)) * min(1.0, quality)
        out[f"im{k:03d}"] = BoundaryCounts(thresholds, np.round(recall * sum_r),
                                           np.full(N_THRESH, sum_r), np.round(precision * machine),
                                           machine)
    return out


def test_max_f_batch_equals_the_scalar_search():
    rng = np.random.default_rng(3)
    recall = rng.uniform(0, 1, (20, N_THRESH))
    precision = rng.uniform(0, 1, (20, N_THRESH))
    thresholds = bsds_thresholds(N_THRESH)
    expected = [_max_f(thresholds, r, p)[3] for r, p in zip(recall, precision)]
    np.testing.assert_allclose(_max_f_batch(recall, precision), expected, rtol=0, atol=1e-12)


def test_resampled_scores_equal_collect_boundaries_on_the_drawn_sets():
    """Weights = multiplicities reproduce collect_boundaries on the list with repeats."""
    rng = np.random.default_rng(5)
    counts = _random_counts(rng, 12)
    ids = sorted(counts)
    stacks = _stack(counts, ids)
    for _ in range(4):
        draw = rng.integers(0, len(ids), len(ids))
        weights = np.bincount(draw, minlength=len(ids)).astype(float)[None]
        ods, ois, ap = _scores(weights, *stacks)[0]
        ev = collect_boundaries([counts[ids[i]] for i in draw])
        assert ods == pytest.approx(ev.ods_f, abs=1e-12)
        assert ois == pytest.approx(ev.ois_f, abs=1e-12)
        assert ap == pytest.approx(ev.ap, abs=1e-12)


def test_identical_results_differ_by_nothing():
    counts = _random_counts(np.random.default_rng(0), 10)
    comparison = compare_boundaries(counts, dict(counts), n_resamples=200)
    for m in comparison.metrics.values():
        assert m.difference == 0.0 and m.interval == (0.0, 0.0)
        assert m.fraction_not_better == 1.0


def test_a_result_better_on_every_image_has_a_positive_interval():
    rng = np.random.default_rng(1)
    base = _random_counts(rng, 30)
    worse = {}
    for iid, c in base.items():   # precision lowered by 10% on every image and threshold
        worse[iid] = BoundaryCounts(c.thresholds, c.cnt_r, c.sum_r, np.round(c.cnt_p * 0.9),
                                    c.sum_p)
    comparison = compare_boundaries(base, worse, n_resamples=300, seed=4)
    for key in ("ods", "ois", "ap"):
        m = comparison.metrics[key]
        full = [collect_boundaries([d[i] for i in sorted(base)]) for d in (base, worse)]
        value = {"ods": "ods_f", "ois": "ois_f", "ap": "ap"}[key]
        assert m.value_a == pytest.approx(getattr(full[0], value))
        assert m.value_b == pytest.approx(getattr(full[1], value))
        assert m.difference > 0.005
        assert 0 < m.interval[0] <= m.difference <= m.interval[1]
        assert m.fraction_not_better == 0.0
    text = comparison.format("base", "worse")
    assert "base - worse" in text and "ODS" in text and "95% interval" in text


def test_comparison_is_deterministic_and_uses_common_images_only():
    rng = np.random.default_rng(2)
    a = _random_counts(rng, 15)
    b = _random_counts(rng, 15)
    b.pop("im000")
    b["extra"] = a["im001"]
    first = compare_boundaries(a, b, n_resamples=100, seed=9)
    again = compare_boundaries(a, b, n_resamples=100, seed=9)
    assert first.metrics == again.metrics
    assert len(first.image_ids) == 14 and first.only_a == ["im000"] and first.only_b == ["extra"]
    other_seed = compare_boundaries(a, b, n_resamples=100, seed=10)
    assert other_seed.metrics["ods"].interval != first.metrics["ods"].interval
    assert other_seed.metrics["ods"].difference == first.metrics["ods"].difference
    assert "1 image(s) only in A were left out: im000" in first.format()


def test_bad_comparisons_are_refused_with_a_reason():
    rng = np.random.default_rng(6)
    a = _random_counts(rng, 3)
    with pytest.raises(ValueError, match="no image in common"):
        compare_boundaries(a, {"zzz": a["im000"]})
    other = {iid: BoundaryCounts(bsds_thresholds(5), *(np.ones(5) for _ in range(4)))
             for iid in a}
    with pytest.raises(ValueError, match="different thresholds"):
        compare_boundaries(a, other)
    with pytest.raises(ValueError, match="n_resamples"):
        compare_boundaries(a, a, n_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        compare_boundaries(a, a, confidence=1.0)


def test_cli_compare_two_result_folders(tmp_path, capsys):
    """``mcg bench bsds --compare``: a result equal to the ground truth beats a shifted one."""
    gt_dir, good, shifted = tmp_path / "gt", tmp_path / "good", tmp_path / "shifted"
    for d in (gt_dir, good, shifted):
        d.mkdir()
    rng = np.random.default_rng(8)
    for k in range(6):
        seg = np.ones((40, 60), int)
        row, col = rng.integers(8, 30), rng.integers(10, 50)
        seg[row:, :] = 2
        seg[:, col:] += 2
        cell = np.empty((1, 1), dtype=object)
        cell[0, 0] = {"Segmentation": seg.astype(np.uint16),
                      "Boundaries": seg2bdry(seg).astype(np.uint8)}
        scipy.io.savemat(gt_dir / f"i{k}.mat", {"groundTruth": cell})
        np.save(good / f"i{k}.npy", seg2bdry(seg).astype(np.float32))
        np.save(shifted / f"i{k}.npy", np.roll(seg2bdry(seg), 4, axis=1).astype(np.float32))
    code = main(["bench", "bsds", "--results", str(good), "--gt", str(gt_dir), "--nthresh", "5",
                 "--workers", "1", "--no-regions", "--compare", str(shifted),
                 "--resamples", "50"])
    assert code == 0
    text = capsys.readouterr().out
    assert "Paired bootstrap over 6 images (50 resamples, seed 0): good - shifted" in text
    ods_line = next(line for line in text.splitlines() if line.strip().startswith("ODS "))
    assert ods_line.split()[1] == "1.0000"        # the exact result is perfect
    assert "not better in 0.0% of resamples" in ods_line
    assert not (shifted / "eval").exists()         # the compared folder gets no files


def test_cli_rejects_a_bad_resample_count(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "bsds", "--results", str(tmp_path), "--gt", str(tmp_path),
              "--compare", str(tmp_path), "--resamples", "0"])
    assert exc.value.code == 2
    assert "--resamples: must be a positive integer, got '0'" in capsys.readouterr().err
