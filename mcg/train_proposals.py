"""Training the candidate-selection models (Pareto working points, ranking forest) on COCO.

The shipped models in ``mcg/models/`` are made by this command from the shared COCO subset
(192 images of ``train2017``):

1. ``split``: the deterministic train / held-out split (:func:`coco_split`);
2. ``cache``: the hierarchies of every image, written once per mode as
   ``<cache>/<mode>/<split>/<stem>_<k>.npz`` (:func:`hierarchy_trees` gives the list in
   MCG's order), resumable, with worker processes;
3. ``train``: ``python -m grouping.pareto train`` then ``python -m grouping.ranking train``
   on the training folder of a mode (see ``mcg/models/README.md`` for the exact commands);
4. ``evaluate``: held-out proposals from the cached trees and the proposal benchmark.

Set ``OPENBLAS_NUM_THREADS=1`` in the environment of ``cache`` (one BLAS thread per worker).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from mcg.pipeline import EDGE_PRESETS, preset_key
from mcg.proposals import DEFAULT_N_CANDIDATES, PROPOSAL_EDGES, candidate_trees

__all__ = ["N_TRAIN", "DEFAULT_N_CANDIDATES", "coco_split", "hierarchy_trees",
           "cache_hierarchies", "tree_paths", "train_models", "write_heldout_proposals",
           "evaluate_heldout", "main"]

#: Number of training images of the split (the rest is held out).
N_TRAIN = 128
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
#: Ranking-forest hyper-parameters of the shipped models (kept small: < 25 MB per file).
FOREST_PARAMS = {"n_trees": 50, "max_depth": 12, "per_image": 2000, "seed": 0,
                 "target_power": 3.0}
MODEL_FILES = {"working_points": "{mode}_working_points.npz", "ranker": "{mode}_ranker.npz"}


def coco_split(image_dir, n_train: int = N_TRAIN) -> tuple[list[Path], list[Path]]:
    """The train / held-out split of a folder of images.

    The images (``.jpg``, ``.jpeg``, ``.png``) are sorted by file name; the first ``n_train``
    are the training images, the rest are held out. The split depends on the file names
    only (no randomness), so it is the same on every machine.

    Parameters
    ----------
    image_dir : str or Path
        Folder of images (the shared COCO subset: ``coco/train2017``, 192 images).
    n_train : int
        Number of training images.

    Returns
    -------
    train, held_out : list of Path
        Disjoint, each sorted by file name.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    ValueError
        If it holds no more than ``n_train`` images (the held-out part would be empty) or
        ``n_train`` is not positive.
    """
    image_dir = Path(image_dir)
    if not image_dir.is_dir():
        raise FileNotFoundError(f"image folder not found: {image_dir}")
    if n_train <= 0:
        raise ValueError(f"n_train must be positive, got {n_train}")
    images = sorted((p for p in image_dir.iterdir()
                     if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES),
                    key=lambda p: p.name)
    if len(images) <= n_train:
        raise ValueError(f"{image_dir} has {len(images)} images; the split needs more than "
                         f"{n_train} (n_train)")
    return images[:n_train], images[n_train:]


def hierarchy_trees(image: np.ndarray, mode: str,
                    edges: str = PROPOSAL_EDGES) -> tuple[list, float]:
    """The hierarchies the candidate stage uses, in MCG's order, and the seconds spent.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
    mode : {"mcg", "scg"}
    edges : {"fast", "accurate"}
        Edge preset (:data:`mcg.pipeline.EDGE_PRESETS`).

    Returns
    -------
    trees : list of MergeTree
        ``mcg``: [combined, aligned scale 0.5, aligned 1, aligned 2]; ``scg``: [tree].
    seconds : float
    """
    from mcg.pipeline import im2ucm

    t0 = time.perf_counter()
    result = im2ucm(image, mode=mode, edges=edges, return_details=True)
    return candidate_trees(result, mode), time.perf_counter() - t0


def tree_paths(folder, stem: str, mode: str) -> list[Path]:
    """The cache files ``<folder>/<stem>_<k>.npz`` of one image (4 for mcg, 1 for scg)."""
    n = 4 if mode == "mcg" else 1
    return [Path(folder) / f"{stem}_{k}.npz" for k in range(n)]


def _cache_one(job):
    image_path, folder, mode, edges = job
    from mcg.io import read_image

    paths = tree_paths(folder, Path(image_path).stem, mode)
    trees, seconds = hierarchy_trees(read_image(image_path), mode, edges)
    for tree, path in zip(trees, paths):
        tmp = path.with_name(path.stem + ".tmp.npz")
        tree.save(tmp)
        os.replace(tmp, path)
    return str(image_path), seconds


def cache_hierarchies(image_dir, cache_dir, modes=("mcg", "scg"), workers: int = 2,
                      n_train: int = N_TRAIN, edges: str = PROPOSAL_EDGES) -> dict:
    """Compute and store the hierarchies of every image of the split (resumable).

    Files go to ``<cache_dir>/<key>/{train,heldout}/<stem>_<k>.npz`` with ``key`` the mode
    (``fast`` edges) or ``<mode>_<edges>`` (:func:`mcg.pipeline.preset_key`); images whose files
    all exist are skipped. Each file is written under a temporary name and renamed, so an
    interrupted run leaves no partial tree.

    Returns
    -------
    dict
        Per mode: number of images computed and skipped, total and mean seconds per image.
    """
    from concurrent.futures import ProcessPoolExecutor

    train, held = coco_split(image_dir, n_train)
    summary = {}
    for mode in modes:
        jobs = []
        skipped = 0
        for part, images in (("train", train), ("heldout", held)):
            folder = Path(cache_dir) / preset_key(mode, edges) / part
            folder.mkdir(parents=True, exist_ok=True)
            for image in images:
                if all(p.is_file() for p in tree_paths(folder, image.stem, mode)):
                    skipped += 1
                else:
                    jobs.append((str(image), str(folder), mode, edges))
        print(f"[{mode}] {len(jobs)} images to compute, {skipped} already cached", flush=True)
        seconds = []
        t0 = time.perf_counter()
        if jobs:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for i, (name, sec) in enumerate(pool.map(_cache_one, jobs), 1):
                    seconds.append(sec)
                    print(f"[{mode}] {i}/{len(jobs)} {Path(name).name} {sec:.2f} s "
                          f"(elapsed {time.perf_counter() - t0:.0f} s)", flush=True)
        summary[mode] = {"computed": len(jobs), "skipped": skipped,
                         "wall_seconds": round(time.perf_counter() - t0, 1),
                         "mean_seconds_per_image": round(float(np.mean(seconds)), 3)
                         if seconds else None}
        print(f"[{mode}] done: {summary[mode]}", flush=True)
    return summary


def _update_json(path: Path, key: str, value) -> None:
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def train_models(mode: str, cache_dir, gt_path, out_dir, n_candidates: float | None = None,
                 forest_params: dict | None = None, edges: str = PROPOSAL_EDGES) -> dict:
    """Train the working points then the ranking forest of a mode on the cached train trees.

    Runs ``python -m grouping.pareto train`` and ``python -m grouping.ranking train`` (their
    ``main``) on ``<cache_dir>/<mode>/train``, writing ``<out_dir>/<mode>_working_points.npz``
    and ``<out_dir>/<mode>_ranker.npz``; the commands, working point and wall times are
    recorded under ``mode`` in ``<out_dir>/training.json``. For ``edges="accurate"`` the
    folder, files and record are named ``<mode>_accurate`` instead (:func:`mcg.pipeline.preset_key`).

    Returns
    -------
    dict
        The record written to ``training.json``.

    Raises
    ------
    RuntimeError
        If one of the training commands fails.
    """
    from grouping import pareto, ranking
    from grouping.pareto import WorkingPoints

    if mode not in DEFAULT_N_CANDIDATES:
        raise ValueError(f"mode must be mcg or scg, got {mode!r}")
    n_candidates = DEFAULT_N_CANDIDATES[mode] if n_candidates is None else float(n_candidates)
    params = dict(FOREST_PARAMS, **(forest_params or {}))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    key = preset_key(mode, edges)
    trees = Path(cache_dir) / key / "train"
    wp_path = out_dir / MODEL_FILES["working_points"].format(mode=key)
    rk_path = out_dir / MODEL_FILES["ranker"].format(mode=key)
    pareto_argv = ["train", "--trees", str(trees), "--gt", str(gt_path), "--out", str(wp_path)]
    t0 = time.perf_counter()
    if pareto.main(pareto_argv) != 0:
        raise RuntimeError(f"grouping.pareto train failed for {mode}")
    t_pareto = time.perf_counter() - t0
    ranking_argv = ["train", "--trees", str(trees), "--gt", str(gt_path), "--out", str(rk_path),
                    "--working-points", str(wp_path), "--n-candidates", f"{n_candidates:g}",
                    "--per-image", str(params["per_image"]), "--n-trees", str(params["n_trees"]),
                    "--max-depth", str(params["max_depth"]), "--seed", str(params["seed"]),
                    "--target-power", f"{params['target_power']:g}"]
    t0 = time.perf_counter()
    if ranking.main(ranking_argv) != 0:
        raise RuntimeError(f"grouping.ranking train failed for {mode}")
    t_ranking = time.perf_counter() - t0
    wp = WorkingPoints.load(wp_path)
    ok = np.flatnonzero(wp.mean_n <= n_candidates)
    i = int(ok[np.argmax(wp.quality[ok])]) if len(ok) else 0
    record = {
        "trees": str(trees),
        "n_train_images": len({p.stem.rsplit("_", 1)[0] for p in trees.glob("*_*.npz")}),
        "pareto_command": "python -m grouping.pareto " + " ".join(pareto_argv),
        "ranking_command": "python -m grouping.ranking " + " ".join(ranking_argv),
        "default_n_candidates": n_candidates,
        "working_point": {"index": i, "mean_n": float(wp.mean_n[i]),
                          "train_quality": float(wp.quality[i]),
                          "n_cands": wp.n_cands[i].tolist()},
        "n_working_points": int(len(wp.mean_n)),
        "forest": params,
        "wall_seconds": {"pareto": round(t_pareto, 1), "ranking": round(t_ranking, 1)},
        "file_bytes": {wp_path.name: wp_path.stat().st_size, rk_path.name: rk_path.stat().st_size},
    }
    _update_json(out_dir / "training.json", key, record)
    return record


def _proposals_one(job):
    stem, trees_dir, out_dir, mode, model_path, n_cands, iou_box, rerank_options = job
    from grouping.proposal_format import save_proposals
    from grouping.pareto import load_tree_folder
    from grouping.ranker import RegressionForest
    from grouping.ranking import proposals_from_trees

    trees = load_tree_folder(trees_dir, stem)
    model = RegressionForest.load(model_path) if model_path else None
    t0 = time.perf_counter()
    props, stage = proposals_from_trees(trees, model=model, n_cands=n_cands, iou_box=iou_box,
                                         return_stage=True, **rerank_options)
    seconds = time.perf_counter() - t0
    save_proposals(Path(out_dir) / f"{stem}.npz", props)
    return stem, seconds, int(props.n_proposals), dict(stage.timings)


def write_heldout_proposals(mode: str, cache_dir, models_dir, out_dir, trained: bool = True,
                            n_candidates: float | None = None, workers: int = 2,
                            iou_box: float | None = None, rerank: str | None = None,
                            theta: float | None = None, gamma: float | None = None,
                            edges: str = PROPOSAL_EDGES) -> dict:
    """Proposals of the held-out images from their cached trees, one ``<stem>.npz`` each.

    Uses the working point of ``n_candidates`` (default :data:`DEFAULT_N_CANDIDATES`) of
    ``<models_dir>/<mode>_working_points.npz`` and the ranker ``<mode>_ranker.npz``
    (``trained=False``: the untrained fallback score, same working point). ``iou_box``:
    box reduction after the re-ranking; ``rerank``, ``theta``, ``gamma``: re-ranking rule and
    its parameters (None: the defaults of :func:`grouping.ranking.proposals_from_trees`).
    ``edges="accurate"``: trees, working points and ranker named ``<mode>_accurate``.

    Returns
    -------
    dict
        Per-image candidate-stage seconds (mean, median, max), mean number of proposals and
        mean seconds per step.
    """
    from concurrent.futures import ProcessPoolExecutor

    from grouping.pareto import WorkingPoints

    n_candidates = DEFAULT_N_CANDIDATES[mode] if n_candidates is None else float(n_candidates)
    models_dir = Path(models_dir)
    key = preset_key(mode, edges)
    wp = WorkingPoints.load(models_dir / MODEL_FILES["working_points"].format(mode=key))
    n_cands = wp.n_cands_for(n_candidates)
    model_path = str(models_dir / MODEL_FILES["ranker"].format(mode=key)) if trained else None
    trees_dir = Path(cache_dir) / key / "heldout"
    stems = sorted({p.stem.rsplit("_", 1)[0] for p in trees_dir.glob("*_0.npz")})
    if not stems:
        raise FileNotFoundError(f"no cached held-out hierarchies in {trees_dir}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rerank_options = {k: v for k, v in dict(rerank=rerank, theta=theta, gamma=gamma).items()
                      if v is not None}
    jobs = [(s, str(trees_dir), str(out_dir), mode, model_path, n_cands, iou_box, rerank_options)
            for s in stems]
    seconds, counts, steps = [], [], {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i, (stem, sec, n, timings) in enumerate(pool.map(_proposals_one, jobs), 1):
            seconds.append(sec)
            counts.append(n)
            for k, v in timings.items():
                steps.setdefault(k, []).append(v)
            print(f"[{mode} {'trained' if trained else 'untrained'}] {i}/{len(jobs)} {stem}: "
                  f"{n} proposals, {sec:.2f} s", flush=True)
    # The first image of each worker includes Numba compilation/cache loading: report both.
    return {"n_images": len(stems), "mean_seconds": float(np.mean(seconds)),
            "median_seconds": float(np.median(seconds)), "max_seconds": float(np.max(seconds)),
            "mean_proposals": float(np.mean(counts)),
            "mean_seconds_per_step": {k: float(np.mean(v)) for k, v in steps.items()},
            "n_cands": n_cands.tolist()}


def evaluate_heldout(proposals_dir, gt_path, image_dir, n_train: int = N_TRAIN) -> dict:
    """Proposal benchmark (:func:`eval.proposals.evaluate_dataset`) on the held-out images.

    The held-out images of :func:`coco_split` are linked into ``<proposals_dir>/_images`` so
    that only they are evaluated.

    Returns
    -------
    dict
        The benchmark summary plus ``key`` figures: mask ABO, box recall@0.7 at N=100 and
        1000, mask AR at 100 and 1000 and at all proposals.
    """
    from eval.proposals import ProposalBenchmarkWarning, evaluate_dataset

    _, held = coco_split(image_dir, n_train)
    proposals_dir = Path(proposals_dir)
    link_dir = proposals_dir.parent / (proposals_dir.name + "_images")
    link_dir.mkdir(parents=True, exist_ok=True)
    for image in held:
        link = link_dir / image.name
        if not link.exists():
            link.symlink_to(image.resolve())
    with warnings.catch_warnings():
        # The training images of the ground truth are absent from link_dir by design.
        warnings.simplefilter("ignore", ProposalBenchmarkWarning)
        result = evaluate_dataset(gt_path, link_dir, proposals_dir)
    for message in result.warnings:
        if f"of {len(held) + n_train} ground-truth images are not in" not in message:
            print(f"warning: {message}", file=sys.stderr)
    summary = result.summary
    labels = summary["n_values"]
    key = {}
    for n in ("100", "1000", "all"):
        if n in labels:
            j = labels.index(n)
            key[n] = {"abo": summary["masks"]["abo"][j], "ar": summary["masks"]["ar"][j],
                      "recall@0.7": summary["masks"]["recall@0.7"][j],
                      "box_recall@0.7": summary["boxes"]["recall@0.7"][j],
                      "box_ar": summary["boxes"]["ar"][j],
                      "mean_proposals": summary["mean_proposals"][j]}
    summary["key"] = key
    summary["warnings"] = result.warnings
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcg.train_proposals",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("split", help="print the train / held-out split")
    sp.add_argument("--images", required=True, help="image folder (coco/train2017)")
    sp.add_argument("--n-train", type=int, default=N_TRAIN)
    ca = sub.add_parser("cache", help="compute and cache the hierarchies (resumable)")
    ca.add_argument("--images", required=True, help="image folder (coco/train2017)")
    ca.add_argument("--cache", required=True, help="cache folder (outside the repository)")
    ca.add_argument("--modes", nargs="+", default=["mcg", "scg"], choices=["mcg", "scg"])
    ca.add_argument("--workers", type=int, default=2)
    ca.add_argument("--n-train", type=int, default=N_TRAIN)
    tr = sub.add_parser("train", help="train the working points and ranker of a mode")
    tr.add_argument("--mode", required=True, choices=["mcg", "scg"])
    tr.add_argument("--cache", required=True, help="cache folder of the 'cache' command")
    tr.add_argument("--gt", required=True, help="COCO instances JSON")
    tr.add_argument("--out", required=True, help="model folder (mcg/models)")
    tr.add_argument("--n-candidates", type=float, default=None,
                    help="working point of the ranker (default: DEFAULT_N_CANDIDATES[mode])")
    ev = sub.add_parser("evaluate", help="held-out proposals and the proposal benchmark")
    ev.add_argument("--mode", required=True, choices=["mcg", "scg"])
    ev.add_argument("--cache", required=True, help="cache folder of the 'cache' command")
    ev.add_argument("--gt", required=True, help="COCO instances JSON")
    ev.add_argument("--images", required=True, help="image folder (coco/train2017)")
    ev.add_argument("--models", required=True, help="model folder (mcg/models)")
    ev.add_argument("--out", required=True, help="folder for the proposals and summary")
    ev.add_argument("--untrained", action="store_true", help="fallback score (model=None)")
    ev.add_argument("--n-candidates", type=float, default=None)
    ev.add_argument("--workers", type=int, default=2)
    ev.add_argument("--iou-box", type=float, default=None,
                    help="box reduction IoU (MCG: 0.95; default off, as proposals_from_trees)")
    ev.add_argument("--rerank", choices=("decay", "mmr"), default=None,
                    help="re-ranking rule (default: decay, see grouping.ranking)")
    ev.add_argument("--theta", type=float, default=None,
                    help="MMR trade-off for --rerank mmr (default 0.7)")
    ev.add_argument("--gamma", type=float, default=None,
                    help="decay exponent for --rerank decay (default 2)")
    for command in (ca, tr, ev):
        command.add_argument("--edges", choices=tuple(EDGE_PRESETS), default=PROPOSAL_EDGES,
                             help="edge preset of the hierarchies (default fast); accurate uses "
                             "cache folders, model files and records named <mode>_accurate")
    args = parser.parse_args(argv)
    from mcg.allocator import keep_freed_memory

    keep_freed_memory()  # as the command line (see mcg.allocator)
    try:
        if args.cmd == "split":
            train, held = coco_split(args.images, args.n_train)
            print(json.dumps({"train": [p.name for p in train],
                              "heldout": [p.name for p in held]}, indent=1))
        elif args.cmd == "cache":
            summary = cache_hierarchies(args.images, args.cache, args.modes, args.workers,
                                        args.n_train, args.edges)
            print(json.dumps(summary))
        elif args.cmd == "train":
            record = train_models(args.mode, args.cache, args.gt, args.out, args.n_candidates,
                                  edges=args.edges)
            print(json.dumps(record, indent=1))
        elif args.cmd == "evaluate":
            out = Path(args.out)
            timing = write_heldout_proposals(args.mode, args.cache, args.models, out / "proposals",
                                             not args.untrained, args.n_candidates, args.workers,
                                             args.iou_box, args.rerank, args.theta, args.gamma,
                                             args.edges)
            summary = evaluate_heldout(out / "proposals", args.gt, args.images)
            summary["candidate_stage"] = timing
            (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
            print(json.dumps({"key": summary["key"], "candidate_stage": timing}, indent=1))
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
