"""Timing of the structured edge forest on a BSDS-size (481x321) image.

Usage: python benchmarks/bench_edges.py [--model PATH] [--repeat 5]

Single-threaded code: the CPU time is the one-core cost even on a busy machine.
Prints the first-call cost (JIT compilation or cache load + model load), then the
steady-state time of single-scale detection (sharpen 2 + NMS, the default), of
single-scale without sharpening, and of multiscale detection.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
IMAGE = REPO.parent / "shared" / "data" / "bsds500" / "images" / "val" / "101085.jpg"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="structured edge forest timing")
    parser.add_argument("--model", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if IMAGE.exists():
        rgb = cv2.cvtColor(cv2.imread(str(IMAGE)), cv2.COLOR_BGR2RGB)
    else:  # synthetic stand-in of the same size
        rgb = (np.random.default_rng(0).random((321, 481, 3)) * 255).astype(np.uint8)
    if rgb.shape[0] > rgb.shape[1]:
        rgb = np.ascontiguousarray(rgb.transpose(1, 0, 2))
    t0 = time.perf_counter()
    from contours.detect import detect_edges, load_model
    model = load_model(args.model)
    t_model = time.perf_counter() - t0
    t1 = time.perf_counter()
    detect_edges(rgb, model)
    t_first = time.perf_counter() - t1
    print(f"image {rgb.shape[1]}x{rgb.shape[0]}, model: {model.n_trees} trees, "
          f"{len(model.fids)} nodes, {len(model.leaf_segs)} leaves")
    print(f"first call: import + model load {t_model:.2f}s, first detection (JIT/cache) {t_first:.2f}s")
    for label, kwargs in (("single-scale sharpen=2 nms", {}),
                          ("single-scale sharpen=0 nms", {"sharpen": 0}),
                          ("multiscale sharpen=2 nms", {"multiscale": True})):
        times, cpu = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            c = time.process_time()
            detect_edges(rgb, model, **kwargs)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        print(f"{label}: wall median {np.median(times):.3f}s (min {min(times):.3f}s), "
              f"CPU median {np.median(cpu):.3f}s (min {min(cpu):.3f}s) over {args.repeat} runs")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
