"""Benchmark of the multiscale stage: alignment of per-scale hierarchies and combination.

Usage::

    python benchmarks/bench_multiscale.py [--images N] [--repeats R] [--data DIR]

For N BSDS500 val images, the published gPb ucm2 (481x321) is the finest hierarchy; two fake
coarser scales are the same hierarchy resampled to 1/2 and 1/4 of the size and back
(``MergeTree.resample``). Reports, per image (median over R runs after a warm-up), the time
of: alignment (``align_hierarchies``), combination (``combine_ucm2s``), the aligned trees
(``MergeTree.from_ucm2`` of the aligned maps) and the whole ``multiscale_hierarchy``; for
every alignment mode. Times are wall-clock (time.perf_counter) and CPU (time.process_time);
on a shared machine the CPU figure is the more stable one.
"""
from __future__ import annotations

import argparse
import glob
import os
import statistics
import time
from pathlib import Path

import scipy.io as sio

from grouping.hierarchy import MergeTree
from grouping.multiscale import align_hierarchies, combine_ucm2s, multiscale_hierarchy

DEFAULT_DATA = Path(
    os.environ.get("MCG_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)


def timed(fn, *args, **kwargs):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - w0, time.process_time() - c0


def fake_scales(path):
    fine = MergeTree.from_ucm2(sio.loadmat(path)["ucm2"])
    h, w = fine.shape
    return [fine] + [fine.resample((h // f, w // f)).resample((h, w)) for f in (2, 4)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    folder = args.data / "bsds500" / "gpb_ucm2" / "val"
    paths = sorted(glob.glob(str(folder / "*.mat")))[: args.images]
    if not paths:
        raise FileNotFoundError(f"no gPb ucm2 files in {folder}")
    multiscale_hierarchy(fake_scales(paths[0])[:2])  # warm-up (Numba compilation / cache)
    print(f"{'image':>8} {'mode':>10} {'leaves':>17} {'align':>13} {'combine':>13} "
          f"{'aligned trees':>13} {'total':>13}   (wall/cpu seconds, median of {args.repeats})")
    totals = []
    for path in paths:
        trees = fake_scales(path)
        leaves = "/".join(str(t.n_leaves) for t in trees)
        for mode in ("finest", "next_finer", "none"):
            rows = {"align": [], "combine": [], "trees": [], "total": []}
            for _ in range(args.repeats):
                ucm2s, w, c = timed(align_hierarchies, trees, alignment=mode)
                rows["align"].append((w, c))
                _, w, c = timed(combine_ucm2s, ucm2s)
                rows["combine"].append((w, c))
                _, w, c = timed(lambda: [MergeTree.from_ucm2(u, strict=False) for u in ucm2s[1:]])
                rows["trees"].append((w, c))
                _, w, c = timed(multiscale_hierarchy, trees, alignment=mode)
                rows["total"].append((w, c))
            med = {k: (statistics.median(x for x, _ in v), statistics.median(y for _, y in v))
                   for k, v in rows.items()}
            if mode == "finest":
                totals.append(med["total"][1])
            print(f"{Path(path).stem:>8} {mode:>10} {leaves:>17} "
                  + " ".join(f"{med[k][0]:6.3f}/{med[k][1]:6.3f}" for k in rows))
    print(f"multiscale_hierarchy (finest alignment), median CPU over images: "
          f"{statistics.median(totals):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
