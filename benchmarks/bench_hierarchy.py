"""Benchmark of the hierarchy stage: watershed -> OWT -> mean-boundary UCM -> merge tree.

Usage::

    python benchmarks/bench_hierarchy.py [--images N] [--sigma S] [--data DIR]

1. On N BSDS500 val images: Sobel edges of the grey image (after a Gaussian of std S, the
   stand-in for the structured edge detector until it exists), then per-stage times (median
   over images, after a warm-up) of: watershed, OWT (incl. watershed), ucm_mean_pb, to_ucm2,
   from_ucm2, resample to half size; number of superpixels.
2. On the published gPb ucm2 of the same images: exact ucm2 -> tree -> ucm2 round trip and
   conversion times.
3. With ``--bsds NTHRESH``: BSDS boundary benchmark (eval.bsds, NTHRESH thresholds) of the
   Sobel OWT-UCM (normalized by its max), of the raw Sobel map and of the published gPb ucm2
   on the same images -- a sanity check that the hierarchy is meaningful, not a target.
Times are wall-clock (time.perf_counter) and CPU (time.process_time) of this process; on a
shared machine the CPU figure is the more stable one.
"""
from __future__ import annotations

import argparse
import glob
import os
import statistics
import time
from pathlib import Path

import numpy as np
import scipy.io as sio
from scipy import ndimage
from skimage import color, filters, io

from grouping.hierarchy import MergeTree
from grouping.owt import gradient_orientation, oriented_watershed
from grouping.ucm import ucm_mean_pb
from grouping.watershed import watershed_superpixels

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("MCG_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def timed(fn, *args):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w0, time.process_time() - c0


def sobel_edges(path, sigma):
    gray = color.rgb2gray(io.imread(path))
    if sigma > 0:
        gray = ndimage.gaussian_filter(gray, sigma)
    g_row, g_col = filters.sobel_h(gray), filters.sobel_v(gray)
    edges = np.hypot(g_row, g_col)
    edges /= max(edges.max(), 1e-12)
    return edges.astype(np.float32), gradient_orientation(g_row, g_col)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--sigma", type=float, default=1.0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--bsds", type=int, default=0, metavar="NTHRESH",
                        help="also run the BSDS boundary benchmark with NTHRESH thresholds")
    args = parser.parse_args()

    images = sorted(glob.glob(str(args.data / "bsds500" / "images" / "val" / "*.jpg")))
    if not images:
        raise FileNotFoundError(f"no BSDS500 val images under {args.data}")
    images = images[: args.images]

    # warm-up (Numba compilation / cache load)
    edges, theta = sobel_edges(images[0], args.sigma)
    owt2, sp = oriented_watershed(edges, theta)
    tree = ucm_mean_pb(owt2, sp)
    MergeTree.from_ucm2(tree.to_ucm2()).resample((10, 10))

    stages = ["watershed", "owt", "ucm_mean_pb", "owt+ucm", "to_ucm2", "from_ucm2", "resample/2"]
    wall = {s: [] for s in stages}
    cpu = {s: [] for s in stages}
    n_sp, n_ok = [], 0
    for path in images:
        edges, theta = sobel_edges(path, args.sigma)
        _, w, c = timed(watershed_superpixels, edges)
        wall["watershed"].append(w); cpu["watershed"].append(c)
        (owt2, sp), w1, c1 = timed(oriented_watershed, edges, theta)
        wall["owt"].append(w1); cpu["owt"].append(c1)
        tree, w2, c2 = timed(ucm_mean_pb, owt2, sp)
        wall["ucm_mean_pb"].append(w2); cpu["ucm_mean_pb"].append(c2)
        wall["owt+ucm"].append(w1 + w2); cpu["owt+ucm"].append(c1 + c2)
        ucm2, w, c = timed(tree.to_ucm2)
        wall["to_ucm2"].append(w); cpu["to_ucm2"].append(c)
        back, w, c = timed(MergeTree.from_ucm2, ucm2)
        wall["from_ucm2"].append(w); cpu["from_ucm2"].append(c)
        n_ok += back == tree
        h, wd = tree.shape
        _, w, c = timed(tree.resample, (h // 2, wd // 2))
        wall["resample/2"].append(w); cpu["resample/2"].append(c)
        n_sp.append(tree.n_leaves)

    print(f"Sobel edges (gaussian sigma {args.sigma}) on {len(images)} BSDS500 val images "
          f"({h}x{wd} or transposed)")
    print(f"superpixels per image: median {int(statistics.median(n_sp))}, "
          f"min {min(n_sp)}, max {max(n_sp)}")
    print(f"{'stage':<14}{'wall median (s)':>17}{'cpu median (s)':>16}")
    for s in stages:
        print(f"{s:<14}{statistics.median(wall[s]):>17.4f}{statistics.median(cpu[s]):>16.4f}")
    print(f"tree -> ucm2 -> tree exact: {n_ok}/{len(images)}")

    gpb = args.data / "bsds500" / "gpb_ucm2" / "val"
    exact, conv = 0, []
    for path in images:
        name = Path(path).stem
        ucm2 = sio.loadmat(gpb / f"{name}.mat")["ucm2"]
        tree, w, _ = timed(MergeTree.from_ucm2, ucm2)
        conv.append(w)
        exact += np.array_equal(tree.to_ucm2(), ucm2)
    print(f"published gPb ucm2 -> tree -> ucm2 exact: {exact}/{len(images)} "
          f"(from_ucm2 incl. validity check, median {statistics.median(conv):.4f} s)")
    if args.bsds:
        bsds_sanity(images, args, gpb)
    return 0


def bsds_sanity(images, args, gpb) -> None:
    from eval.bsds import collect_boundaries, evaluate_boundaries_image
    from eval.bsds_io import load_ground_truth

    counts = {"sobel OWT-UCM": [], "raw sobel": [], "published gPb ucm2": []}
    for path in images:
        name = Path(path).stem
        gt = load_ground_truth(args.data / "bsds500" / "groundTruth" / "val" / f"{name}.mat")
        edges, theta = sobel_edges(path, args.sigma)
        owt2, sp = oriented_watershed(edges, theta)
        ucm2 = ucm_mean_pb(owt2, sp).to_ucm2()
        ucm2 /= max(ucm2.max(), 1e-12)
        counts["sobel OWT-UCM"].append(evaluate_boundaries_image(ucm2, gt.boundaries, args.bsds))
        counts["raw sobel"].append(
            evaluate_boundaries_image(edges.astype(np.float64), gt.boundaries, args.bsds))
        ref = sio.loadmat(gpb / f"{name}.mat")["ucm2"]
        counts["published gPb ucm2"].append(
            evaluate_boundaries_image(ref, gt.boundaries, args.bsds))
    print(f"BSDS boundary benchmark, {len(images)} val images, {args.bsds} thresholds:")
    for key, c in counts.items():
        ev = collect_boundaries(c)
        print(f"  {key:<20} ODS F {ev.ods_f:.3f}  OIS F {ev.ois_f:.3f}  AP {ev.ap:.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
