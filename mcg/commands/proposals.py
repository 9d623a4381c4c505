"""``mcg proposals``: ranked object proposals of images (per-image .npz, COCO results JSON)."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from mcg.batch import add_batch_arguments


def register(subparsers) -> None:
    """Add the ``mcg proposals`` sub-command."""
    parser = subparsers.add_parser(
        "proposals",
        help="ranked object proposals of images",
        description="Compute ranked object proposals and write one <stem>.npz per image (the "
        "format `mcg bench proposals` reads; see eval.proposal_format), and optionally one COCO "
        "results JSON with an RLE mask, bbox and score per proposal.",
    )
    add_batch_arguments(parser)
    parser.add_argument("--mode", choices=("mcg", "scg"), default="mcg",
                        help="mcg: multiscale (default); scg: single scale, faster")
    parser.add_argument("--max", type=int, default=None, dest="max_proposals",
                        help="keep at most N proposals per image (default: all)")
    parser.add_argument("--coco-json", default=None,
                        help="also write all proposals as one COCO results JSON file")
    parser.add_argument("--coco-gt", default=None,
                        help="COCO instances JSON giving the image ids (by file name); default: "
                        "the numeric file stem")
    parser.add_argument("--max-pixels", type=int, default=None,
                        help="mcg mode: refuse larger images (default 2500000; 0 = no limit)")
    parser.add_argument("--edges", choices=("fast", "accurate"), default="fast",
                        help="edge preset of the hierarchies and candidate models: fast (default) "
                        "or accurate (slightly better proposals, 0.5-0.7 s more per COCO image)")
    parser.set_defaults(func=run)


def coco_image_ids(paths: list[Path], coco_gt: str | None) -> dict[Path, int]:
    """COCO image id of every image: from the ground-truth file by file name, else the stem.

    Raises
    ------
    ValueError
        If an image is not in the ground truth, or (without it) its stem is not a number.
    """
    if coco_gt is not None:
        gt_path = Path(coco_gt)
        if not gt_path.is_file():
            raise FileNotFoundError(f"COCO ground truth not found: {gt_path}")
        try:
            images = json.loads(gt_path.read_text())["images"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{gt_path} is not a COCO instances file ({error})") from None
        by_name = {Path(entry["file_name"]).name: int(entry["id"]) for entry in images}
        missing = [p.name for p in paths if p.name not in by_name]
        if missing:
            raise ValueError(f"image(s) not in {gt_path}: {', '.join(missing[:10])}")
        return {p: by_name[p.name] for p in paths}
    not_numeric = [p.name for p in paths if not p.stem.isdigit()]
    if not_numeric:
        raise ValueError("image ids are taken from numeric file stems, but these are not: "
                         f"{', '.join(not_numeric[:10])}; pass --coco-gt instances.json")
    return {p: int(p.stem) for p in paths}


def compute_proposals(path: Path, image, *, out_dir: Path, coco: bool,
                      **mcg_options) -> tuple[str, list | None]:
    """Compute one image's proposals with :func:`mcg.proposals.im2mcg` and write its .npz.

    Returns the description of the file written and, when ``coco`` is true, the image's COCO
    results with ``image_id`` 0 (the caller sets the real id), else None.
    """
    from eval.proposal_format import save_proposals
    from mcg.proposals import im2mcg, proposals_to_coco

    proposals = im2mcg(image, **mcg_options)
    target = out_dir / f"{path.stem}.npz"
    save_proposals(target, proposals)
    results = proposals_to_coco(proposals, 0) if coco else None
    return f"{target} ({proposals.n_proposals} proposals)", results


def run(args) -> int:
    """Compute and write the proposals of every image (models load and compile once per process)."""
    from mcg.batch import check_image_paths, run_over_images
    from mcg.pipeline import MCG_MAX_PIXELS

    paths = check_image_paths(args.images)
    if args.max_proposals is not None and args.max_proposals < 1:
        raise ValueError(f"--max must be at least 1, got {args.max_proposals}")
    image_ids = coco_image_ids(paths, args.coco_gt) if args.coco_json else None
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    max_pixels = MCG_MAX_PIXELS if args.max_pixels is None else (args.max_pixels or None)
    coco_results: list[dict] = []
    process = functools.partial(compute_proposals, out_dir=out_dir, coco=bool(args.coco_json),
                                mode=args.mode, n_proposals=args.max_proposals,
                                edges=args.edges, max_pixels=max_pixels)

    def collect(path: Path, results: list) -> None:
        for result in results:
            result["image_id"] = image_ids[path]
        coco_results.extend(results)

    status = run_over_images(paths, process, "mcg proposals", workers=args.workers,
                             collect=collect)
    if args.coco_json:
        coco_path = Path(args.coco_json)
        coco_path.parent.mkdir(parents=True, exist_ok=True)
        coco_path.write_text(json.dumps(coco_results))
        print(f"wrote {len(coco_results)} COCO results to {coco_path}")
    return status
