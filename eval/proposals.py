"""Object-proposal benchmark: instance ABO, recalls, average recall and class Jaccard.

For every non-crowd ground-truth instance and every budget ``N`` (the ``N`` best-ranked
proposals of its image; ``N`` in 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 and "all"),
the benchmark finds the proposal of best Jaccard index (IoU) with the instance and reports,
over all instances of the dataset:

* ``abo`` - mean best IoU ("average best overlap", MCG's "Jaccard at instance level" J_i);
* ``recall@t`` for ``t`` in 0.5, 0.7, 0.85 - fraction of instances whose best IoU is >= t;
* ``ar`` - average recall: mean of the recalls at IoU 0.5, 0.55, ..., 0.95;
* ``jaccard_class`` - MCG's "Jaccard at class level" J_c (below);
* the same ``abo`` / recalls / ``ar`` for bounding boxes (``box_*``), comparing each
  instance's tight box with the proposals' boxes.

Jaccard at class level follows the MCG release (``eval_proposals.m``): for each instance,
take the best proposal (the one of maximal IoU among the top ``N``) and its intersection,
false positives and false negatives in pixels; for each category sum these counts over all
its instances of the whole dataset, ``J_c(category) = sum inter / (sum inter + sum fp + sum
fn)``, and average over the categories present. (This pools pixels over the dataset, so
large instances weigh more than in ABO.) An instance of an image with no proposals counts
as intersection 0, false negatives = its area (the MCG code leaves all three at 0 there).

Conventions and choices:

* IoU of masks comes from exact integer pixel counts. For our own leaf-set format the
  intersections come from a superpixel-by-instance overlap table multiplied by the sparse
  proposal-by-leaf indicator matrix (no mask is ever built, so 5000 proposals per image
  are cheap); for RLE masks pycocotools computes intersections on the run-length codes.
* Crowd regions (``iscrowd=1``) are neither targets nor penalties: they are not
  instances to recall, and proposal pixels that fall on a crowd region not covered by
  any non-crowd instance ("void" pixels) are removed from the proposal before scoring, as
  the MCG benchmark does with PASCAL's void label. So a proposal covering an object plus
  an adjacent crowd has the same IoU as the object alone.
* Recalls use ``IoU >= t`` (COCO / Hosang et al.). The MCG release uses ``> t`` for
  recall at 0.5/0.7/0.85 and includes the level 1.0 in its average recall; we follow the
  brief (0.5:0.05:0.95).
* Ranking: proposals are taken in rank order (array order in our ``.npz`` format; for a
  COCO result JSON, sorted per image by descending score, ties keep file order); the top
  ``N`` are the first ``min(N, n_proposals)``. Among equal IoUs the better-ranked wins.
* Boxes: ``[x0, y0, x1, y1]`` with exclusive ``x1, y1`` (see
  :mod:`grouping.proposal_format`); ground-truth boxes are the tight boxes of the instance
  masks (as MCG's ``mask2box``; not COCO's float ``bbox`` field), box IoU uses continuous
  areas ``(x1 - x0) * (y1 - y0)``. Boxes of RLE proposals are the tight boxes of the masks.
* An image with no proposals (empty file, or absent from a COCO result JSON) and an image
  whose proposal file is missing both count as zero overlap for all their instances; each
  is warned about by name and counted in the summary.
"""
from __future__ import annotations

import csv
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from eval.coco_io import (BsdsGroundTruth, CocoGroundTruth, GroundTruthImage, ImageInstances,
                          load_ground_truth, match_images)
from grouping.proposal_format import Proposals, load_proposals

N_VALUES: tuple[int | None, ...] = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, None)
"""Proposal budgets; ``None`` means all proposals of the image."""
RECALL_THRESHOLDS: tuple[float, ...] = (0.5, 0.7, 0.85)
AR_THRESHOLDS: np.ndarray = np.round(np.linspace(0.5, 0.95, 10), 2)


class ProposalBenchmarkWarning(UserWarning):
    """A problem with the input that the benchmark reports but survives."""


def n_label(n: int | None) -> str:
    """Text label of a budget (``"all"`` for None)."""
    return "all" if n is None else str(int(n))


# ---------------------------------------------------------------------------- overlaps
def _instance_boxes(gt_masks: np.ndarray) -> np.ndarray:
    """Tight exclusive boxes (K, 4) float64 of instance masks (zeros for empty masks)."""
    k, height, width = gt_masks.shape
    rows = gt_masks.any(axis=2)
    cols = gt_masks.any(axis=1)
    boxes = np.zeros((k, 4), dtype=np.float64)
    present = rows.any(axis=1)
    boxes[:, 0] = np.argmax(cols, axis=1)
    boxes[:, 1] = np.argmax(rows, axis=1)
    boxes[:, 2] = width - np.argmax(cols[:, ::-1], axis=1)
    boxes[:, 3] = height - np.argmax(rows[:, ::-1], axis=1)
    boxes[~present] = 0
    return boxes


def overlaps_superpixels(proposals: Proposals, gt_masks: np.ndarray,
                         void: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Intersections and valid areas of leaf-set proposals, without building masks.

    Parameters
    ----------
    proposals : Proposals
        ``N`` proposals on an ``(H, W)`` superpixel image.
    gt_masks : ndarray of bool, shape (K, H, W)
    void : ndarray of bool, shape (H, W), optional
        Pixels excluded from the proposals' areas (crowd regions).

    Returns
    -------
    inter : ndarray of int64, shape (K, N)
        Pixels of instance ``k`` inside proposal ``i``.
    area : ndarray of int64, shape (N,)
        Pixels of each proposal outside ``void``.
    """
    sp = proposals.superpixels
    n_leaves = proposals.n_leaves
    flat = sp.ravel()
    gt_flat = np.ascontiguousarray(gt_masks).reshape(len(gt_masks), flat.size)
    table = np.empty((len(gt_masks), n_leaves), dtype=np.float64)
    for k, mask in enumerate(gt_flat):
        table[k] = np.bincount(flat[mask], minlength=n_leaves)
    if void is not None and void.any():
        leaf_area = np.bincount(flat[~void.ravel()], minlength=n_leaves)
    else:
        leaf_area = np.bincount(flat, minlength=n_leaves)
    indicator = proposals.indicator_matrix()
    inter = np.rint(np.asarray(indicator @ table.T).T).astype(np.int64).reshape(
        len(gt_masks), proposals.n_proposals)
    area = np.rint(indicator @ leaf_area.astype(np.float64)).astype(np.int64)
    return inter, area


def _as_rles(masks_or_rles, height: int, width: int, name: str) -> list[dict]:
    """Normalize bool masks (N, H, W) or COCO segmentations to a list of RLE dicts."""
    from pycocotools import mask as mask_utils

    if isinstance(masks_or_rles, np.ndarray):
        masks = masks_or_rles
        if masks.ndim != 3:
            raise ValueError(f"{name}: proposal masks must have shape (N, H, W), "
                             f"got {masks.shape}")
        if masks.shape[1:] != (height, width):
            raise ValueError(f"{name}: proposal masks are {masks.shape[1]}x{masks.shape[2]} but "
                             f"the image is {height}x{width}")
        if len(masks) == 0:
            return []
        return mask_utils.encode(np.asfortranarray(np.moveaxis(masks.astype(np.uint8), 0, -1)))
    rles = []
    for i, seg in enumerate(masks_or_rles):
        if isinstance(seg, dict) and "counts" in seg:
            size = tuple(int(v) for v in seg["size"])
            if size != (height, width):
                raise ValueError(f"{name}: proposal mask {i} is {size[0]}x{size[1]} but the "
                                 f"image is {height}x{width}")
            if isinstance(seg["counts"], list):
                seg = mask_utils.frPyObjects(seg, height, width)
            rles.append(seg)
        elif isinstance(seg, list):  # polygons
            rles.append(mask_utils.merge(mask_utils.frPyObjects(seg, height, width)))
        else:
            raise ValueError(f"{name}: proposal {i} has an unreadable segmentation")
    return rles


#: Largest list ``pycocotools.mask.area`` takes: with NumPy 2, pycocotools 2.0.11 raises
#: OverflowError for 256 or more RLEs at once (it sizes the list in a uint8).
_AREA_CHUNK = 255


def rle_areas(rles: Sequence[dict]) -> np.ndarray:
    """Pixel areas of COCO RLE masks, for any number of them.

    ``pycocotools.mask.area`` is called on chunks of at most 255 RLEs: on a longer list,
    pycocotools 2.0.11 with NumPy 2 fails with an OverflowError.

    Parameters
    ----------
    rles : sequence of dict
        Compressed RLEs (``{"size": [H, W], "counts": bytes or str}``).

    Returns
    -------
    ndarray of int64, shape (N,)
    """
    from pycocotools import mask as mask_utils

    rles = list(rles)
    chunks = [np.asarray(mask_utils.area(rles[i:i + _AREA_CHUNK]), dtype=np.int64).reshape(-1)
              for i in range(0, len(rles), _AREA_CHUNK)]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)


def overlaps_rles(rles: Sequence[dict], gt_masks: np.ndarray,
                  void: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Intersections and valid areas of RLE-encoded proposals.

    Parameters
    ----------
    rles : sequence of dict
        COCO RLEs (``size``, ``counts``) of ``N`` proposals.
    gt_masks : ndarray of bool, shape (K, H, W)
    void : ndarray of bool, shape (H, W), optional

    Returns
    -------
    inter : ndarray of int64, shape (K, N)
    area : ndarray of int64, shape (N,)
        Proposal areas minus their void pixels.
    """
    from pycocotools import mask as mask_utils

    n = len(rles)
    k = len(gt_masks)
    if n == 0:
        return np.zeros((k, 0), dtype=np.int64), np.zeros(0, dtype=np.int64)
    area = rle_areas(rles)
    inter = np.zeros((k, n), dtype=np.int64)
    if k:
        gt_rles = mask_utils.encode(np.asfortranarray(np.moveaxis(gt_masks.astype(np.uint8),
                                                                  0, -1)))
        # With iscrowd=1 pycocotools returns |p & g| / |p|, exact up to rounding.
        ratio = np.asarray(mask_utils.iou(list(rles), gt_rles, [1] * k)).reshape(n, k)
        inter = np.rint(ratio * area[:, None]).astype(np.int64).T
    if void is not None and void.any():
        void_rle = mask_utils.encode(np.asfortranarray(void.astype(np.uint8)))
        ratio = np.asarray(mask_utils.iou(list(rles), [void_rle], [1])).reshape(n)
        area = area - np.rint(ratio * area).astype(np.int64)
    return inter, area


def box_iou_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU of every pair of ``[x0, y0, x1, y1]`` boxes (exclusive upper corners).

    Parameters
    ----------
    boxes_a : ndarray, shape (K, 4)
    boxes_b : ndarray, shape (N, 4)

    Returns
    -------
    ndarray of float64, shape (K, N)
        0 where the union is empty.
    """
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


# ---------------------------------------------------------------------------- per image
@dataclass
class ImageEvaluation:
    """Best overlaps of the instances of one image, for each budget.

    Attributes
    ----------
    image : str
        Image file name.
    category_ids, instance_ids : ndarray of int64, shape (K,)
    gt_areas : ndarray of int64, shape (K,)
    n_proposals : int
        Proposals available for the image.
    n_values : tuple
        Budgets (``None`` = all), ``M`` of them.
    best_iou : ndarray of float64, shape (K, M), or None when there are no masks
    best_index : ndarray of int64, shape (K, M)
        Rank of the best mask proposal (-1 when none).
    best_inter, best_fp, best_fn : ndarray of int64, shape (K, M), or None
        Pixel counts of the best proposal (for the class-level Jaccard).
    best_box_iou : ndarray of float64, shape (K, M)
    status : str
        ``"ok"``, ``"no proposals"`` or ``"missing file"``.
    """

    image: str
    category_ids: np.ndarray
    instance_ids: np.ndarray
    gt_areas: np.ndarray
    n_proposals: int
    n_values: tuple
    best_iou: np.ndarray | None
    best_index: np.ndarray | None
    best_inter: np.ndarray | None
    best_fp: np.ndarray | None
    best_fn: np.ndarray | None
    best_box_iou: np.ndarray
    status: str = "ok"

    @property
    def n_instances(self) -> int:
        return int(len(self.category_ids))

    def n_used(self) -> np.ndarray:
        """Proposals considered at each budget, int64 (M,)."""
        return np.array([self.n_proposals if n is None else min(int(n), self.n_proposals)
                         for n in self.n_values], dtype=np.int64)


def _best_over_budgets(iou: np.ndarray, n_values: Sequence[int | None]
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Best value and its first index among the first ``n`` columns, per budget."""
    k, n = iou.shape
    best = np.zeros((k, len(n_values)), dtype=np.float64)
    index = np.full((k, len(n_values)), -1, dtype=np.int64)
    if n == 0 or k == 0:
        return best, index
    for j, budget in enumerate(n_values):
        m = n if budget is None else min(int(budget), n)
        if m == 0:
            continue
        idx = np.argmax(iou[:, :m], axis=1)
        index[:, j] = idx
        best[:, j] = iou[np.arange(k), idx]
    return best, index


def evaluate_proposals(gt_masks: np.ndarray, proposals=None, *, boxes: np.ndarray | None = None,
                       void: np.ndarray | None = None,
                       category_ids: Sequence[int] | np.ndarray | None = None,
                       instance_ids: Sequence[int] | np.ndarray | None = None,
                       n_values: Sequence[int | None] = N_VALUES,
                       image_name: str = "image") -> ImageEvaluation:
    """Evaluate the ranked proposals of one image against its instances.

    Parameters
    ----------
    gt_masks : ndarray of bool, shape (K, H, W)
        Target instances (non-crowd, non-empty).
    proposals : Proposals, ndarray of bool (N, H, W), list of COCO RLE dicts, or None
        Mask proposals in rank order. None for box-only proposals (then ``boxes`` is
        required and only box metrics are computed).
    boxes : ndarray, shape (N, 4), optional
        ``[x0, y0, x1, y1]`` (exclusive) proposal boxes in rank order. Defaults to
        ``Proposals.boxes`` or the tight boxes of the masks.
    void : ndarray of bool, shape (H, W), optional
        Pixels removed from every proposal (crowd regions not covered by targets).
    category_ids, instance_ids : array_like of int, shape (K,), optional
        Default: all category 1, ids ``0 .. K-1``.
    n_values : sequence of int or None
        Budgets; None is "all proposals".
    image_name : str
        Used in error messages.

    Returns
    -------
    ImageEvaluation

    Raises
    ------
    ValueError
        When a proposal's size differs from the ground truth's, or the counts of boxes
        and masks differ.

    Examples
    --------
    >>> import numpy as np
    >>> from mcg import Proposals, evaluate_proposals
    >>> superpixels = np.array([[0, 0, 1], [2, 2, 1]], dtype=np.int32)
    >>> proposals = Proposals.from_leaf_sets(superpixels, [[1], [0, 2]], scores=[0.9, 0.4])
    >>> gt_masks = np.array([[[1, 1, 0], [1, 1, 0]]], dtype=bool)   # one instance
    >>> result = evaluate_proposals(gt_masks, proposals, n_values=(1, 2))
    >>> result.best_iou                           # best Jaccard within the top 1 and top 2
    array([[0., 1.]])
    """
    from pycocotools import mask as mask_utils

    gt_masks = np.ascontiguousarray(gt_masks, dtype=bool)
    if gt_masks.ndim != 3:
        raise ValueError(f"{image_name}: gt_masks must have shape (K, H, W), got {gt_masks.shape}")
    k, height, width = gt_masks.shape
    n_values = tuple(n_values)
    category_ids = (np.ones(k, dtype=np.int64) if category_ids is None
                    else np.asarray(category_ids, dtype=np.int64).reshape(k))
    instance_ids = (np.arange(k, dtype=np.int64) if instance_ids is None
                    else np.asarray(instance_ids, dtype=np.int64).reshape(k))
    gt_areas = np.count_nonzero(gt_masks.reshape(k, height * width), axis=1).astype(np.int64)
    if void is not None:
        void = np.asarray(void, dtype=bool)
        if void.shape != (height, width):
            raise ValueError(f"{image_name}: void mask is {void.shape}, image is "
                             f"{height}x{width}")
        void = void & ~gt_masks.any(axis=0) if k else void

    has_masks = proposals is not None
    if isinstance(proposals, Proposals):
        if proposals.image_size != (height, width):
            raise ValueError(f"{image_name}: proposal superpixels are {proposals.image_size[0]}x"
                             f"{proposals.image_size[1]} but the image is {height}x{width}")
        inter, area = overlaps_superpixels(proposals, gt_masks, void)
        if boxes is None:
            boxes = proposals.boxes
    elif has_masks:
        rles = _as_rles(proposals, height, width, image_name)
        inter, area = overlaps_rles(rles, gt_masks, void)
        if boxes is None:
            boxes = (np.asarray(mask_utils.toBbox(rles), dtype=np.float64).reshape(-1, 4)
                     if len(rles) else np.zeros((0, 4)))
            boxes = boxes.copy()
            boxes[:, 2:] += boxes[:, :2]
    elif boxes is None:
        raise ValueError(f"{image_name}: give mask proposals or boxes")
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(boxes)
    if has_masks and inter.shape[1] != n:
        raise ValueError(f"{image_name}: {inter.shape[1]} mask proposals but {n} boxes")

    if has_masks:
        union = gt_areas[:, None] + area[None, :] - inter
        iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        best_iou, best_index = _best_over_budgets(iou, n_values)
        rows = np.arange(k)[:, None]
        safe = np.maximum(best_index, 0)
        found = best_index >= 0
        best_inter = np.where(found, inter[rows, safe] if n else 0, 0)
        best_fp = np.where(found, (area[None, :] - inter)[rows, safe] if n else 0, 0)
        best_fn = np.where(found, (gt_areas[:, None] - inter)[rows, safe] if n else 0,
                           gt_areas[:, None])
        best_inter = np.asarray(best_inter, dtype=np.int64).reshape(k, len(n_values))
        best_fp = np.asarray(best_fp, dtype=np.int64).reshape(k, len(n_values))
        best_fn = np.broadcast_to(best_fn, (k, len(n_values))).astype(np.int64)
    else:
        best_iou = best_index = best_inter = best_fp = best_fn = None
    box_iou = box_iou_matrix(_instance_boxes(gt_masks), boxes)
    best_box_iou, _ = _best_over_budgets(box_iou, n_values)
    return ImageEvaluation(image_name, category_ids, instance_ids, gt_areas, n, n_values,
                           best_iou, best_index, best_inter, best_fp, best_fn, best_box_iou,
                           "ok" if n else "no proposals")


def _no_proposals(instances: ImageInstances, n_values: tuple, status: str,
                  has_masks: bool) -> ImageEvaluation:
    """Evaluation of an image that has no proposals: every overlap is zero."""
    k = instances.n_instances
    m = len(n_values)
    gt_areas = np.count_nonzero(instances.masks.reshape(k, -1) if k else
                                np.zeros((0, 1), bool), axis=1).astype(np.int64)
    zeros = np.zeros((k, m), dtype=np.float64)
    return ImageEvaluation(
        instances.image.file_name, instances.category_ids, instances.instance_ids, gt_areas, 0,
        n_values,
        zeros.copy() if has_masks else None,
        np.full((k, m), -1, dtype=np.int64) if has_masks else None,
        np.zeros((k, m), dtype=np.int64) if has_masks else None,
        np.zeros((k, m), dtype=np.int64) if has_masks else None,
        np.repeat(gt_areas[:, None], m, axis=1) if has_masks else None,
        zeros.copy(), status)


# ---------------------------------------------------------------------------- summary
def _recall_block(best: np.ndarray) -> dict:
    """ABO, recalls and AR over instances (rows) for each budget (columns)."""
    if best.shape[0] == 0:
        nan = [float("nan")] * best.shape[1]
        out = {"abo": nan}
        out.update({f"recall@{t:g}": nan for t in RECALL_THRESHOLDS})
        out["ar"] = nan
        return out
    out = {"abo": best.mean(axis=0).tolist()}
    for t in RECALL_THRESHOLDS:
        out[f"recall@{t:g}"] = (best >= t).mean(axis=0).tolist()
    out["ar"] = np.mean([(best >= t).mean(axis=0) for t in AR_THRESHOLDS], axis=0).tolist()
    return out


def summarize(evaluations: Sequence[ImageEvaluation],
              categories: dict[int, str] | None = None) -> dict:
    """Dataset-level metrics from per-image evaluations.

    Parameters
    ----------
    evaluations : sequence of ImageEvaluation
        All with the same ``n_values``.
    categories : dict, optional
        Category id to name, used in the per-class table.

    Returns
    -------
    dict
        ``n_values`` (labels), ``n_images``, ``n_instances``, ``mean_proposals`` (per
        budget), ``masks`` (``abo``, ``recall@0.5``, ``recall@0.7``, ``recall@0.85``,
        ``ar``, ``jaccard_class``: lists over budgets; None when no image had masks),
        ``boxes`` (same without ``jaccard_class``), ``per_class`` (per category: number of
        instances, ``abo`` and ``jaccard_class`` lists).
    """
    if not evaluations:
        raise ValueError("no image was evaluated")
    n_values = evaluations[0].n_values
    m = len(n_values)
    with_masks = [e for e in evaluations if e.best_iou is not None]
    has_masks = len(with_masks) > 0
    if has_masks and len(with_masks) != len(evaluations):
        raise ValueError("some images have mask proposals and others only boxes")
    cats = np.concatenate([e.category_ids for e in evaluations])
    summary: dict = {
        "n_values": [n_label(n) for n in n_values],
        "n_images": len(evaluations),
        "n_instances": int(len(cats)),
        "mean_proposals": np.mean([e.n_used() for e in evaluations], axis=0).tolist(),
    }
    box_best = np.concatenate([e.best_box_iou for e in evaluations]).reshape(-1, m)
    summary["boxes"] = _recall_block(box_best)
    summary["per_class"] = {}
    if has_masks:
        best = np.concatenate([e.best_iou for e in evaluations]).reshape(-1, m)
        inter = np.concatenate([e.best_inter for e in evaluations]).reshape(-1, m)
        fp = np.concatenate([e.best_fp for e in evaluations]).reshape(-1, m)
        fn = np.concatenate([e.best_fn for e in evaluations]).reshape(-1, m)
        masks = _recall_block(best)
        class_j = []
        for cat in np.unique(cats):
            sel = cats == cat
            denom = inter[sel].sum(axis=0) + fp[sel].sum(axis=0) + fn[sel].sum(axis=0)
            jc = np.where(denom > 0, inter[sel].sum(axis=0) / np.maximum(denom, 1), 0.0)
            class_j.append(jc)
            summary["per_class"][str(int(cat))] = {
                "name": (categories or {}).get(int(cat), str(int(cat))),
                "n_instances": int(sel.sum()),
                "abo": best[sel].mean(axis=0).tolist(),
                "jaccard_class": jc.tolist(),
                "box_abo": box_best[sel].mean(axis=0).tolist(),
            }
        masks["jaccard_class"] = (np.mean(class_j, axis=0).tolist() if class_j
                                  else [float("nan")] * m)
        summary["masks"] = masks
    else:
        summary["masks"] = None
        for cat in np.unique(cats):
            sel = cats == cat
            summary["per_class"][str(int(cat))] = {
                "name": (categories or {}).get(int(cat), str(int(cat))),
                "n_instances": int(sel.sum()),
                "box_abo": box_best[sel].mean(axis=0).tolist(),
            }
    return summary


# ---------------------------------------------------------------------------- sources
class NpzProposalFolder:
    """Proposals stored as ``<image stem>.npz`` files of :mod:`grouping.proposal_format`."""

    has_masks = True

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"proposal folder not found: {self.folder}")
        self.files = {p.stem: p for p in self.folder.glob("*.npz")}
        if not self.files:
            raise ValueError(f"{self.folder}: no .npz proposal files")

    def describe(self) -> str:
        return f"{len(self.files)} .npz files in {self.folder}"

    def unused(self, images: Iterable[GroundTruthImage]) -> list[str]:
        """Proposal files that match none of ``images``."""
        stems = {info.stem for info in images}
        return sorted(stem for stem in self.files if stem not in stems)

    def get(self, info: GroundTruthImage):
        """``(proposals, boxes, status)`` for one image; proposals None when absent."""
        path = self.files.get(info.stem)
        if path is None:
            return None, None, "missing file"
        props = load_proposals(path)
        if props.image_size != (info.height, info.width):
            raise ValueError(f"image {info.file_name}: proposals in {path.name} are "
                             f"{props.image_size[0]}x{props.image_size[1]} but the image is "
                             f"{info.height}x{info.width}")
        if props.n_proposals == 0:
            return None, None, "no proposals"
        return props, props.boxes, "ok"


class CocoResultProposals:
    """Proposals from a COCO result JSON (a list of detections, RLE masks and/or boxes).

    Entries are grouped by ``image_id`` (matched to the ground truth's ids, or to the
    BSDS file stem) and sorted per image by descending ``score`` (stable). When every
    entry has a ``segmentation``, mask metrics are computed; when none has, only box
    metrics (from ``bbox`` = ``[x, y, w, h]``).
    """

    def __init__(self, json_path: str | os.PathLike):
        path = Path(json_path)
        if not path.is_file():
            raise FileNotFoundError(f"proposal file not found: {path}")
        try:
            with open(path, "r", encoding="utf-8") as handle:
                results = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not a valid JSON file ({error})") from None
        if isinstance(results, dict) and "annotations" in results:
            results = results["annotations"]
        if not isinstance(results, list):
            raise ValueError(f"{path}: a COCO result file must hold a list of detections")
        self.path = path
        with_seg = sum(1 for r in results if isinstance(r, dict) and r.get("segmentation"))
        if 0 < with_seg < len(results):
            raise ValueError(f"{path}: {with_seg} of {len(results)} results have a "
                             f"segmentation; give masks for all or for none")
        self.has_masks = with_seg > 0 or not results
        self.by_image: dict[str, list[tuple[int, dict]]] = {}
        for position, entry in enumerate(results):
            if not isinstance(entry, dict) or "image_id" not in entry:
                raise ValueError(f"{path}: result {position} has no image_id")
            if "score" not in entry:
                raise ValueError(f"{path}: result {position} has no score")
            if not self.has_masks and "bbox" not in entry:
                raise ValueError(f"{path}: result {position} has neither segmentation nor bbox")
            self.by_image.setdefault(str(entry["image_id"]), []).append((position, entry))

    def describe(self) -> str:
        kind = "masks" if self.has_masks else "boxes only"
        n = sum(len(v) for v in self.by_image.values())
        return f"{n} results ({kind}) for {len(self.by_image)} images in {self.path}"

    def unused(self, images: Iterable[GroundTruthImage]) -> list[str]:
        ids = {str(info.image_id) for info in images}
        return sorted(key for key in self.by_image if key not in ids)

    def get(self, info: GroundTruthImage):
        entries = self.by_image.get(str(info.image_id), [])
        if not entries:
            return None, None, "no proposals"
        scores = np.array([float(e["score"]) for _, e in entries], dtype=np.float64)
        if not np.all(np.isfinite(scores)):
            raise ValueError(f"{self.path}: non-finite score for image {info.file_name}")
        order = np.argsort(-scores, kind="stable")
        entries = [entries[i][1] for i in order]
        boxes = None
        if not self.has_masks or all("bbox" in e for e in entries):
            xywh = np.array([e["bbox"] for e in entries], dtype=np.float64).reshape(-1, 4)
            boxes = xywh.copy()
            boxes[:, 2:] += boxes[:, :2]
        if not self.has_masks:
            return None, boxes, "ok"
        segs = _as_rles([e["segmentation"] for e in entries], info.height, info.width,
                        f"image {info.file_name} ({self.path.name})")
        # Boxes of mask results are the tight boxes of the masks.
        return segs, None, "ok"


def open_proposals(path: str | os.PathLike):
    """Open a proposal folder (``.npz`` files) or a COCO result JSON."""
    path = Path(path)
    if path.is_dir():
        return NpzProposalFolder(path)
    if path.is_file():
        return CocoResultProposals(path)
    raise FileNotFoundError(f"proposals not found: {path} (expected a folder of .npz files or "
                            f"a COCO result JSON)")


# ---------------------------------------------------------------------------- dataset
@dataclass
class BenchmarkResult:
    """Outcome of :func:`evaluate_dataset`.

    Attributes
    ----------
    summary : dict
        See :func:`summarize`, plus counts of problem images and timings.
    evaluations : list of ImageEvaluation
    warnings : list of str
    """

    summary: dict
    evaluations: list
    warnings: list = field(default_factory=list)


def evaluate_dataset(ground_truth, images_dir: str | os.PathLike, proposals,
                     n_values: Sequence[int | None] = N_VALUES,
                     progress=None) -> BenchmarkResult:
    """Run the benchmark over every ground-truth image found in ``images_dir``.

    Parameters
    ----------
    ground_truth : str, path, CocoGroundTruth or BsdsGroundTruth
        COCO instances JSON or BSDS groundTruth folder (or an opened reader).
    images_dir : str or path
        Folder of images; ground-truth images are matched by file name (BSDS: by stem),
        and their sizes are checked against the ground truth.
    proposals : str, path, NpzProposalFolder or CocoResultProposals
        Folder of ``<stem>.npz`` files or a COCO result JSON.
    n_values : sequence of int or None
        Budgets (None = all).
    progress : callable, optional
        Called as ``progress(done, total)`` after each image.

    Returns
    -------
    BenchmarkResult

    Raises
    ------
    FileNotFoundError
        Missing ground truth, image folder or proposals.
    ValueError
        No ground-truth image in the folder, corrupt proposal file, proposal size
        different from its image (message names the image).

    Examples
    --------
    >>> from mcg import evaluate_dataset
    >>> result = evaluate_dataset("instances_val2017.json", "val2017/",
    ...                           "proposals/")                      # doctest: +SKIP
    >>> print(result.summary["n_images"])                           # doctest: +SKIP
    """
    start = time.perf_counter()
    gt = (ground_truth if isinstance(ground_truth, (CocoGroundTruth, BsdsGroundTruth))
          else load_ground_truth(ground_truth))
    source = proposals if hasattr(proposals, "get") else open_proposals(proposals)
    matched, absent = match_images(gt, images_dir)
    if not matched:
        raise ValueError(f"none of the {len(gt.images)} ground-truth images is in {images_dir}")
    messages: list[str] = []

    def warn(message: str) -> None:
        messages.append(message)
        warnings.warn(message, ProposalBenchmarkWarning, stacklevel=3)

    if absent:
        warn(f"{len(absent)} of {len(gt.images)} ground-truth images are not in {images_dir} "
             f"and were not evaluated (e.g. {absent[0].file_name})")
    infos = [info for info, _ in matched]
    unused = source.unused(infos)
    if unused:
        warn(f"{len(unused)} proposal entries match no evaluated image and were ignored "
             f"(e.g. {unused[0]})")
    n_values = tuple(n_values)
    evaluations = []
    counts = {"no proposals": [], "missing file": []}
    n_crowd = n_empty = 0
    load_time = eval_time = 0.0
    for done, info in enumerate(infos, 1):
        t0 = time.perf_counter()
        instances = gt.instances(info)
        props, boxes, status = source.get(info)
        t1 = time.perf_counter()
        n_crowd += instances.n_crowd
        n_empty += instances.n_empty
        if status != "ok":
            counts[status].append(info.file_name)
            what = ("has no proposal file" if status == "missing file"
                    else "has no proposals")
            warn(f"image {info.file_name} {what}: its {instances.n_instances} instances count "
                 f"as zero overlap")
            evaluation = _no_proposals(instances, n_values, status, source.has_masks)
        else:
            evaluation = evaluate_proposals(
                instances.masks, props, boxes=boxes, void=instances.void,
                category_ids=instances.category_ids, instance_ids=instances.instance_ids,
                n_values=n_values, image_name=f"image {info.file_name}")
            evaluation.image = info.file_name
        eval_time += time.perf_counter() - t1
        load_time += t1 - t0
        evaluations.append(evaluation)
        if progress is not None:
            progress(done, len(infos))
    summary = summarize(evaluations, getattr(gt, "categories", None))
    summary.update({
        "ground_truth": str(gt.path),
        "proposals": source.describe(),
        "images_dir": str(images_dir),
        "n_images_absent_from_folder": len(absent),
        "n_images_without_proposals": len(counts["no proposals"]),
        "images_without_proposals": counts["no proposals"],
        "n_images_without_proposal_file": len(counts["missing file"]),
        "images_without_proposal_file": counts["missing file"],
        "n_unused_proposal_entries": len(unused),
        "n_crowd_annotations": n_crowd,
        "n_empty_annotations_dropped": n_empty,
        "recall_criterion": "IoU >= threshold",
        "ar_thresholds": AR_THRESHOLDS.tolist(),
        "seconds": {"total": time.perf_counter() - start, "reading": load_time,
                    "evaluating": eval_time},
    })
    return BenchmarkResult(summary, evaluations, messages)


# ---------------------------------------------------------------------------- output
_COLUMNS = [("N", None), ("mean #", None), ("ABO", ("masks", "abo")),
            ("J_class", ("masks", "jaccard_class")), ("R@0.5", ("masks", "recall@0.5")),
            ("R@0.7", ("masks", "recall@0.7")), ("R@0.85", ("masks", "recall@0.85")),
            ("AR", ("masks", "ar")), ("box ABO", ("boxes", "abo")),
            ("box R@0.5", ("boxes", "recall@0.5")), ("box R@0.7", ("boxes", "recall@0.7")),
            ("box R@0.85", ("boxes", "recall@0.85")), ("box AR", ("boxes", "ar"))]


def _table_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    columns = [c for c in _COLUMNS
               if c[1] is None or summary.get(c[1][0]) is not None]  # box-only: no mask columns
    header = [name for name, _ in columns]
    rows = []
    for j, label in enumerate(summary["n_values"]):
        row = [label, f"{summary['mean_proposals'][j]:.1f}"]
        for _, key in columns[2:]:
            block = summary.get(key[0])
            value = None if block is None else block[key[1]][j]
            row.append("-" if value is None or (isinstance(value, float) and math.isnan(value))
                       else f"{value:.4f}")
        rows.append(row)
    return header, rows


def format_table(summary: dict) -> str:
    """The summary as an aligned text table (one row per budget) with a header block.

    Parameters
    ----------
    summary : dict
        From :func:`summarize` / :func:`evaluate_dataset`.

    Returns
    -------
    str
    """
    header, rows = _table_rows(summary)
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    lines = [
        f"Proposal benchmark: {summary['n_images']} images, {summary['n_instances']} "
        f"non-crowd instances",
    ]
    if "proposals" in summary:
        lines.append(f"proposals: {summary['proposals']}")
        lines.append(f"ground truth: {summary['ground_truth']}")
        extra = []
        if summary.get("n_images_without_proposals"):
            extra.append(f"{summary['n_images_without_proposals']} images had no proposals")
        if summary.get("n_images_without_proposal_file"):
            extra.append(f"{summary['n_images_without_proposal_file']} images had no "
                         f"proposal file")
        if summary.get("n_images_absent_from_folder"):
            extra.append(f"{summary['n_images_absent_from_folder']} ground-truth images "
                         f"absent from the image folder")
        if summary.get("n_crowd_annotations"):
            extra.append(f"{summary['n_crowd_annotations']} crowd annotations ignored "
                         f"(void pixels)")
        if extra:
            lines.append("note: " + "; ".join(extra) + " (zero overlap where no proposals)")
    if summary.get("masks") is None:
        lines.append("box-only proposals: mask metrics not computed")
    lines.append("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for row in rows:
        lines.append("  ".join(v.rjust(w) for v, w in zip(row, widths)))
    return "\n".join(lines)


def plot_recall_vs_n(summary: dict, path: str | os.PathLike) -> Path:
    """Recall at 0.5/0.7/0.85, AR and ABO versus number of proposals (PNG).

    Parameters
    ----------
    summary : dict
    path : str or path
        Output PNG.

    Returns
    -------
    pathlib.Path
    """
    from matplotlib.figure import Figure

    x = np.asarray(summary["mean_proposals"], dtype=np.float64)
    keep = np.r_[True, np.diff(x) > 0] & (x > 0)
    fig = Figure(figsize=(11, 4.2))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, kind in zip(axes, ("masks", "boxes")):
        block = summary.get(kind)
        if block is None:
            ax.text(0.5, 0.5, "no mask proposals", ha="center", va="center",
                    transform=ax.transAxes)
        else:
            for key, style in (("recall@0.5", "-o"), ("recall@0.7", "-s"),
                               ("recall@0.85", "-^"), ("ar", "-d"), ("abo", "--")):
                y = np.asarray(block[key], dtype=np.float64)
                if keep.any():
                    ax.plot(x[keep], y[keep], style, label=key, markersize=4)
        ax.set_xscale("log")
        ax.set_xlabel("number of proposals per image (mean)")
        ax.set_title(kind)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("recall / overlap")
    for ax in axes:
        if ax.get_lines():
            ax.legend(loc="upper left", fontsize=8)
            break
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def write_outputs(result: BenchmarkResult, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``summary.txt``, ``summary.csv``, ``summary.json``, ``per_instance.csv`` and
    ``recall_vs_n.png`` into ``out_dir``.

    Parameters
    ----------
    result : BenchmarkResult
    out_dir : str or path

    Returns
    -------
    dict of str to Path
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"txt": out / "summary.txt", "csv": out / "summary.csv",
             "json": out / "summary.json", "instances": out / "per_instance.csv",
             "png": out / "recall_vs_n.png"}
    summary = result.summary
    paths["txt"].write_text(format_table(summary) + "\n", encoding="utf-8")
    header, rows = _table_rows(summary)
    with open(paths["csv"], "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    payload = dict(summary)
    payload["warnings"] = list(result.warnings)
    paths["json"].write_text(json.dumps(_json_safe(payload), indent=1) + "\n", encoding="utf-8")
    with open(paths["instances"], "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        labels = summary["n_values"]
        writer.writerow(["image", "instance_id", "category_id", "area", "status"]
                        + [f"iou@{n}" for n in labels] + [f"box_iou@{n}" for n in labels])
        for e in result.evaluations:
            for k in range(e.n_instances):
                ious = ([f"{v:.6f}" for v in e.best_iou[k]] if e.best_iou is not None
                        else [""] * len(labels))
                writer.writerow([e.image, int(e.instance_ids[k]), int(e.category_ids[k]),
                                 int(e.gt_areas[k]), e.status] + ious
                                + [f"{v:.6f}" for v in e.best_box_iou[k]])
    plot_recall_vs_n(summary, paths["png"])
    return paths


def _json_safe(value):
    """Replace NaN by None recursively (strict JSON)."""
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


def default_out_dir(proposals: str | os.PathLike) -> Path:
    """Default output folder: ``<folder>/eval`` for a proposal folder,
    ``<json stem>_eval`` next to a COCO result JSON."""
    path = Path(proposals)
    if path.is_dir():
        return path / "eval"
    return path.with_name(path.stem + "_eval")
