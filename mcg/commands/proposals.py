"""``mcg proposals``: ranked object proposals of images (per-image .npz, COCO JSON, detector files)."""
from __future__ import annotations

import functools
import os

from mcg.batch import add_batch_arguments
from mcg.cli import add_threads_argument, non_negative_int, positive_int


def register(subparsers) -> None:
    """Add the ``mcg proposals`` sub-command."""
    parser = subparsers.add_parser(
        "proposals",
        help="ranked object proposals of images",
        description="Compute ranked object proposals and write one <stem>.npz per image (the "
        "format `mcg bench proposals` reads; see grouping.proposal_format); optionally also a COCO "
        "results JSON (RLE mask, bbox and score per proposal), a detectron2 and an mmdetection "
        "proposal file, assembled from the per-image files when every image is done. "
        "Rerunning the same command continues a stopped run.",
    )
    add_batch_arguments(parser)
    parser.add_argument("--mode", choices=("mcg", "scg"), default="mcg",
                        help="mcg: multiscale (default); scg: single scale, faster")
    parser.add_argument("--max", type=positive_int, default=None, dest="max_proposals",
                        metavar="N", help="keep at most N proposals per image (default: all)")
    parser.add_argument("--coco-json", default=None, metavar="FILE",
                        help="also write all proposals as one COCO results JSON file")
    parser.add_argument("--detectron2", default=None, metavar="FILE.pkl",
                        help="also write detectron2 precomputed proposals (boxes, "
                        "objectness_logits, XYXY_ABS) for DATASETS.PROPOSAL_FILES_*")
    parser.add_argument("--mmdet", default=None, metavar="FILE.pkl",
                        help="also write mmdetection 3.x proposals (bboxes, scores, keyed by "
                        "'<folder>/<file name>') for the dataset's proposal_file")
    parser.add_argument("--coco-gt", default=None, metavar="instances.json",
                        help="COCO instances JSON giving the image ids (by file name); default: "
                        "the numeric file stems, else ids in input order, recorded in "
                        "<export>.image_ids.json beside the COCO JSON / detectron2 file")
    parser.add_argument("--max-pixels", type=non_negative_int, default=None,
                        help="mcg mode: refuse larger images (default 2500000; 0 = no limit)")
    parser.add_argument("--edges", choices=("fast", "accurate"), default="fast",
                        help="edge preset of the hierarchies and candidate models: fast (default) "
                        "or accurate (slightly better proposals, 0.5-0.7 s more per COCO image)")
    add_threads_argument(parser)
    parser.add_argument("--models", default=None, metavar="DIR",
                        help="model folder written by `mcg train proposals` (default: the "
                        "shipped models); its edge forest and calibration are used too")
    parser.add_argument("--edge-model", default=None, metavar="FILE.npz",
                        help="structured edge forest (default: the model folder's, else the "
                        "shipped one)")
    parser.set_defaults(func=run)


def proposal_outputs(stem: str, *, coco: bool) -> tuple[str, ...]:
    """Names of the files ``mcg proposals`` writes for an image of file stem ``stem``."""
    from mcg.exports import coco_part_name

    return (f"{stem}.npz", coco_part_name(stem)) if coco else (f"{stem}.npz",)


def compute_proposals(path, image, *, out_dir: str, coco: bool, **mcg_options) -> str:
    """Compute one image's proposals with :func:`mcg.proposals.im2mcg`; write its files.

    Writes ``<stem>.npz`` and, when ``coco``, its COCO entries ``coco_parts/<stem>.jsonl``
    (each atomically); returns a description of what was written.
    """
    from grouping.proposal_format import proposal_arrays
    from mcg import storage
    from mcg.exports import coco_part_bytes, coco_part_name
    from mcg.proposals import im2mcg, proposals_to_coco

    proposals = im2mcg(image, **mcg_options)
    stem = storage.stem(path)
    if coco:
        storage.write_bytes(storage.join(out_dir, coco_part_name(stem)),
                            coco_part_bytes(proposals_to_coco(proposals, 0)))
    target = storage.join(out_dir, f"{stem}.npz")
    storage.write_bytes(target, storage.npz_bytes(proposal_arrays(proposals, source=target)))
    return f"{target} ({proposals.n_proposals} proposals)"


def proposal_models(mode: str, edges: str, models=None, edge_model=None) -> dict:
    """Digests of the model files behind the proposals of a mode and edge preset.

    ``models``: model folder (default: the shipped models); ``edge_model``: edge forest given
    explicitly (default: the folder's ``edge_forest.npz``, else the shipped one).
    """
    from mcg.batch import file_digest, model_digests
    from mcg.proposals import (MODELS_DIR, candidate_model_paths, load_candidate_models,
                               model_folder_extras)

    if models is not None:
        load_candidate_models(mode, models, edges)  # a folder without them: refused now
    extras = model_folder_extras(models)
    digests = model_digests(edge_model or extras.get("edge_model"), extras.get("calibration"))
    for kind, path in zip(("working_points", "ranker"),
                          candidate_model_paths(models or MODELS_DIR, mode, edges)):
        digests[kind] = file_digest(path) if path.is_file() else "absent (untrained fallback)"
    return digests


def _check_export_target(location: str | None, option: str, inputs: set[str]) -> None:
    """Refuse an export path that is a folder, an input image, or cannot be written."""
    from mcg import storage

    if location is None:
        return
    if storage.is_dir(location):
        raise ValueError(f"{option} {location} is a folder; give a file name")
    if os.fspath(location) in inputs:
        raise ValueError(f"{option} {location} is an input image")
    name = storage.base_name(location)
    folder = location[: len(location) - len(name)].rstrip("/\\") or "."
    storage.make_folder(folder)


def run(args) -> int:
    """Compute and write the proposals of every image, then the requested export files."""
    from mcg import exports, storage
    from mcg.batch import BatchJob, check_image_paths, done_images, run_batch
    from mcg.pipeline import MCG_MAX_PIXELS

    paths = check_image_paths(args.images)
    inputs = {os.fspath(p) for p in paths}
    exports_given = {"--coco-json": args.coco_json, "--detectron2": args.detectron2,
                     "--mmdet": args.mmdet}
    given = [value for value in exports_given.values() if value]
    if len(set(given)) < len(given):
        raise ValueError("--coco-json, --detectron2 and --mmdet must name different files")
    for option, location in exports_given.items():
        _check_export_target(location, option, inputs)
    id_export = args.coco_json or args.detectron2
    id_map = exports.id_map_location(id_export) if id_export else None
    ids, assigned = (exports.assign_image_ids(paths, args.coco_gt, id_map) if id_export
                     else ({}, False))
    out = str(args.out)
    max_pixels = MCG_MAX_PIXELS if args.max_pixels is None else (args.max_pixels or None)
    coco = bool(args.coco_json)
    job = BatchJob(
        command="proposals",
        process=functools.partial(compute_proposals, out_dir=out, coco=coco, mode=args.mode,
                                  n_proposals=args.max_proposals, edges=args.edges,
                                  max_pixels=max_pixels, models=args.models,
                                  edge_model=args.edge_model, threads=args.threads),
        outputs=functools.partial(proposal_outputs, coco=coco),
        parameters={"mode": args.mode, "max_proposals": args.max_proposals,
                    "edges": args.edges, "max_pixels": max_pixels},
        models=proposal_models(args.mode, args.edges, args.models, args.edge_model),
    )
    status = run_batch(paths, out, job, workers=args.workers, scheduler=args.scheduler,
                       overwrite=args.overwrite, checked=True)
    if not given:
        return status
    done = done_images(paths, out, job)
    if assigned:
        exports.write_id_map(id_map, {storage.base_name(p): ids[storage.base_name(p)]
                                      for p in paths})
        print(f"image ids assigned in input order: {id_map}")
    if args.coco_json:
        count = exports.write_coco_results(args.coco_json, out, done, ids)
        print(f"wrote {count} COCO results of {len(done)} image(s) to {args.coco_json}")
    if args.detectron2:
        count = exports.write_detectron2_proposals(args.detectron2, out, done, ids)
        print(f"wrote detectron2 proposals of {count} image(s) to {args.detectron2}")
    if args.mmdet:
        count = exports.write_mmdet_proposals(args.mmdet, out, done)
        print(f"wrote mmdetection proposals of {count} image(s) to {args.mmdet}")
    if len(done) < len(paths):
        print(f"{len(paths) - len(done)} image(s) are not in these files (failed: see "
              f"{storage.join(out, 'mcg_failed.txt')}; a rerun retries them)")
    return status
