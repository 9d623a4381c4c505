"""``mcg train``: train the proposal models, an edge forest or the calibration on your data."""
from __future__ import annotations

import time

from mcg.cli import positive_int


def register(subparsers) -> None:
    """Add the ``mcg train`` command group (``proposals``, ``edges``, ``calibration``)."""
    parser = subparsers.add_parser(
        "train",
        help="train models on your own data (proposals, edges, calibration)",
        description="Train the models behind the pipeline on your own data. Every training "
        "is resumable: rerun the same command to continue a stopped one.",
    )
    group = parser.add_subparsers(dest="what", metavar="WHAT", required=True)

    proposals = group.add_parser(
        "proposals",
        help="candidate working points and ranker on a COCO-format dataset",
        description="Cache the hierarchies of the images (resumable, workers or a Dask "
        "cluster), learn the working points and the ranking forest, and write them into a "
        "model folder for `mcg proposals --models DIR` / `im2mcg(models=DIR)`. With "
        "--heldout N the last N images by file name are held out and the proposal benchmark "
        "on them goes to DIR/evaluation.json.")
    proposals.add_argument("--coco-gt", required=True, metavar="instances.json",
                           help="COCO instances JSON of the training images")
    proposals.add_argument("--images", required=True, nargs="+", metavar="DIR",
                           help="image folder(s) or files (those not in --coco-gt are ignored)")
    proposals.add_argument("--out", "-o", required=True, metavar="DIR", help="model folder")
    proposals.add_argument("--mode", choices=("mcg", "scg"), default="mcg",
                           help="mcg (default) or scg")
    proposals.add_argument("--edges", choices=("fast", "accurate"), default="fast",
                           help="edge preset of the hierarchies (default fast, as `mcg proposals`)")
    proposals.add_argument("--heldout", type=int, default=0, metavar="N",
                           help="hold out the last N images (by file name) and evaluate on them")
    proposals.add_argument("--workers", type=positive_int, default=1,
                           help="processes computing hierarchies at the same time (default 1)")
    proposals.add_argument("--scheduler", default=None, metavar="ADDRESS",
                           help="compute the hierarchies on this Dask scheduler instead")
    proposals.add_argument("--work", default=None, metavar="DIR",
                           help="cache of hierarchies and held-out proposals (default OUT/work)")
    proposals.add_argument("--edge-model", default=None, metavar="FILE.npz",
                           help="edge forest of the hierarchies (default: shipped); copied into "
                           "the model folder")
    proposals.add_argument("--calibration", default=None, metavar="FILE.json",
                           help="calibration of the hierarchies (default: shipped); copied into "
                           "the model folder")
    proposals.add_argument("--n-candidates", type=float, default=None, metavar="N",
                           help="working point: mean candidates per image (default mcg 4000, "
                           "scg 3000)")
    proposals.add_argument("--overwrite", action="store_true",
                           help="replace models of this mode trained with other parameters")
    proposals.set_defaults(func=run_proposals)

    edges = group.add_parser(
        "edges",
        help="structured edge forest on BSDS-layout or COCO-format data",
        description="Train a structured edge forest (checkpointed per tree next to the model: "
        "a rerun continues a stopped training) for `mcg edges/ucm/proposals --edge-model`.")
    edges.add_argument("--bsds", default=None, metavar="DIR",
                       help="BSDS-layout folder (images/train, groundTruth/train)")
    edges.add_argument("--coco-gt", default=None, metavar="instances.json",
                       help="COCO instances JSON: instance masks as segments")
    edges.add_argument("--images", default=None, metavar="DIR", help="image folder of --coco-gt")
    edges.add_argument("--out", "-o", required=True, metavar="FILE.npz", help="model file")
    edges.add_argument("--trees", type=positive_int, default=8, help="trees (default 8)")
    edges.add_argument("--pos", type=positive_int, default=None,
                       help="positive patches per tree (default 100000; shipped model 500000)")
    edges.add_argument("--neg", type=positive_int, default=None,
                       help="negative patches per tree (default 100000; shipped model 500000)")
    edges.add_argument("--max-images", type=positive_int, default=None, metavar="N",
                       help="use only the first N images")
    edges.add_argument("--mirror", action="store_true",
                       help="also train on the left-right mirror of every image")
    edges.add_argument("--seed", type=int, default=0)
    edges.add_argument("--jobs", type=positive_int, default=1,
                       help="trees trained at once (default 1; the forest does not depend on it)")
    edges.add_argument("--overwrite", action="store_true",
                       help="replace an existing model / checkpoints of other settings")
    edges.set_defaults(func=run_edges)

    calibration = group.add_parser(
        "calibration",
        help="combination weights and sigmoid of the final hierarchy on BSDS-layout data",
        description="Fit the calibration of the final hierarchy by the boundary benchmark "
        "(ODS + OIS + AP) on BSDS-layout training data, for `mcg ucm --calibration FILE` / "
        "`im2ucm(calibration=FILE)`. Per-image maps are cached: a rerun continues.")
    calibration.add_argument("--bsds", required=True, metavar="DIR",
                             help="BSDS-layout folder (images/train, groundTruth/train)")
    calibration.add_argument("--out", "-o", required=True, metavar="FILE.json",
                             help="calibration file (entries of other modes in it are kept)")
    calibration.add_argument("--modes", nargs="+", choices=("scg", "mcg"), default=["scg", "mcg"])
    calibration.add_argument("--edges", choices=("accurate", "fast"), default="accurate",
                             help="edge preset (default accurate, as `mcg ucm`)")
    calibration.add_argument("--images", type=positive_int, default=30, metavar="N",
                             help="first N train images (default 30)")
    calibration.add_argument("--grid", type=int, default=200,
                             help="uniform (and as many quantile) raw thresholds (default 200)")
    calibration.add_argument("--weights", type=float, nargs="+", default=None,
                             help="mcg: keep these per-scale weights, finest scale first (2, 1, "
                             "0.5 with accurate edges; 1.5, 0.75, 0.5 with fast)")
    calibration.add_argument("--edge-model", default=None, metavar="FILE.npz",
                             help="edge forest of the hierarchies (default: shipped)")
    calibration.add_argument("--work", default=None, metavar="DIR",
                             help="cache of per-image maps (default: beside --out)")
    calibration.add_argument("--workers", type=positive_int, default=1,
                             help="processes for the benchmark counts (default 1)")
    calibration.add_argument("--overwrite", action="store_true",
                             help="replace entries the file already holds")
    calibration.set_defaults(func=run_calibration)


def _log(message: str) -> None:
    print(time.strftime("%H:%M:%S ") + message, flush=True)


def run_proposals(args) -> int:
    """``mcg train proposals``: :func:`mcg.proposal_training.train_proposals`."""
    from mcg.proposal_training import train_proposals

    record = train_proposals(args.coco_gt, args.images, args.out, mode=args.mode,
                             edges=args.edges, heldout=args.heldout, workers=args.workers,
                             scheduler=args.scheduler, work=args.work,
                             edge_model=args.edge_model, calibration=args.calibration,
                             n_candidates=args.n_candidates, overwrite=args.overwrite,
                             command=args.command_line, log=_log)
    return 1 if record["data"]["images_without_hierarchies"] else 0


def run_edges(args) -> int:
    """``mcg train edges``: :func:`mcg.edge_training.train_edges`."""
    from mcg.edge_training import train_edges

    train_edges(args.out, bsds=args.bsds, coco_gt=args.coco_gt, images=args.images,
                n_trees=args.trees, n_pos=args.pos, n_neg=args.neg, seed=args.seed,
                jobs=args.jobs, max_images=args.max_images, mirror=args.mirror,
                overwrite=args.overwrite, command=args.command_line, log=_log)
    return 0


def run_calibration(args) -> int:
    """``mcg train calibration``: :func:`mcg.calibration.train_calibration`."""
    from mcg.calibration import train_calibration

    train_calibration(args.bsds, args.out, modes=args.modes, edges=args.edges,
                      n_images=args.images, work=args.work, grid_size=args.grid,
                      workers=args.workers, weights=args.weights, edge_model=args.edge_model,
                      overwrite=args.overwrite, command=args.command_line, log=_log)
    return 0
