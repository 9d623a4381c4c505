"""Is one BSDS result better than another? A paired bootstrap over images.

Two methods evaluated on the same images differ by a few thousandths of ODS more often than
not, and a difference that small can come from which 100 images happen to be in the set. The
comparison here resamples the images with replacement (the same draws for both methods, since
the images are shared), recomputes the dataset scores from the resampled per-image counts
exactly as :func:`eval.bsds.collect_boundaries` / :func:`eval.bsds.collect_regions` do, and
reports the difference on the full set with a percentile interval over the resamples, and the
fraction of resamples in which the first method is not better.

Public API
----------
compare_boundaries(counts_a, counts_b, n_resamples=1000, confidence=0.95, seed=0)
    -> BsdsComparison  (boundary ODS, OIS, AP)
compare_regions(counts_a, counts_b, n_resamples=1000, confidence=0.95, seed=0)
    -> BsdsComparison  (Segmentation Covering ODS, OIS)
resample_weights(rng, n_images, n_sets) -> (n_sets, n_images) multiplicities of the images
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Mapping

import numpy as np

from eval.bsds import (BoundaryCounts, RegionCounts, area_pr, fmeasure, round_g6, safe_ratio,
                       best_threshold_counts, rounded_counts)

#: Resamples are processed in blocks of this many, to bound memory on large sets.
_BLOCK = 256
#: Points per threshold interval of the ODS search, as ``_max_f`` (the original ``maxF``).
_INTERP_POINTS = 100


@dataclass
class MetricComparison:
    """One metric of a comparison: A, B, A - B on the full set and over the resamples."""

    value_a: float
    value_b: float
    difference: float
    interval: tuple[float, float]
    fraction_not_better: float


@dataclass
class BsdsComparison:
    """Result of :func:`compare_boundaries` or :func:`compare_regions`.

    ``metrics`` maps each metric name (``"ods"``, ``"ois"``, ``"ap"`` for boundaries;
    ``"covering_ods"``, ``"covering_ois"`` for regions) to a :class:`MetricComparison`.
    ``image_ids`` are the images both results have; ``only_a`` / ``only_b`` the ones left out.
    """

    metrics: dict
    image_ids: list
    only_a: list
    only_b: list
    n_resamples: int
    confidence: float
    seed: int

    def format(self, name_a: str = "A", name_b: str = "B") -> str:
        """Human-readable table, one line per metric."""
        pct = f"{100 * self.confidence:g}%"
        lines = [f"Paired bootstrap over {len(self.image_ids)} images ({self.n_resamples} "
                 f"resamples, seed {self.seed}): {name_a} - {name_b}"]
        width = max(len(k) for k in self.metrics)
        for key, m in self.metrics.items():
            lo, hi = m.interval
            lines.append(f"  {key.upper().replace('_', ' '):<{width}}  {m.value_a:.4f} - "
                         f"{m.value_b:.4f} = {m.difference:+.4f}   {pct} interval "
                         f"[{lo:+.4f}, {hi:+.4f}]   not better in "
                         f"{100 * m.fraction_not_better:.1f}% of resamples")
        for name, ids in ((name_a, self.only_a), (name_b, self.only_b)):
            if ids:
                lines.append(f"  note: {len(ids)} image(s) only in {name} were left out: "
                             f"{', '.join(ids[:10])}" + (" ..." if len(ids) > 10 else ""))
        return "\n".join(lines)


def resample_weights(rng: np.random.Generator, n_images: int, n_sets: int) -> np.ndarray:
    """How many times each image is drawn in bootstrap resamples of the images.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the draws (one ``rng.integers`` call of shape ``(n_sets, n_images)``).
    n_images : int
        Images in the set; each resample draws that many, with replacement.
    n_sets : int
        Number of resamples.

    Returns
    -------
    ndarray, shape (n_sets, n_images), float64
        Multiplicity of each image in each resample (each row sums to ``n_images``).
    """
    draws = rng.integers(0, n_images, size=(n_sets, n_images))
    weights = np.zeros((n_sets, n_images))
    np.add.at(weights, (np.repeat(np.arange(n_sets), n_images), draws.ravel()), 1.0)
    return weights


def _max_f_batch(recall: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Best F of each PR curve, interpolated between thresholds as ``_max_f``.

    Parameters
    ----------
    recall, precision : ndarray, shape (n_curves, nthresh), float64

    Returns
    -------
    ndarray, shape (n_curves,), float64
    """
    best = fmeasure(recall[:, 0], precision[:, 0])
    if recall.shape[1] < 2:
        return best
    d = np.linspace(0.0, 1.0, _INTERP_POINTS)
    r = recall[:, 1:, None] * d + recall[:, :-1, None] * (1 - d)
    p = precision[:, 1:, None] * d + precision[:, :-1, None] * (1 - d)
    return np.maximum(best, fmeasure(r, p).max(axis=(1, 2)))


def _boundary_scores(weights: np.ndarray, per_image: np.ndarray,
                     per_image_best: np.ndarray) -> np.ndarray:
    """ODS, OIS and AP of image sets given by how many times each image is drawn.

    Parameters
    ----------
    weights : ndarray, shape (n_sets, n_images), float64
        Multiplicity of each image in each set.
    per_image : ndarray, shape (n_images, 4, nthresh), float64
        Rounded counts (:func:`eval.bsds.rounded_counts`).
    per_image_best : ndarray, shape (n_images, 4), float64
        Counts at each image's best threshold (:func:`eval.bsds.best_threshold_counts`).

    Returns
    -------
    ndarray, shape (n_sets, 3), float64
        ODS, OIS, AP per set.
    """
    n_images, _, n_thresh = per_image.shape
    totals = (weights @ per_image.reshape(n_images, -1)).reshape(-1, 4, n_thresh)
    recall = safe_ratio(totals[:, 0], totals[:, 1])
    precision = safe_ratio(totals[:, 2], totals[:, 3])
    ods = _max_f_batch(recall, precision)
    best = weights @ per_image_best
    ois = fmeasure(safe_ratio(best[:, 0], best[:, 1]), safe_ratio(best[:, 2], best[:, 3]))
    ap = np.array([area_pr(r, p) for r, p in zip(recall, precision)])
    return np.stack([ods, ois, ap], axis=1)


def _covering_scores(weights: np.ndarray, per_image: np.ndarray,
                     per_image_best: np.ndarray) -> np.ndarray:
    """Covering ODS and OIS of image sets given by how many times each image is drawn.

    Parameters
    ----------
    weights : ndarray, shape (n_sets, n_images), float64
    per_image : ndarray, shape (n_images, 4, nthresh), float64
        Rounded covering counts (:func:`eval.bsds.rounded_counts`).
    per_image_best : ndarray, shape (n_images, 4), float64
        Counts at each image's best covering (:func:`eval.bsds.best_threshold_counts`).

    Returns
    -------
    ndarray, shape (n_sets, 2), float64
    """
    n_images, _, n_thresh = per_image.shape
    totals = (weights @ per_image.reshape(n_images, -1)).reshape(-1, 4, n_thresh)
    ods = safe_ratio(totals[:, 0], totals[:, 1]).max(axis=1)
    best = weights @ per_image_best
    return np.stack([ods, safe_ratio(best[:, 0], best[:, 1])], axis=1)


def _common_images(counts_a: Mapping, counts_b: Mapping) -> list:
    ids = sorted(set(counts_a) & set(counts_b))
    if not ids:
        raise ValueError(f"the two results have no image in common ({len(counts_a)} and "
                         f"{len(counts_b)} images)")
    thresholds_a = round_g6(counts_a[ids[0]].thresholds)
    thresholds_b = round_g6(counts_b[ids[0]].thresholds)
    if thresholds_a.shape != thresholds_b.shape or not np.array_equal(thresholds_a, thresholds_b):
        raise ValueError(f"the two results were evaluated at different thresholds "
                         f"({thresholds_a.size} and {thresholds_b.size}); use the same nthresh "
                         f"and result kind for both")
    return ids


def _paired_bootstrap(counts_a: Mapping, counts_b: Mapping, names: tuple,
                      best: Callable[[np.ndarray], np.ndarray],
                      scores: Callable[..., np.ndarray], n_resamples: int, confidence: float,
                      seed: int) -> BsdsComparison:
    """Shared machinery: ``best`` gives the per-image best-threshold counts,
    ``scores(weights, per_image, per_image_best)`` the metrics of weighted image sets (all
    weights 1: the full set)."""
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    ids = _common_images(counts_a, counts_b)
    stacks = []
    for counts in (counts_a, counts_b):
        per_image = np.stack([rounded_counts(counts[i]) for i in ids])
        stacks.append((per_image, np.stack([best(c) for c in per_image])))
    n = len(ids)
    values = [scores(np.ones((1, n)), *stack)[0] for stack in stacks]
    rng = np.random.default_rng(seed)
    differences = []
    for start in range(0, int(n_resamples), _BLOCK):
        size = min(_BLOCK, int(n_resamples) - start)
        weights = resample_weights(rng, n, size)
        differences.append(scores(weights, *stacks[0]) - scores(weights, *stacks[1]))
    differences = np.concatenate(differences)
    tail = 100 * (1 - confidence) / 2
    metrics = {}
    for j, key in enumerate(names):
        lo, hi = np.percentile(differences[:, j], [tail, 100 - tail])
        metrics[key] = MetricComparison(float(values[0][j]), float(values[1][j]),
                                        float(values[0][j] - values[1][j]), (float(lo), float(hi)),
                                        float(np.mean(differences[:, j] <= 0)))
    return BsdsComparison(metrics, ids, sorted(set(counts_a) - set(counts_b)),
                          sorted(set(counts_b) - set(counts_a)), int(n_resamples),
                          float(confidence), int(seed))


def compare_boundaries(counts_a: Mapping[str, BoundaryCounts],
                       counts_b: Mapping[str, BoundaryCounts], n_resamples: int = 1000,
                       confidence: float = 0.95, seed: int = 0) -> BsdsComparison:
    """Paired bootstrap comparison of two boundary results on their common images.

    Parameters
    ----------
    counts_a, counts_b : mapping of str to BoundaryCounts
        Per-image counts keyed by image id, e.g. ``BsdsSummary.boundary_counts`` of two
        :func:`eval.bsds.bsds_benchmark` runs. Both must use the same thresholds.
    n_resamples : int, default 1000
        Bootstrap resamples (image sets drawn with replacement, the same draws for A and B).
    confidence : float, default 0.95
        Coverage of the percentile interval of each difference, in (0, 1).
    seed : int, default 0
        Seed of the resampling; the result is deterministic for a given seed.

    Returns
    -------
    BsdsComparison
        Metrics ``ods``, ``ois``, ``ap``: A, B and A - B on the common images (what
        :func:`eval.bsds.collect_boundaries` gives on them, to float rounding), the percentile
        interval of A - B
        over the resamples and the fraction of resamples with A - B <= 0.

    Raises
    ------
    ValueError
        No common image, different thresholds, or a bad ``n_resamples`` / ``confidence``.
    """
    return _paired_bootstrap(counts_a, counts_b, ("ods", "ois", "ap"), best_threshold_counts,
                             _boundary_scores, n_resamples, confidence, seed)


def compare_regions(counts_a: Mapping[str, RegionCounts], counts_b: Mapping[str, RegionCounts],
                    n_resamples: int = 1000, confidence: float = 0.95,
                    seed: int = 0) -> BsdsComparison:
    """Paired bootstrap comparison of the Segmentation Covering of two hierarchies/segmentations.

    Parameters
    ----------
    counts_a, counts_b : mapping of str to RegionCounts
        Per-image region counts keyed by image id (``BsdsSummary.region_counts``).
    n_resamples, confidence, seed : int, float, int
        As :func:`compare_boundaries`.

    Returns
    -------
    BsdsComparison
        Metrics ``covering_ods`` and ``covering_ois`` (as :func:`eval.bsds.collect_regions`),
        the same draws as :func:`compare_boundaries` for the same seed and images.

    Raises
    ------
    ValueError
        No common image, different thresholds, or a bad ``n_resamples`` / ``confidence``.
    """
    return _paired_bootstrap(counts_a, counts_b, ("covering_ods", "covering_ois"),
                             partial(best_threshold_counts, measure="covering"), _covering_scores,
                             n_resamples, confidence, seed)
