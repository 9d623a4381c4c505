"""The candidate stage: candidates, hole filling, scoring, duplicate removal, re-ranking.

The candidate stage (:func:`proposals_from_trees`) follows MCG (paper sections 5-6,
``im2mcg.m`` of the public release):

1. candidates of 1..4 regions from every hierarchy (:mod:`grouping.candidates`);
2. holes filled on the base-leaf graph (:func:`fill_holes`): a connected group of leaves
   outside the candidate that touches neither the image frame nor anything outside the
   candidate's bounding box is added to it;
3. features (:mod:`grouping.features`) and a score: a random-forest regression of the best
   overlap with a ground-truth object, raised to :data:`TARGET_POWER` (3)
   (:class:`RegressionForest`), or without a trained
   model the *untrained fallback* score ``min(end_ths)`` of the candidate's regions (the UCM
   strength up to which all its regions exist: higher means a more salient grouping);
4. duplicates removed: in the order of the stacked lists (as MCG), a candidate whose
   Jaccard with an already kept one is > 0.95 is dropped (:func:`remove_duplicates`) --
   before hole filling and once more after it (steps 2-4 run as 4, 2, 4, 3);
5. diversity re-ranking (:func:`mmr_order`): greedily take the candidate maximizing a value
   of its score and of its largest Jaccard ``J`` with the candidates already taken; the value
   at selection time is the output score (non-increasing). Two rules:

   * ``"decay"`` (default): ``score * (1 - J) ** gamma``, ``gamma = 2`` -- a multiplicative
     decay as in Soft-NMS; a weak candidate stays weak however new it is;
   * ``"mmr"``: MCG's Maximum Marginal Relevance ``theta * score - (1 - theta) * J``,
     ``theta = 0.7``, where a poor but non-overlapping candidate can pass good ones.

   On the 64 held-out COCO images, with the same hierarchies and ranker, the decay rule raised box recall at IoU 0.7 from 0.202 to 0.250 at 100
   proposals and from 0.379 to 0.465 at 1000, and mask ABO from 0.401 to 0.423 at 100 and
   from 0.556 to 0.588 at 1000 (``benchmarks/bench_reranking.py``);
6. optionally (box proposals) box reduction (:func:`box_reduction`): a candidate whose box
   has IoU > 0.95 with the box of a better-ranked kept one is dropped.

All Jaccard indices are exact and come from per-leaf areas, never from masks
(:class:`OverlapIndex`): a candidate is at most 4 contiguous ranges in its tree's
depth-first order of base leaves, plus the leaves of its filled holes. Same-tree range
intersections are prefix-sum differences; cross-tree ones are 2-D prefix sums over the pair
of orders, with coordinates compressed to the range bounds actually used.

Modules of the steps: :mod:`grouping.holes` (2), :mod:`grouping.ranker` (3, the regression
forest), :mod:`grouping.overlaps` (exact Jaccard indices), :mod:`grouping.diversity` (4-6).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from numba import njit

from grouping.candidates import (CandidateSet, candidates_from_trees, default_n_cands,
                                 MAX_REGIONS)
from grouping.diversity import (DECAY_GAMMA, J_DUPLICATE, THETA_MMR, box_reduction,
                                mmr_order, remove_duplicates)
from grouping.features import (LeafGeometry, candidate_features, leaf_geometry)
from grouping.hierarchy import MergeTree, max_ucm2
from grouping.holes import filled_candidate_sums, gather_filled_leaves
from grouping.overlaps import OverlapIndex
from grouping.ranker import TARGET_POWER, RegressionForest, train_forest, untrained_scores

__all__ = ["CandidateStage", "candidate_stage", "proposals_from_trees", "best_jaccards",
           "train_ranker"]


@njit(cache=True, nogil=True)
def _range_boxes(cand_tree, lo, hi, leaf_order, box):
    """Boxes of candidates given as leaf ranges (sparse-table range min/max per tree)."""
    n_trees, n_base = leaf_order.shape
    levels = 1
    while (1 << levels) <= n_base:
        levels += 1
    st = np.empty((n_trees, levels, n_base, 4), dtype=np.int64)
    for t in range(n_trees):
        for p in range(n_base):
            for c in range(4):
                st[t, 0, p, c] = box[leaf_order[t, p], c]
        for k in range(1, levels):
            half = 1 << (k - 1)
            for p in range(n_base - (1 << k) + 1):
                st[t, k, p, 0] = min(st[t, k - 1, p, 0], st[t, k - 1, p + half, 0])
                st[t, k, p, 1] = min(st[t, k - 1, p, 1], st[t, k - 1, p + half, 1])
                st[t, k, p, 2] = max(st[t, k - 1, p, 2], st[t, k - 1, p + half, 2])
                st[t, k, p, 3] = max(st[t, k - 1, p, 3], st[t, k - 1, p + half, 3])
    n = cand_tree.shape[0]
    out = np.empty((n, 4), dtype=np.int64)
    for i in range(n):
        t = cand_tree[i]
        x0 = 1 << 62
        y0 = 1 << 62
        x1 = -1
        y1 = -1
        for q in range(lo.shape[1]):
            a = lo[i, q]
            b = hi[i, q]
            if b <= a:
                continue
            k = 0
            while (1 << (k + 1)) <= b - a:
                k += 1
            c = b - (1 << k)
            x0 = min(x0, min(st[t, k, a, 0], st[t, k, c, 0]))
            y0 = min(y0, min(st[t, k, a, 1], st[t, k, c, 1]))
            x1 = max(x1, max(st[t, k, a, 2], st[t, k, c, 2]))
            y1 = max(y1, max(st[t, k, a, 3], st[t, k, c, 3]))
        out[i, 0] = x0
        out[i, 1] = y0
        out[i, 2] = x1
        out[i, 3] = y1
    return out


# ----------------------------------------------------------------------------------------
# The whole candidate stage
# ----------------------------------------------------------------------------------------


@dataclass
class CandidateStage:
    """Intermediate products of :func:`candidate_stage` (for training and inspection).

    Attributes
    ----------
    cset : CandidateSet, all candidates before any filtering.
    geometry : LeafGeometry of the base partition.
    hole_indices, hole_offsets : CSR of the leaves added by hole filling.
    index : OverlapIndex
    areas : (N,) int64, boxes : (N, 4) int64, perimeters : (N,) int64,
    contour_sums : (N,) float64 -- of the filled candidates.
    features : (N, F) float32.
    timings : dict of seconds per step.
    """

    cset: CandidateSet
    geometry: LeafGeometry
    hole_indices: np.ndarray
    hole_offsets: np.ndarray
    index: OverlapIndex
    areas: np.ndarray
    boxes: np.ndarray
    perimeters: np.ndarray
    contour_sums: np.ndarray
    features: np.ndarray
    timings: dict

    def filled_csr(self, index=None) -> tuple[np.ndarray, np.ndarray]:
        """Sorted CSR leaf sets (after hole filling) of candidates ``index`` (all if None)."""
        c = self.cset
        index = (np.arange(c.n_candidates) if index is None
                 else np.atleast_1d(np.asarray(index, dtype=np.int64)))
        return gather_filled_leaves(index, c.tree, c.range_lo, c.range_hi, c.leaf_order,
                              self.hole_indices, self.hole_offsets)

    def filled_mask(self, i: int) -> np.ndarray:
        """(H, W) bool mask of candidate ``i`` after hole filling."""
        lookup = np.zeros(self.cset.n_leaves, dtype=bool)
        lookup[self.filled_csr([i])[0]] = True
        return lookup[self.cset.superpixels]


def _region_areas(cset: CandidateSet, index: OverlapIndex) -> np.ndarray:
    t = cset.tree
    ra = np.empty((cset.n_candidates, MAX_REGIONS), dtype=np.float64)
    for q in range(MAX_REGIONS):
        ra[:, q] = index.prefix[t, cset.range_hi[:, q]] - index.prefix[t, cset.range_lo[:, q]]
    ra[cset.regions < 0] = np.nan
    return ra


def default_contours(trees: Sequence[MergeTree]) -> np.ndarray:
    """Pixel-wise maximum of the trees' ucm2 maps (MCG's contour map for features)."""
    return max_ucm2(trees)


def candidate_stage(trees: Sequence[MergeTree], n_cands=None, contours=None,
                    fill: bool = True, j_duplicate: float | None = J_DUPLICATE) -> CandidateStage:
    """Candidates, duplicate removal, hole filling, overlap index and features (no scoring).

    Duplicates are removed in the order of the stacked lists (tree, number of regions, rank;
    as MCG): first on the candidates as generated (cheap, exact), then once more after hole
    filling (two candidates may differ only by a hole).

    Parameters
    ----------
    trees : T MergeTree of one image.
    n_cands : (4, T) ints or None (:func:`grouping.candidates.default_n_cands`).
    contours : None (max of the trees' ucm2), (H, W) or (2H+1, 2W+1) contour map.
    fill : bool, fill holes.
    j_duplicate : Jaccard above which a candidate is a duplicate (0.95); None keeps all.

    Returns
    -------
    CandidateStage
        Its ``cset`` holds the candidates left after both duplicate removals.
    """
    timings = {}
    t0 = time.perf_counter()
    trees = list(trees)
    if not trees:
        raise ValueError("need at least one merge tree")
    if n_cands is None:
        n_cands = default_n_cands(len(trees))
    cset = candidates_from_trees(trees, n_cands)
    t1 = time.perf_counter()
    timings["candidates"] = t1 - t0
    if contours is None:
        contours = default_contours(trees)
    geometry = leaf_geometry(cset.superpixels, contours)
    t2 = time.perf_counter()
    timings["geometry"] = t2 - t1
    if j_duplicate is not None:
        plain = OverlapIndex(cset, geometry.area)
        boxes0 = _range_boxes(cset.tree, cset.range_lo, cset.range_hi, cset.leaf_order,
                              geometry.box)
        kept = remove_duplicates(plain, boxes0, np.arange(cset.n_candidates), j_duplicate)
        cset = cset.subset(kept)
    t3 = time.perf_counter()
    timings["duplicates"] = t3 - t2
    c_area, c_box, c_perim, c_cont, hole_idx, hole_off = filled_candidate_sums(
        cset.tree, cset.range_lo, cset.range_hi, cset.leaf_order, geometry.n_leaves,
        geometry.area, geometry.box, geometry.frame, geometry.adj_ptr, geometry.adj_leaf,
        geometry.adj_len, geometry.adj_contour, geometry.frame > 0, bool(fill))
    t4 = time.perf_counter()
    timings["sums_holes"] = t4 - t3
    index = OverlapIndex(cset, geometry.area, hole_idx, hole_off)
    if j_duplicate is not None and len(hole_idx):
        kept = remove_duplicates(index, c_box, np.arange(cset.n_candidates), j_duplicate)
        if len(kept) < cset.n_candidates:
            lengths = np.diff(hole_off)[kept]
            new_off = np.zeros(len(kept) + 1, dtype=np.int64)
            np.cumsum(lengths, out=new_off[1:])
            gather = np.repeat(hole_off[kept] - new_off[:-1], lengths) + np.arange(new_off[-1])
            hole_idx, hole_off = hole_idx[gather], new_off
            cset = cset.subset(kept)
            c_area, c_box, c_perim, c_cont = c_area[kept], c_box[kept], c_perim[kept], c_cont[kept]
            index = OverlapIndex(cset, geometry.area, hole_idx, hole_off)
    t5 = time.perf_counter()
    timings["overlap_index"] = t5 - t4
    feats = candidate_features(geometry, None, None, _region_areas(cset, index),
                               cset.start_ths, cset.end_ths,
                               sums=(c_area, c_box, c_perim, c_cont), hierarchy=cset.tree)
    timings["features"] = time.perf_counter() - t5
    return CandidateStage(cset, geometry, hole_idx, hole_off, index, c_area, c_box, c_perim,
                          c_cont, feats, timings)


def proposals_from_trees(trees: Sequence[MergeTree], contours=None, model=None, n_cands=None,
                         n_proposals: int | None = None, rerank: str = "decay",
                         theta: float = THETA_MMR, gamma: float = DECAY_GAMMA,
                         j_duplicate: float = J_DUPLICATE, iou_box: float | None = None,
                         mmr_max: int = 3000, return_stage: bool = False):
    """The whole candidate stage: hierarchies to ranked proposals.

    Parameters
    ----------
    trees : sequence of T MergeTree (e.g. MCG's multiscale, 0.5, 1, 2 hierarchies).
    contours : None, (H, W) or (2H+1, 2W+1) float contour map for the boundary features
        (None: the maximum of the trees' ucm2, as MCG).
    model : RegressionForest, path to its ``.npz``, or None for the untrained fallback
        (:func:`untrained_scores`).
    n_cands : (4, T) ints, the working point (:meth:`grouping.pareto.WorkingPoints.n_cands_for`);
        None: :func:`grouping.candidates.default_n_cands`.
    n_proposals : int or None, keep at most this many proposals.
    rerank : "decay" (default, ``score * (1 - J) ** gamma``) or "mmr" (MCG's
        ``theta * score - (1 - theta) * J``); see :func:`mmr_order`.
    theta : MMR trade-off (0.7), for ``rerank="mmr"``.
    gamma : decay exponent (2), for ``rerank="decay"``.
    j_duplicate : Jaccard above which a candidate is a duplicate (0.95).
    iou_box : None (default) or a box IoU (MCG: 0.95) above which a candidate is dropped
        after MMR. Off by default for mask proposals: every candidate touching the four
        image sides has the full-image box, so the box step would keep only one of them;
        use it when only boxes are wanted.
    mmr_max : int, the re-ranking orders the ``mmr_max`` best-scored candidates (quadratic
        cost); the others follow in score order with the value they would have at ``J = 1``
        (``theta * score - (1 - theta)``, or 0 for the decay; never above a re-ranked value,
        so that the output stays sorted).

    Returns
    -------
    grouping.proposal_format.Proposals (and the CandidateStage when ``return_stage``).
    """
    from grouping.proposal_format import Proposals

    stage = candidate_stage(trees, n_cands, contours, j_duplicate=j_duplicate)
    t0 = time.perf_counter()
    if model is None:
        scores = untrained_scores(stage.cset)
    else:
        if not isinstance(model, RegressionForest):
            model = RegressionForest.load(model)
        scores = model.predict(stage.features)
    t1 = time.perf_counter()
    stage.timings["scoring"] = t1 - t0
    kept = np.lexsort((np.arange(len(scores)), -scores))
    head = kept[:mmr_max]
    if rerank == "decay":
        scores = np.maximum(scores, 0.0)
    mmr_pos, mmr_scores = mmr_order(stage.index, stage.boxes, head, scores[head], theta,
                                    rerank, gamma)
    final = np.concatenate([head[mmr_pos], kept[mmr_max:]])
    tail = kept[mmr_max:]
    tail_scores = (np.zeros(len(tail)) if rerank == "decay"
                   else theta * scores[tail] - (1 - theta))
    final_scores = np.concatenate([mmr_scores, tail_scores])
    t3 = time.perf_counter()
    stage.timings["mmr"] = t3 - t1
    if iou_box is not None:
        keep = box_reduction(stage.boxes[final], iou_box)
        final, final_scores = final[keep], final_scores[keep]
    if n_proposals is not None:
        final, final_scores = final[: int(n_proposals)], final_scores[: int(n_proposals)]
    # Guard tiny float inversions between the MMR block and the tail.
    final_scores = np.minimum.accumulate(final_scores)
    indices, offsets = stage.filled_csr(final)
    props = Proposals.from_csr(stage.cset.superpixels, indices, offsets, final_scores,
                               boxes=stage.boxes[final].astype(np.float32), sort=False)
    stage.timings["output"] = time.perf_counter() - t3
    if return_stage:
        return props, stage
    return props


def best_jaccards(stage: CandidateStage, gt_masks: np.ndarray) -> np.ndarray:
    """Best Jaccard of every (filled) candidate with any of the objects, (N,) float64."""
    import scipy.sparse

    gt_masks = np.asarray(gt_masks, dtype=bool)
    sp = stage.cset.superpixels.ravel()
    n_leaves = stage.cset.n_leaves
    n = stage.cset.n_candidates
    if len(gt_masks) == 0:
        return np.zeros(n)
    table = np.stack([np.bincount(sp[m.ravel()], minlength=n_leaves) for m in gt_masks])
    idx, off = stage.filled_csr()
    ind = scipy.sparse.csr_matrix((np.ones(len(idx)), idx, off), shape=(n, n_leaves))
    inter = np.asarray(ind @ table.T.astype(np.float64))  # (N, K)
    gt_area = gt_masks.reshape(len(gt_masks), -1).sum(axis=1)
    union = stage.areas[:, None] + gt_area[None, :] - inter
    return (inter / np.maximum(union, 1)).max(axis=1)


def train_ranker(samples: Iterable[tuple[Sequence[MergeTree], np.ndarray]], n_cands=None,
                 per_image: int = 3000, n_trees: int = 50, max_depth: int = 16, seed: int = 0,
                 target_power: float = TARGET_POWER, log=None) -> tuple[RegressionForest, dict]:
    """Fit the ranking forest on the candidates of training images.

    Each image's candidates come from :func:`candidate_stage` at ``n_cands``; their target is
    (best Jaccard with one of the image's objects) ** ``target_power``. At most ``per_image``
    candidates per image are used, drawn uniformly with a generator seeded by ``seed`` (the
    same samples give the same forest).

    Parameters
    ----------
    samples : iterable of (trees, gt_masks)
        Per training image: its hierarchies (in the candidate stage's order) and its objects,
        (K, H, W) bool with K >= 1.
    n_cands : (4, T) int, optional
        Candidates taken from each list (a working point, :meth:`WorkingPoints.n_cands_for`);
        None: :func:`grouping.candidates.default_n_cands`.
    per_image : int
        Candidates sampled per image.
    n_trees, max_depth : int
        Forest size (:func:`grouping.ranker.train_forest`).
    seed : int
        Seed of the sampling and of the forest.
    target_power : float
        Exponent of the regression target (> 0).
    log : callable, optional
        Called with a message when the forest fitting starts (the longest silent step).

    Returns
    -------
    forest : RegressionForest
    info : dict
        ``n_images``, ``n_samples`` and ``train_mae`` (mean absolute training error).

    Raises
    ------
    ValueError
        If ``samples`` is empty, ``target_power`` is not positive or an image's number of
        hierarchies does not match ``n_cands``.
    """
    if not target_power > 0:
        raise ValueError(f"target_power must be positive, got {target_power}")
    rng = np.random.default_rng(seed)
    feats, targets = [], []
    for trees, masks in samples:
        trees = list(trees)
        if n_cands is not None and np.shape(n_cands)[1] != len(trees):
            raise ValueError(f"an image has {len(trees)} hierarchies but the working point is "
                             f"for {np.shape(n_cands)[1]}")
        stage = candidate_stage(trees, n_cands)
        y = best_jaccards(stage, masks) ** target_power
        pick = np.arange(len(y))
        if len(pick) > per_image:
            pick = np.sort(rng.choice(len(y), per_image, replace=False))
        feats.append(stage.features[pick])
        targets.append(y[pick])
    if not feats:
        raise ValueError("no training images")
    x = np.concatenate(feats)
    y = np.concatenate(targets)
    if log is not None:
        log(f"fitting the ranking forest: {len(y)} candidates of {len(feats)} images, "
            f"{n_trees} trees")
    forest = train_forest(x, y, n_trees, max_depth, seed=seed)
    info = {"n_images": len(feats), "n_samples": int(len(y)),
            "train_mae": float(np.abs(forest.predict(x) - y).mean())}
    return forest, info
