"""Learning how many candidates to take from each list: Pareto-front working points.

MCG (paper section 5) has ``4 T`` ranked lists (1..4 regions x T hierarchies) and must
choose ``N_1 .. N_{4T}``, the number taken from each. On training images every list is
summarized by the quality it *can* reach with its first ``n`` candidates (per ground-truth
object, the best Jaccard among them) for ``n`` on a grid. Lists are then combined two at a
time: for every pair of points of the two fronts (each may also contribute nothing), the
combined cost is the sum of the mean numbers of candidates and the per-object best Jaccard
is the maximum of the two; the Pareto front of (mean number of candidates, mean best
Jaccard) is kept and sampled at ``S = 30`` points, so each combination costs ``O(S^2)``
evaluations instead of the exponential joint search. The lists of each size are combined
across hierarchies, then the sizes together. The final front gives one working point per
target number of candidates (:class:`WorkingPoints`).

Quality is MCG's "Jaccard at instance level": the mean over all objects of the best
Jaccard (objects of images without candidates count 0). Sampling a front keeps its two
ends and picks the other points evenly spaced in ``log(1 + n)``.

:func:`train_working_points` learns them from (hierarchies, objects) pairs of training images;
``mcg train proposals`` (:func:`mcg.proposal_training.train_proposals`) feeds it a COCO dataset.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from grouping.candidates import MAX_REGIONS, tree_candidate_lists
from grouping.hierarchy import MergeTree

__all__ = [
    "DEFAULT_GRID", "S_SAMPLES", "Front", "list_best_jaccards", "collect_list_stats",
    "pareto_front", "sample_front", "combine_fronts", "learn_working_points",
    "WorkingPoints", "train_working_points",
]

DEFAULT_GRID = np.concatenate([np.arange(10, 101, 10), np.arange(200, 1001, 100),
                               np.arange(2000, 10001, 1000)]).astype(np.int64)
"""Candidate counts at which each list is evaluated (MCG's grid)."""
S_SAMPLES = 30
_WP_FORMAT = "mcg.grouping.WorkingPoints/1"


# ----------------------------------------------------------------------------------------
# Per-list statistics
# ----------------------------------------------------------------------------------------


def _node_overlaps(tree: MergeTree, gt_masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n_nodes,) areas and (n_nodes, K) intersections of every region with every object."""
    n_leaves = tree.n_leaves
    flat = tree.leaves.ravel()
    k = len(gt_masks)
    inter = np.zeros((tree.n_regions, k), dtype=np.float64)
    for o in range(k):
        inter[:n_leaves, o] = np.bincount(flat[gt_masks[o].ravel()], minlength=n_leaves)
    for m, (a, b) in enumerate(tree.merges):
        inter[n_leaves + m] = inter[a] + inter[b]
    return tree.region_areas().astype(np.float64), inter


def list_best_jaccards(tree: MergeTree, gt_masks: np.ndarray, grid=DEFAULT_GRID):
    """Best Jaccard of each object among the first ``n`` candidates of each list.

    Parameters
    ----------
    tree : MergeTree
    gt_masks : (K, H, W) bool, the objects.
    grid : (G,) increasing ints.

    Returns
    -------
    best : (4, K, G) float64, best Jaccard among the first ``grid[g]`` candidates of list s.
    n_masks : (4, G) int64, number of candidates actually available at each grid point.
    """
    grid = np.asarray(grid, dtype=np.int64)
    gt_masks = np.asarray(gt_masks, dtype=bool)
    if gt_masks.shape[1:] != tree.shape:
        raise ValueError(f"ground truth is {gt_masks.shape[1:]}, tree is {tree.shape}")
    lists = tree_candidate_lists(tree, np.full(MAX_REGIONS, int(grid[-1])))
    area, inter = _node_overlaps(tree, gt_masks)
    gt_area = gt_masks.reshape(len(gt_masks), -1).sum(axis=1).astype(np.float64)
    k = len(gt_masks)
    best = np.zeros((MAX_REGIONS, k, len(grid)))
    n_masks = np.zeros((MAX_REGIONS, len(grid)), dtype=np.int64)
    for s, regs in enumerate(lists.regions):
        n = len(regs)
        n_masks[s] = np.minimum(grid, n)
        if n == 0 or k == 0:
            continue
        c_area = area[regs].sum(axis=1)
        c_inter = inter[regs].sum(axis=1)  # (n, K)
        jac = c_inter / (c_area[:, None] + gt_area[None, :] - c_inter)
        running = np.maximum.accumulate(jac, axis=0)  # (n, K)
        best[s] = running[np.minimum(grid, n) - 1].T
    return best, n_masks


def collect_list_stats(samples: Iterable[tuple[Sequence[MergeTree], np.ndarray]],
                       grid=DEFAULT_GRID):
    """Statistics of the ``4 T`` lists over a training set.

    Parameters
    ----------
    samples : iterable of (trees, gt_masks) per image: T MergeTree and (K, H, W) bool.
    grid : (G,) ints.

    Returns
    -------
    best : (4 T, n_objects, G) float32, list index ``s * T + t``.
    mean_n : (4 T, G) float64, mean number of candidates per image.
    """
    bests, counts = [], []
    n_trees = None
    for trees, gt in samples:
        trees = list(trees)
        if n_trees is None:
            n_trees = len(trees)
        elif len(trees) != n_trees:
            raise ValueError(f"every image needs {n_trees} hierarchies, got {len(trees)}")
        per_tree = [list_best_jaccards(tree, gt, grid) for tree in trees]
        b = np.stack([per_tree[t][0][s] for s in range(MAX_REGIONS) for t in range(n_trees)])
        c = np.stack([per_tree[t][1][s] for s in range(MAX_REGIONS) for t in range(n_trees)])
        bests.append(b.astype(np.float32))
        counts.append(c)
    if not bests:
        raise ValueError("no training images")
    return np.concatenate(bests, axis=1), np.mean(np.stack(counts), axis=0)


# ----------------------------------------------------------------------------------------
# Fronts
# ----------------------------------------------------------------------------------------


@dataclass
class Front:
    """Points of a (sampled) Pareto front, cheapest first.

    Attributes
    ----------
    mean_n : (P,) float64, mean number of candidates per image.
    quality : (P,) float64, mean best Jaccard over the objects.
    best : (P, n_objects) float32, per-object best Jaccard.
    counts : (P, n_lists) int64, candidates taken from every list.
    """

    mean_n: np.ndarray
    quality: np.ndarray
    best: np.ndarray
    counts: np.ndarray


def pareto_front(cost: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Indices of the Pareto-optimal points (lower cost, higher quality), cost-sorted.

    A point is kept when no other point has cost <= and quality >= with one strict; among
    exact ties the first index is kept.
    """
    cost = np.asarray(cost, dtype=np.float64)
    quality = np.asarray(quality, dtype=np.float64)
    order = np.lexsort((np.arange(len(cost)), -quality, cost))
    keep = []
    best_q = -np.inf
    for i in order:
        if quality[i] > best_q:
            keep.append(i)
            best_q = quality[i]
    return np.array(keep, dtype=np.int64)


def sample_front(front: Front, n_samples: int = S_SAMPLES) -> Front:
    """At most ``n_samples`` points of a front: both ends, the rest evenly in log(1 + n)."""
    p = len(front.mean_n)
    if p <= n_samples:
        return front
    x = np.log1p(front.mean_n)
    targets = np.linspace(x[0], x[-1], n_samples)
    idx = np.unique(np.concatenate([[0, p - 1], np.searchsorted(x, targets).clip(0, p - 1)]))
    # Fill up to n_samples with the points farthest (in x) from the chosen ones.
    while len(idx) < n_samples:
        gaps = np.diff(x[idx])
        gaps[np.diff(idx) < 2] = -1.0  # no point left between these two
        g = int(np.argmax(gaps))
        if gaps[g] < 0:
            break
        mid = int(np.searchsorted(x, (x[idx[g]] + x[idx[g + 1]]) / 2))
        mid = min(max(mid, idx[g] + 1), idx[g + 1] - 1)
        idx = np.unique(np.append(idx, mid))
    return Front(front.mean_n[idx], front.quality[idx], front.best[idx], front.counts[idx])


def _list_front(best: np.ndarray, mean_n: np.ndarray, grid: np.ndarray, list_id: int,
                n_lists: int) -> Front:
    """The front of one list: its grid points (quality is non-decreasing along the grid)."""
    counts = np.zeros((len(grid), n_lists), dtype=np.int64)
    counts[:, list_id] = grid
    quality = best.mean(axis=0).astype(np.float64) if best.shape[0] else np.zeros(len(grid))
    keep = pareto_front(mean_n, quality)
    return Front(mean_n[keep].astype(np.float64), quality[keep], best[:, keep].T.copy(),
                 counts[keep])


def combine_fronts(a: Front, b: Front, n_samples: int = S_SAMPLES) -> Front:
    """Pareto front of all combinations of a point of ``a`` and one of ``b``.

    Each side may also contribute nothing. The result is sampled to ``n_samples`` points.
    """
    n_obj = a.best.shape[1]
    zero_a = Front(np.zeros(1), np.zeros(1), np.zeros((1, n_obj), np.float32),
                   np.zeros((1, a.counts.shape[1]), np.int64))
    ea = _concat(zero_a, a)
    eb = _concat(Front(zero_a.mean_n, zero_a.quality, zero_a.best,
                       np.zeros((1, b.counts.shape[1]), np.int64)), b)
    pa, pb = len(ea.mean_n), len(eb.mean_n)
    cost = (ea.mean_n[:, None] + eb.mean_n[None, :]).ravel()
    quality = np.empty((pa, pb))
    for i in range(pa):
        quality[i] = np.maximum(ea.best[i][None, :], eb.best).mean(axis=1) if n_obj else 0.0
    quality = quality.ravel()
    valid = np.ones(pa * pb, dtype=bool)
    valid[0] = False  # nothing from either
    idx = np.flatnonzero(valid)
    keep = idx[pareto_front(cost[idx], quality[idx])]
    ia, ib = np.divmod(keep, pb)
    best = np.maximum(ea.best[ia], eb.best[ib])
    front = Front(cost[keep], quality[keep], best, ea.counts[ia] + eb.counts[ib])
    return sample_front(front, n_samples)


def _concat(x: Front, y: Front) -> Front:
    return Front(np.concatenate([x.mean_n, y.mean_n]), np.concatenate([x.quality, y.quality]),
                 np.concatenate([x.best, y.best]), np.concatenate([x.counts, y.counts]))


def learn_working_points(best: np.ndarray, mean_n: np.ndarray, n_trees: int,
                         grid=DEFAULT_GRID, n_samples: int = S_SAMPLES) -> "WorkingPoints":
    """Combine the ``4 T`` list fronts (per size across hierarchies, then sizes).

    Parameters
    ----------
    best, mean_n : outputs of :func:`collect_list_stats` (lists ordered ``s * T + t``).
    n_trees : T.
    grid : the grid used for the statistics.
    n_samples : S, points kept per front.

    Returns
    -------
    WorkingPoints
    """
    grid = np.asarray(grid, dtype=np.int64)
    n_lists = MAX_REGIONS * n_trees
    if best.shape[0] != n_lists or mean_n.shape != (n_lists, len(grid)):
        raise ValueError(f"statistics do not match {MAX_REGIONS} x {n_trees} lists and a grid "
                         f"of {len(grid)}")
    fronts = [sample_front(_list_front(best[l], mean_n[l], grid, l, n_lists), n_samples)
              for l in range(n_lists)]
    size_fronts = []
    for s in range(MAX_REGIONS):
        f = fronts[s * n_trees]
        for t in range(1, n_trees):
            f = combine_fronts(f, fronts[s * n_trees + t], n_samples)
        size_fronts.append(f)
    f = size_fronts[0]
    for s in range(1, MAX_REGIONS):
        f = combine_fronts(f, size_fronts[s], n_samples)
    counts = f.counts.reshape(len(f.mean_n), MAX_REGIONS, n_trees)
    return WorkingPoints(f.mean_n, f.quality, counts)


@dataclass
class WorkingPoints:
    """Learned working points: how many candidates to take from each list.

    Attributes
    ----------
    mean_n : (P,) float64, mean number of candidates per training image (increasing).
    quality : (P,) float64, mean best Jaccard reached on the training objects.
    n_cands : (P, 4, T) int64, candidates of 1..4 regions taken from each hierarchy.
    """

    mean_n: np.ndarray
    quality: np.ndarray
    n_cands: np.ndarray

    def n_cands_for(self, n: float) -> np.ndarray:
        """The best working point using at most ``n`` candidates on average.

        Returns the cheapest point when every point uses more than ``n``. Shape (4, T).
        """
        n = float(n)
        if not np.isfinite(n) or n <= 0:
            raise ValueError(f"the number of candidates must be positive, got {n}")
        ok = np.flatnonzero(self.mean_n <= n)
        i = int(ok[np.argmax(self.quality[ok])]) if len(ok) else 0
        return self.n_cands[i].copy()

    def save(self, path) -> Path:
        """Write to ``.npz`` (plain arrays)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, format=np.array(_WP_FORMAT), mean_n=self.mean_n,
                            quality=self.quality, n_cands=self.n_cands)
        return path

    @classmethod
    def load(cls, path) -> "WorkingPoints":
        """Read a file written by :meth:`save` (FileNotFoundError, ValueError)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"working-point file not found: {path}")
        with np.load(path, allow_pickle=False) as d:
            if "format" not in d.files or str(d["format"]) != _WP_FORMAT:
                raise ValueError(f"{path}: not a working-point file ({_WP_FORMAT})")
            wp = cls(d["mean_n"].astype(np.float64), d["quality"].astype(np.float64),
                     d["n_cands"].astype(np.int64))
        if wp.n_cands.ndim != 3 or wp.n_cands.shape[1] != MAX_REGIONS or len(wp.mean_n) != len(
                wp.n_cands) or np.any(wp.n_cands < 0):
            raise ValueError(f"{path}: inconsistent working-point arrays")
        return wp


def train_working_points(samples: Iterable[tuple[Sequence[MergeTree], np.ndarray]],
                         grid=DEFAULT_GRID, n_samples: int = S_SAMPLES) -> WorkingPoints:
    """Learn the working points of a training set (statistics, fronts, combination).

    Parameters
    ----------
    samples : iterable of (trees, gt_masks)
        Per training image: its T hierarchies (the same T for all, in the order the
        candidate stage gets them) and its objects, (K, H, W) bool with K >= 1.
    grid : (G,) int
        Candidate counts at which each list is evaluated.
    n_samples : int
        S, points kept per front.

    Returns
    -------
    WorkingPoints

    Raises
    ------
    ValueError
        If ``samples`` is empty or the images have different numbers of hierarchies.
    """
    n_trees = []

    def counted():
        for trees, masks in samples:
            trees = list(trees)
            n_trees.append(len(trees))
            yield trees, masks

    best, mean_n = collect_list_stats(counted(), grid)
    return learn_working_points(best, mean_n, n_trees[0], grid, n_samples)
