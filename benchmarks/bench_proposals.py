"""Benchmark the proposal benchmark itself on the shared COCO subset (192 images).

Four proposal sets are built in a scratch folder and evaluated, printing timings and the
summary tables:

1. ``gt``: the ground-truth instance masks as proposals in our ``.npz`` leaf-set format
   (must give ABO 1.0 at N = all);
2. ``random``: ``--n-random`` random proposals per image in our format: unions of the
   cells of a random Voronoi partition (about 400 cells) falling in a random box;
3. ``gt_json``: the ground-truth masks as a COCO result JSON with RLE masks;
4. ``boxes_json``: ``--n-random`` random boxes per image as a box-only COCO result JSON.

Usage::

    python benchmarks/bench_proposals.py [--data ../shared/data/coco] [--n-random 1000]
                                         [--work /tmp/bench_proposals] [--limit 192]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.coco_io import CocoGroundTruth, match_images  # noqa: E402
from grouping.proposal_format import Proposals, proposals_from_masks, save_proposals  # noqa: E402
from eval.proposals import (ProposalBenchmarkWarning, evaluate_dataset,  # noqa: E402
                            format_table, write_outputs)


def random_voronoi(height: int, width: int, n_cells: int, rng: np.random.Generator) -> np.ndarray:
    """Label image of the Voronoi cells of random seeds, int32 (H, W), labels 0..n-1."""
    seeds = np.column_stack([rng.uniform(0, height, n_cells), rng.uniform(0, width, n_cells)])
    rows, cols = np.mgrid[0:height, 0:width]
    _, labels = cKDTree(seeds).query(np.column_stack([rows.ravel(), cols.ravel()]))
    _, labels = np.unique(labels, return_inverse=True)  # drop seeds owning no pixel
    return labels.reshape(height, width).astype(np.int32)


def random_superpixel_proposals(height: int, width: int, n: int,
                                rng: np.random.Generator) -> Proposals:
    """``n`` proposals: cells whose centroid falls in a random box (at least one cell)."""
    sp = random_voronoi(height, width, 400, rng)
    n_leaves = int(sp.max()) + 1
    rows, cols = np.mgrid[0:height, 0:width]
    count = np.bincount(sp.ravel(), minlength=n_leaves)
    cy = np.bincount(sp.ravel(), rows.ravel(), n_leaves) / count
    cx = np.bincount(sp.ravel(), cols.ravel(), n_leaves) / count
    leaf_sets = []
    for _ in range(n):
        w, h = rng.uniform(0.05, 0.9) * width, rng.uniform(0.05, 0.9) * height
        x0, y0 = rng.uniform(0, width - w), rng.uniform(0, height - h)
        inside = np.flatnonzero((cx >= x0) & (cx < x0 + w) & (cy >= y0) & (cy < y0 + h))
        if len(inside) == 0:
            inside = np.array([int(rng.integers(n_leaves))])
        leaf_sets.append(inside)
    return Proposals.from_leaf_sets(sp, leaf_sets, scores=rng.random(n))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "coco"))
    parser.add_argument("--n-random", type=int, default=1000)
    parser.add_argument("--work", default="/tmp/bench_proposals")
    parser.add_argument("--limit", type=int, default=None, help="use only the first images")
    args = parser.parse_args()
    data = Path(args.data)
    gt_json = data / "annotations" / "instances_train2017.json"
    images = data / "train2017"
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)

    t0 = time.perf_counter()
    gt = CocoGroundTruth(gt_json)
    matched, _ = match_images(gt, images)
    if args.limit:
        matched = matched[:args.limit]
        gt.images = [info for info, _ in matched]
    print(f"ground truth: {len(matched)} images, read in {time.perf_counter() - t0:.2f} s")

    # ---- build the proposal sets
    folders = {"gt": work / "gt", "random": work / "random"}
    for folder in folders.values():
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.npz"):
            old.unlink()
    gt_results, box_results = [], []
    t_gt = t_rand = 0.0
    from pycocotools import mask as mask_utils
    for info, _ in matched:
        inst = gt.instances(info)
        t = time.perf_counter()
        if inst.n_instances:
            save_proposals(folders["gt"] / f"{info.stem}.npz", proposals_from_masks(inst.masks))
        t_gt += time.perf_counter() - t
        for k, mask in enumerate(inst.masks):
            rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
            gt_results.append({"image_id": info.image_id, "category_id": 1,
                               "score": float(1.0 - 0.01 * k),
                               "segmentation": {"size": [info.height, info.width],
                                                "counts": rle["counts"].decode("ascii")}})
        t = time.perf_counter()
        save_proposals(folders["random"] / f"{info.stem}.npz",
                       random_superpixel_proposals(info.height, info.width, args.n_random, rng))
        t_rand += time.perf_counter() - t
        w = rng.uniform(1, info.width, args.n_random)
        h = rng.uniform(1, info.height, args.n_random)
        x = rng.uniform(0, 1, args.n_random) * (info.width - w)
        y = rng.uniform(0, 1, args.n_random) * (info.height - h)
        scores = rng.random(args.n_random)
        box_results.extend({"image_id": info.image_id, "category_id": 1, "score": float(s),
                            "bbox": [float(a), float(b), float(c), float(d)]}
                           for a, b, c, d, s in zip(x, y, w, h, scores))
    (work / "gt_results.json").write_text(json.dumps(gt_results))
    (work / "boxes_results.json").write_text(json.dumps(box_results))
    print(f"built gt .npz in {t_gt:.1f} s, random .npz ({args.n_random}/image) in "
          f"{t_rand:.1f} s")

    runs = {"gt": folders["gt"], "random": folders["random"],
            "gt_json": work / "gt_results.json", "boxes_json": work / "boxes_results.json"}
    for name, source in runs.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProposalBenchmarkWarning)
            t = time.perf_counter()
            result = evaluate_dataset(gt, images, source)
            elapsed = time.perf_counter() - t
        write_outputs(result, work / f"eval_{name}")
        sec = result.summary["seconds"]
        print(f"\n=== {name}: evaluate_dataset {elapsed:.2f} s (reading GT+proposals "
              f"{sec['reading']:.2f} s, overlaps {sec['evaluating']:.2f} s), "
              f"{len(result.warnings)} warnings")
        print(format_table(result.summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
