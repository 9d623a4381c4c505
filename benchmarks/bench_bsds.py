"""Benchmark of the BSDS500 benchmark itself: golden agreement, timings.

Usage::

    python benchmarks/bench_bsds.py                 # golden demo (5 images, all 5 original runs)
    python benchmarks/bench_bsds.py --val [--limit N] [--workers 2]
                                                    # gPb-owt-ucm on BSDS500 val, 99 thresholds

Prints, for the golden demo, the largest difference with the original's files per run,
and for val the summary numbers and the wall time.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.bsds import bsds_benchmark  # noqa: E402
from eval.bsds_matching import correspond_pixels  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
GOLDEN = {
    "test_1": ("ucm2", True, True),
    "test_2": ("png", True, False),
    "test_3": ("segs", True, False),
    "test_4": ("segs", True, True),
    "test_5": ("segs", False, True),
}


def golden(workers: int) -> None:
    root = DATA / "bsds_bench"
    total = time.perf_counter()
    worst = 0.0
    for name, (sub, bdry, reg) in GOLDEN.items():
        out = Path(tempfile.mkdtemp(prefix=f"bsds_{name}_"))
        t = time.perf_counter()
        bsds_benchmark(root / sub, root / "groundTruth", out_dir=out, nthresh=5,
                       workers=workers, boundaries=bdry, regions=reg, plot=False)
        elapsed = time.perf_counter() - t
        diffs = {}
        for gold in sorted((root / name).glob("*.txt")):
            ours = np.loadtxt(out / gold.name, ndmin=2)
            diffs[gold.name] = float(np.abs(ours - np.loadtxt(gold, ndmin=2)).max())
        worst = max(worst, max(diffs.values()))
        print(f"{name} ({sub}, {elapsed:.1f} s): " +
              ", ".join(f"{k} {v:.6f}" for k, v in diffs.items()))
        shutil.rmtree(out)
    print(f"golden: worst |diff| {worst:.6f} (tolerance 0.005), total {time.perf_counter() - total:.1f} s")


def matching_speed() -> None:
    rng = np.random.default_rng(0)
    h, w = 321, 481
    gt = np.zeros((h, w), bool)
    for _ in range(40):
        r = rng.integers(0, h)
        gt[r, rng.integers(0, w // 2):rng.integers(w // 2, w)] = True
    machine = np.roll(gt, 2, axis=0) | (rng.random((h, w)) < 0.02)
    correspond_pixels(machine[:20, :20], gt[:20, :20], 0.0075)  # compile / load the kernels
    t = time.perf_counter()
    for _ in range(10):
        correspond_pixels(machine, gt, 0.0075)
    print(f"correspond_pixels: {(time.perf_counter() - t) / 10 * 1000:.1f} ms per call "
          f"({machine.sum()} x {gt.sum()} pixels)")


def val(workers: int, limit: int | None, out: Path) -> None:
    results = DATA / "bsds500" / "gpb_ucm2" / "val"
    gt = DATA / "bsds500" / "groundTruth" / "val"
    if limit:
        tmp = Path(tempfile.mkdtemp(prefix="bsds_val_"))
        (tmp / "res").mkdir()
        (tmp / "gt").mkdir()
        for p in sorted(gt.glob("*.mat"))[:limit]:
            (tmp / "gt" / p.name).symlink_to(p)
            (tmp / "res" / p.name).symlink_to(results / p.name)
        results, gt = tmp / "res", tmp / "gt"
    t = time.perf_counter()
    summary = bsds_benchmark(results, gt, out_dir=out, nthresh=99, workers=workers)
    print(summary.format())
    print(f"wall time {time.perf_counter() - t:.1f} s for {summary.n_images} images "
          f"with {workers} workers")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--val", action="store_true", help="run gPb-owt-ucm on BSDS500 val")
    ap.add_argument("--limit", type=int, default=None, help="first N val images only")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="/tmp/bsds_val_eval")
    args = ap.parse_args()
    matching_speed()
    if args.val:
        val(args.workers, args.limit, Path(args.out))
    else:
        golden(args.workers)


if __name__ == "__main__":
    main()
