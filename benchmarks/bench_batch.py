"""Wall time of a batch command with one and with several worker processes, and whether the
files they write are the same.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_batch.py --mode mcg --workers 2
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_batch.py --mode scg --images 20 --workers 2 4

Runs ``mcg ucm IMAGE... -o DIR --mode MODE --workers N`` (the command line, in a subprocess,
on all images of the folder or the first ``--images``) once per worker count, one
worker first, then compares every ``ucm2`` with the one-worker run. Prints the wall time of each
run and the number of identical files. The Numba cache should be warm (run any command once).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BSDS_VAL_IMAGES, jpg_images  # noqa: E402 (this folder, first on sys.path)



def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("scg", "mcg"), default="mcg")
    parser.add_argument("--folder", default=str(BSDS_VAL_IMAGES), help="folder of .jpg images")
    parser.add_argument("--images", type=int, default=0, help="first N images only (0: all)")
    parser.add_argument("--workers", type=int, nargs="+", default=[2],
                        help="worker counts to compare with one worker")
    args = parser.parse_args(argv)

    import numpy as np
    import scipy.io

    paths = jpg_images(args.folder, args.images)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as scratch:
        out = {}
        for workers in [1] + [w for w in args.workers if w != 1]:
            out[workers] = Path(scratch) / f"workers_{workers}"
            command = [sys.executable, "-m", "mcg.cli", "ucm", *map(str, paths),
                       "-o", str(out[workers]), "--mode", args.mode, "--workers", str(workers)]
            start = time.perf_counter()
            subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
            print(f"{args.mode}, {len(paths)} images, {workers} worker(s): "
                  f"{time.perf_counter() - start:.1f} s wall", flush=True)
        for workers, folder in out.items():
            if workers == 1:
                continue
            same = sum(np.array_equal(scipy.io.loadmat(folder / f"{p.stem}.mat")["ucm2"],
                                      scipy.io.loadmat(out[1] / f"{p.stem}.mat")["ucm2"])
                       for p in paths)
            print(f"{workers} workers: {same} of {len(paths)} ucm2 identical to one worker's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
