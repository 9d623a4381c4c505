"""Duplicate removal, diversity re-ranking and box reduction of scored candidates.

Steps 4-6 of the candidate stage (:mod:`grouping.ranking`): duplicates with Jaccard > 0.95
are dropped (:func:`remove_duplicates`); the candidates are re-ranked greedily by a value of
their score and of their largest Jaccard with those already taken (:func:`mmr_order`, rules
``"decay"`` and MCG's ``"mmr"``); optionally boxes with IoU > 0.95 with a better one are
dropped (:func:`box_reduction`).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from grouping.overlaps import OverlapIndex, pair_intersection

__all__ = ["J_DUPLICATE", "THETA_MMR", "DECAY_GAMMA", "RERANK_RULES", "IOU_BOX",
           "remove_duplicates", "mmr_order", "box_reduction"]

J_DUPLICATE = 0.95
THETA_MMR = 0.7
DECAY_GAMMA = 2.0
RERANK_RULES = ("decay", "mmr")
IOU_BOX = 0.95


# ----------------------------------------------------------------------------------------
# Duplicates, MMR, boxes
# ----------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _box_inter(boxes, i, j):
    w = min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0])
    h = min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1])
    if w <= 0 or h <= 0:
        return 0.0
    return float(w) * float(h)


@njit(cache=True, nogil=True)
def _dedup(order, areas, boxes, j_th, cand_tree, lo, hi, clo, chi, prefix, tab, tab_off,
           tab_cols, hole_idx, hole_off, leaf_rank, area, mark):
    n = order.shape[0]
    width = -np.log(j_th) + 1e-12
    n_buckets = int(np.log(max(areas.max(), 1) + 1.0) / width) + 3
    head = np.full(n_buckets, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    kept = np.empty(n, dtype=np.int64)
    n_kept = 0
    for k in range(n):
        i = order[k]
        ai = areas[i]
        bk = int(np.log(max(ai, 1)) / width) + 1
        dup = False
        for bb in range(bk - 1, bk + 2):
            if bb < 0 or bb >= n_buckets or dup:
                continue
            m = head[bb]
            while m >= 0:
                j = kept[m]
                aj = areas[j]
                big = max(ai, aj)
                if min(ai, aj) >= j_th * big and _box_inter(boxes, i, j) >= j_th * big:
                    inter = pair_intersection(i, j, cand_tree, lo, hi, clo, chi, prefix, tab,
                                          tab_off, tab_cols, hole_idx, hole_off, leaf_rank,
                                          area, mark)
                    union = ai + aj - inter
                    if union > 0 and inter > j_th * union:
                        dup = True
                        break
                m = nxt[m]
        if not dup:
            kept[n_kept] = i
            nxt[n_kept] = head[bk]
            head[bk] = n_kept
            n_kept += 1
    return kept[:n_kept].copy()


def remove_duplicates(index: OverlapIndex, boxes, order, j_th: float = J_DUPLICATE):
    """Drop candidates whose Jaccard with a better one (earlier in ``order``) is > ``j_th``.

    Parameters
    ----------
    index : OverlapIndex
    boxes : (N, 4) ``[x0, y0, x1, y1)`` boxes of the (filled) candidates.
    order : (M,) int, candidates in priority order (best first).
    j_th : float

    Returns
    -------
    (K,) int64: the kept candidates, in ``order``'s order.
    """
    order = np.ascontiguousarray(order, dtype=np.int64)
    if len(order) == 0:
        return order
    return _dedup(order, index.areas, np.ascontiguousarray(boxes, dtype=np.float64),
                  float(j_th), *index._args())


@njit(cache=True, nogil=True)
def _rerank_value(score, max_j, multiplicative, theta, gamma):
    if multiplicative:
        return score * (1.0 - max_j) ** gamma
    return theta * score - (1.0 - theta) * max_j


@njit(cache=True, nogil=True)
def _mmr(cands, scores, multiplicative, theta, gamma, areas, boxes, cand_tree, lo, hi, clo, chi, prefix, tab, tab_off,
         tab_cols, hole_idx, hole_off, leaf_rank, area, mark):
    m = cands.shape[0]
    max_j = np.zeros(m, dtype=np.float64)
    # each remaining candidate's value, recomputed only when its max_j rises
    value = np.empty(m, dtype=np.float64)
    for k in range(m):
        value[k] = _rerank_value(scores[k], 0.0, multiplicative, theta, gamma)
    remaining = np.arange(m)
    n_rem = m
    out = np.empty(m, dtype=np.int64)
    out_score = np.empty(m, dtype=np.float64)
    for step in range(m):
        best_pos = -1
        best_v = -np.inf
        for r in range(n_rem):
            k = remaining[r]
            v = value[k]
            if v > best_v or (v == best_v and k < remaining[best_pos]):
                best_v = v
                best_pos = r
        best = remaining[best_pos]
        # Remove it keeping the remaining list in increasing order (ties -> first).
        for r in range(best_pos, n_rem - 1):
            remaining[r] = remaining[r + 1]
        n_rem -= 1
        out[step] = best
        out_score[step] = best_v
        i = cands[best]
        ai = areas[i]
        for r in range(n_rem):
            k = remaining[r]
            j = cands[k]
            bi = _box_inter(boxes, i, j)
            if bi <= 0.0:
                continue
            aj = areas[j]
            # Upper bound of the Jaccard from areas and boxes: skip when it cannot raise max_j.
            u = min(bi, float(min(ai, aj)))
            if u / (ai + aj - u) <= max_j[k]:
                continue
            inter = pair_intersection(i, j, cand_tree, lo, hi, clo, chi, prefix, tab, tab_off,
                                  tab_cols, hole_idx, hole_off, leaf_rank, area, mark)
            union = ai + aj - inter
            if union > 0:
                jac = inter / union
                if jac > max_j[k]:
                    max_j[k] = jac
                    value[k] = _rerank_value(scores[k], jac, multiplicative, theta, gamma)
    return out, out_score


def mmr_order(index: OverlapIndex, boxes, candidates, scores, theta: float = THETA_MMR,
              rule: str = "mmr", gamma: float = DECAY_GAMMA):
    """Diversity re-ranking: Maximum Marginal Relevance or multiplicative decay.

    Greedily takes, among the remaining candidates, the one maximizing its value given
    ``J`` = max(Jaccard with the candidates already taken) (first in ``candidates`` order on
    ties): ``theta * score - (1 - theta) * J`` for ``rule="mmr"``, or
    ``score * (1 - J) ** gamma`` for ``rule="decay"``.

    Parameters
    ----------
    index : OverlapIndex
    boxes : (N, 4) boxes of all candidates of the index.
    candidates : (M,) int, the candidates to order.
    scores : (M,) float, their scores (``>= 0`` for ``"decay"``).
    theta : float in [0, 1], MMR trade-off (``"mmr"`` only).
    rule : "mmr" or "decay".
    gamma : float > 0, decay exponent (``"decay"`` only).

    Returns
    -------
    order : (M,) int64, positions into ``candidates`` in selection order.
    values : (M,) float64, the maximized value at each selection (non-increasing).
    """
    if rule not in RERANK_RULES:
        raise ValueError(f"rule must be one of {RERANK_RULES}, got {rule!r}")
    if not 0.0 <= theta <= 1.0:
        raise ValueError(f"theta must be in [0, 1], got {theta}")
    if not gamma > 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    candidates = np.ascontiguousarray(candidates, dtype=np.int64)
    scores = np.ascontiguousarray(scores, dtype=np.float64)
    if scores.shape != candidates.shape:
        raise ValueError(f"scores has shape {scores.shape}, candidates {candidates.shape}")
    if rule == "decay" and len(scores) and scores.min() < 0:
        raise ValueError("the decay rule needs non-negative scores")
    if len(candidates) == 0:
        return candidates.copy(), scores.copy()
    return _mmr(candidates, scores, rule == "decay", float(theta), float(gamma), index.areas,
                np.ascontiguousarray(boxes, dtype=np.float64), *index._args())


@njit(cache=True, nogil=True)
def _box_reduction(boxes, iou_th):
    n = boxes.shape[0]
    keep = np.zeros(n, dtype=np.bool_)
    kept = np.empty(n, dtype=np.int64)
    n_kept = 0
    for i in range(n):
        ai = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
        ok = True
        for m in range(n_kept):
            j = kept[m]
            inter = _box_inter(boxes, i, j)
            if inter <= 0.0:
                continue
            aj = (boxes[j, 2] - boxes[j, 0]) * (boxes[j, 3] - boxes[j, 1])
            if inter > iou_th * (ai + aj - inter):
                ok = False
                break
        if ok:
            keep[i] = True
            kept[n_kept] = i
            n_kept += 1
    return keep


def box_reduction(boxes, iou_th: float = IOU_BOX) -> np.ndarray:
    """Keep-mask dropping boxes with IoU > ``iou_th`` with a better-ranked kept box.

    Parameters
    ----------
    boxes : (N, 4) ``[x0, y0, x1, y1)`` boxes in rank order.

    Returns
    -------
    (N,) bool.
    """
    boxes = np.ascontiguousarray(boxes, dtype=np.float64).reshape(-1, 4)
    return _box_reduction(boxes, float(iou_th))
