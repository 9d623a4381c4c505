"""Latency of one image with 1 and with N threads (``im2mcg(..., threads=N)``), outputs compared.

Usage::

    python benchmarks/bench_threads.py --folder ../shared/data/coco/train2017 --images 10 \
        [--mode mcg] [--threads 2]

For each image (the first ``--images`` ``.jpg`` files by name), ``im2mcg`` runs once with one
thread and once with ``--threads`` threads, one after the other; the script prints both wall
times and whether every array of the two proposal sets (superpixels, leaf sets, scores, boxes)
is identical, then the medians and their ratio. Both calls are run once on the first image
beforehand (Numba compilation and model loading are not timed). BLAS runs single-threaded
(``OPENBLAS_NUM_THREADS=1``): the threads are the pipeline's own.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

from common import jpg_images  # noqa: E402 (this folder, first on sys.path)


def same_proposals(a, b) -> bool:
    """Whether two :class:`mcg.Proposals` have identical arrays in the file format's canonical
    form (:func:`grouping.proposal_format.proposal_arrays`: superpixels, leaf sets, scores,
    boxes)."""
    from grouping.proposal_format import proposal_arrays

    arrays_a, arrays_b = proposal_arrays(a), proposal_arrays(b)
    return all(np.array_equal(arrays_a[name], arrays_b[name]) for name in arrays_a)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", required=True, help="folder of .jpg images")
    parser.add_argument("--images", type=int, default=10, help="number of images (sorted names)")
    parser.add_argument("--mode", choices=("scg", "mcg"), default="mcg")
    parser.add_argument("--threads", type=int, default=2, help="threads of the second call")
    args = parser.parse_args(argv)
    if args.threads < 2:
        parser.error("--threads must be at least 2")

    from mcg import im2mcg, read_image
    from mcg.allocator import keep_freed_memory

    keep_freed_memory()  # as the command line (see mcg.allocator)
    paths = jpg_images(args.folder, args.images)
    first = read_image(paths[0])
    for threads in (1, args.threads):
        im2mcg(first, mode=args.mode, threads=threads)
    seconds = {1: [], args.threads: []}
    all_same = True
    for path in paths:
        image = read_image(path)
        results = {}
        for threads in seconds:
            start = time.perf_counter()
            results[threads] = im2mcg(image, mode=args.mode, threads=threads)
            seconds[threads].append(time.perf_counter() - start)
        same = same_proposals(results[1], results[args.threads])
        all_same &= same
        print(f"{path.name}: 1 thread {seconds[1][-1]:.2f} s, {args.threads} threads "
              f"{seconds[args.threads][-1]:.2f} s, identical: {same}", flush=True)
    one, many = np.median(seconds[1]), np.median(seconds[args.threads])
    print(f"\n{args.mode} over {len(paths)} images: median 1 thread {one:.3f} s, "
          f"{args.threads} threads {many:.3f} s (x{one / many:.2f}); outputs identical on every "
          f"image: {all_same}")
    print(f"load average (1, 5, 15 min): {' '.join(open('/proc/loadavg').read().split()[:3])}")
    return 0 if all_same else 1


if __name__ == "__main__":
    sys.exit(main())
