"""Ranked object proposals: ``im2mcg`` (hierarchies -> combinatorial candidates -> ranking).

The candidate stage takes the hierarchies of :func:`mcg.pipeline.im2ucm` (in ``mcg`` mode the
combined hierarchy and the aligned hierarchies of scales 0.5, 1 and 2, in the release's order;
in ``scg`` mode the single hierarchy), forms the candidate lists of 1 to 4 regions, takes from
each list the number given by the learned working point (:mod:`grouping.pareto`), fills
holes, removes duplicates, scores the candidates with the shipped regression forest and
re-ranks them for diversity: score times ``(1 - J) ** 2``, ``J`` the largest Jaccard with the
proposals already taken (:mod:`grouping.ranking`; MCG's additive Maximum Marginal Relevance
is available there as ``rerank="mmr"``). Scores are therefore small, comparable within an
image and non-increasing in rank order.

Shipped models (``mcg/models/``, produced by ``mcg train proposals``):
``<mode>_working_points.npz`` and ``<mode>_ranker.npz``. Without them the stage falls back to
untrained defaults (a warning says so). ``im2mcg(models=FOLDER)`` uses the models of a folder
written by ``mcg train proposals`` instead.
"""
from __future__ import annotations

import functools
import json
import time
import warnings
from pathlib import Path


from grouping.proposal_format import Proposals
from mcg.pipeline import MCG_MAX_PIXELS, MODES, hierarchy_configuration, im2ucm, preset_key

MODELS_DIR = Path(__file__).resolve().parent / "models"
#: Mean number of candidates per image (before duplicate removal) of the default working point;
#: the shipped ranker of each mode is trained on the candidates of that working point
#: (see ``docs/training.md``).
DEFAULT_N_CANDIDATES = {"mcg": 4000, "scg": 3000}
#: Default edge preset of the hierarchies behind the proposals (:data:`mcg.pipeline.EDGE_PRESETS`):
#: ``fast`` keeps a COCO image within the time targets; models trained on ``accurate``
#: hierarchies are shipped too (``edges="accurate"``: slightly better, slower).
PROPOSAL_EDGES = "fast"


#: File names a model folder (``im2mcg(models=...)``, written by ``mcg train proposals``) may
#: hold besides the candidate models ``<key>_working_points.npz`` and ``<key>_ranker.npz``:
#: the structured edge forest and the calibration its hierarchies were computed with.
EDGE_FOREST_FILE = "edge_forest.npz"
CALIBRATION_FILE = "calibration.json"
#: The record ``mcg train proposals`` writes into a model folder (commands, parameters, the
#: hierarchy settings the models were fit to: :func:`mcg.pipeline.hierarchy_configuration`).
TRAINING_RECORD = "training.json"


def candidate_model_paths(folder, mode: str, edges: str = PROPOSAL_EDGES) -> tuple[Path, Path]:
    """The working-point and ranker files of a mode and edge preset in a model folder.

    Returns
    -------
    working_points, ranker : Path
        ``<folder>/<key>_working_points.npz`` and ``<folder>/<key>_ranker.npz`` with ``key``
        :func:`mcg.pipeline.preset_key` (``mcg``, ``scg``, ``mcg_accurate``, ...).
    """
    key = preset_key(mode, edges)
    folder = Path(folder)
    return folder / f"{key}_working_points.npz", folder / f"{key}_ranker.npz"


def load_candidate_models(mode: str, models=None, edges: str = PROPOSAL_EDGES):
    """The working points and ranker of a mode, loaded once per process.

    Parameters
    ----------
    mode : {"mcg", "scg"}
    models : str or Path, optional
        Model folder written by ``mcg train proposals`` (:func:`mcg.proposal_training.train_proposals`);
        default: the shipped ``mcg/models``.
    edges : {"fast", "accurate"}
        Edge preset of the hierarchies the models were trained on
        (:func:`candidate_model_paths`).

    Returns
    -------
    working_points : grouping.pareto.WorkingPoints or None
    ranker : grouping.ranker.RegressionForest or None
        ``None`` where a shipped file is absent (then the untrained fallback is used, with a
        warning).

    Raises
    ------
    FileNotFoundError
        If ``models`` is given and is not a folder or lacks either file of this mode and preset.
    ValueError
        If the folder's ``training.json`` records that its models of this mode and preset were
        fit to hierarchies of other scales or another DNCuts bound than this version computes
        (:func:`mcg.pipeline.hierarchy_configuration`).
    """
    if models is None:
        return _load_candidate_models(mode, str(MODELS_DIR), edges, False)
    return _load_candidate_models(mode, str(Path(models).resolve()), edges, True)


@functools.lru_cache(maxsize=8)
def _load_candidate_models(mode: str, folder: str, edges: str, required: bool):
    from grouping.pareto import WorkingPoints
    from grouping.ranker import RegressionForest

    points_path, ranker_path = candidate_model_paths(folder, mode, edges)
    missing = [p.name for p in (points_path, ranker_path) if not p.is_file()]
    if missing and required:
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"model folder not found: {folder}")
        held = sorted(p.name for p in Path(folder).glob("*.npz"))
        raise FileNotFoundError(
            f"model folder {folder} has no {', '.join(missing)} (it holds: "
            f"{', '.join(held) or 'no model files'}); train them with `mcg train proposals "
            f"--mode {mode} --edges {edges}`")
    _check_hierarchy_record(Path(folder), mode, edges)
    if missing:
        warnings.warn(f"{preset_key(mode, edges)} candidate models not found in {folder} "
                      f"({', '.join(missing)}); using untrained defaults, expect lower proposal "
                      "quality", stacklevel=4)
    working_points = WorkingPoints.load(points_path) if points_path.is_file() else None
    ranker = RegressionForest.load(ranker_path) if ranker_path.is_file() else None
    return working_points, ranker


def _read_json(path: Path) -> dict:
    """A model folder's JSON record (``{}`` if the file is absent)."""
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not readable JSON ({error}); move it away") from None


def _check_hierarchy_record(folder: Path, mode: str, edges: str) -> None:
    """Refuse models that ``training.json`` records as fit to other hierarchies (folders
    without a record, or records without the ``hierarchy`` entry, are not checked)."""
    key = preset_key(mode, edges)
    record = _read_json(folder / TRAINING_RECORD).get(key, {})
    recorded = record.get("parameters", {}).get("hierarchy")
    current = hierarchy_configuration(mode, edges)
    if recorded is not None and recorded != current:
        raise ValueError(
            f"the {key} candidate models in {folder} were trained on hierarchies with "
            f"{_describe_hierarchy(recorded)}, and this version computes "
            f"{_describe_hierarchy(current)}; retrain them with `mcg train proposals --mode "
            f"{mode} --edges {edges}`")


def _describe_hierarchy(configuration: dict) -> str:
    scales = ", ".join(f"{scale:g}" for scale in configuration.get("scales", []))
    return (f"scales {scales or '?'} and DNCuts graphs of at most "
            f"{configuration.get('dncuts_max_reduced_nodes', '?')} nodes")


def model_folder_extras(models) -> dict:
    """The edge forest and calibration a model folder holds, as ``im2ucm`` arguments.

    Parameters
    ----------
    models : str, Path or None
        Model folder (:func:`load_candidate_models`).

    Returns
    -------
    dict
        ``edge_model`` (path of ``edge_forest.npz``) and ``calibration`` (path of
        ``calibration.json``) for the files present; empty for ``None``.
    """
    if models is None:
        return {}
    folder = Path(models)
    extras = {"edge_model": folder / EDGE_FOREST_FILE, "calibration": folder / CALIBRATION_FILE}
    return {name: path for name, path in extras.items() if path.is_file()}


def candidate_trees(ucm_result, mode: str) -> list:
    """The hierarchies of the candidate stage, in the release's order.

    Parameters
    ----------
    ucm_result : mcg.pipeline.UcmResult
    mode : {"mcg", "scg"}

    Returns
    -------
    list of grouping.hierarchy.MergeTree
        ``[combined, aligned trees from the coarsest scale to the finest]`` for ``mcg`` (the
        finest is 1.5 with the ``fast`` edge preset, 2 with ``accurate``), ``[tree]`` for
        ``scg``.
    """
    if mode == "scg":
        return [ucm_result.tree]
    aligned = ucm_result.aligned_trees
    return [ucm_result.tree] + [aligned[scale] for scale in sorted(aligned)]


def im2mcg(image, mode: str = "mcg", n_proposals: int | None = None, *, edge_model=None,
           models=None, n_candidates: float | None = None,
           edges: str = PROPOSAL_EDGES, max_pixels: int | None = MCG_MAX_PIXELS,
           return_details: bool = False, threads: int = 1):
    """Ranked object proposals of an image.

    Parameters
    ----------
    image : ndarray
        (H, W, 3) RGB, (H, W) grayscale or (H, W, 4) RGBA; uint8, uint16 or float in [0, 1].
    mode : {"mcg", "scg"}
        ``mcg``: multiscale hierarchies (better, slower); ``scg``: single scale.
    n_proposals : int, optional
        Keep at most this many proposals (all by default).
    edge_model : EdgeForest, path or None
        Structured edge forest (``None``: the model folder's ``edge_forest.npz`` if it has
        one, else the shipped model).
    models : str or Path, optional
        Model folder written by ``mcg train proposals`` (:func:`mcg.proposal_training.train_proposals`):
        its ``<mode>_working_points.npz`` and ``<mode>_ranker.npz`` (``<mode>_accurate_...``
        for ``edges="accurate"``) are used, and its ``edge_forest.npz`` and
        ``calibration.json`` when present. Default: the shipped models.
    n_candidates : float, optional
        Mean number of candidates of the working point (default :data:`DEFAULT_N_CANDIDATES`).
    edges : {"fast", "accurate"}
        Edge preset of the hierarchies (:data:`mcg.pipeline.EDGE_PRESETS`), with the candidate
        models trained on it. ``fast`` (default) meets the time targets; ``accurate`` scored a
        little better on held-out COCO images and takes 0.5-0.7 s more per COCO image.
    max_pixels : int or None
        ``mcg`` mode refuses larger images (see :func:`mcg.pipeline.im2ucm`).
    return_details : bool
        Also return a dict with the ``UcmResult`` (``"hierarchies"``) and ``"times"``.
    threads : int
        Threads for one image: edge detection in bands of rows and, in ``mcg`` mode, scales
        computed at the same time (see :func:`mcg.pipeline.im2ucm`); the proposals do not
        depend on it.

    Returns
    -------
    grouping.proposal_format.Proposals
        ``superpixels`` (H, W) int32, per-proposal leaf sets, ``scores`` (N,) float32 in rank
        order, ``boxes`` (N, 4) float32 ``[x0, y0, x1, y1]`` (exclusive x1, y1); ``mask(i)``,
        ``masks(top_k)``; see :func:`proposals_to_coco` for COCO export.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.data import astronaut
    >>> from mcg import im2mcg
    >>> proposals = im2mcg(astronaut(), mode="scg")
    >>> proposals.boxes.shape == (proposals.n_proposals, 4)   # [x0, y0, x1, y1), rank order
    True
    >>> bool(np.all(np.diff(proposals.scores) <= 0)), proposals.mask(0).shape
    (True, (512, 512))
    """
    from grouping.ranking import proposals_from_trees

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if n_proposals is not None and (int(n_proposals) != n_proposals or n_proposals < 1):
        raise ValueError(f"n_proposals must be a positive integer or None, got {n_proposals!r}")
    working_points, ranker = load_candidate_models(mode, models, edges)
    extras = model_folder_extras(models)
    if edge_model is not None:
        extras["edge_model"] = edge_model
    ucm_result = im2ucm(image, mode=mode, edges=edges, max_pixels=max_pixels,
                        return_details=True, threads=threads, **extras)
    total = DEFAULT_N_CANDIDATES[mode] if n_candidates is None else float(n_candidates)
    trees = candidate_trees(ucm_result, mode)
    n_cands = working_points.n_cands_for(total) if working_points is not None else None
    if n_cands is None:
        from grouping.candidates import default_n_cands

        n_cands = default_n_cands(len(trees), total=int(total))
    start = time.perf_counter()
    proposals = proposals_from_trees(trees, model=ranker, n_cands=n_cands, n_proposals=n_proposals)
    times = dict(ucm_result.times, candidates=time.perf_counter() - start)
    if return_details:
        return proposals, {"hierarchies": ucm_result, "times": times}
    return proposals


def proposals_to_coco(proposals: Proposals, image_id, top_k: int | None = None) -> list[dict]:
    """COCO result entries (RLE mask, ``bbox`` [x, y, w, h], ``score``) of proposals.

    Parameters
    ----------
    proposals : Proposals
    image_id : int or str
        COCO image id.
    top_k : int, optional
        Export only the best ``top_k``.

    Returns
    -------
    list of dict
        JSON-serializable entries in rank order, category id 1 (proposals are class-agnostic).

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> from mcg import im2mcg, proposals_to_coco
    >>> entries = proposals_to_coco(im2mcg(astronaut(), mode="scg"), image_id=42, top_k=3)
    >>> len(entries), sorted(entries[0])
    (3, ['bbox', 'category_id', 'image_id', 'score', 'segmentation'])
    """
    from grouping.proposal_format import proposals_to_coco_results

    return proposals_to_coco_results(proposals, image_id, top_k=top_k)
