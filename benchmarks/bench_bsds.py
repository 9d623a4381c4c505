"""Benchmark of the BSDS500 benchmark itself: golden agreement, timings.

Usage::

    python benchmarks/bench_bsds.py                 # golden demo (5 images, all 5 original runs)
    python benchmarks/bench_bsds.py --val [--limit N] [--workers 2]
                                                    # gPb-owt-ucm on BSDS500 val, 99 thresholds
    python benchmarks/bench_bsds.py --vs-pyedgeeval PYTHON --pngs DIR [--nms] [--workers 2]
                                    [--limit N]
                                                    # against pyEdgeEval (PyPI), see below

Prints, for the golden demo, the largest difference with the original's files per run,
and for val the summary numbers and the wall time.

``--vs-pyedgeeval PYTHON`` runs the boundary benchmark of pyEdgeEval (installed in the
Python interpreter ``PYTHON``, e.g. a separate virtual environment:
``python -m venv pee && pee/bin/pip install pyEdgeEval scipy scikit-image
opencv-python-headless prettytable``) and ours, one after the other in one run: on the
original's demo PNGs (5 thresholds) against the original's golden files (``test_2``), then on
the folder ``--pngs`` of 8-bit boundary maps of the BSDS500 val images (99 thresholds, both
with ``--workers`` processes, both with the same NMS when ``--nms``), with their wall times.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
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


#: pyEdgeEval driver, run by the other interpreter: argv[1] is a JSON dict of arguments
_PEE_DRIVER = """
import json, os, sys, tempfile, time
args = json.loads(sys.argv[1])
from pyEdgeEval.evaluators.bsds import BSDS500Evaluator
root = tempfile.mkdtemp(prefix="pee_root_")
os.makedirs(os.path.join(root, "groundTruth"))
os.symlink(args["gt"], os.path.join(root, "groundTruth", "val"))
t = time.perf_counter()
ev = BSDS500Evaluator(dataset_root=root, pred_root=args["pngs"], split="val")
ev.set_eval_params(scale=1.0, apply_thinning=True, apply_nms=args["nms"], max_dist=0.0075)
ev.evaluate(thresholds=args["nthresh"], nproc=args["workers"], save_dir=args["out"],
            no_split_dir=True)
print("PEE_SECONDS", time.perf_counter() - t)
"""


def _run_pyedgeeval(python: str, pngs: Path, gt: Path, nthresh: int, workers: int, nms: bool,
                    out: Path) -> tuple[float, float, str]:
    """pyEdgeEval's BSDS benchmark in ``python``: (wall s of the process, its own s, log)."""
    args = {"pngs": str(pngs), "gt": str(gt), "nthresh": nthresh, "workers": workers,
            "nms": nms, "out": str(out)}
    t = time.perf_counter()
    proc = subprocess.run([python, "-c", _PEE_DRIVER, json.dumps(args)], capture_output=True,
                          text=True)
    wall = time.perf_counter() - t
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"pyEdgeEval failed (exit {proc.returncode}):\n{log[-3000:]}")
    own = float(log.split("PEE_SECONDS")[-1].split()[0])
    return wall, own, log


def _pee_files(out: Path, ids: list) -> dict:
    """pyEdgeEval's result files in the original's column layout (images in ``ids`` order).

    Its ``eval_bdry.txt`` ends with ``AUC, AP``: its AUC is the original's "AP" (area under
    the interpolated PR curve), its AP a maximum-precision average the original does not
    compute; the original's column is filled with the AUC.
    """
    overall = np.loadtxt(out / "eval_bdry.txt", ndmin=2)   # ... OIS F, AUC, AP
    per_image = {}
    for line in (out / "eval_bdry_img.txt").read_text().splitlines():
        name, *vals = line.split()
        per_image[Path(name).name] = [float(v) for v in vals]
    img = np.array([[k + 1] + per_image[iid] for k, iid in enumerate(ids)])
    return {"eval_bdry.txt": overall[:, [0, 1, 2, 3, 4, 5, 6, 7]],
            "eval_bdry_img.txt": img,
            "eval_bdry_thr.txt": np.loadtxt(out / "eval_bdry_thr.txt", ndmin=2)}


def _max_diffs(files: dict, gold_dir: Path) -> dict:
    return {name: float(np.abs(arr - np.loadtxt(gold_dir / name, ndmin=2)).max())
            for name, arr in files.items()}


def _headline(row) -> str:
    r = np.asarray(row).ravel()
    return f"ODS {r[3]:.4f}  OIS {r[6]:.4f}  AP {r[7]:.4f}"


def vs_pyedgeeval(python: str, pngs: Path | None, nms: bool, workers: int,
                  limit: int | None = None) -> None:
    work = Path(tempfile.mkdtemp(prefix="bsds_vs_pee_"))
    # 1. golden: the original's demo PNGs, 5 thresholds (its test_2 files)
    demo = DATA / "bsds_bench"
    ids = sorted(p.stem for p in (demo / "groundTruth").glob("*.mat"))
    print("golden demo (bsds_bench/png, 5 thresholds) against the original's test_2 files:")
    ours_out = work / "ours_demo"
    t = time.perf_counter()
    bsds_benchmark(demo / "png", demo / "groundTruth", out_dir=ours_out, nthresh=5, workers=1,
                   regions=False, plot=False)
    ours_s = time.perf_counter() - t
    ours_files = {n: np.loadtxt(ours_out / n, ndmin=2) for n in
                  ("eval_bdry.txt", "eval_bdry_img.txt", "eval_bdry_thr.txt")}
    pee_out = work / "pee_demo"
    _, pee_s, _ = _run_pyedgeeval(python, demo / "png", demo / "groundTruth", 5, 1, False,
                                  pee_out)
    pee_files = _pee_files(pee_out, ids)
    pee_ap = float(np.loadtxt(pee_out / "eval_bdry.txt", ndmin=2)[0, 8])
    gold = np.loadtxt(demo / "test_2" / "eval_bdry.txt", ndmin=2)
    print(f"  original    {_headline(gold)}")
    for name, files, secs in (("ours", ours_files, ours_s), ("pyEdgeEval", pee_files, pee_s)):
        diffs = _max_diffs(files, demo / "test_2")
        print(f"  {name:<11} {_headline(files['eval_bdry.txt'])}  ({secs:.1f} s); max |diff| "
              + ", ".join(f"{k} {v:.6f}" for k, v in diffs.items()))
    print(f"  (pyEdgeEval's AP column is its AUC; its own 'AP' measure: {pee_ap:.4f})")
    if pngs is None:
        return
    # 2. the BSDS500 val images, 99 thresholds, same processes for both
    gt = DATA / "bsds500" / "groundTruth" / "val"
    if limit:   # the first images only: a folder of links to their ground truth
        subset = work / "gt_subset"
        subset.mkdir()
        for path in sorted(gt.glob("*.mat"))[:limit]:
            (subset / path.name).symlink_to(path)
        gt = subset
    n_images = len(list(gt.glob("*.mat")))
    print(f"BSDS500 val ({n_images} images), {pngs}, 99 thresholds, {workers} processes, "
          f"NMS {nms}:")
    t = time.perf_counter()
    summary = bsds_benchmark(pngs, gt, out_dir=work / "ours_val", nthresh=99, workers=workers,
                             regions=False, plot=False, nms=nms)
    ours_s = time.perf_counter() - t
    b = summary.boundary
    print(f"  ours        ODS {b.ods_f:.4f}  OIS {b.ois_f:.4f}  AP {b.ap:.4f}  "
          f"wall {ours_s:.1f} s")
    wall, own, _ = _run_pyedgeeval(python, pngs, gt, 99, workers, nms, work / "pee_val")
    val_ids = sorted(p.stem for p in gt.glob("*.mat"))
    pee = _pee_files(work / "pee_val", val_ids)["eval_bdry.txt"].ravel()
    print(f"  pyEdgeEval  {_headline(pee)}  wall {wall:.1f} s (its evaluate() {own:.1f} s; "
          "AP = its AUC)")
    print(f"  files in {work}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--val", action="store_true", help="run gPb-owt-ucm on BSDS500 val")
    ap.add_argument("--limit", type=int, default=None, help="first N val images only")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="/tmp/bsds_val_eval")
    ap.add_argument("--vs-pyedgeeval", metavar="PYTHON", default=None,
                    help="Python interpreter with pyEdgeEval installed: compare with it")
    ap.add_argument("--pngs", default=None,
                    help="with --vs-pyedgeeval: folder of 8-bit PNG boundary maps of BSDS val")
    ap.add_argument("--nms", action="store_true",
                    help="with --vs-pyedgeeval: both apply their edge NMS first")
    args = ap.parse_args()
    if args.vs_pyedgeeval:
        vs_pyedgeeval(args.vs_pyedgeeval, Path(args.pngs) if args.pngs else None, args.nms,
                      args.workers, args.limit)
        return
    matching_speed()
    if args.val:
        val(args.workers, args.limit, Path(args.out))
    else:
        golden(args.workers)


if __name__ == "__main__":
    main()
