"""Combination weights and sigmoid calibration of the final hierarchy, fit on BSDS500 train.

Both modes end with :func:`grouping.multiscale.multiscale_hierarchy`: the aligned per-scale
boundary maps are summed with weights, the hierarchy is rebuilt by mean boundary strength and
its merge heights ``h`` are mapped to ``1 / (1 + exp(-slope * (h - thr)))``. The release uses
uniform weights, ``thr = 0.35`` and ``slope = 8``; this module fits them on BSDS500 train and
:func:`mcg.pipeline.load_calibration` gives the pipeline the shipped values (``mcg/models/calibration.json``).

Fitting (``mcg train calibration``, :func:`train_calibration`):

1. for the first ``--images`` train images (sorted by name), the per-scale hierarchies and
   their aligned boundary maps are computed once and cached (``--work``; a rerun reuses them);
2. every candidate weight vector is scored by the boundary benchmark of the *uncalibrated*
   combined hierarchy at raw thresholds (:func:`height_grid`: ``--grid`` uniform steps over
   the height range plus ``--grid`` pooled quantiles of the merge heights): its
   best dataset F (ODS) -- the sigmoid is monotonic, so it cannot change the ODS beyond
   threshold sampling;
3. for the best weights, every ``(thr, slope)`` of a grid is scored from the same counts: the
   99 benchmark thresholds ``t`` of the calibrated map are the raw thresholds
   ``thr + logit(t) / slope`` (each read at the nearest grid threshold above it), which gives
   ODS, OIS and AP as the benchmark would compute them; the pair with the largest
   ``ODS + OIS + AP`` is kept.

``--weights`` skips the weight search. The shipped MCG calibration keeps the paper's uniform
weights (``--weights 1 1 1``): on these train images the edges are over-fit (see the caveat),
most at scale 1 where they were trained, which biases a weight search toward that scale.

Caveat: the shipped edge forest was trained on the same BSDS500 train images, so its contours
are more confident there than on unseen images; the fitted sigmoid is therefore fit on
somewhat stronger heights than it will see (BSDS500 val is kept for evaluation only).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from eval.bsds import (BoundaryCounts, BoundaryEvaluation, bsds_thresholds, collect_boundaries,
                       evaluate_boundaries_image)
from grouping.multiscale import SIGMOID_SLOPE, SIGMOID_THRESHOLD
from mcg.pipeline import preset_key

__all__ = ["raw_thresholds", "height_grid", "grid_counts", "evaluate_calibration", "fit_sigmoid",
           "fit", "train_calibration"]

#: Candidate weights (per scale, finest first: 2, 1, 0.5 with `accurate` edges, 1.5, 0.75, 0.5
#: with `fast`) tried by the fit; normalized to sum 1 when used.
WEIGHT_CANDIDATES = ((1, 1, 1), (2, 1, 1), (1, 2, 1), (1, 1, 2))
SIGMOID_THR_GRID = tuple(np.round(np.arange(0.05, 0.651, 0.05), 3))
SIGMOID_SLOPE_GRID = (2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0)


def raw_thresholds(thr: float, slope: float, calibrated) -> np.ndarray:
    """Raw heights whose sigmoid ``1 / (1 + exp(-slope * (h - thr)))`` equals ``calibrated``.

    Parameters
    ----------
    calibrated : (n,) floats in (0, 1).

    Returns
    -------
    (n,) float64.
    """
    t = np.asarray(calibrated, dtype=np.float64)
    return thr + np.log(t / (1.0 - t)) / slope


def _image_counts(job):
    ucm2, gts, grid = job
    c = evaluate_boundaries_image(ucm2, gts, thresholds=grid)
    return np.stack([c.cnt_r, c.sum_r, c.cnt_p, c.sum_p])


def grid_counts(raw_ucm2s, gt_boundaries, grid, workers: int = 1) -> np.ndarray:
    """Boundary counts of uncalibrated hierarchies at raw thresholds.

    Parameters
    ----------
    raw_ucm2s : sequence of (2H+1, 2W+1) float ucm2 (uncalibrated heights), one per image.
    gt_boundaries : sequence of lists of (H, W) human boundary maps.
    grid : (K,) ascending raw thresholds.
    workers : processes (1: in this process).

    Returns
    -------
    (n_images, 4, K) float64: ``cnt_r, sum_r, cnt_p, sum_p`` per threshold.
    """
    grid = np.asarray(grid, dtype=np.float64)
    jobs = [(u, g, grid) for u, g in zip(raw_ucm2s, gt_boundaries)]
    if workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(_image_counts, jobs))
    else:
        rows = [_image_counts(job) for job in jobs]
    return np.stack(rows).reshape(len(jobs), 4, grid.size)


def evaluate_calibration(counts: np.ndarray, grid, thr: float, slope: float,
                         nthresh: int = 99) -> BoundaryEvaluation:
    """Benchmark figures of the calibrated hierarchies, read from raw-threshold counts.

    The benchmark's threshold ``t`` of the calibrated map keeps the boundaries of raw height
    ``>= thr + logit(t) / slope``; its counts are read at the first grid threshold at or above
    that height (the last grid threshold should lie above every height: empty map).

    Parameters
    ----------
    counts : (n_images, 4, K) from :func:`grid_counts`.
    grid : (K,) its raw thresholds.

    Returns
    -------
    eval.bsds.BoundaryEvaluation (ODS, OIS, AP ...).
    """
    grid = np.asarray(grid, dtype=np.float64)
    thresholds = bsds_thresholds(nthresh)
    raw = raw_thresholds(thr, slope, thresholds)
    pick = np.clip(np.searchsorted(grid, raw, side="left"), 0, grid.size - 1)
    per_image = [BoundaryCounts(thresholds, *(c[pick] for c in image)) for image in counts]
    return collect_boundaries(per_image)


def fit_sigmoid(counts: np.ndarray, grid, thr_grid=SIGMOID_THR_GRID,
                slope_grid=SIGMOID_SLOPE_GRID) -> tuple[float, float, list]:
    """Grid search of ``(thr, slope)`` maximizing ODS + OIS + AP.

    Returns
    -------
    thr, slope : the best pair.
    table : list of ``[thr, slope, ods, ois, ap]`` rows for every pair.
    """
    table = []
    for thr in thr_grid:
        for slope in slope_grid:
            ev = evaluate_calibration(counts, grid, thr, slope)
            table.append([float(thr), float(slope), ev.ods_f, ev.ois_f, ev.ap])
    best = max(table, key=lambda row: (row[2] + row[3] + row[4], -row[0], -row[1]))
    return best[0], best[1], table


# ----------------------------------------------------------------------------------------
# Command
# ----------------------------------------------------------------------------------------

def _aligned_maps(image_path: Path, mode: str, cache: Path, edges: str,
                  edge_model=None) -> list[np.ndarray]:
    """Aligned per-scale ucm2 maps (finest first) of one image, cached as .npz."""
    from grouping.multiscale import align_hierarchies
    from mcg.io import read_image
    from mcg.pipeline import per_scale_trees

    path = cache / f"{image_path.stem}_{preset_key(mode, edges)}.npz"
    if path.is_file():
        with np.load(path) as data:
            return [data[f"scale_{k}"] for k in range(len(data.files))]
    # Only the per-scale trees: the combined hierarchy is what is being fit.
    maps = align_hierarchies(per_scale_trees(read_image(image_path), mode, edges=edges,
                                             edge_model=edge_model))
    maps = [np.asarray(m, dtype=np.float32) for m in maps]
    partial = path.with_name(f".{path.stem}.partial.npz")
    np.savez_compressed(partial, **{f"scale_{k}": m for k, m in enumerate(maps)})
    partial.replace(path)
    return maps


def _combined_raw(maps, weights) -> np.ndarray:
    from grouping.multiscale import combine_ucm2s

    return combine_ucm2s([m.astype(np.float64) for m in maps], weights, calibrate=False).to_ucm2()


def height_grid(raw_ucm2s, n: int) -> np.ndarray:
    """Raw thresholds for :func:`grid_counts`: ``n`` uniform steps over the height range,
    ``n`` pooled quantiles of the heights (most merges are low), and one threshold above the
    largest height (empty map). Thresholds selecting the same boundaries share one evaluation.

    Returns
    -------
    (K,) float64, ascending, K <= 2n + 1.
    """
    heights = np.concatenate([np.unique(u[u > 0]) for u in raw_ucm2s])
    top = float(heights.max())
    uniform = np.linspace(heights.min(), top, n)
    quantiles = np.quantile(heights, np.linspace(0.0, 1.0, n))
    return np.concatenate([np.unique(np.concatenate([uniform, quantiles])), [top * 1.0001 + 1e-9]])


def fit(data_dir, mode: str, n_images: int, work, grid_size: int = 200, workers: int = 1,
        weights=None, log=print, edges: str = "fast", edge_model=None) -> dict:
    """Fit the weights (mcg) and the sigmoid of ``mode`` on BSDS500 train; see module docs.

    ``weights``: per-scale weights (finest first) to keep instead of searching them.
    ``edges``: edge preset of the hierarchies (:data:`mcg.pipeline.EDGE_PRESETS`);
    ``edge_model``: their edge forest (default: the shipped one). The per-image maps are
    cached in ``work`` (a rerun reuses them)."""
    from mcg.batch import format_duration
    from eval.bsds_io import load_ground_truth

    data_dir = Path(data_dir)
    image_dir = data_dir / "images" / "train"
    gt_dir = data_dir / "groundTruth" / "train"
    paths = sorted(image_dir.glob("*.jpg"))[:n_images]
    if not paths or not gt_dir.is_dir():
        raise FileNotFoundError(f"BSDS500 train images/groundTruth not found under {data_dir}")
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    maps, gts = [], []
    for i, path in enumerate(paths, 1):
        maps.append(_aligned_maps(path, mode, work, edges, edge_model))
        gts.append(load_ground_truth(gt_dir / f"{path.stem}.mat").boundaries)
        elapsed = time.perf_counter() - t0
        log(f"[{mode}] hierarchies {i}/{len(paths)} {path.stem} ({format_duration(elapsed)}, "
            f"{format_duration(elapsed / i * (len(paths) - i))} left)")
    if mode == "scg":
        candidates = ((1,),)
    elif weights is not None:
        if len(weights) != len(maps[0]) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"--weights needs {len(maps[0])} non-negative values, not all 0")
        candidates = (tuple(weights),)
    else:
        candidates = WEIGHT_CANDIDATES
    weight_table = []
    best = None
    for weights in candidates:
        raw = [_combined_raw(m, weights) for m in maps]
        grid = height_grid(raw, grid_size)
        counts = grid_counts(raw, gts, grid, workers)
        ods = collect_boundaries([BoundaryCounts(grid, *c) for c in counts]).ods_f
        weight_table.append([list(weights), ods])
        log(f"[{mode}] weights {weights}: ODS {ods:.4f} ({time.perf_counter() - t0:.0f} s)")
        if best is None or ods > best[1]:
            best = (weights, ods, grid, counts)
    weights, _, grid, counts = best
    thr, slope, table = fit_sigmoid(counts, grid)
    release = evaluate_calibration(counts, grid, SIGMOID_THRESHOLD, SIGMOID_SLOPE)
    fitted = evaluate_calibration(counts, grid, thr, slope)
    total = float(np.sum(weights))
    log(f"[{mode}] sigmoid thr {thr} slope {slope}: ODS {fitted.ods_f:.4f} OIS {fitted.ois_f:.4f} "
        f"AP {fitted.ap:.4f} (release 0.35/8: {release.ods_f:.4f} {release.ois_f:.4f} "
        f"{release.ap:.4f})")
    return {
        "weights": None if mode == "scg" else [w / total for w in weights],
        "sigmoid_thr": thr,
        "sigmoid_slope": slope,
        "train_images": [p.stem for p in paths],
        "grid_size": int(grid.size),
        "weight_table_ods": weight_table,
        "train_fit": {"ods": fitted.ods_f, "ois": fitted.ois_f, "ap": fitted.ap},
        "train_release_sigmoid": {"ods": release.ods_f, "ois": release.ois_f, "ap": release.ap},
        "sigmoid_table": table,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def train_calibration(bsds, out, *, modes=("scg", "mcg"), edges: str = "accurate",
                      n_images: int = 30, work=None, grid_size: int = 200, workers: int = 1,
                      weights=None, edge_model=None, overwrite: bool = False,
                      command: str | None = None, log=print) -> dict:
    """Fit the calibration of each mode on BSDS-layout data and write ``calibration.json``.

    Parameters
    ----------
    bsds : str or Path
        BSDS-layout folder (``images/train``, ``groundTruth/train``).
    out : str or Path
        The JSON file; entries of other modes and presets already in it are kept.
    modes : sequence of {"scg", "mcg"}
    edges : {"accurate", "fast"}
        Edge preset of the hierarchies; entries are named :func:`mcg.pipeline.preset_key`.
    n_images : int
        First N train images (sorted by name).
    work : str or Path, optional
        Cache of the per-image maps (default ``<out stem>_work`` beside ``out``); a rerun
        reuses it, so a stopped fit continues where it was.
    grid_size : int
        Uniform (and as many quantile) raw thresholds per evaluation (>= 2).
    workers : int
        Processes for the benchmark counts.
    weights : sequence of float, optional
        mcg: keep these per-scale weights (finest first) instead of searching them.
    edge_model : str or Path, optional
        Edge forest of the hierarchies (default: the shipped one).
    overwrite : bool
        Replace entries of ``out`` that this fit writes.
    command : str, optional
        Recorded with each entry.
    log : callable

    Returns
    -------
    dict
        The entries written, by key.

    Raises
    ------
    ValueError, FileNotFoundError
        Bad input, or ``out`` already holds an entry this fit would replace (unless
        ``overwrite``).

    Examples
    --------
    >>> from mcg import im2ucm, train_calibration
    >>> train_calibration("BSDS500/data", "calibration.json", modes=["scg"])   # doctest: +SKIP
    >>> tree = im2ucm(image, calibration="calibration.json")                  # doctest: +SKIP
    """
    from mcg.batch import model_digests

    if n_images < 1 or grid_size < 2:
        raise ValueError("the number of images must be >= 1 and the grid >= 2")
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"{out} is a folder; give the calibration file name (.json)")
    try:
        record = json.loads(out.read_text()) if out.is_file() else {}
    except json.JSONDecodeError as error:
        raise ValueError(f"{out} is not a calibration file ({error})") from None
    keys = [preset_key(mode, edges) for mode in modes]
    clash = [key for key in keys if key in record]
    if clash and not overwrite:
        raise ValueError(f"{out} already holds the {', '.join(clash)} calibration; choose "
                         "another file or pass --overwrite")
    digest = model_digests(edge_model)["edge_forest"].split(":")[-1]
    work = Path(work) if work is not None else out.parent / f"{out.stem}_work"
    written = {}
    for mode, key in zip(modes, keys):
        entry = fit(bsds, mode, n_images, work / digest, grid_size, workers, weights, log,
                    edges, edge_model)
        entry["command"] = command
        entry["edge_forest"] = "shipped" if edge_model is None else str(edge_model)
        record[key] = entry
        written[key] = entry
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        partial.write_text(json.dumps(record, indent=1) + "\n")
        partial.replace(out)
        log(f"wrote the {key} calibration to {out}")
    return written
