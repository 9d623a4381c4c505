"""Timings of the candidate stage on stand-in hierarchies made from published gPb ucm2s.

Four trees per image stand in for MCG's (multiscale, 0.5, 1, 2) hierarchies until our own
exist: the gPb tree, the tree resampled to 1/2 and to 3/4 of the size and back (coarser,
shifted leaves), and the tree rebuilt with boundary heights perturbed by +-20 % (another
merge order). Prints per-step times of ``grouping.ranking.proposals_from_trees`` and the
proposal benchmark (ABO, recall) against the BSDS ground truth.

    python benchmarks/bench_candidates.py [--images 5] [--working-point mcg|scg|default]
    python benchmarks/bench_candidates.py --write-standin DIR [--images 20]
        (writes DIR/<stem>_<k>.npz for the training commands of grouping.pareto/ranking)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.io

from grouping.candidates import default_n_cands
from grouping.hierarchy import MergeTree, leaf_adjacency
from grouping.ranking import proposals_from_trees

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# MCG's published working points (release models, PASCAL train 2012), rows = 1..4 regions.
MCG_POINT = np.array([[90, 500, 200, 900], [2000, 3000, 5000, 700],
                      [300, 10000, 5000, 700], [300, 4000, 300, 200]])


def stand_in_trees(tree: MergeTree, seed: int = 0) -> list[MergeTree]:
    h, w = tree.shape
    a, b = leaf_adjacency(tree.leaves)
    rng = np.random.default_rng(seed)
    heights = tree.leaf_pair_heights(a, b) * rng.uniform(0.8, 1.2, len(a))
    return [tree,
            tree.resample((max(h // 2, 1), max(w // 2, 1))).resample((h, w)),
            tree.resample((max(3 * h // 4, 1), max(3 * w // 4, 1))).resample((h, w)),
            MergeTree.from_leaf_graph(tree.leaves, a, b, heights)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=5)
    ap.add_argument("--skip", type=int, default=0, help="skip the first images (hold-out)")
    ap.add_argument("--working-point", default="mcg", choices=["mcg", "scg", "default"])
    ap.add_argument("--write-standin", default=None)
    ap.add_argument("--model", default=None, help="ranking forest .npz (default: untrained)")
    ap.add_argument("--working-points", default=None, help="WorkingPoints .npz")
    ap.add_argument("--n-candidates", type=float, default=5000,
                    help="with --working-points: mean candidates of the point")
    args = ap.parse_args()
    ucm_dir = DATA / "bsds500" / "gpb_ucm2" / "val"
    files = sorted(ucm_dir.glob("*.mat"))[args.skip: args.skip + args.images]
    if not files:
        print(f"no gPb ucm2 files in {ucm_dir}", file=sys.stderr)
        return 2
    if args.write_standin:
        out = Path(args.write_standin)
        out.mkdir(parents=True, exist_ok=True)
        for f in files:
            for k, t in enumerate(stand_in_trees(MergeTree.from_ucm2(scipy.io.loadmat(f)["ucm2"]))):
                t.save(out / f"{f.stem}_{k}.npz")
        print(f"wrote {4 * len(files)} trees to {out}")
        return 0
    from eval.coco_io import BsdsGroundTruth
    from eval.proposals import evaluate_proposals

    gt = BsdsGroundTruth(DATA / "bsds500" / "groundTruth" / "val")
    images = {im.stem: im for im in gt.images}
    if args.working_point == "mcg":
        n_cands = MCG_POINT
    elif args.working_point == "scg":
        n_cands = np.repeat(np.array([[700], [4000], [6000], [3000]]) // 4, 4, axis=1)
    else:
        n_cands = default_n_cands(4)
    if args.working_points:
        from grouping.pareto import WorkingPoints
        n_cands = WorkingPoints.load(args.working_points).n_cands_for(args.n_candidates)
    print(f"working point (rows 1..4 regions, cols trees), total {n_cands.sum()}:\n{n_cands}")
    proposals_from_trees(stand_in_trees(MergeTree.from_ucm2(scipy.io.loadmat(files[0])["ucm2"])),
                         n_cands=n_cands)  # JIT warm-up
    totals, abos, rec = [], [], []
    for f in files:
        trees = stand_in_trees(MergeTree.from_ucm2(scipy.io.loadmat(f)["ucm2"]))
        t0 = time.perf_counter()
        props, stage = proposals_from_trees(trees, n_cands=n_cands, model=args.model,
                                            return_stage=True)
        total = time.perf_counter() - t0
        totals.append(total)
        ev = evaluate_proposals(gt.instances(images[f.stem]).masks, props, n_values=(100, 1000, None))
        abos.append(ev.best_iou.mean(axis=0))
        rec.append((ev.best_iou >= 0.7).mean(axis=0))
        steps = " ".join(f"{k}={v:.3f}" for k, v in stage.timings.items())
        print(f"{f.stem}: {len(stage.cset)} candidates, {stage.cset.n_leaves} base leaves -> "
              f"{len(props)} proposals; total {total:.3f} s ({steps})")
    print(f"mean candidate stage {np.mean(totals):.3f} s/image over {len(files)} images "
          f"(one core, {'model ' + args.model if args.model else 'untrained fallback ranking'})")
    print("BSDS val instances ABO @100/1000/all:", np.round(np.mean(abos, axis=0), 3),
          " recall@0.7:", np.round(np.mean(rec, axis=0), 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
