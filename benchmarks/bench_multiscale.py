"""Benchmark of the multiscale stage: alignment of per-scale hierarchies and combination.

Usage::

    python benchmarks/bench_multiscale.py [--images N] [--repeats R] [--data DIR] [--sobel SIGMA]

For N BSDS500 val images, the published gPb ucm2 (481x321) is the finest hierarchy; two fake
coarser scales are the same hierarchy resampled to 1/2 and 1/4 of the size and back
(``MergeTree.resample``). Reports, per image (median over R runs after a warm-up), the time
of: alignment (``align_hierarchies``), combination (``combine_ucm2s``), the aligned trees
(``MergeTree.from_ucm2`` of the aligned maps) and the whole ``multiscale_hierarchy``; for
every alignment mode. With ``--sobel SIGMA`` the three scales are instead real per-scale
hierarchies (image resized by 2, 1, 0.5, Sobel edges, OWT, ucm_mean_pb, resampled back), which
have many more leaves than the published gPb hierarchies. Times are wall-clock (time.perf_counter) and CPU (time.process_time);
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


def sobel_scales(image_path, sigma, scales=(2.0, 1.0, 0.5)):
    """Per-scale OWT-UCM hierarchies from Sobel edges (stand-in for the edge forest).

    The image is resized by each scale (bicubic), Sobel edges of the grey image (Gaussian
    std ``sigma``) normalized to [0, 1], OWT, ucm_mean_pb, then the tree is resampled to the
    original resolution. Returns (trees finest first, seconds spent per scale).
    """
    import cv2
    import numpy as np
    from scipy import ndimage
    from skimage import color, filters, io

    from grouping.owt import gradient_orientation, oriented_watershed
    from grouping.ucm import ucm_mean_pb

    image = io.imread(image_path)
    h, w = image.shape[:2]
    trees, seconds = [], []
    for scale in scales:
        t0 = time.perf_counter()
        resized = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
        gray = ndimage.gaussian_filter(color.rgb2gray(resized), sigma)
        g_row, g_col = filters.sobel_h(gray), filters.sobel_v(gray)
        edges = np.hypot(g_row, g_col)
        edges /= max(edges.max(), 1e-12)
        owt2, sp = oriented_watershed(edges, gradient_orientation(g_row, g_col))
        tree = ucm_mean_pb(owt2, sp)
        if tree.shape != (h, w):
            tree = tree.resample((h, w))
        trees.append(tree)
        seconds.append(time.perf_counter() - t0)
    return trees, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sobel", type=float, default=None, metavar="SIGMA",
                        help="instead of gPb-derived scales, build scales 2, 1, 0.5 from Sobel "
                             "edges (Gaussian std SIGMA) of the images: denser hierarchies")
    args = parser.parse_args()
    folder = args.data / "bsds500" / "gpb_ucm2" / "val"
    paths = sorted(glob.glob(str(folder / "*.mat")))[: args.images]
    if not paths:
        raise FileNotFoundError(f"no gPb ucm2 files in {folder}")
    if args.sobel is not None:
        image_dir = args.data / "bsds500" / "images" / "val"

        def make_trees(path):
            trees, seconds = sobel_scales(image_dir / f"{Path(path).stem}.jpg", args.sobel)
            print(f"{Path(path).stem:>8} per-scale Sobel OWT-UCM + resample (s): "
                  + ", ".join(f"{x:.2f}" for x in seconds))
            return trees
    else:
        make_trees = fake_scales
    multiscale_hierarchy(fake_scales(paths[0])[:2])  # warm-up (Numba compilation / cache)
    print(f"{'image':>8} {'mode':>10} {'leaves':>17} {'align':>13} {'combine':>13} "
          f"{'aligned trees':>13} {'total':>13}   (wall/cpu seconds, median of {args.repeats})")
    totals = []
    for path in paths:
        trees = make_trees(path)
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
