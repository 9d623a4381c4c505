"""``mcg edges``: structured-forest edge maps of images, one 8-bit PNG per image."""
from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    """Add the ``mcg edges`` sub-command."""
    parser = subparsers.add_parser(
        "edges",
        help="structured edge forest contours of images (PNG soft boundary maps)",
        description="Detect edges with the shipped structured edge forest and write one 8-bit "
        "PNG edge map per image, named <image stem>.png, into the output folder.",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="input image files")
    parser.add_argument("-o", "--out", required=True, help="output folder (created if needed)")
    parser.add_argument("--multiscale", action="store_true",
                        help="average the edge maps of scales 0.5, 1 and 2")
    parser.add_argument("--sharpen", type=int, default=2, choices=(0, 1, 2),
                        help="edge sharpening in pixels (default 2)")
    parser.add_argument("--no-nms", action="store_true", help="skip non-maximum suppression")
    parser.add_argument("--npy", action="store_true",
                        help="also write the float32 edge map as <stem>.npy")
    parser.add_argument("--model", default=None, help="edge model .npz (default: the shipped one)")
    parser.set_defaults(func=run)


def read_image_rgb(path: Path):
    """Read an image file as an RGB (or grayscale) uint8/uint16 array.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the file cannot be decoded as an image.
    """
    import cv2

    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"cannot read image {path} (not a supported image file)")
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


def run(args) -> int:
    """Detect edges in every image of ``args.images`` (model loaded once)."""
    import cv2
    import numpy as np

    from contours.detect import detect_edges, load_model

    paths = [Path(p) for p in args.images]
    for path in paths:  # fail before any work when an input is missing
        if not path.is_file():
            raise FileNotFoundError(f"image not found: {path}")
    stems = [p.stem for p in paths]
    duplicates = sorted({s for s in stems if stems.count(s) > 1})
    if duplicates:
        raise ValueError(f"several input images share the output name(s) {duplicates}")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = load_model(args.model)
    for path in paths:
        image = read_image_rgb(path)
        try:
            edges, _ = detect_edges(image, model, multiscale=args.multiscale,
                                    sharpen=args.sharpen, nms=not args.no_nms)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from error
        png = np.clip(np.round(edges * 255.0), 0, 255).astype(np.uint8)
        if not cv2.imwrite(str(out_dir / f"{path.stem}.png"), png):
            raise ValueError(f"cannot write {out_dir / (path.stem + '.png')}")
        if args.npy:
            np.save(out_dir / f"{path.stem}.npy", edges)
        print(f"{path} -> {out_dir / (path.stem + '.png')}")
    return 0
