"""Paired bootstrap comparison of two BSDS boundary results (eval.bsds_compare)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from eval.bsds import (BoundaryCounts, RegionCounts, _max_f, best_threshold_counts,
                       bsds_thresholds, collect_boundaries, collect_regions, rounded_counts,
                       seg2bdry)
from eval.bsds_compare import (_boundary_scores, _covering_scores, _max_f_batch,
                               compare_boundaries, compare_regions)
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


def _random_region_counts(rng, n_images, shrink=1.0):
    """Per-image covering counts; ``shrink`` < 1 lowers the covering at every threshold."""
    thresholds = bsds_thresholds(N_THRESH)
    out = {}
    for k in range(n_images):
        area = float(rng.integers(10_000, 150_000))
        covering = rng.uniform(0.3, 0.9, N_THRESH)
        out[f"im{k:03d}"] = RegionCounts(thresholds, np.round(covering * area * shrink),
                                         np.full(N_THRESH, area), np.round(covering * area),
                                         np.full(N_THRESH, area), float(area * 0.95),
                                         rng.uniform(0.6, 0.9, N_THRESH),
                                         rng.uniform(1, 3, N_THRESH))
    return out


def _boundary_case(rng):
    counts = _random_counts(rng, 12)
    return counts, "f", _boundary_scores, lambda ev: (ev.ods_f, ev.ois_f, ev.ap), collect_boundaries


def _region_case(rng):
    counts = _random_region_counts(rng, 12)
    return (counts, "covering", _covering_scores, lambda ev: (ev.cover_ods, ev.cover_ois),
            collect_regions)


@pytest.mark.parametrize("case", [_boundary_case, _region_case])
def test_resampled_scores_equal_collect_on_the_drawn_sets(case):
    """Weights = multiplicities reproduce collect_boundaries / collect_regions on the list
    with repeats."""
    rng = np.random.default_rng(5)
    counts, measure, scores, values, collect = case(rng)
    ids = sorted(counts)
    per_image = np.stack([rounded_counts(counts[i]) for i in ids])
    stacks = per_image, np.stack([best_threshold_counts(c, measure) for c in per_image])
    for _ in range(4):
        draw = rng.integers(0, len(ids), len(ids))
        weights = np.bincount(draw, minlength=len(ids)).astype(float)[None]
        expected = values(collect([counts[ids[i]] for i in draw]))
        np.testing.assert_allclose(scores(weights, *stacks)[0], expected, rtol=0, atol=1e-12)


def test_region_comparison_of_a_lower_covering():
    rng = np.random.default_rng(12)
    base = _random_region_counts(rng, 25)
    lower = _random_region_counts(np.random.default_rng(12), 25, shrink=0.95)
    comparison = compare_regions(base, lower, n_resamples=300)
    assert list(comparison.metrics) == ["covering_ods", "covering_ois"]
    full = collect_regions([base[i] for i in sorted(base)])
    m = comparison.metrics["covering_ods"]
    assert m.value_a == pytest.approx(full.cover_ods)
    assert m.difference > 0.01 and 0 < m.interval[0] <= m.difference <= m.interval[1]
    assert m.fraction_not_better == 0.0
    assert "COVERING OIS" in comparison.format()


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
    with pytest.raises(ValueError, match="measure must be 'f' or 'covering'"):
        best_threshold_counts(np.ones((4, 3)), "precision")


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
    assert "COVERING" not in text                  # boundary maps have no regions
    assert not (shifted / "eval").exists()         # the compared folder gets no files
    saved = (good / "eval" / "compare_shifted.txt").read_text()
    assert ods_line in saved and saved.startswith("shifted: BSDS benchmark: 6 of 6 images")


def test_cli_compare_hierarchies_adds_covering(tmp_path, capsys):
    """Two ucm2 results: the region benchmark runs on both and Covering is compared too."""
    gt_dir, exact, merged = tmp_path / "gt", tmp_path / "exact", tmp_path / "merged"
    for d in (gt_dir, exact, merged):
        d.mkdir()
    for k in range(4):
        seg = np.ones((30, 40), int)
        seg[:, 10 + 5 * k:] = 2
        seg[18:, :] += 2
        cell = np.empty((1, 1), dtype=object)
        cell[0, 0] = {"Segmentation": seg.astype(np.uint16),
                      "Boundaries": seg2bdry(seg).astype(np.uint8)}
        scipy.io.savemat(gt_dir / f"h{k}.mat", {"groundTruth": cell})
        scipy.io.savemat(exact / f"h{k}.mat",
                         {"ucm2": seg2bdry(seg, "doubleSize").astype(float) * 0.8})
        halves = np.where(seg > 2, 2, 1)   # only the horizontal cut: two regions of four
        scipy.io.savemat(merged / f"h{k}.mat",
                         {"ucm2": seg2bdry(halves, "doubleSize").astype(float) * 0.8})
    assert main(["bench", "bsds", "--results", str(exact), "--gt", str(gt_dir), "--nthresh",
                 "5", "--workers", "1", "--compare", str(merged), "--resamples", "40"]) == 0
    text = capsys.readouterr().out
    cover = next(line for line in text.splitlines() if "COVERING ODS" in line)
    assert cover.split()[2] == "1.0000" and "not better in 0.0% of resamples" in cover


def test_cli_refuses_a_missing_comparison_folder_before_any_work(tmp_path, capsys):
    gt_dir, results = tmp_path / "gt", tmp_path / "res"
    gt_dir.mkdir()
    results.mkdir()
    seg = np.ones((20, 20), int)
    seg[:, 10:] = 2
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = {"Segmentation": seg.astype(np.uint16),
                  "Boundaries": seg2bdry(seg).astype(np.uint8)}
    scipy.io.savemat(gt_dir / "only.mat", {"groundTruth": cell})
    np.save(results / "only.npy", seg2bdry(seg).astype(np.float32))
    code = main(["bench", "bsds", "--results", str(results), "--gt", str(gt_dir), "--workers",
                 "1", "--compare", str(tmp_path / "absent")])
    captured = capsys.readouterr()
    assert code == 2
    assert f"results folder not found: {tmp_path / 'absent'}" in captured.err
    assert "BSDS benchmark" not in captured.out and not (results / "eval").exists()


def test_cli_rejects_a_bad_resample_count(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "bsds", "--results", str(tmp_path), "--gt", str(tmp_path),
              "--compare", str(tmp_path), "--resamples", "0"])
    assert exc.value.code == 2
    assert "--resamples: must be a positive integer, got '0'" in capsys.readouterr().err
