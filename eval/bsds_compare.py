"""Is one BSDS boundary result better than another? A paired bootstrap over images.

Two methods evaluated on the same images differ by a few thousandths of ODS more often than
not, and a difference that small can come from which 100 images happen to be in the set. The
comparison here resamples the images with replacement (the same draw for both methods, since
the images are shared), recomputes ODS, OIS and AP from the resampled per-image counts exactly
as :func:`eval.bsds.collect_boundaries` does, and reports the difference on the full set with a
percentile interval over the resamples, and the fraction of resamples in which the first
method is not better.

Public API
----------
compare_boundaries(counts_a, counts_b, n_resamples=1000, confidence=0.95, seed=0)
    -> BoundaryComparison
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from eval.bsds import (BoundaryCounts, _area_pr, _fmeasure, _g6, _ratio, best_threshold_counts,
                       collect_boundaries, rounded_boundary_counts)

METRICS = ("ods", "ois", "ap")
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
class BoundaryComparison:
    """Result of :func:`compare_boundaries`.

    ``metrics`` maps ``"ods"``, ``"ois"`` and ``"ap"`` to a :class:`MetricComparison`.
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
        for key in METRICS:
            m = self.metrics[key]
            lo, hi = m.interval
            lines.append(f"  {key.upper():<3}  {m.value_a:.4f} - {m.value_b:.4f} = "
                         f"{m.difference:+.4f}   {pct} interval [{lo:+.4f}, {hi:+.4f}]   "
                         f"not better in {100 * m.fraction_not_better:.1f}% of resamples")
        for name, ids in ((name_a, self.only_a), (name_b, self.only_b)):
            if ids:
                lines.append(f"  note: {len(ids)} image(s) only in {name} were left out: "
                             f"{', '.join(ids[:10])}" + (" ..." if len(ids) > 10 else ""))
        return "\n".join(lines)


def _max_f_batch(recall: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Best F of each PR curve, interpolated between thresholds as ``_max_f``.

    Parameters
    ----------
    recall, precision : ndarray, shape (n_curves, nthresh), float64

    Returns
    -------
    ndarray, shape (n_curves,), float64
    """
    best = _fmeasure(recall[:, 0], precision[:, 0])
    if recall.shape[1] < 2:
        return best
    d = np.linspace(0.0, 1.0, _INTERP_POINTS)
    r = recall[:, 1:, None] * d + recall[:, :-1, None] * (1 - d)
    p = precision[:, 1:, None] * d + precision[:, :-1, None] * (1 - d)
    return np.maximum(best, _fmeasure(r, p).max(axis=(1, 2)))


def _scores(weights: np.ndarray, per_image: np.ndarray, per_image_best: np.ndarray) -> np.ndarray:
    """ODS, OIS and AP of image sets given by how many times each image is drawn.

    Parameters
    ----------
    weights : ndarray, shape (n_sets, n_images), float64
        Multiplicity of each image in each set.
    per_image : ndarray, shape (n_images, 4, nthresh), float64
        Rounded counts (:func:`eval.bsds.rounded_boundary_counts`).
    per_image_best : ndarray, shape (n_images, 4), float64
        Counts at each image's best threshold (:func:`eval.bsds.best_threshold_counts`).

    Returns
    -------
    ndarray, shape (n_sets, 3), float64
        ODS, OIS, AP per set.
    """
    n_images, _, n_thresh = per_image.shape
    totals = (weights @ per_image.reshape(n_images, -1)).reshape(-1, 4, n_thresh)
    recall = _ratio(totals[:, 0], totals[:, 1])
    precision = _ratio(totals[:, 2], totals[:, 3])
    ods = _max_f_batch(recall, precision)
    best = weights @ per_image_best
    ois = _fmeasure(_ratio(best[:, 0], best[:, 1]), _ratio(best[:, 2], best[:, 3]))
    ap = np.array([_area_pr(r, p) for r, p in zip(recall, precision)])
    return np.stack([ods, ois, ap], axis=1)


def _stack(counts: Mapping[str, BoundaryCounts], ids: list) -> tuple[np.ndarray, np.ndarray]:
    per_image = np.stack([rounded_boundary_counts(counts[i]) for i in ids])
    per_image_best = np.stack([best_threshold_counts(c) for c in per_image])
    return per_image, per_image_best


def compare_boundaries(counts_a: Mapping[str, BoundaryCounts],
                       counts_b: Mapping[str, BoundaryCounts], n_resamples: int = 1000,
                       confidence: float = 0.95, seed: int = 0) -> BoundaryComparison:
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
    BoundaryComparison
        For ODS, OIS and AP: A, B and A - B on the common images (equal to what
        :func:`eval.bsds.collect_boundaries` gives on them), the percentile interval of A - B
        over the resamples and the fraction of resamples with A - B <= 0.

    Raises
    ------
    ValueError
        No common image, different thresholds, or a bad ``n_resamples`` / ``confidence``.
    """
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    ids = sorted(set(counts_a) & set(counts_b))
    if not ids:
        raise ValueError(f"the two results have no image in common ({len(counts_a)} and "
                         f"{len(counts_b)} images)")
    thresholds_a = _g6(counts_a[ids[0]].thresholds)
    thresholds_b = _g6(counts_b[ids[0]].thresholds)
    if thresholds_a.shape != thresholds_b.shape or not np.array_equal(thresholds_a, thresholds_b):
        raise ValueError(f"the two results were evaluated at different thresholds "
                         f"({thresholds_a.size} and {thresholds_b.size}); use the same nthresh "
                         f"and result kind for both")
    full = {}
    for key, counts in (("a", counts_a), ("b", counts_b)):
        ev = collect_boundaries([counts[i] for i in ids], ids)
        full[key] = np.array([ev.ods_f, ev.ois_f, ev.ap])
    stacks_a, stacks_b = _stack(counts_a, ids), _stack(counts_b, ids)
    rng = np.random.default_rng(seed)
    n = len(ids)
    differences = []
    for start in range(0, int(n_resamples), _BLOCK):
        size = min(_BLOCK, int(n_resamples) - start)
        draws = rng.integers(0, n, size=(size, n))
        weights = np.zeros((size, n))
        np.add.at(weights, (np.repeat(np.arange(size), n), draws.ravel()), 1.0)
        differences.append(_scores(weights, *stacks_a) - _scores(weights, *stacks_b))
    differences = np.concatenate(differences)
    tail = 100 * (1 - confidence) / 2
    metrics = {}
    for j, key in enumerate(METRICS):
        lo, hi = np.percentile(differences[:, j], [tail, 100 - tail])
        metrics[key] = MetricComparison(float(full["a"][j]), float(full["b"][j]),
                                        float(full["a"][j] - full["b"][j]), (float(lo), float(hi)),
                                        float(np.mean(differences[:, j] <= 0)))
    return BoundaryComparison(metrics, ids, sorted(set(counts_a) - set(counts_b)),
                              sorted(set(counts_b) - set(counts_a)), int(n_resamples),
                              float(confidence), int(seed))
