"""Compare the re-ranking rules of the candidate stage on the held-out COCO images.

For every rule (MCG's MMR at several theta, the multiplicative decay at several gamma) the
held-out proposals are written from the cached hierarchies with the shipped working point and
ranker, and scored with the proposal benchmark. Prints mask ABO and box recall at IoU 0.7 at
10 ... 1000 proposals.

    python benchmarks/bench_reranking.py --trees TREES --gt GT.json --images IMAGES --out DIR
        [--heldout 64] [--mode mcg] [--models mcg/models] [--workers 2]

``TREES`` is the hierarchy cache of a mode written by ``mcg train proposals``
(``<model folder>/work/hierarchies/<mode>``); the last ``--heldout`` images of ``IMAGES`` by
file name are evaluated.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mcg.proposal_training import evaluate_heldout, write_proposals_from_trees

RULES = (("mmr", {"rerank": "mmr", "theta": 0.7}), ("mmr", {"rerank": "mmr", "theta": 0.8}),
         ("mmr", {"rerank": "mmr", "theta": 1.0}), ("decay", {"rerank": "decay", "gamma": 1.0}),
         ("decay", {"rerank": "decay", "gamma": 2.0}), ("decay", {"rerank": "decay", "gamma": 3.0}))
SHOWN = ("10", "100", "500", "1000")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trees", required=True)
    parser.add_argument("--heldout", type=int, default=64)
    parser.add_argument("--gt", required=True)
    parser.add_argument("--images", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--mode", default="mcg", choices=("mcg", "scg"))
    parser.add_argument("--models", default=str(Path(__file__).resolve().parents[1] / "mcg" / "models"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    from mcg.allocator import keep_freed_memory

    keep_freed_memory()  # as the command line (see mcg.allocator)
    images = sorted(p for p in Path(args.images).iterdir()
                    if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[-args.heldout:]
    rows = []
    for rule, options in RULES:
        tag = "_".join(f"{k}{v}" for k, v in options.items())
        out = Path(args.out) / tag
        write_proposals_from_trees(args.mode, args.trees, [p.stem for p in images], args.models,
                                   out / "proposals", workers=args.workers, **options)
        summary = evaluate_heldout(out / "proposals", args.gt, images)
        labels = summary["n_values"]
        cols = [labels.index(n) for n in SHOWN if n in labels]
        abo = [summary["masks"]["abo"][j] for j in cols]
        box = [summary["boxes"]["recall@0.7"][j] for j in cols]
        rows.append((tag, abo, box))
        (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    head = " ".join(f"{'ABO@' + n:>9}" for n in SHOWN) + " " + " ".join(
        f"{'boxR@' + n:>10}" for n in SHOWN)
    print(f"{'rule':<22} {head}")
    for tag, abo, box in rows:
        print(f"{tag:<22} " + " ".join(f"{v:9.3f}" for v in abo) + " "
              + " ".join(f"{v:10.3f}" for v in box))
    return 0


if __name__ == "__main__":
    sys.exit(main())
