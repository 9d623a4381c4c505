"""``mcg bench bsds --nms``: soft boundary maps thinned by the structured edges toolbox's NMS."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from PIL import Image

from contours.channels import conv_tri
from contours.nms import edge_nms, edge_orientation
from eval.bsds import (bsds_benchmark, evaluate_boundaries_image, nms_boundary_map,
                       seg2bdry)
from mcg.commands.bench import run_bsds
from mcg.cli import build_parser

H, W = 64, 80
YY, XX = np.mgrid[:H, :W]


def _smooth_map(seed=0):
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    pb = ndimage.gaussian_filter(rng.random((H, W)), 3)
    return (pb - pb.min()) / (pb.max() - pb.min())


def test_same_as_contours_nms_with_its_orientation():
    """HED's nms_process.m: E = convTri(E, 1), O from E, edgesNmsMex(E, O, 1, 5, 1.01)."""
    pb = _smooth_map().astype(np.float32)
    smoothed = conv_tri(pb, 1)
    ref = edge_nms(smoothed, edge_orientation(smoothed), radius=1, border=5, margin=1.01)
    ours = nms_boundary_map(pb, quantize=False)
    np.testing.assert_array_equal(ours, ref.astype(np.float64))
    assert 0 < np.count_nonzero(ours) < 0.5 * pb.size      # it does suppress
    # RCF's edge_nms.m: no pre-smoothing, radius 2
    ref = edge_nms(pb, edge_orientation(pb), radius=2, border=5, margin=1.01)
    np.testing.assert_array_equal(nms_boundary_map(pb, quantize=False, radius=2, smooth=0),
                                  ref.astype(np.float64))
    assert not np.array_equal(ref, nms_boundary_map(pb, quantize=False))


def test_quantized_like_an_8bit_png():
    pb = _smooth_map(1)
    ours = nms_boundary_map(pb)
    raw = nms_boundary_map(pb, quantize=False).astype(np.float32)
    expected = np.floor((raw * np.float32(255)).astype(np.float64) + 0.5) / 255
    np.testing.assert_array_equal(ours, expected)
    assert np.array_equal(np.round(ours * 255), ours * 255)
    assert np.abs(ours - raw).max() <= 0.5 / 255 + 1e-7


@pytest.mark.parametrize("axis, slope", [(0, 0.08), (0, -0.15), (1, 0.0), (1, 0.08),
                                         (1, -0.15)])
def test_blurred_straight_line_thins_to_a_one_pixel_ridge_on_it(axis, slope):
    # line: row (axis 0) or column (axis 1) = 37 + slope * (the other coordinate - 40);
    # an exactly horizontal line: test_exactly_horizontal_ridge_as_the_toolbox
    coord, other = (YY, XX) if axis == 0 else (XX, YY)
    dist = (coord - 37 - slope * (other - 40)) / np.hypot(1, slope)
    pb = np.exp(-dist ** 2 / (2 * 2.0 ** 2))
    out = nms_boundary_map(pb, quantize=False)
    raw = nms_boundary_map(pb, quantize=False, smooth=0)
    inner = (slice(8, -8), slice(8, -8))
    np.testing.assert_array_equal(raw[inner] > 0.01, out[inner] > 0.01)   # same ridge
    kept = out[inner] > 0.01
    assert np.abs(dist[inner][kept]).max() <= 0.55                 # on the line
    per_line = kept.sum(axis=axis)                                 # one pixel across it
    assert per_line.min() == 1 and per_line.max() <= 2             # (2 where it passes
    assert np.mean(per_line == 1) >= 0.9                           # between two pixels)
    np.testing.assert_allclose(raw[inner][kept], pb[inner][kept], rtol=1e-6)   # unchanged


def test_exactly_horizontal_ridge_as_the_toolbox():
    """The toolbox's orientation is atan(Oyy * sign(-Oxy) / (Oxx + 1e-5)): on a ridge with
    Oxy exactly 0 (perfectly horizontal) it gives 0, the normal of a vertical edge, and the
    ridge's neighbours are not suppressed -- the same map edgesNmsMex returns."""
    pb = np.exp(-(YY - 37.0) ** 2 / (2 * 2.0 ** 2))
    out = nms_boundary_map(pb, quantize=False, smooth=0)
    np.testing.assert_array_equal(edge_orientation(pb.astype(np.float32)), 0)
    np.testing.assert_allclose(out[10:-10, 10:-10], pb[10:-10, 10:-10], rtol=1e-6, atol=1e-30)


def test_blurred_circle_thins_to_a_one_pixel_ring_at_its_radius():
    # centre off the pixel grid: no column or row of exact symmetry (Oxy = 0 there)
    cy, cx = 32.3, 40.6
    r = np.hypot(YY - cy, XX - cx)
    pb = np.exp(-(r - 20) ** 2 / (2 * 1.5 ** 2))
    out = nms_boundary_map(pb, quantize=False)
    kept = out > 0.05
    assert np.abs(r[kept] - 20).max() <= 0.75
    perimeter = 2 * np.pi * 20
    assert 0.8 * perimeter <= kept.sum() <= 1.3 * perimeter     # one pixel thick, all round
    angles = np.arctan2(YY[kept] - cy, XX[kept] - cx)
    assert np.histogram(angles, bins=36, range=(-np.pi, np.pi))[0].min() >= 2   # no gap


def test_border_of_five_pixels_fades_to_zero():
    out = nms_boundary_map(np.full((30, 40), 0.5), quantize=False)
    np.testing.assert_allclose(out[:5, 20], 0.5 * np.arange(5) / 5, atol=1e-6)
    np.testing.assert_allclose(out[15, -5:], 0.5 * np.arange(5)[::-1] / 5, atol=1e-6)
    np.testing.assert_allclose(out[5:-5, 5:-5], 0.5, atol=1e-6)


def test_bad_maps_rejected():
    with pytest.raises(ValueError, match="2-D"):
        nms_boundary_map(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="finite"):
        nms_boundary_map(np.full((8, 8), np.nan))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nms_boundary_map(np.full((8, 8), 2.0))
    with pytest.raises(ValueError, match="radius"):
        nms_boundary_map(np.zeros((8, 8)), radius=0)


def _dataset(tmp_path, kind="png"):
    gt_dir = tmp_path / "gt"
    res_dir = tmp_path / "res"
    gt_dir.mkdir()
    res_dir.mkdir()
    seg = np.ones((H, W), np.int64)
    seg[:, 40:] = 2
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = {"Segmentation": seg.astype(np.uint16),
                  "Boundaries": seg2bdry(seg).astype(np.uint8)}
    maps = {}
    for k, iid in enumerate(("a", "b")):
        scipy.io.savemat(gt_dir / f"{iid}.mat", {"groundTruth": cell})
        pb = np.exp(-(XX - 39.5 + 0.4 * k) ** 2 / (2 * 2.5 ** 2)) * 0.9
        if kind == "png":
            png = np.round(pb * 255).astype(np.uint8)
            Image.fromarray(png).save(res_dir / f"{iid}.png")
            maps[iid] = png / 255.0
        else:
            scipy.io.savemat(res_dir / f"{iid}.mat", {"ucm2": seg2bdry(seg, "doubleSize") * 0.5})
    return gt_dir, res_dir, maps


def test_benchmark_with_nms_evaluates_the_thinned_maps(tmp_path):
    gt_dir, res_dir, maps = _dataset(tmp_path)
    s = bsds_benchmark(res_dir, gt_dir, nthresh=9, workers=1, nms=True, plot=False)
    plain = bsds_benchmark(res_dir, gt_dir, nthresh=9, workers=1, plot=False)
    for iid, pb in maps.items():
        ref = evaluate_boundaries_image(nms_boundary_map(pb), [seg2bdry(
            np.where(XX < 40, 1, 2))], nthresh=9)
        got = s.boundary_counts[iid]
        for name in ("cnt_r", "sum_r", "cnt_p", "sum_p"):
            np.testing.assert_array_equal(getattr(got, name), getattr(ref, name))
    assert any("NMS" in n for n in s.notes)
    assert s.boundary.ods_f > 0.9
    # the raw maps give other counts: the flag is applied
    assert not np.array_equal(s.boundary_counts["a"].sum_p, plain.boundary_counts["a"].sum_p)


def test_nms_refuses_hierarchies(tmp_path):
    gt_dir, res_dir, _ = _dataset(tmp_path, kind="ucm2")
    with pytest.raises(ValueError, match="soft boundary maps"):
        bsds_benchmark(res_dir, gt_dir, nthresh=5, workers=1, nms=True)


def test_cli_flag(tmp_path, capsys):
    gt_dir, res_dir, _ = _dataset(tmp_path)
    args = build_parser().parse_args(["bench", "bsds", "--results", str(res_dir), "--gt",
                                      str(gt_dir), "--nthresh", "9", "--workers", "1",
                                      "--out", str(tmp_path / "out"), "--nms"])
    assert args.nms is True
    assert run_bsds(args) == 0
    assert "NMS (convTri 1, r=1" in capsys.readouterr().out
    args = build_parser().parse_args(["bench", "bsds", "--results", str(res_dir), "--gt",
                                      str(gt_dir), "--nms", "--nms-radius", "2",
                                      "--nms-smooth", "0"])
    assert (args.nms_radius, args.nms_smooth) == (2, 0)
    assert (tmp_path / "out" / "eval_bdry.txt").is_file()
