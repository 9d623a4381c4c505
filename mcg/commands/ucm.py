"""``mcg ucm``: hierarchical segmentations (ultrametric contour maps) of images."""
from __future__ import annotations

import functools

from mcg.batch import add_batch_arguments
from mcg.cli import add_threads_argument, non_negative_int

FORMATS = ("bsds", "npz", "png")
#: File name ending of each format.
FORMAT_SUFFIXES = {"bsds": "mat", "npz": "npz", "png": "png"}


def register(subparsers) -> None:
    """Add the ``mcg ucm`` sub-command."""
    parser = subparsers.add_parser(
        "ucm",
        help="hierarchical segmentation (UCM) of images",
        description="Compute the ultrametric contour map of each image. Formats: bsds = "
        "<stem>.mat holding `ucm2` ((2H+1)x(2W+1), read by `mcg bench bsds` and the original "
        "BSDS benchmark); npz = <stem>.npz merge tree (grouping.hierarchy.MergeTree.load); "
        "png = <stem>.png, the HxW UCM scaled to 8 bits.",
    )
    add_batch_arguments(parser)
    parser.add_argument("--mode", choices=("scg", "mcg"), default="scg",
                        help="scg: single scale (fast); mcg: multiscale (default scg)")
    parser.add_argument("--format", choices=FORMATS, default="bsds", help="output format (default bsds)")
    parser.add_argument("--solver", choices=("dncuts", "exact"), default="dncuts",
                        help="eigen-solver of the globalization (default dncuts)")
    parser.add_argument("--edges", choices=("accurate", "fast"), default="accurate",
                        help="accurate: contours averaged over three image sizes, as the MCG "
                        "release (default); fast: one size, 0.2-0.4 s less per BSDS image")
    parser.add_argument("--max-pixels", type=non_negative_int, default=None,
                        help="mcg mode: refuse larger images (default 2500000; 0 = no limit)")
    add_threads_argument(parser)
    parser.add_argument("--edge-model", default=None, metavar="FILE.npz",
                        help="structured edge forest (default: the shipped model; "
                        "`mcg train edges` makes one)")
    parser.add_argument("--calibration", default=None, metavar="FILE.json",
                        help="combination weights and sigmoid of the final hierarchy (default: "
                        "the shipped ones; `mcg train calibration` makes one)")
    parser.set_defaults(func=run)


def hierarchy_outputs(stem: str, *, fmt: str) -> tuple[str, ...]:
    """Names of the files ``mcg ucm --format fmt`` writes for an image of file stem ``stem``."""
    return (f"{stem}.{FORMAT_SUFFIXES[fmt]}",)


def hierarchy_bytes(tree, fmt: str) -> bytes:
    """A merge tree's file content in one of the :data:`FORMATS` (the same bytes for the same tree)."""
    import numpy as np

    from mcg import storage

    if fmt == "bsds":
        return storage.mat_bytes({"ucm2": tree.to_ucm2()})
    if fmt == "npz":
        return storage.npz_bytes(tree.to_arrays())
    png = np.clip(np.round(tree.to_ucm() * 255.0), 0, 255).astype(np.uint8)
    return storage.png_bytes(png)


def write_hierarchy(tree, out_dir, stem: str, fmt: str) -> str:
    """Write a merge tree in one of the :data:`FORMATS` atomically; returns the file written."""
    from mcg import storage

    location = storage.join(str(out_dir), hierarchy_outputs(stem, fmt=fmt)[0])
    return storage.write_bytes(location, hierarchy_bytes(tree, fmt))


def compute_hierarchy(path, image, *, out_dir: str, fmt: str, **ucm_options) -> str:
    """Compute one image's hierarchy with :func:`mcg.pipeline.im2ucm` and write it."""
    from mcg import storage
    from mcg.pipeline import im2ucm

    return write_hierarchy(im2ucm(image, **ucm_options), out_dir, storage.stem(path), fmt)


def run(args) -> int:
    """Compute and write the hierarchy of every image (models load and compile once per process)."""
    from mcg.batch import BatchJob, model_digests, run_batch
    from mcg.pipeline import MCG_MAX_PIXELS

    out = str(args.out)
    max_pixels = MCG_MAX_PIXELS if args.max_pixels is None else (args.max_pixels or None)
    options = dict(mode=args.mode, solver=args.solver, edges=args.edges,
                   edge_model=args.edge_model, calibration=args.calibration,
                   max_pixels=max_pixels, threads=args.threads)
    job = BatchJob(
        command="ucm",
        process=functools.partial(compute_hierarchy, out_dir=out, fmt=args.format, **options),
        outputs=functools.partial(hierarchy_outputs, fmt=args.format),
        parameters={"format": args.format, "mode": args.mode, "solver": args.solver,
                    "edges": args.edges, "max_pixels": max_pixels},
        models=model_digests(args.edge_model, args.calibration),
    )
    return run_batch(args.images, out, job, workers=args.workers, scheduler=args.scheduler,
                     overwrite=args.overwrite)
