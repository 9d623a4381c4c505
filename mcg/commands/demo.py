"""``mcg demo``: the main job on the embedded default image (scikit-image's astronaut)."""
from __future__ import annotations

import time
from pathlib import Path


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
    parser.add_argument("--top", type=int, default=12, help="proposals shown in the picture")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Compute the hierarchy and the proposals of the demo image; write them and pictures."""
    from eval.proposal_format import save_proposals
    from mcg.commands.ucm import write_hierarchy
    from mcg.io import default_image, read_image
    from mcg.pictures import save_hierarchy_picture, save_proposals_picture
    from mcg.proposals import im2mcg

    if args.image is None:
        stem, image = default_image()
    else:
        stem, image = Path(args.image).stem, read_image(args.image)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"{stem}: computing the {args.mode} hierarchy and proposals (the first run after an "
          "install also compiles the Numba kernels, about a minute; later runs take seconds)",
          flush=True)
    start = time.perf_counter()
    proposals, details = im2mcg(image, mode=args.mode, return_details=True)
    elapsed = time.perf_counter() - start
    tree = details["hierarchies"].tree
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in details["times"].items())
    print(f"{stem}: {image.shape[1]}x{image.shape[0]} image, {args.mode} mode: "
          f"{tree.n_leaves} superpixels, {proposals.n_proposals} proposals in {elapsed:.2f} s "
          f"({stages}; a first run includes one-time JIT compilation)")
    print(f"  wrote {write_hierarchy(tree, out_dir, stem, 'bsds')}")
    proposals_path = out_dir / f"{stem}.npz"
    save_proposals(proposals_path, proposals)
    print(f"  wrote {proposals_path}")
    for picture, draw in ((out_dir / f"{stem}_hierarchy.png", lambda p: save_hierarchy_picture(image, tree, p)),
                          (out_dir / f"{stem}_proposals.png",
                           lambda p: save_proposals_picture(image, proposals, p, top_k=args.top))):
        draw(picture)
        print(f"  wrote {picture}")
    return 0
