"""Detect edges on BSDS500 val with the structured edge forest and run the boundary benchmark.

Usage::

    python benchmarks/eval_edges_bsds.py --out /tmp/sed_val_ss [--multiscale] [--sharpen 2]
        [--no-nms] [--model PATH] [--limit N] [--nthresh 99] [--workers 1]

Writes <out>/<id>.npy (float32 edge maps), then the benchmark files in <out>/eval and
prints ODS / OIS / AP.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "bsds500"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--multiscale", action="store_true")
    parser.add_argument("--sharpen", type=int, default=2)
    parser.add_argument("--no-nms", action="store_true")
    parser.add_argument("--limit", type=int, default=0, help="first N val images only")
    parser.add_argument("--nthresh", type=int, default=99)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args(argv)

    from contours.detect import detect_edges, load_model
    from eval.bsds import bsds_benchmark

    data = Path(args.data)
    image_paths = sorted((data / "images" / "val").glob("*.jpg"))
    if args.limit:
        image_paths = image_paths[:args.limit]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gt_dir = data / "groundTruth" / "val"
    if args.limit:  # benchmark only the detected images: a private gt folder of links
        gt_sub = out / "gt"
        gt_sub.mkdir(exist_ok=True)
        for p in image_paths:
            link = gt_sub / (p.stem + ".mat")
            if not link.exists():
                link.symlink_to(gt_dir / (p.stem + ".mat"))
        gt_dir = gt_sub
    model = load_model(args.model)
    t0 = time.time()
    for p in image_paths:
        rgb = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
        edges, _ = detect_edges(rgb, model, multiscale=args.multiscale, sharpen=args.sharpen,
                                nms=not args.no_nms)
        np.save(out / f"{p.stem}.npy", edges)
    t_detect = time.time() - t0
    print(f"detected {len(image_paths)} images in {t_detect:.1f}s "
          f"({t_detect / max(1, len(image_paths)):.3f} s/image)", flush=True)
    summary = bsds_benchmark(out, gt_dir, out_dir=out / "eval", nthresh=args.nthresh,
                             workers=args.workers, regions=False, plot=False)
    print(summary.format())
    print(f"config: multiscale={args.multiscale} sharpen={args.sharpen} nms={not args.no_nms} "
          f"model={args.model or 'shipped'} images={len(image_paths)} nthresh={args.nthresh}")
    print(f"benchmark time {summary.seconds:.1f}s")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
