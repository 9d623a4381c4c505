"""``mcg demo``: the main job on the embedded default image (scikit-image's astronaut)."""
from __future__ import annotations

import time
from pathlib import Path

from mcg.cli import positive_int


def register(subparsers) -> None:
    """Add the ``mcg demo`` sub-command."""
    parser = subparsers.add_parser(
        "demo",
        help="object proposals of the embedded default image, with pictures",
        description="Run the whole pipeline on scikit-image's astronaut image (or on IMAGE): "
        "write the hierarchy (ucm2 .mat), the ranked proposals (.npz) and pictures of both.",
    )
    parser.add_argument("image", nargs="?", default=None, help="image file (default: embedded)")
    parser.add_argument("-o", "--out", default="mcg_demo", help="output folder (default mcg_demo)")
    parser.add_argument("--mode", choices=("scg", "mcg"), default="mcg", help="default mcg")
    parser.add_argument("--top", type=positive_int, default=12,
                        help="proposals shown in the picture (default 12)")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Compute the hierarchy and the proposals of the demo image; write them and pictures."""
    from grouping.proposal_format import proposal_arrays
    from mcg import storage
    from mcg.commands.ucm import write_hierarchy
    from mcg.io import default_image, read_image
    from mcg.pictures import save_hierarchy_picture, save_proposals_picture
    from mcg.proposals import im2mcg
    from mcg.warmup import start_warmup

    if args.image is None:
        stem, image = default_image()
    else:
        stem, image = Path(args.image).stem, read_image(args.image)
    out_dir = str(args.out)
    storage.make_folder(out_dir)
    print(f"{stem}: computing the {args.mode} hierarchy and proposals (the first run after an "
          "install also compiles the Numba kernels, in two processes, about 30 s; later runs "
          "take seconds)", flush=True)
    warmup = start_warmup(args.mode)
    start = time.perf_counter()
    try:
        proposals, details = im2mcg(image, mode=args.mode, return_details=True)
    finally:
        warmup.join(timeout=60)
        if warmup.is_alive():
            warmup.terminate()
    elapsed = time.perf_counter() - start
    tree = details["hierarchies"].tree
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in details["times"].items())
    print(f"{stem}: {image.shape[1]}x{image.shape[0]} image, {args.mode} mode: "
          f"{tree.n_leaves} superpixels, {proposals.n_proposals} proposals in {elapsed:.2f} s "
          f"({stages}; a first run includes one-time JIT compilation)")
    print(f"  wrote {write_hierarchy(tree, out_dir, stem, 'bsds')}")
    proposals_path = storage.join(out_dir, f"{stem}.npz")
    storage.write_bytes(proposals_path, storage.npz_bytes(proposal_arrays(proposals)))
    print(f"  wrote {proposals_path}")
    for picture, draw in ((f"{stem}_hierarchy.png", lambda f: save_hierarchy_picture(image, tree, f)),
                          (f"{stem}_proposals.png",
                           lambda f: save_proposals_picture(image, proposals, f, top_k=args.top))):
        location = storage.join(out_dir, picture)
        with storage.atomic_open(location, "wb") as handle:
            draw(handle)
        print(f"  wrote {location}")
    return 0
