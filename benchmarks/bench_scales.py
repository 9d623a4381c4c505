"""Per-scale stage times of MCG mode's hierarchies, one core, after warm-up.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_scales.py \
        --folder ../shared/data/coco/train2017 --images 9

Each scale of :data:`mcg.pipeline.SCALES` (``fast`` preset by default, as ``mcg proposals``)
is computed on its own, as ``im2ucm`` computes it: the image resized to the scale, its
contours, oriented watershed, globalization and UCM (:func:`mcg.pipeline.single_scale_tree`
with the scale's edge settings and the preset's DNCuts bound), then the hierarchy resampled to the image size. Prints the
median wall seconds of each stage per scale (the first image is run once more beforehand to
exclude JIT compilation). Alignment, combination and the candidate stage come after the
scales and are not included (``bench_pipeline.py`` times them).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

from common import jpg_images  # noqa: E402 (this folder, first on sys.path)

STAGES = ("edges", "owt", "globalization", "ucm", "resample")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", required=True, help="folder of .jpg images")
    parser.add_argument("--images", type=int, default=9, help="number of images (sorted names)")
    parser.add_argument("--edges", choices=("accurate", "fast"), default="fast",
                        help="edge preset (default fast, as mcg proposals)")
    args = parser.parse_args(argv)
    from mcg.allocator import keep_freed_memory

    keep_freed_memory()  # as the command line (see mcg.allocator)
    from grouping.resample import resample_tree
    from mcg.io import read_image
    from mcg.pipeline import (DNCUTS_MAX_REDUCED_NODES, EDGE_PRESETS, SCALES, _resize_image,
                              single_scale_tree)

    jobs = list(zip(SCALES[args.edges]["mcg"], EDGE_PRESETS[args.edges]["mcg"]))
    max_reduced_nodes = DNCUTS_MAX_REDUCED_NODES[args.edges]["mcg"]

    def run(image) -> dict:
        per_scale = {}
        for scale, settings in jobs:
            times: dict = {}
            start = time.perf_counter()
            tree = single_scale_tree(_resize_image(image, scale), edge_settings=settings,
                                     times=times, max_reduced_nodes=max_reduced_nodes)
            if tree.shape != image.shape[:2]:
                t0 = time.perf_counter()
                resample_tree(tree, image.shape[:2])
                times["resample"] = time.perf_counter() - t0
            times["total"] = time.perf_counter() - start
            per_scale[scale] = times
        return per_scale

    paths = jpg_images(args.folder, args.images)
    run(read_image(paths[0]))
    rows = [run(read_image(path)) for path in paths]
    print(f"mcg hierarchies ({args.edges} edges), median wall seconds over {len(rows)} images:")
    print(f"{'scale':>6s} " + " ".join(f"{stage:>13s}" for stage in STAGES + ("total",)))
    for scale, _ in jobs:
        medians = [np.median([row[scale].get(stage, 0.0) for row in rows])
                   for stage in STAGES + ("total",)]
        print(f"{scale:6.2f} " + " ".join(f"{value:13.3f}" for value in medians))
    return 0


if __name__ == "__main__":
    sys.exit(main())
