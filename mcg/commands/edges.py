"""``mcg edges``: structured-forest edge maps of images, one 8-bit PNG per image."""
from __future__ import annotations

import functools

from mcg.batch import add_batch_arguments


def register(subparsers) -> None:
    """Add the ``mcg edges`` sub-command."""
    parser = subparsers.add_parser(
        "edges",
        help="structured edge forest contours of images (PNG soft boundary maps)",
        description="Detect edges with a structured edge forest (the shipped one by default) and write one 8-bit "
        "PNG edge map per image, named <image stem>.png, into the output folder. Rerunning "
        "the same command continues a stopped run.",
    )
    add_batch_arguments(parser)
    parser.add_argument("--multiscale", action="store_true",
                        help="average the edge maps of scales 0.5, 1 and 2")
    parser.add_argument("--sharpen", type=int, default=2, choices=(0, 1, 2),
                        help="edge sharpening in pixels (default 2)")
    parser.add_argument("--no-nms", action="store_true", help="skip non-maximum suppression")
    parser.add_argument("--npy", action="store_true",
                        help="also write the float32 edge map as <stem>.npy")
    parser.add_argument("--edge-model", "--model", dest="model", default=None, metavar="FILE.npz",
                        help="structured edge forest (default: the shipped one; `mcg train "
                        "edges` makes one)")
    parser.set_defaults(func=run)


def edge_outputs(stem: str, *, npy: bool) -> tuple[str, ...]:
    """Names of the files ``mcg edges`` writes for an image of file stem ``stem``."""
    return (f"{stem}.png", f"{stem}.npy") if npy else (f"{stem}.png",)


def write_edges(path, image, *, out_dir: str, model: str | None, multiscale: bool,
                sharpen: int, nms: bool, npy: bool) -> str:
    """Detect the edges of one image and write ``<stem>.png`` (and ``<stem>.npy``) atomically."""
    import numpy as np

    from contours.detect import detect_edges
    from mcg import storage

    edges, _ = detect_edges(image, model, multiscale=multiscale, sharpen=sharpen, nms=nms)
    stem = storage.stem(path)
    png = np.clip(np.round(edges * 255.0), 0, 255).astype(np.uint8)
    target = storage.write_bytes(storage.join(out_dir, f"{stem}.png"), storage.png_bytes(png))
    if npy:
        storage.write_bytes(storage.join(out_dir, f"{stem}.npy"), storage.npy_bytes(edges))
    return target


def run(args) -> int:
    """Detect edges in every image of ``args.images`` (model loaded once per process)."""
    from contours.detect import DEFAULT_MODEL, load_model
    from mcg.batch import BatchJob, file_digest, run_batch

    model_file = args.model or DEFAULT_MODEL
    load_model(args.model)  # a bad model file is refused before any image
    out = str(args.out)
    job = BatchJob(
        command="edges",
        process=functools.partial(write_edges, out_dir=out, model=args.model,
                                  multiscale=args.multiscale, sharpen=args.sharpen,
                                  nms=not args.no_nms, npy=args.npy),
        outputs=functools.partial(edge_outputs, npy=args.npy),
        parameters={"multiscale": args.multiscale, "sharpen": args.sharpen,
                    "nms": not args.no_nms, "npy": args.npy},
        models={"edge_forest": file_digest(model_file)},
    )
    return run_batch(args.images, out, job, workers=args.workers, scheduler=args.scheduler,
                     overwrite=args.overwrite)
