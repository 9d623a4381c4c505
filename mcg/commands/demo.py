"""``mcg demo``: the main job on the embedded default image (scikit-image's astronaut)."""
from __future__ import annotations

import time
from pathlib import Path


def register(subparsers) -> None:
    """Add the ``mcg demo`` sub-command."""
    parser = subparsers.add_parser(
        "demo",
        help="run the pipeline on the embedded default image and write pictures",
        description="Run the most complete pipeline on scikit-image's astronaut image (or on "
        "IMAGE) and write the contours, the hierarchy and a picture of them.",
    )
    parser.add_argument("image", nargs="?", default=None, help="image file (default: embedded)")
    parser.add_argument("-o", "--out", default="mcg_demo", help="output folder (default mcg_demo)")
    parser.add_argument("--mode", choices=("scg", "mcg"), default="scg", help="default scg")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Compute edges and the hierarchy of the demo image, write them and a picture."""
    from mcg.io import default_image, read_image
    from mcg.pictures import save_hierarchy_picture
    from mcg.pipeline import im2ucm
    from mcg.commands.ucm import write_hierarchy

    if args.image is None:
        stem, image = default_image()
    else:
        stem, image = Path(args.image).stem, read_image(args.image)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = im2ucm(image, mode=args.mode, return_details=True)
    elapsed = time.perf_counter() - start
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in result.times.items())
    print(f"{stem}: {image.shape[1]}x{image.shape[0]} image, {args.mode} hierarchy with "
          f"{result.tree.n_leaves} superpixels in {elapsed:.2f} s ({stages}; includes one-time "
          f"JIT compilation on a first run)")
    for fmt in ("bsds", "npz"):
        print(f"  wrote {write_hierarchy(result.tree, out_dir, stem, fmt)}")
    picture = out_dir / f"{stem}_hierarchy.png"
    save_hierarchy_picture(image, result.tree, picture)
    print(f"  wrote {picture}")
    return 0
