"""A/B timing of two source trees of this project on the same images, one thread each.

Usage::

    git worktree add --detach ../before HEAD~3
    python benchmarks/bench_ab.py --a ../before --b . --mode mcg \
        --folder ../shared/data/coco/train2017 --images 24

Two warm worker processes, one per tree (each imports the packages of its tree first on its
path), time ``im2mcg`` (proposals, ``fast`` edges, as ``mcg proposals``) image by image, one
process at a time, in an order that alternates from image to image. This cancels the drift of a
shared machine's speed over minutes, which is larger than a change of a few percent. The first
image is run once more beforehand in both (Numba compilation and model loading excluded).

Prints the median wall time of each stage and of the whole call for both trees, and the median
over the images of the per-image ratio b / a.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import jpg_images  # this folder, first on sys.path


def _worker(mode: str) -> int:
    """Time im2mcg on each image path read from stdin; one JSON line of times per image."""
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    from mcg.allocator import keep_freed_memory
    from mcg.io import read_image
    from mcg.proposals import im2mcg

    keep_freed_memory()  # as the command line (see mcg.allocator)
    for line in sys.stdin:
        image = read_image(line.strip())
        t0 = time.perf_counter()
        _, details = im2mcg(image, mode=mode, return_details=True)
        total = time.perf_counter() - t0
        stages = {k: v for k, v in details["times"].items() if isinstance(v, float)}
        print(json.dumps({"total": total, **stages}), flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a", required=True, help="first source tree (folder with mcg/, ncuts/ ...)")
    parser.add_argument("--b", required=True, help="second source tree")
    parser.add_argument("--mode", choices=("scg", "mcg"), default="mcg")
    parser.add_argument("--folder", required=True, help="folder of .jpg images")
    parser.add_argument("--images", type=int, default=16, help="number of images (sorted names)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.mode)
    trees = {"a": Path(args.a).resolve(), "b": Path(args.b).resolve()}
    for name, tree in trees.items():
        if not (tree / "mcg" / "__init__.py").is_file():
            parser.error(f"--{name} {tree} is not a source tree of this project (no mcg/)")
    images = jpg_images(args.folder, args.images)
    workers = {}
    for name, tree in trees.items():
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(tree))
        workers[name] = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", "--mode", args.mode,
             "--a", args.a, "--b", args.b, "--folder", args.folder],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def timed(name: str, path: Path) -> dict:
        worker = workers[name]
        worker.stdin.write(f"{path}\n")
        worker.stdin.flush()
        line = worker.stdout.readline()
        if not line:
            raise SystemExit(f"worker of tree {name} ({trees[name]}) stopped on {path}")
        return json.loads(line)

    for name in workers:  # warm-up
        timed(name, images[0])
    results: dict = {"a": [], "b": []}
    for i, path in enumerate(images):
        for name in (("a", "b") if i % 2 == 0 else ("b", "a")):
            results[name].append(timed(name, path))
        print(f"[{i + 1}/{len(images)}] {path.name}: a {results['a'][-1]['total']:.3f} s, "
              f"b {results['b'][-1]['total']:.3f} s", flush=True)
    for worker in workers.values():
        worker.stdin.close()
        worker.wait()
    print(f"{args.mode}, {len(images)} images, median wall s (one thread):")
    for name in ("a", "b"):
        keys = results[name][0].keys()
        cells = ", ".join(f"{k} {statistics.median(r[k] for r in results[name]):.3f}" for k in keys)
        print(f"  {name} ({trees[name]}): {cells}")
    ratios = [b["total"] / a["total"] for a, b in zip(results["a"], results["b"])]
    print(f"  median per-image ratio b / a: {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
