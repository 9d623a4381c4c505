"""Cost of the batch machinery alone: many synthetic images, a job that computes nothing.

Creates N copies of a 1x1 PNG, then times ``mcg.batch.run_batch`` with a job that
returns at once (so every image stays pending: listing, input checks, output-folder planning,
handing out, collecting and progress lines are all that run), with one process, with local
worker processes, and on a local Dask cluster. Prints seconds and peak Python memory of the
parent per image.

    python benchmarks/bench_batch_overhead.py --images 100000 --workers 2 --dask
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np

from mcg.batch import BatchJob, run_batch


def nothing(path, image) -> str:
    """The job: no computation, no output."""
    return "nothing"


def nothing_outputs(stem: str) -> tuple[str, ...]:
    return (f"{stem}.out",)


def make_inputs(folder: Path, n: int) -> None:
    folder.mkdir()
    ok, png = cv2.imencode(".png", np.zeros((1, 1, 3), np.uint8))
    data = png.tobytes()
    for i in range(n):
        (folder / f"{i:07d}.png").write_bytes(data)


def measure(name: str, inputs: Path, out: Path, n: int, **run_options) -> None:
    job = BatchJob("overhead", nothing, nothing_outputs, {})
    tracemalloc.start()
    start = time.perf_counter()
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        status = run_batch([str(inputs)], str(out), job, **run_options)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{name:<24} {n} images: {seconds:7.2f} s, {1000 * seconds / n:.3f} ms/image; "
          f"peak Python memory {peak / 2**20:.1f} MiB = {peak / n / 1024:.2f} KiB/image "
          f"(status {status})", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dask", action="store_true", help="also on a local Dask cluster "
                        "of --workers processes (one thread each)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        inputs = Path(scratch) / "in"
        start = time.perf_counter()
        make_inputs(inputs, args.images)
        print(f"created {args.images} input files in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)
        measure("one process", inputs, Path(scratch) / "out1", args.images)
        measure(f"{args.workers} worker processes", inputs, Path(scratch) / "out2", args.images,
                workers=args.workers)
        if args.dask:
            from distributed import Client, LocalCluster

            with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                measure(f"Dask, {args.workers} workers", inputs, Path(scratch) / "out3",
                        args.images, scheduler=client)
    return 0


if __name__ == "__main__":
    sys.exit(main())
