"""Peak memory and time of the hierarchy on a large image (issue: 2 MP within 8 GiB).

The default image (scikit-image's astronaut) is resized to the requested number of pixels
(3:2 aspect) and run through ``mcg.pipeline.im2ucm``; the peak resident memory of the process
(``ru_maxrss``) and the stage times are printed.

    python benchmarks/bench_memory.py [--megapixels 2.0] [--mode mcg]
"""
from __future__ import annotations

import argparse
import math
import resource
import sys
import time

import cv2

from mcg.io import default_image
from mcg.pipeline import EDGE_PRESETS, im2ucm


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megapixels", type=float, default=2.0)
    parser.add_argument("--mode", default="mcg", choices=("mcg", "scg"))
    parser.add_argument("--edges", default="accurate", choices=tuple(EDGE_PRESETS))
    args = parser.parse_args(argv)
    from mcg.allocator import keep_freed_memory

    keep_freed_memory()  # as the command line (see mcg.allocator)
    width = int(round(math.sqrt(args.megapixels * 1e6 * 1.5)))
    height = int(round(args.megapixels * 1e6 / width))
    image = cv2.resize(default_image()[1], (width, height), interpolation=cv2.INTER_CUBIC)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    t0 = time.perf_counter()
    result = im2ucm(image, mode=args.mode, edges=args.edges, max_pixels=None, return_details=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{args.mode} on {height}x{width} ({height * width / 1e6:.2f} MP): {wall:.1f} s wall, "
          f"peak RSS {peak:.2f} GiB (before the call {before:.2f} GiB), "
          f"{result.tree.n_leaves} leaves")
    print("stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result.times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
