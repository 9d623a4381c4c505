"""Hand-made cases with known answers for the BSDS benchmark (eval.bsds*)."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.io

from eval.bsds import (area_pr, round_g6, _max_f, _ri_voi, bsds_benchmark, bsds_thresholds,
                       collect_boundaries, evaluate_boundaries_image, evaluate_regions_image,
                       seg2bdry, thin_boundaries)
from eval.bsds_io import load_result
from eval.bsds_matching import correspond_pixels, search_offsets
from mcg.commands.bench import run_bsds

H, W = 60, 80                   # diagonal 100 -> max distance 0.75 px at 0.0075
DIAG = math.hypot(H, W)


def _line_map(col, rows=slice(10, 50)):
    b = np.zeros((H, W), bool)
    b[rows, col] = True
    return b


# ----------------------------------------------------------------------------- matching

def test_search_offsets_radius():
    dy, dx = search_offsets(1.5)
    assert set(zip(dy.tolist(), dx.tolist())) == {(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)}
    dy, dx = search_offsets(2.0)
    assert dy.size == 13  # the 3x3 block plus (0, +-2), (+-2, 0)


def test_identical_maps_match_fully():
    b = _line_map(40)
    m1, m2 = correspond_pixels(b, b, 0.0075)
    assert np.array_equal(m1, b) and np.array_equal(m2, b)


def test_shift_within_and_beyond_max_dist():
    a = _line_map(40)
    b = _line_map(42)
    # 2 px apart: matched with a radius of 2.5 px, not with 1.5 px
    m1, m2 = correspond_pixels(a, b, 2.5 / DIAG)
    assert m1.sum() == a.sum() and m2.sum() == b.sum()
    m1, m2 = correspond_pixels(a, b, 1.5 / DIAG)
    assert m1.sum() == 0 and m2.sum() == 0


def test_matching_is_one_to_one_and_maximal():
    # 3 machine pixels around 1 human pixel: only one can be matched
    a = np.zeros((H, W), bool)
    a[20, 19:22] = True
    b = np.zeros((H, W), bool)
    b[20, 20] = True
    m1, m2 = correspond_pixels(a, b, 1.5 / DIAG)
    assert m1.sum() == 1 and m2.sum() == 1
    # the cheapest partner is taken (distance 0 rather than 1)
    assert m1[20, 20]
    # a chain where a greedy choice loses a match: max cardinality is 2
    a = np.zeros((H, W), bool)
    a[5, 5] = a[5, 7] = True
    b = np.zeros((H, W), bool)
    b[5, 6] = b[5, 8] = True
    m1, m2 = correspond_pixels(a, b, 1.2 / DIAG)
    assert m1.sum() == 2 and m2.sum() == 2


def test_empty_maps():
    a = np.zeros((H, W), bool)
    m1, m2 = correspond_pixels(a, _line_map(3), 0.0075)
    assert not m1.any() and not m2.any()


# ----------------------------------------------------------------------------- boundaries

def test_boundaries_identical_give_p_r_one():
    gt = _line_map(40)
    counts = evaluate_boundaries_image(gt.astype(float), [gt, gt], nthresh=3)
    np.testing.assert_array_equal(counts.cnt_r, counts.sum_r)
    np.testing.assert_array_equal(counts.cnt_p, counts.sum_p)
    assert counts.sum_r[0] == 2 * gt.sum() and counts.sum_p[0] == gt.sum()


def test_boundaries_precision_uses_any_human_recall_sums_humans():
    human1 = _line_map(20)
    human2 = _line_map(60)
    machine = (human1 | human2).astype(float)
    counts = evaluate_boundaries_image(machine, [human1, human2], nthresh=1,
                                       max_dist=1.0 / DIAG)
    # every machine pixel matches one of the humans, every human pixel is found
    assert counts.cnt_p[0] == counts.sum_p[0] == 80
    assert counts.cnt_r[0] == counts.sum_r[0] == 80


def test_boundaries_shifted_beyond_radius_give_zero():
    gt = _line_map(40)
    counts = evaluate_boundaries_image(_line_map(45).astype(float), [gt], nthresh=2)
    assert counts.cnt_r.sum() == 0 and counts.cnt_p.sum() == 0
    assert counts.sum_p[0] == 40


def test_boundary_threshold_is_inclusive():
    gt = _line_map(40)
    pb = np.where(gt, 0.5, 0.0)
    counts = evaluate_boundaries_image(pb, [gt], nthresh=1)      # threshold exactly 0.5
    assert counts.thresholds[0] == 0.5 and counts.cnt_p[0] == 40


def test_ucm2_and_boundary_map_agree():
    rng = np.random.default_rng(0)
    seg = np.zeros((H, W), int)
    seg[:, 40:] = 1
    seg[30:, :] += 2
    ucm2 = seg2bdry(seg, "doubleSize").astype(float) * 0.6
    pb = ucm2[2::2, 2::2]
    gt = [seg2bdry(seg), seg2bdry(np.roll(seg, 1, axis=1))]
    a = evaluate_boundaries_image(ucm2, gt, nthresh=4)
    b = evaluate_boundaries_image(pb, gt, nthresh=4)
    for f in ("cnt_r", "sum_r", "cnt_p", "sum_p"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert a.cnt_p[0] > 0 and a.cnt_p[-1] == 0      # boundaries gone above 0.6
    del rng


def test_segs_one_threshold_per_segmentation():
    seg = np.ones((H, W), int)
    seg[:, 40:] = 2
    gt = [seg2bdry(seg)]
    counts = evaluate_boundaries_image([seg, np.ones((H, W), int)], gt)
    np.testing.assert_array_equal(counts.thresholds, [1, 2])
    assert counts.cnt_r[0] == counts.sum_r[0] and counts.cnt_r[1] == 0


def test_seg2bdry_simple():
    seg = np.array([[1, 1, 2],
                    [1, 1, 2],
                    [3, 3, 3]])
    b = seg2bdry(seg)
    # worked by hand from the original: the last column copies the vertical edgel
    expected = np.array([[0, 1, 0],
                         [1, 1, 1],
                         [0, 0, 0]], bool)
    np.testing.assert_array_equal(b, expected)
    d = seg2bdry(seg, "doubleSize")
    assert d.shape == (7, 7)
    np.testing.assert_array_equal(d[2::2, 2::2], b)


def test_thin_keeps_one_pixel_lines_and_thins_thick_ones():
    line = _line_map(40)
    np.testing.assert_array_equal(thin_boundaries(line), line)
    thick = line | _line_map(41)
    thinned = thin_boundaries(thick)
    assert thinned.sum() < thick.sum() and thinned.sum() >= 38


def test_thresholds():
    np.testing.assert_allclose(bsds_thresholds(5), [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6])
    assert bsds_thresholds(99)[0] == pytest.approx(0.01)


def test_max_f_interpolates_between_thresholds():
    # R and P cross between the two thresholds: F peaks in between
    t, r, p, f = _max_f(np.array([0.0, 1.0]), np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert f == pytest.approx(0.5, abs=1e-3) and t == pytest.approx(0.5, abs=0.01)
    t, r, p, f = _max_f(np.array([0.1, 0.2]), np.array([0.5, 0.4]), np.array([0.5, 0.4]))
    assert (t, r, p, f) == (0.1, 0.5, 0.5, 0.5)


def test_area_pr_like_the_original():
    r = np.array([0.8, 0.5, 0.2])
    p = np.array([0.5, 0.7, 0.9])
    # interpolation on recall 0.20..0.80 only; outside that range counts 0
    grid = np.arange(101) * 0.01
    inside = (grid >= 0.2 - 1e-12) & (grid <= 0.8 + 1e-12)
    expected = np.interp(grid[inside], r[::-1], p[::-1]).sum() * 0.01
    assert area_pr(r, p) == pytest.approx(expected)
    assert area_pr(np.array([0.5, 0.5]), np.array([0.1, 0.2])) == 0.0


def test_g6_rounding_matches_printf():
    np.testing.assert_array_equal(round_g6([1 / 6, 1234567.0, 0.0]), [0.166667, 1234570.0, 0.0])


def test_collect_boundaries_ods_ois():
    from eval.bsds import BoundaryCounts

    th = np.array([0.25, 0.75])
    a = BoundaryCounts(th, np.array([8.0, 4.0]), np.array([10.0, 10.0]), np.array([8.0, 4.0]),
                       np.array([10.0, 4.0]))
    b = BoundaryCounts(th, np.array([2.0, 1.0]), np.array([10.0, 10.0]), np.array([2.0, 1.0]),
                       np.array([2.0, 1.0]))
    ev = collect_boundaries([a, b])
    # dataset curve: R = [0.5, 0.25], P = [10/12, 1.0]
    np.testing.assert_allclose(ev.recall, [0.5, 0.25])
    np.testing.assert_allclose(ev.precision, [10 / 12, 1.0])
    assert ev.ods_f == pytest.approx(2 * 0.5 * (10 / 12) / (0.5 + 10 / 12))
    # OIS: image a best at t=0.25 (F .8), image b at t=0.25 (F .333 vs .182)
    assert ev.ois_recall == pytest.approx(10 / 20) and ev.ois_precision == pytest.approx(10 / 12)
    np.testing.assert_array_equal(ev.per_image[:, 0], [1, 2])


# ----------------------------------------------------------------------------- regions

def _two_by_two():
    seg = np.ones((H, W), int)
    seg[:, 40:] = 2
    seg[30:, :] += 2
    return seg


def test_identical_segmentation_covering_one_vi_zero_pri_one():
    seg = _two_by_two()
    counts = evaluate_regions_image([seg], [seg, seg])
    assert counts.cnt_r[0] == counts.sum_r[0] == 2 * H * W
    assert counts.cnt_p[0] == counts.sum_p[0] == H * W
    assert counts.ri[0] == pytest.approx(1.0)
    assert counts.voi[0] == pytest.approx(0.0, abs=1e-12)
    assert counts.cnt_r_best == 2 * H * W


def test_covering_of_merged_regions():
    gt = _two_by_two()                       # four quadrants (sizes 1200,1200,1200,1200)
    seg = np.ones((H, W), int)
    seg[:, 40:] = 2                          # two halves
    counts = evaluate_regions_image([seg], [gt])
    # each gt quadrant has IoU 0.5 with its half: covering G->S = 0.5
    assert counts.cnt_r[0] / counts.sum_r[0] == pytest.approx(0.5)
    # each half has IoU 0.5 with its best quadrant: S->G = 0.5
    assert counts.cnt_p[0] / counts.sum_p[0] == pytest.approx(0.5)
    # VI = H(G|S) + H(S|G) = 1 + 0 bits
    assert counts.voi[0] == pytest.approx(1.0)
    n = H * W
    pairs_same_gt = 4 * (n / 4) * (n / 4 - 1) / 2
    pairs_same_seg = 2 * (n / 2) * (n / 2 - 1) / 2
    total = n * (n - 1) / 2
    assert counts.ri[0] == pytest.approx(1 - (pairs_same_seg - pairs_same_gt) / total)


def test_ri_voi_ignore_label_zero():
    joint = np.array([[5, 7], [9, 10]])      # row/col 0 = label 0
    ri, voi = _ri_voi(joint)
    assert ri == pytest.approx(1.0) and voi == pytest.approx(0.0, abs=1e-12)


def test_ucm2_regions_by_threshold():
    seg = np.ones((H, W), int)
    seg[:, 40:] = 2
    ucm2 = seg2bdry(seg, "doubleSize").astype(float) * 0.5
    counts = evaluate_regions_image(ucm2, [seg], nthresh=3)       # 0.25, 0.5, 0.75
    cover = counts.cnt_r / counts.sum_r
    np.testing.assert_allclose(cover, [1.0, 0.5, 0.5])            # ucm <= t merges at 0.5
    assert counts.cnt_r_best == H * W
    assert counts.voi[0] == pytest.approx(0.0, abs=1e-12) and counts.voi[2] == pytest.approx(1.0)


def test_regions_reject_boundary_map():
    with pytest.raises(ValueError, match="ucm2 or a list of segmentations"):
        evaluate_regions_image(np.zeros((H, W)), [_two_by_two()])


# ----------------------------------------------------------------------------- files and CLI

def _write_gt(path, segs):
    cell = np.empty((1, len(segs)), dtype=object)
    for k, s in enumerate(segs):
        cell[0, k] = {"Segmentation": s.astype(np.uint16),
                      "Boundaries": seg2bdry(s).astype(np.uint8)}
    scipy.io.savemat(path, {"groundTruth": cell})


@pytest.fixture
def small_dataset(tmp_path):
    gt_dir = tmp_path / "gt"
    res_dir = tmp_path / "res"
    gt_dir.mkdir()
    res_dir.mkdir()
    seg = _two_by_two()
    for iid in ("a1", "b2", "c3"):
        _write_gt(gt_dir / f"{iid}.mat", [seg, np.ones_like(seg)])
        ucm2 = seg2bdry(seg, "doubleSize").astype(float) * 0.7
        scipy.io.savemat(res_dir / f"{iid}.mat", {"ucm2": ucm2})
    return gt_dir, res_dir


def test_dataset_run_parallel_matches_serial(small_dataset, tmp_path):
    gt_dir, res_dir = small_dataset
    s1 = bsds_benchmark(res_dir, gt_dir, tmp_path / "o1", nthresh=5, workers=1)
    s2 = bsds_benchmark(res_dir, gt_dir, tmp_path / "o2", nthresh=5, workers=2)
    assert s1.to_dict() | {"seconds": 0} == s2.to_dict() | {"seconds": 0}
    for f in ("eval_bdry.txt", "eval_bdry_img.txt", "eval_cover.txt", "eval_RI_VOI.txt"):
        assert (tmp_path / "o1" / f).read_text() == (tmp_path / "o2" / f).read_text()
    assert (tmp_path / "o1" / "pr_curve.png").stat().st_size > 1000
    d = s1.to_dict()
    assert d["n_images"] == 3 and d["ods"] > 0.5 and d["cover_ods"] > 0.5


def test_missing_result_warns_and_reports(small_dataset, tmp_path):
    gt_dir, res_dir = small_dataset
    (res_dir / "b2.mat").unlink()
    with pytest.warns(UserWarning, match=r"1 of 3 .*b2"):
        s = bsds_benchmark(res_dir, gt_dir, None, nthresh=3, workers=1)
    assert s.n_images == 2 and s.missing == ["b2"]
    assert "b2" in s.format() and "2 of 3" in s.format()


def test_size_mismatch_names_image_and_sizes(small_dataset):
    gt_dir, res_dir = small_dataset
    scipy.io.savemat(res_dir / "a1.mat", {"ucm2": np.zeros((21, 31))})
    with pytest.raises(ValueError, match=r"a1\.mat.*21x31.*60x80"):
        bsds_benchmark(res_dir, gt_dir, None, nthresh=3, workers=1)


def test_corrupt_mat_names_file(small_dataset):
    gt_dir, res_dir = small_dataset
    (res_dir / "c3.mat").write_bytes(b"this is not a mat file at all" * 10)
    with pytest.raises(ValueError, match=r"c3\.mat"):
        bsds_benchmark(res_dir, gt_dir, None, nthresh=3, workers=1)


def test_unknown_extension_and_missing_variable(tmp_path):
    bad = tmp_path / "x.txt"
    bad.write_text("1 2 3")
    with pytest.raises(ValueError, match="unknown result extension"):
        load_result(bad)
    scipy.io.savemat(tmp_path / "y.mat", {"foo": np.zeros(3)})
    with pytest.raises(ValueError, match="'ucm2' or 'segs'"):
        load_result(tmp_path / "y.mat")


def test_missing_and_empty_folders(tmp_path, small_dataset):
    gt_dir, res_dir = small_dataset
    with pytest.raises(FileNotFoundError, match="results folder not found"):
        bsds_benchmark(tmp_path / "nope", gt_dir)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no result files"):
        bsds_benchmark(empty, gt_dir)
    with pytest.raises(ValueError, match="no .mat files"):
        bsds_benchmark(res_dir, empty)


def test_npy_npz_png_formats(small_dataset, tmp_path):
    gt_dir, res_dir = small_dataset
    ref = bsds_benchmark(res_dir, gt_dir, None, nthresh=3, workers=1, regions=False)
    seg = _two_by_two()
    ucm2 = seg2bdry(seg, "doubleSize").astype(float) * 0.7
    from PIL import Image

    for fmt in ("npy_ucm", "npy_pb", "npz", "png"):
        d = tmp_path / fmt
        d.mkdir()
        for iid in ("a1", "b2", "c3"):
            if fmt == "npy_ucm":
                np.save(d / f"{iid}.npy", ucm2)
            elif fmt == "npy_pb":
                np.save(d / f"{iid}.npy", ucm2[2::2, 2::2])
            elif fmt == "npz":
                np.savez(d / f"{iid}.npz", boundaries=ucm2[2::2, 2::2])
            else:
                Image.fromarray(np.round(ucm2[2::2, 2::2] * 255).astype(np.uint8)).save(
                    d / f"{iid}.png")
        s = bsds_benchmark(d, gt_dir, None, nthresh=3, workers=1, regions=False)
        np.testing.assert_allclose(s.boundary.recall, ref.boundary.recall)
        np.testing.assert_allclose(s.boundary.precision, ref.boundary.precision)


def test_cli_writes_original_files(small_dataset, tmp_path, capsys):
    gt_dir, res_dir = small_dataset
    out = tmp_path / "cli_out"
    args = SimpleNamespace(results=str(res_dir), gt=str(gt_dir), nthresh=5, out=str(out),
                           workers=1, no_regions=False)
    assert run_bsds(args) == 0
    names = sorted(p.name for p in out.iterdir())
    for f in ("eval_bdry.txt", "eval_bdry_img.txt", "eval_bdry_thr.txt", "eval_cover.txt",
              "eval_cover_img.txt", "eval_cover_th.txt", "eval_RI_VOI.txt",
              "eval_RI_VOI_thr.txt", "pr_curve.png"):
        assert f in names
    text = capsys.readouterr().out
    assert "ODS" in text and "Covering" in text
    assert len((out / "eval_bdry_thr.txt").read_text().splitlines()) == 5


def test_min_cost_assign_matches_scipy_optimum():
    """The Numba assignment reaches the same optimal cost as SciPy's LAPJV."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    from eval.bsds_matching import _min_cost_assign

    rng = np.random.default_rng(7)
    for _ in range(150):
        ns = int(rng.integers(1, 25))
        nl = int(rng.integers(ns, 35))
        keys = np.unique(rng.integers(0, ns, 3 * ns) * 1000 + rng.integers(0, nl, 3 * ns))
        rows, cols = keys // 1000, keys % 1000
        cost = rng.integers(0, 50, rows.size)
        ow = int(rng.choice([60, 1000, 43360]))
        indptr = np.searchsorted(rows, np.arange(ns + 1)).astype(np.int64)
        mate = _min_cost_assign(indptr, cols.astype(np.int64), cost.astype(np.int64), ns, nl, ow)
        real = mate[mate < nl]
        assert np.unique(real).size == real.size                    # one-to-one
        lookup = {(int(r), int(c)): int(w) for r, c, w in zip(rows, cols, cost)}
        ours = sum(ow if mate[i] >= nl else lookup[(i, int(mate[i]))] for i in range(ns))
        graph = csr_matrix((np.r_[cost + 1.0, np.full(ns, ow + 1.0)],
                            (np.r_[rows, np.arange(ns)], np.r_[cols, nl + np.arange(ns)])),
                           shape=(ns, nl + ns))
        _, ref = min_weight_full_bipartite_matching(graph)
        best = sum(ow if ref[i] >= nl else lookup[(i, int(ref[i]))] for i in range(ns))
        assert ours == best


def test_explicit_thresholds():
    seg = np.ones((H, W), int)
    seg[:, 40:] = 2
    ucm2 = seg2bdry(seg, "doubleSize").astype(float) * 0.5
    b = evaluate_boundaries_image(ucm2, [seg2bdry(seg)], thresholds=[0.2, 0.5, 0.6])
    np.testing.assert_array_equal(b.thresholds, [0.2, 0.5, 0.6])
    assert b.cnt_p[1] > 0 and b.cnt_p[2] == 0
    r = evaluate_regions_image(ucm2, [seg], thresholds=[0.4, 0.5])
    np.testing.assert_allclose(r.cnt_r / r.sum_r, [1.0, 0.5])


def test_segs_stack_formats_and_absent_labels(tmp_path):
    seg = _two_by_two()
    segs = np.stack([seg, np.ones_like(seg)])
    np.save(tmp_path / "s.npy", segs)
    np.savez(tmp_path / "s.npz", segs=segs)
    for name in ("s.npy", "s.npz"):
        res = load_result(tmp_path / name, (H, W))
        assert res.kind == "segs" and len(res.data) == 2
    # labels 5..9 unused: they have no area and must not change any number
    sparse = np.where(seg == 4, 10, seg)
    a = evaluate_regions_image([seg], [seg])
    b = evaluate_regions_image([sparse], [seg])
    assert (a.cnt_r[0], a.cnt_p[0], a.ri[0]) == (b.cnt_r[0], b.cnt_p[0], b.ri[0])
    assert b.voi[0] == pytest.approx(a.voi[0], abs=1e-12)
