"""``mcg ucm``: hierarchical segmentations (ultrametric contour maps) of images."""
from __future__ import annotations

import functools
from pathlib import Path

from mcg.batch import add_batch_arguments

FORMATS = ("bsds", "npz", "png")


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
    parser.add_argument("--max-pixels", type=int, default=None,
                        help="mcg mode: refuse larger images (default 2500000; 0 = no limit)")
    parser.add_argument("--edge-model", default=None,
                        help="structured edge forest .npz (default: the shipped model)")
    parser.set_defaults(func=run)


def write_hierarchy(tree, out_dir: Path, stem: str, fmt: str) -> Path:
    """Write a merge tree in one of the :data:`FORMATS`; returns the file written."""
    import cv2
    import numpy as np
    import scipy.io

    if fmt == "bsds":
        path = out_dir / f"{stem}.mat"
        scipy.io.savemat(path, {"ucm2": tree.to_ucm2()}, do_compression=True)
    elif fmt == "npz":
        path = out_dir / f"{stem}.npz"
        tree.save(path)
    else:
        path = out_dir / f"{stem}.png"
        ucm = tree.to_ucm()
        png = np.clip(np.round(ucm * 255.0), 0, 255).astype(np.uint8)
        if not cv2.imwrite(str(path), png):
            raise OSError(f"cannot write {path}")
    return path


def compute_hierarchy(path: Path, image, *, out_dir: Path, fmt: str, **ucm_options) -> str:
    """Compute one image's hierarchy with :func:`mcg.pipeline.im2ucm` and write it."""
    from mcg.pipeline import im2ucm

    return str(write_hierarchy(im2ucm(image, **ucm_options), out_dir, path.stem, fmt))


def run(args) -> int:
    """Compute and write the hierarchy of every image (models load and compile once per process)."""
    from mcg.batch import check_image_paths, run_over_images
    from mcg.pipeline import MCG_MAX_PIXELS

    paths = check_image_paths(args.images)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    max_pixels = MCG_MAX_PIXELS if args.max_pixels is None else (args.max_pixels or None)
    process = functools.partial(compute_hierarchy, out_dir=out_dir, fmt=args.format,
                                mode=args.mode, solver=args.solver, edges=args.edges,
                                edge_model=args.edge_model, max_pixels=max_pixels)
    return run_over_images(paths, process, "mcg ucm", workers=args.workers)
