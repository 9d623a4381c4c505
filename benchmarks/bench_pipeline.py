"""Per-stage times of the whole pipeline (hierarchies and proposals), one core, after warm-up.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_pipeline.py --mode scg --images 10
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_pipeline.py --mode mcg --proposals \
        --folder ../shared/data/coco/train2017 --images 10
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_pipeline.py --mode mcg --proposals \
        --folder ../shared/data/coco/train2017 --images 10 --long-side 500

``--long-side 500`` first resizes each image (area interpolation) to 500 pixels on its long
side, the size of PASCAL VOC 2012 images, on which the MCG paper timed the original release.

Prints, per image and as medians, the wall time and CPU time of each stage (``edges``, ``owt``,
``globalization``, ``ucm``, ``resample``, ``align_combine``, ``candidates``) and of the whole
call. The first image is run once more beforehand to exclude JIT compilation and model loading
(that first-call cost is printed separately). CPU time is the process time of this single
thread; on a loaded machine wall time is larger.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

from common import BSDS_VAL_IMAGES, jpg_images  # noqa: E402 (this folder, first on sys.path)



def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("scg", "mcg"), default="scg")
    parser.add_argument("--folder", default=str(BSDS_VAL_IMAGES), help="folder of .jpg images")
    parser.add_argument("--images", type=int, default=10, help="number of images (sorted names)")
    parser.add_argument("--proposals", action="store_true", help="time im2mcg (with candidates)")
    parser.add_argument("--edges", choices=("accurate", "fast"), default=None,
                        help="edge preset (default: accurate for the hierarchy as im2ucm, fast "
                        "with --proposals as im2mcg)")
    parser.add_argument("--long-side", type=int, default=None, metavar="PIXELS",
                        help="resize each image to this many pixels on its long side first "
                        "(500: PASCAL VOC size)")
    args = parser.parse_args(argv)
    from mcg.allocator import keep_freed_memory

    keep_freed_memory()  # as the command line (see mcg.allocator)
    if args.long_side is not None and args.long_side < 8:
        parser.error("--long-side must be at least 8 pixels")
    if args.edges is None:
        args.edges = "fast" if args.proposals else "accurate"

    import cv2

    from mcg.io import read_image
    from mcg.pipeline import im2ucm
    from mcg.proposals import im2mcg

    paths = jpg_images(args.folder, args.images)
    warnings.simplefilter("ignore", UserWarning)

    def load(path):
        image = read_image(path)
        if args.long_side is None:
            return image
        scale = args.long_side / max(image.shape[:2])
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    def run(image):
        if args.proposals:
            proposals, details = im2mcg(image, mode=args.mode, edges=args.edges,
                                        return_details=True)
            return details["times"], proposals.n_proposals
        result = im2ucm(image, mode=args.mode, edges=args.edges, return_details=True)
        return result.times, result.tree.n_leaves

    start = time.perf_counter()
    run(load(paths[0]))
    print(f"first call (JIT compilation or cache load, model loading): {time.perf_counter() - start:.2f} s")
    rows = []
    for path in paths:
        image = load(path)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        times, count = run(image)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        rows.append((wall, cpu, times))
        stages = " ".join(f"{k}={v:.3f}" for k, v in times.items())
        print(f"{path.name} {image.shape[1]}x{image.shape[0]}: wall {wall:.3f} s, cpu {cpu:.3f} s, "
              f"{count} {'proposals' if args.proposals else 'leaves'} | {stages}")
    what = f"{'proposals' if args.proposals else 'hierarchy'} ({args.edges} edges)"
    print(f"\n{args.mode} {what} over {len(rows)} images: "
          f"median wall {np.median([r[0] for r in rows]):.3f} s, median cpu {np.median([r[1] for r in rows]):.3f} s")
    for stage in rows[0][2]:
        print(f"  {stage:14s} median wall {np.median([r[2].get(stage, 0.0) for r in rows]):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
