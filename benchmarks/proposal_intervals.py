"""Image-bootstrap 95% intervals of a proposal benchmark's instance-level scores.

Usage::

    mcg bench proposals --gt instances.json --images DIR --proposals PROPS --out BENCH
    python benchmarks/proposal_intervals.py BENCH/per_instance.csv [--budgets 100 1000]

Reads the ``per_instance.csv`` written by ``mcg bench proposals`` (one row per ground-truth
instance, its best mask Jaccard at each budget) and prints, for each budget, the ABO (mean best
Jaccard over instances) and the recall at Jaccard 0.7, each with the 2.5 and 97.5 percentiles
over resamples of the *images* drawn with replacement (an image brings all its instances).
That interval says how far the score could move on another set of images like these.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from eval.bsds_compare import resample_weights
from mcg.cli import positive_int


def bootstrap_instance_scores(image_index: np.ndarray, values: np.ndarray, n_images: int,
                              resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of per-instance ``values`` and its image-bootstrap 95% interval.

    Parameters
    ----------
    image_index : ndarray of int64, shape (K,)
        Image of each instance, in ``[0, n_images)``.
    values : ndarray of float64, shape (K,)
        Per-instance score (best Jaccard, or 0/1 for a recall).
    n_images : int
        Number of images.
    resamples : int
        Bootstrap draws.
    seed : int
        Seed of the draws (same seed, same interval).

    Returns
    -------
    mean, low, high : float
        The mean over instances and the 2.5 / 97.5 percentiles over resamples.
    """
    rng = np.random.default_rng(seed)
    per_image_sum = np.bincount(image_index, weights=values, minlength=n_images)
    per_image_count = np.bincount(image_index, minlength=n_images).astype(np.float64)
    multiplicity = resample_weights(rng, n_images, resamples)
    # every image has at least one instance, so no resample has zero instances
    means = (multiplicity @ per_image_sum) / (multiplicity @ per_image_count)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(values.mean()), float(low), float(high)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("per_instance", type=Path, help="per_instance.csv of mcg bench proposals")
    parser.add_argument("--budgets", nargs="+", default=["100", "1000"],
                        help="columns iou@<budget> to report (default: 100 1000)")
    parser.add_argument("--resamples", type=positive_int, default=2000)
    args = parser.parse_args(argv)
    if not args.per_instance.is_file():
        parser.error(f"no such file: {args.per_instance}")
    with open(args.per_instance, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        parser.error(f"{args.per_instance} has no instance rows")
    missing = [b for b in args.budgets if f"iou@{b}" not in rows[0]]
    if missing:
        parser.error(f"{args.per_instance} has no column iou@{missing[0]}")
    images = sorted({row["image"] for row in rows})
    position = {image: i for i, image in enumerate(images)}
    image_index = np.array([position[row["image"]] for row in rows], dtype=np.int64)
    print(f"{len(images)} images, {len(rows)} instances, {args.resamples} resamples")
    for budget in args.budgets:
        best = np.array([float(row[f"iou@{budget}"]) for row in rows])
        for name, values in (("ABO", best), ("recall@0.7", (best >= 0.7).astype(np.float64))):
            mean, low, high = bootstrap_instance_scores(image_index, values, len(images),
                                                        args.resamples)
            print(f"{name} @{budget}: {mean:.4f} [{low:.4f}, {high:.4f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
