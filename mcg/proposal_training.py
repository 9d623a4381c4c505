"""Training the candidate-selection models (working points, ranking forest) on a COCO dataset.

:func:`train_proposals` (command ``mcg train proposals``) trains the models of one mode and
edge preset on any COCO-format instance dataset (an ``instances_*.json`` and its images) and
writes them into a *model folder* that ``im2mcg(models=FOLDER)`` and ``mcg proposals --models
FOLDER`` use:

1. images: the image files named in the ground truth, sorted by file name; with
   ``heldout=N`` the last N are held out for evaluation (no randomness: the same split on
   every machine, :func:`coco_split`);
2. hierarchies: computed once per image into ``<work>/hierarchies/<key>/<stem>_<k>.npz``
   (:func:`hierarchy_trees`: k = 0..3 in MCG's order for ``mcg``, k = 0 for ``scg``) by a
   batch run (:func:`mcg.batch.run_batch`): resumable, with worker processes or a Dask
   cluster, failed images listed and retried by a rerun;
3. working points (:func:`grouping.pareto.train_working_points`) on the training images, then
   the ranking forest (:func:`grouping.ranking.train_ranker`) on the candidates of the working
   point of ``n_candidates`` (default :data:`mcg.proposals.DEFAULT_N_CANDIDATES`);
4. with a held-out part: its proposals from the cached hierarchies and the proposal benchmark
   (:func:`eval.proposals.evaluate_dataset`), written to ``evaluation.json``.

The model folder holds ``<key>_working_points.npz`` and ``<key>_ranker.npz`` (``key`` =
:func:`mcg.pipeline.preset_key`: ``mcg``, ``scg``, ``mcg_accurate``, ``scg_accurate``),
``training.json`` (per key: the command, the parameters, a summary of the data, the working
point, the forest, wall times), ``evaluation.json`` with a held-out part, and copies of the
edge forest (``edge_forest.npz``) and calibration (``calibration.json``) when the hierarchies
were computed with non-shipped ones. ``<out>/work`` (hierarchies, held-out proposals) can be
deleted once training is done.

Set ``OPENBLAS_NUM_THREADS=1`` with several workers (one BLAS thread per worker).
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from mcg.pipeline import hierarchy_configuration, preset_key
from mcg.proposals import (CALIBRATION_FILE, DEFAULT_N_CANDIDATES, EDGE_FOREST_FILE,
                           PROPOSAL_EDGES, TRAINING_RECORD, _read_json,
                           candidate_model_paths, candidate_trees)

__all__ = ["N_TRAIN", "FOREST_PARAMS", "coco_split", "hierarchy_trees", "tree_paths",
           "load_tree_folder", "training_samples", "hierarchy_cache_job", "train_proposals",
           "write_proposals_from_trees", "evaluate_heldout"]

#: Number of training images of the shipped models' split of the shared COCO subset.
N_TRAIN = 128
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
#: Ranking-forest hyper-parameters of the shipped models (kept small: < 25 MB per file).
FOREST_PARAMS = {"n_trees": 50, "max_depth": 12, "per_image": 2000, "seed": 0,
                 "target_power": 3.0}
EVALUATION_RECORD = "evaluation.json"


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


# ----------------------------------------------------------------------------------------
# Hierarchy cache
# ----------------------------------------------------------------------------------------

def hierarchy_trees(image: np.ndarray, mode: str, edges: str = PROPOSAL_EDGES,
                    edge_model=None, calibration=None) -> tuple[list, float]:
    """The hierarchies the candidate stage uses, in MCG's order, and the seconds spent.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
    mode : {"mcg", "scg"}
    edges : {"fast", "accurate"}
        Edge preset (:data:`mcg.pipeline.EDGE_PRESETS`).
    edge_model, calibration : optional
        As :func:`mcg.pipeline.im2ucm` (default: the shipped ones).

    Returns
    -------
    trees : list of MergeTree
        ``mcg``: [combined, aligned scale 0.5, aligned 1, aligned 2]; ``scg``: [tree].
    seconds : float
    """
    from mcg.pipeline import im2ucm

    t0 = time.perf_counter()
    result = im2ucm(image, mode=mode, edges=edges, edge_model=edge_model,
                    calibration=calibration, return_details=True)
    return candidate_trees(result, mode), time.perf_counter() - t0


def tree_names(stem: str, mode: str) -> tuple[str, ...]:
    """The cache file names ``<stem>_<k>.npz`` of one image (4 for mcg, 1 for scg)."""
    return tuple(f"{stem}_{k}.npz" for k in range(4 if mode == "mcg" else 1))


def tree_paths(folder, stem: str, mode: str) -> list[Path]:
    """The cache files ``<folder>/<stem>_<k>.npz`` of one image (4 for mcg, 1 for scg)."""
    return [Path(folder) / name for name in tree_names(stem, mode)]


def compute_trees(path, image, *, out_dir: str, mode: str, edges: str, edge_model=None,
                  calibration=None) -> str:
    """Compute one image's hierarchies and write them (each atomically) into ``out_dir``."""
    from mcg import storage

    trees, _ = hierarchy_trees(image, mode, edges, edge_model, calibration)
    stem = storage.stem(path)
    for tree, name in zip(trees, tree_names(stem, mode)):
        storage.write_bytes(storage.join(out_dir, name), storage.npz_bytes(tree.to_arrays()))
    return f"{len(trees)} hierarchies"


def hierarchy_cache_job(folder, mode: str, edges: str = PROPOSAL_EDGES, edge_model=None,
                        calibration=None):
    """The batch job (:class:`mcg.batch.BatchJob`) that caches the hierarchies of images.

    Parameters
    ----------
    folder : str or Path
        Cache folder of this mode and preset; image ``stem`` gets :func:`tree_names`.
    mode, edges, edge_model, calibration
        As :func:`hierarchy_trees` (paths for the models, or None for the shipped ones).

    Returns
    -------
    mcg.batch.BatchJob
    """
    from mcg.batch import BatchJob, model_digests

    models = model_digests(edge_model, calibration)
    return BatchJob(
        command="train-hierarchies",
        process=functools.partial(compute_trees, out_dir=os.fspath(folder), mode=mode,
                                  edges=edges,
                                  edge_model=None if edge_model is None else str(edge_model),
                                  calibration=None if calibration is None else str(calibration)),
        outputs=functools.partial(tree_names, mode=mode),
        parameters={"mode": mode, "edges": edges},
        models=models)


def load_tree_folder(folder, stem: str) -> list:
    """The hierarchies ``<folder>/<stem>_0.npz``, ``_1``, ... of one image, in order.

    Raises
    ------
    FileNotFoundError
        If the folder has none.
    """
    from grouping.hierarchy import MergeTree

    folder = Path(folder)
    numbered = []
    for path in folder.glob(f"{stem}_*.npz"):
        suffix = path.stem[len(stem) + 1:]
        if suffix.isdigit():
            numbered.append((int(suffix), path))
    if not numbered:
        raise FileNotFoundError(f"no hierarchies {stem}_<k>.npz in {folder}")
    return [MergeTree.load(path) for _, path in sorted(numbered)]


def training_samples(trees_dir, ground_truth, stems, label: str = "training", log=print,
                     summary: dict | None = None):
    """Yield ``(trees, gt_masks)`` of the ground-truth images among ``stems``, with progress.

    Images come in the ground truth's order; those without objects (only crowd or empty
    annotations) are passed over. A progress line (images done, time left) is logged about
    every 1 % of the images.

    Parameters
    ----------
    trees_dir : str or Path
        Folder of cached hierarchies (:func:`tree_names`).
    ground_truth : CocoGroundTruth or BsdsGroundTruth
        Opened ground truth (:func:`eval.coco_io.load_ground_truth`).
    stems : collection of str
        File stems of the images to use; each must have its hierarchies.
    label : str
        Name of the pass in the progress lines.
    log : callable
    summary : dict, optional
        Filled with ``images``, ``images_with_objects`` and ``instances`` as the images pass.

    Yields
    ------
    trees : list of MergeTree
    gt_masks : (K, H, W) bool, K >= 1
    """
    from mcg.batch import format_duration

    wanted = set(stems)
    images = [image for image in ground_truth.images if image.stem in wanted]
    step = max(1, len(images) // 100)
    start = time.perf_counter()
    counts = summary if summary is not None else {}
    counts.update(images=len(images), images_with_objects=0, instances=0)
    for i, image in enumerate(images, 1):
        instances = ground_truth.instances(image)
        counts["images_with_objects"] += bool(instances.n_instances)
        counts["instances"] += instances.n_instances
        if instances.n_instances:
            yield load_tree_folder(trees_dir, image.stem), instances.masks
        if i % step == 0 or i == len(images):
            elapsed = time.perf_counter() - start
            left = format_duration(elapsed / i * (len(images) - i)) if i < len(images) else "0 s"
            log(f"{label}: {i}/{len(images)} images ({format_duration(elapsed)}, {left} left)")


def _names_digest(paths) -> str:
    """``<count> images, sha256:<digest of their file names>``: identifies a set of images."""
    import hashlib

    from mcg import storage

    names = "\n".join(storage.base_name(p) for p in paths).encode()
    return f"{len(paths)} images, sha256:{hashlib.sha256(names).hexdigest()[:16]}"


def _data_summary(ground_truth, stems) -> dict:
    """Images, images with objects and objects among ``stems``."""
    wanted = set(stems)
    counts = [ground_truth.instances(image).n_instances
              for image in ground_truth.images if image.stem in wanted]
    return {"images": len(counts), "images_with_objects": int(sum(1 for c in counts if c)),
            "instances": int(sum(counts))}


# ----------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------

def _save_atomically(save, path: Path) -> None:
    partial = path.with_name(f".{path.stem}.partial.npz")
    save(partial)
    os.replace(partial, path)


def _write_json(path: Path, record: dict) -> None:
    from mcg import storage

    storage.write_bytes(str(path), (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())


def _copy_model_file(source, folder: Path, name: str, overwrite: bool) -> None:
    """Copy a model file into the model folder (refusing to replace a different one)."""
    from mcg.batch import file_digest

    target = folder / name
    if target.is_file() and file_digest(target) == file_digest(source):
        return
    if target.is_file() and not overwrite:
        raise ValueError(f"{target} exists and differs from {source}; choose another output "
                         "folder or pass --overwrite")
    shutil.copyfile(source, target.with_name(f".{name}.partial"))
    os.replace(target.with_name(f".{name}.partial"), target)


def _ground_truth_images(ground_truth, images) -> tuple[list, int]:
    """The image files named in the ground truth (sorted by file name) and how many were not."""
    from mcg import storage
    from mcg.batch import check_image_paths

    named = {image.file_name.rsplit("/", 1)[-1] for image in ground_truth.images}
    paths = check_image_paths(images)
    kept = sorted((p for p in paths if storage.base_name(p) in named), key=storage.base_name)
    if not kept:
        raise ValueError(f"none of the {len(paths)} images is in the ground truth (matched by "
                         "file name)")
    return kept, len(paths) - len(kept)


def train_proposals(coco_gt, images, out, *, mode: str = "mcg", edges: str = PROPOSAL_EDGES,
                    heldout: int = 0, workers: int = 1, scheduler=None, work=None,
                    edge_model=None, calibration=None, n_candidates: float | None = None,
                    forest_params: dict | None = None, overwrite: bool = False,
                    command: str | None = None, log=print) -> dict:
    """Train the working points and ranker of a mode on a COCO dataset into a model folder.

    See the module docstring for the steps and the folder's files. Rerunning the same call
    continues an interrupted run: cached hierarchies are kept, models already trained with
    the same parameters are not retrained.

    Parameters
    ----------
    coco_gt : str or Path
        COCO instances JSON (non-crowd objects are the targets).
    images : str, Path or list of them
        Image folder(s) or files; those not named in ``coco_gt`` are ignored.
    out : str or Path
        Model folder (created).
    mode : {"mcg", "scg"}
    edges : {"fast", "accurate"}
        Edge preset of the hierarchies.
    heldout : int
        Hold out the last ``heldout`` images (by file name) and evaluate on them.
    workers : int
        Local processes for the hierarchies.
    scheduler : str or distributed.Client, optional
        Dask scheduler for the hierarchies instead of local workers.
    work : str or Path, optional
        Folder of the cached hierarchies and held-out proposals (default ``<out>/work``).
    edge_model, calibration : str or Path, optional
        Edge forest ``.npz`` and ``calibration.json`` of the hierarchies (default: shipped);
        copied into the model folder, where ``im2mcg(models=out)`` finds them.
    n_candidates : float, optional
        Mean candidates per image of the working point the ranker is trained at (default
        :data:`mcg.proposals.DEFAULT_N_CANDIDATES`).
    forest_params : dict, optional
        Overrides of :data:`FOREST_PARAMS`.
    overwrite : bool
        Replace models of this mode and preset trained with other parameters.
    command : str, optional
        The command line, recorded in ``training.json``.
    log : callable
        Progress messages.

    Returns
    -------
    dict
        The ``training.json`` record of this mode and preset, with ``evaluation`` (the key
        figures) when ``heldout``.

    Raises
    ------
    ValueError, FileNotFoundError
        Bad input (named in the message), models of other parameters in ``out``, or no
        training image with its hierarchies (all failed).
    Examples
    --------
    >>> from mcg import im2mcg, train_proposals
    >>> record = train_proposals("instances_train.json", "images/", "my_models",
    ...                          mode="scg", heldout=50)                 # doctest: +SKIP
    >>> proposals = im2mcg(image, mode="scg", models="my_models")       # doctest: +SKIP
    """
    from eval.coco_io import load_ground_truth
    from grouping.pareto import train_working_points
    from grouping.ranking import train_ranker
    from mcg.batch import done_images, file_digest, run_batch
    from mcg import storage

    if mode not in DEFAULT_N_CANDIDATES:
        raise ValueError(f"mode must be mcg or scg, got {mode!r}")
    key = preset_key(mode, edges)
    if isinstance(heldout, bool) or int(heldout) != heldout or heldout < 0:
        raise ValueError(f"heldout must be a whole number >= 0, got {heldout!r}")
    n_candidates = DEFAULT_N_CANDIDATES[mode] if n_candidates is None else float(n_candidates)
    if not n_candidates > 0:
        raise ValueError(f"n_candidates must be positive, got {n_candidates}")
    params = dict(FOREST_PARAMS, **(forest_params or {}))
    for name, path in (("edge model", edge_model), ("calibration", calibration)):
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"{name} file not found: {path}")
    if calibration is not None:
        from mcg.pipeline import read_calibration

        read_calibration(calibration, key)  # refuse a file without this entry before any work
    ground_truth = load_ground_truth(coco_gt)
    paths, not_in_gt = _ground_truth_images(ground_truth, [images] if isinstance(
        images, (str, os.PathLike)) else images)
    if heldout >= len(paths):
        raise ValueError(f"--heldout {heldout} leaves no training image ({len(paths)} images "
                         "are in the ground truth)")
    train_paths, held_paths = paths[:len(paths) - heldout], paths[len(paths) - heldout:]
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"model folder {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(work) if work is not None else out / "work"
    trees_dir = work / "hierarchies" / key
    points_path, ranker_path = candidate_model_paths(out, mode, edges)
    parameters = {"mode": mode, "edges": edges, "heldout": int(heldout),
                  "n_candidates": n_candidates, "forest": params,
                  "coco_gt": file_digest(coco_gt),
                  "train_images": _names_digest(train_paths),
                  "heldout_images": _names_digest(held_paths),
                  "edge_forest": file_digest(edge_model) if edge_model else "shipped",
                  "calibration": file_digest(calibration) if calibration else "shipped",
                  "hierarchy": hierarchy_configuration(mode, edges)}
    records = _read_json(out / TRAINING_RECORD)
    previous = records.get(key)
    trained = (previous is not None and previous.get("parameters") == parameters
               and points_path.is_file() and ranker_path.is_file())
    if previous is not None and not trained and points_path.is_file() and not overwrite:
        raise ValueError(f"{out} holds {key} models trained with other parameters (see "
                         f"{TRAINING_RECORD}); choose another output folder or pass --overwrite")
    if edge_model is not None:
        _copy_model_file(edge_model, out, EDGE_FOREST_FILE, overwrite)
    if calibration is not None:
        _copy_model_file(calibration, out, CALIBRATION_FILE, overwrite)
    log(f"{key}: {len(paths)} images in the ground truth ({not_in_gt} other images ignored): "
        f"{len(train_paths)} for training, {len(held_paths)} held out")

    t0 = time.perf_counter()
    job = hierarchy_cache_job(trees_dir, mode, edges, edge_model, calibration)
    status = run_batch(paths, trees_dir, job, workers=workers, scheduler=scheduler,
                       label=f"{key} hierarchies", checked=True)
    t_trees = time.perf_counter() - t0
    done = {storage.stem(p) for p in done_images(paths, str(trees_dir), job)}
    train_stems = [storage.stem(p) for p in train_paths if storage.stem(p) in done]
    held_stems = [storage.stem(p) for p in held_paths if storage.stem(p) in done]
    if status:
        log(f"warning: {len(paths) - len(done)} image(s) have no hierarchies (see "
            f"{trees_dir / 'mcg_failed.txt'}); training goes on without them, a rerun retries "
            "them")
    if not train_stems:
        raise ValueError(f"no training image has its hierarchies in {trees_dir} (see "
                         f"{trees_dir / 'mcg_failed.txt'})")

    if trained:
        log(f"{key}: models already trained with these parameters in {out}; not retrained")
        record = previous
    else:
        summary: dict = {}
        t0 = time.perf_counter()
        try:
            working_points = train_working_points(training_samples(
                trees_dir, ground_truth, train_stems, f"{key} working points", log, summary))
        except ValueError:
            if summary.get("instances") == 0:
                raise ValueError(f"the {len(train_stems)} training images have no non-crowd "
                                 "object") from None
            raise
        _save_atomically(working_points.save, points_path)
        t_points = time.perf_counter() - t0
        n_cands = working_points.n_cands_for(n_candidates)
        t0 = time.perf_counter()
        forest, info = train_ranker(
            training_samples(trees_dir, ground_truth, train_stems, f"{key} ranker", log),
            n_cands, per_image=params["per_image"], n_trees=params["n_trees"],
            max_depth=params["max_depth"], seed=params["seed"],
            target_power=params["target_power"], log=log)
        _save_atomically(forest.save, ranker_path)
        t_ranker = time.perf_counter() - t0
        ok = np.flatnonzero(working_points.mean_n <= n_candidates)
        i = int(ok[np.argmax(working_points.quality[ok])]) if len(ok) else 0
        record = {
            "command": command,
            "parameters": parameters,
            "data": {"coco_gt": str(coco_gt), "train": summary,
                     "heldout": _data_summary(ground_truth, held_stems) if held_stems else None,
                     "images_without_hierarchies": len(paths) - len(done)},
            "default_n_candidates": n_candidates,
            "working_point": {"index": i, "mean_n": float(working_points.mean_n[i]),
                              "train_quality": float(working_points.quality[i]),
                              "n_cands": working_points.n_cands[i].tolist()},
            "n_working_points": int(len(working_points.mean_n)),
            "ranker": info,
            "wall_seconds": {"hierarchies": round(t_trees, 1), "working_points": round(t_points, 1),
                             "ranker": round(t_ranker, 1)},
            "files": {path.name: file_digest(path) for path in (points_path, ranker_path)},
        }
        records = _read_json(out / TRAINING_RECORD)
        records[key] = record
        _write_json(out / TRAINING_RECORD, records)
        log(f"{key}: wrote {points_path.name} and {ranker_path.name} to {out}")

    if held_stems:
        evaluations = _read_json(out / EVALUATION_RECORD)
        previous_evaluation = evaluations.get(key)
        if previous_evaluation is not None and previous_evaluation.get("files") == record["files"]:
            log(f"{key}: held-out figures already in {out / EVALUATION_RECORD}")
            evaluation = previous_evaluation
        else:
            proposals_dir = work / "heldout" / key / "proposals"
            timing = write_proposals_from_trees(mode, trees_dir, held_stems, out, proposals_dir,
                                                edges=edges, n_candidates=n_candidates,
                                                workers=workers, log=log)
            held_images = [p for p in held_paths if storage.stem(p) in set(held_stems)]
            summary = evaluate_heldout(proposals_dir, ground_truth, held_images)
            evaluation = {"command": command, "files": record["files"],
                          "n_images": summary["n_images"], "key": summary["key"],
                          "candidate_stage": timing}
            evaluations = _read_json(out / EVALUATION_RECORD)
            evaluations[key] = evaluation
            _write_json(out / EVALUATION_RECORD, evaluations)
        record = dict(record, evaluation=evaluation["key"])
        for n, figures in evaluation["key"].items():
            log(f"{key} held out @{n}: ABO {figures['abo']:.4f}, box recall@0.7 "
                f"{figures['box_recall@0.7']:.4f}, AR {figures['ar']:.4f}")
    return record


# ----------------------------------------------------------------------------------------
# Proposals from cached hierarchies and their evaluation
# ----------------------------------------------------------------------------------------

def _proposals_one(job):
    stem, trees_dir, out_dir, model_path, n_cands, iou_box, rerank_options = job
    from grouping.proposal_format import save_proposals
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


def write_proposals_from_trees(mode: str, trees_dir, stems, models, out_dir, *,
                               edges: str = PROPOSAL_EDGES, trained: bool = True,
                               n_candidates: float | None = None, workers: int = 1,
                               iou_box: float | None = None, rerank: str | None = None,
                               theta: float | None = None, gamma: float | None = None,
                               log=print) -> dict:
    """Proposals of images from their cached hierarchies, one ``<stem>.npz`` each.

    Parameters
    ----------
    mode : {"mcg", "scg"}
    trees_dir : str or Path
        Folder of cached hierarchies (:func:`tree_names`).
    stems : list of str
        The images.
    models : str or Path
        Model folder (:func:`mcg.proposals.candidate_model_paths` of ``mode`` and ``edges``).
    out_dir : str or Path
        Folder for the proposal files.
    edges : {"fast", "accurate"}
    trained : bool
        ``False``: the untrained fallback score at the same working point.
    n_candidates : float, optional
        Working point (default :data:`mcg.proposals.DEFAULT_N_CANDIDATES`).
    workers : int
        Processes.
    iou_box, rerank, theta, gamma : optional
        Box reduction and re-ranking (None: the defaults of
        :func:`grouping.ranking.proposals_from_trees`).
    log : callable

    Returns
    -------
    dict
        Candidate-stage seconds per image (mean, median, max; the first image of each worker
        includes loading), mean number of proposals and mean seconds per step.
    """
    from concurrent.futures import ProcessPoolExecutor

    from grouping.pareto import WorkingPoints

    n_candidates = DEFAULT_N_CANDIDATES[mode] if n_candidates is None else float(n_candidates)
    points_path, ranker_path = candidate_model_paths(models, mode, edges)
    n_cands = WorkingPoints.load(points_path).n_cands_for(n_candidates)
    model_path = str(ranker_path) if trained else None
    if not stems:
        raise ValueError("no images to write proposals for")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rerank_options = {k: v for k, v in dict(rerank=rerank, theta=theta, gamma=gamma).items()
                      if v is not None}
    jobs = [(s, str(trees_dir), str(out_dir), model_path, n_cands, iou_box, rerank_options)
            for s in stems]
    seconds, counts, steps = [], [], {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i, (stem, sec, n, timings) in enumerate(pool.map(_proposals_one, jobs), 1):
            seconds.append(sec)
            counts.append(n)
            for k, v in timings.items():
                steps.setdefault(k, []).append(v)
            log(f"[{i}/{len(jobs)}] {stem}: {n} proposals, {sec:.2f} s")
    return {"n_images": len(stems), "mean_seconds": float(np.mean(seconds)),
            "median_seconds": float(np.median(seconds)), "max_seconds": float(np.max(seconds)),
            "mean_proposals": float(np.mean(counts)),
            "mean_seconds_per_step": {k: float(np.mean(v)) for k, v in steps.items()},
            "n_cands": n_cands.tolist()}


def evaluate_heldout(proposals_dir, ground_truth, image_paths) -> dict:
    """Proposal benchmark (:func:`eval.proposals.evaluate_dataset`) on some images only.

    The images are linked into ``<proposals_dir>_images`` so that only they are evaluated.

    Parameters
    ----------
    proposals_dir : str or Path
        Folder of ``<stem>.npz`` proposals.
    ground_truth : str, Path or an opened ground truth
    image_paths : list of Path
        Local image files.

    Returns
    -------
    dict
        The benchmark summary plus ``key`` figures: mask ABO, AR, recall@0.7 and box
        recall@0.7 and AR at N = 100, 1000 and all proposals.
    """
    from eval.proposals import ProposalBenchmarkWarning, evaluate_dataset

    proposals_dir = Path(proposals_dir)
    link_dir = proposals_dir.parent / (proposals_dir.name + "_images")
    link_dir.mkdir(parents=True, exist_ok=True)
    for image in image_paths:
        link = link_dir / Path(image).name
        if not link.exists():
            link.symlink_to(Path(image).resolve())
    with warnings.catch_warnings():
        # The other images of the ground truth are absent from link_dir by design.
        warnings.simplefilter("ignore", ProposalBenchmarkWarning)
        result = evaluate_dataset(ground_truth, link_dir, proposals_dir)
    for message in result.warnings:
        if "ground-truth images are not in" not in message:
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
