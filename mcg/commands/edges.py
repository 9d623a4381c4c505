"""``mcg edges``: structured-forest edge maps of images, one 8-bit PNG per image."""
from __future__ import annotations

import functools
from pathlib import Path

from mcg.batch import add_batch_arguments


def register(subparsers) -> None:
    """Add the ``mcg edges`` sub-command."""
    parser = subparsers.add_parser(
        "edges",
        help="structured edge forest contours of images (PNG soft boundary maps)",
        description="Detect edges with the shipped structured edge forest and write one 8-bit "
        "PNG edge map per image, named <image stem>.png, into the output folder.",
    )
    add_batch_arguments(parser)
    parser.add_argument("--multiscale", action="store_true",
                        help="average the edge maps of scales 0.5, 1 and 2")
    parser.add_argument("--sharpen", type=int, default=2, choices=(0, 1, 2),
                        help="edge sharpening in pixels (default 2)")
    parser.add_argument("--no-nms", action="store_true", help="skip non-maximum suppression")
    parser.add_argument("--npy", action="store_true",
                        help="also write the float32 edge map as <stem>.npy")
    parser.add_argument("--model", default=None, help="edge model .npz (default: the shipped one)")
    parser.set_defaults(func=run)


def write_edges(path: Path, image, *, out_dir: Path, model: str | None, multiscale: bool,
                sharpen: int, nms: bool, npy: bool) -> str:
    """Detect the edges of one image and write ``<stem>.png`` (and ``<stem>.npy``)."""
    import cv2
    import numpy as np

    from contours.detect import detect_edges

    edges, _ = detect_edges(image, model, multiscale=multiscale, sharpen=sharpen, nms=nms)
    target = out_dir / f"{path.stem}.png"
    png = np.clip(np.round(edges * 255.0), 0, 255).astype(np.uint8)
    if not cv2.imwrite(str(target), png):
        raise OSError(f"cannot write {target}")
    if npy:
        np.save(out_dir / f"{path.stem}.npy", edges)
    return str(target)


def run(args) -> int:
    """Detect edges in every image of ``args.images`` (model loaded once per process)."""
    from contours.detect import load_model
    from mcg.batch import check_image_paths, run_over_images

    paths = check_image_paths(args.images)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    load_model(args.model)  # a bad model file is refused before any image
    process = functools.partial(write_edges, out_dir=out_dir, model=args.model,
                                multiscale=args.multiscale, sharpen=args.sharpen,
                                nms=not args.no_nms, npy=args.npy)
    return run_over_images(paths, process, "mcg edges", workers=args.workers)
