"""On-disk format of ranked object proposals (one ``.npz`` file per image).

The pipeline writes, and the proposal benchmark reads, one NumPy ``.npz`` archive per
image, named ``<image file stem>.npz`` (``000000000790.jpg`` -> ``000000000790.npz``).
A proposal is a set of *leaves*: regions of a base superpixel partition of the image, so
that thousands of candidates cost a few hundred kilobytes and every mask can be rebuilt
exactly on demand.

Arrays in the archive (``N`` proposals, ``L`` leaves, image of ``H`` rows and ``W``
columns):

``format_version`` : int32 scalar
    Version of this layout, currently ``1``. Readers refuse newer versions.
``image_size`` : int64 (2,)
    ``[H, W]`` of the image the proposals belong to; equals ``superpixels.shape``.
``superpixels`` : int32 (H, W)
    Base label image; labels are ``0 .. L-1`` (``L = superpixels.max() + 1``).
``leaf_indices`` : int32 (T,)
    The leaf sets of all proposals, concatenated in rank order (compressed sparse row
    layout). Within one proposal the leaves are distinct (stored sorted ascending by
    :func:`save_proposals`).
``leaf_offsets`` : int64 (N + 1,)
    Proposal ``i`` is made of ``leaf_indices[leaf_offsets[i]:leaf_offsets[i + 1]]``;
    ``leaf_offsets[0] == 0``, non-decreasing, ``leaf_offsets[N] == T``. Every proposal has
    at least one leaf.
``scores`` : float32 (N,)
    Ranking scores, finite and sorted in non-increasing order: the array order *is* the
    rank order (index 0 is the best proposal), ties keep their stored order.
``boxes`` : float32 (N, 4)
    Bounding box of each proposal mask as ``[x0, y0, x1, y1]`` in pixel units with
    *exclusive* upper corners: ``x0 = min column``, ``y0 = min row``,
    ``x1 = max column + 1``, ``y1 = max row + 1``. So ``x1 - x0`` is the width in pixels and
    the COCO ``[x, y, w, h]`` box is ``[x0, y0, x1 - x0, y1 - y0]``.

The mask of proposal ``i`` is ``np.isin(superpixels, leaves(i))``. Files are validated on
load: a corrupt or inconsistent file (missing array, wrong shape or dtype, leaf index out
of range, offsets not monotone, duplicate or missing leaves, scores not sorted, lengths of
scores/boxes not matching the number of proposals, boxes outside the image) raises a
``ValueError`` that names the file.

Example
-------
>>> props = Proposals.from_leaf_sets(superpixels, [[0, 3], [2]], scores=[0.2, 0.9])
>>> save_proposals("out/000000000790.npz", props)
>>> props = load_proposals("out/000000000790.npz")
>>> props.mask(0)        # (H, W) bool mask of the best-ranked proposal
"""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse

FORMAT_VERSION = 1
"""Version of the ``.npz`` proposal layout written by :func:`save_proposals`."""

REQUIRED_KEYS = ("format_version", "image_size", "superpixels", "leaf_indices",
                 "leaf_offsets", "scores", "boxes")


@dataclass
class Proposals:
    """Ranked object proposals of one image, as leaf sets of a base superpixel partition.

    Attributes
    ----------
    superpixels : ndarray of int32, shape (H, W)
        Base label image with labels ``0 .. L-1``.
    leaf_indices : ndarray of int32, shape (T,)
        Concatenated leaf sets, proposal after proposal in rank order.
    leaf_offsets : ndarray of int64, shape (N + 1,)
        CSR offsets into ``leaf_indices``.
    scores : ndarray of float32, shape (N,)
        Scores in non-increasing order (array order is rank order).
    boxes : ndarray of float32, shape (N, 4)
        ``[x0, y0, x1, y1]`` boxes with exclusive ``x1, y1`` (see module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from mcg import Proposals
    >>> superpixels = np.array([[0, 0, 1], [2, 2, 1]], dtype=np.int32)
    >>> proposals = Proposals.from_leaf_sets(superpixels, [[0, 2], [1]], scores=[0.4, 0.9])
    >>> proposals.scores                          # sorted: array order is rank order
    array([0.9, 0.4], dtype=float32)
    >>> proposals.mask(0).astype(int)
    array([[0, 0, 1],
           [0, 0, 1]])
    """

    superpixels: np.ndarray
    leaf_indices: np.ndarray
    leaf_offsets: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray

    # ------------------------------------------------------------------ properties
    @property
    def n_proposals(self) -> int:
        """Number of proposals ``N``."""
        return int(len(self.leaf_offsets) - 1)

    def __len__(self) -> int:
        return self.n_proposals

    @property
    def n_leaves(self) -> int:
        """Number of base superpixels ``L`` (``superpixels.max() + 1``)."""
        return int(self.superpixels.max()) + 1 if self.superpixels.size else 0

    @property
    def image_size(self) -> tuple[int, int]:
        """``(H, W)`` of the image."""
        return int(self.superpixels.shape[0]), int(self.superpixels.shape[1])

    def boxes_xywh(self) -> np.ndarray:
        """Boxes in COCO's ``[x, y, width, height]`` form, in rank order.

        Returns
        -------
        ndarray of float32, shape (N, 4)
            ``x = x0``, ``y = y0``, ``width = x1 - x0``, ``height = y1 - y0`` of
            :attr:`boxes` (``[x0, y0, x1, y1]`` with exclusive ``x1, y1``).

        Examples
        --------
        >>> import numpy as np
        >>> superpixels = np.array([[0, 0, 1], [0, 0, 1]], dtype=np.int32)
        >>> Proposals.from_leaf_sets(superpixels, [[1], [0, 1]], scores=[0.9, 0.5]).boxes_xywh()
        array([[2., 0., 1., 2.],
               [0., 0., 3., 2.]], dtype=float32)
        """
        boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_leaf_sets(cls, superpixels: np.ndarray, leaf_sets: Sequence[Sequence[int]],
                       scores: Sequence[float] | np.ndarray | None = None,
                       boxes: np.ndarray | None = None, sort: bool = True) -> "Proposals":
        """Build proposals from a list of leaf sets.

        Parameters
        ----------
        superpixels : ndarray of int, shape (H, W)
            Base label image, labels ``0 .. L-1``.
        leaf_sets : sequence of sequences of int
            Leaves of each proposal (duplicates inside one set are removed).
        scores : array_like of float, shape (N,), optional
            Ranking scores; when omitted the given order is the rank order and the scores
            are ``N, N-1, ..., 1``.
        boxes : ndarray, shape (N, 4), optional
            ``[x0, y0, x1, y1]`` boxes (exclusive upper corners); computed from the leaves
            when omitted.
        sort : bool
            Reorder the proposals by score, descending (stable), when True. When False the
            scores must already be non-increasing.

        Returns
        -------
        Proposals
            Validated proposals.
        """
        superpixels = np.ascontiguousarray(superpixels, dtype=np.int32)
        leaf_sets = [np.unique(np.asarray(leaves, dtype=np.int64)) for leaves in leaf_sets]
        n = len(leaf_sets)
        lengths = np.array([len(leaves) for leaves in leaf_sets], dtype=np.int64)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        indices = (np.concatenate(leaf_sets) if n else np.zeros(0)).astype(np.int32)
        if scores is None:
            scores_arr = np.arange(n, 0, -1, dtype=np.float32)
        else:
            scores_arr = np.asarray(scores, dtype=np.float32).reshape(-1)
        return cls.from_csr(superpixels, indices, offsets, scores_arr, boxes=boxes, sort=sort)

    @classmethod
    def from_csr(cls, superpixels: np.ndarray, leaf_indices: np.ndarray,
                 leaf_offsets: np.ndarray, scores: np.ndarray, boxes: np.ndarray | None = None,
                 sort: bool = True) -> "Proposals":
        """Build proposals from CSR leaf sets (see :class:`Proposals`).

        Parameters
        ----------
        superpixels : ndarray of int, shape (H, W)
        leaf_indices : ndarray of int, shape (T,)
        leaf_offsets : ndarray of int, shape (N + 1,)
        scores : ndarray of float, shape (N,)
        boxes : ndarray, shape (N, 4), optional
            Computed from the leaves when omitted.
        sort : bool
            Stable sort by descending score when True.

        Returns
        -------
        Proposals
            Validated proposals.
        """
        superpixels = np.ascontiguousarray(superpixels, dtype=np.int32)
        leaf_indices = np.ascontiguousarray(leaf_indices, dtype=np.int32)
        leaf_offsets = np.ascontiguousarray(leaf_offsets, dtype=np.int64)
        scores = np.ascontiguousarray(scores, dtype=np.float32).reshape(-1)
        _check_csr(superpixels, leaf_indices, leaf_offsets, scores, "proposals")
        if boxes is None:
            boxes = boxes_from_leaf_sets(superpixels, leaf_indices, leaf_offsets)
        boxes = np.ascontiguousarray(boxes, dtype=np.float32)
        props = cls(superpixels, leaf_indices, leaf_offsets, scores, boxes)
        if sort:
            props = props.sorted_by_score()
        props.validate()
        return props

    # ------------------------------------------------------------------ access
    def leaves(self, i: int) -> np.ndarray:
        """Leaf labels (int32) of proposal ``i`` (rank order, 0 is best)."""
        n = self.n_proposals
        if not -n <= i < n:
            raise IndexError(f"proposal index {i} out of range for {n} proposals")
        i = i % n
        return self.leaf_indices[self.leaf_offsets[i]:self.leaf_offsets[i + 1]]

    def mask(self, i: int) -> np.ndarray:
        """Binary mask of proposal ``i``.

        Parameters
        ----------
        i : int
            Rank of the proposal (0 is the best).

        Returns
        -------
        ndarray of bool, shape (H, W)
        """
        lookup = np.zeros(max(self.n_leaves, 1), dtype=bool)
        lookup[self.leaves(i)] = True
        return lookup[self.superpixels]

    def masks(self, top_k: int | None = None) -> np.ndarray:
        """Binary masks of the ``top_k`` best proposals (all when None).

        Parameters
        ----------
        top_k : int, optional
            Number of proposals, in rank order.

        Returns
        -------
        ndarray of bool, shape (K, H, W)
            ``K = min(top_k, N)``; memory is ``K * H * W`` bytes.
        """
        k = self.n_proposals if top_k is None else max(0, min(int(top_k), self.n_proposals))
        out = np.zeros((k,) + self.image_size, dtype=bool)
        for i in range(k):
            out[i] = self.mask(i)
        return out

    def indicator_matrix(self, top_k: int | None = None) -> scipy.sparse.csr_matrix:
        """Sparse proposal-by-leaf membership matrix.

        Parameters
        ----------
        top_k : int, optional
            Keep only the first ``top_k`` proposals.

        Returns
        -------
        scipy.sparse.csr_matrix of float64, shape (K, L)
            Entry ``(i, l)`` is 1 when leaf ``l`` belongs to proposal ``i``.
        """
        k = self.n_proposals if top_k is None else max(0, min(int(top_k), self.n_proposals))
        offsets = self.leaf_offsets[:k + 1]
        indices = self.leaf_indices[:offsets[-1]]
        data = np.ones(len(indices), dtype=np.float64)
        return scipy.sparse.csr_matrix((data, indices, offsets), shape=(k, max(self.n_leaves, 1)))

    def areas(self) -> np.ndarray:
        """Pixel area of every proposal, int64 (N,)."""
        leaf_area = np.bincount(self.superpixels.ravel(), minlength=self.n_leaves)
        return np.rint(self.indicator_matrix() @ leaf_area.astype(np.float64)).astype(np.int64)

    def sorted_by_score(self) -> "Proposals":
        """Copy reordered by descending score (stable: ties keep their order)."""
        order = np.argsort(-self.scores.astype(np.float64), kind="stable")
        if np.array_equal(order, np.arange(self.n_proposals)):
            return self
        lengths = np.diff(self.leaf_offsets)[order]
        offsets = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        indices = np.concatenate(
            [self.leaf_indices[self.leaf_offsets[i]:self.leaf_offsets[i + 1]] for i in order]
        ).astype(np.int32) if len(order) else self.leaf_indices[:0]
        return Proposals(self.superpixels, indices, offsets, self.scores[order],
                         self.boxes[order])

    # ------------------------------------------------------------------ checks
    def validate(self, source: str | os.PathLike | None = None) -> None:
        """Check every invariant of the format.

        Parameters
        ----------
        source : str or path, optional
            Name used in error messages (the file); ``"proposals"`` when omitted.

        Raises
        ------
        ValueError
            Naming ``source`` and the first violated invariant.
        """
        name = str(source) if source is not None else "proposals"
        _check_csr(self.superpixels, self.leaf_indices, self.leaf_offsets, self.scores, name)
        n = self.n_proposals
        if self.superpixels.dtype != np.int32:
            raise ValueError(f"{name}: superpixels must be int32, got {self.superpixels.dtype}")
        if self.scores.shape != (n,):
            raise ValueError(f"{name}: scores has shape {self.scores.shape}, expected ({n},) "
                             f"(one per proposal)")
        if not np.all(np.isfinite(self.scores)):
            raise ValueError(f"{name}: scores contain NaN or infinite values")
        if n > 1 and np.any(np.diff(self.scores) > 0):
            first = int(np.flatnonzero(np.diff(self.scores) > 0)[0])
            raise ValueError(f"{name}: scores are not sorted in descending order "
                             f"(score[{first}] < score[{first + 1}])")
        boxes = self.boxes
        if boxes.shape != (n, 4):
            raise ValueError(f"{name}: boxes has shape {boxes.shape}, expected ({n}, 4)")
        if not np.all(np.isfinite(boxes)):
            raise ValueError(f"{name}: boxes contain NaN or infinite values")
        height, width = self.image_size
        bad = ((boxes[:, 0] < 0) | (boxes[:, 1] < 0) | (boxes[:, 2] > width)
               | (boxes[:, 3] > height) | (boxes[:, 2] <= boxes[:, 0])
               | (boxes[:, 3] <= boxes[:, 1]))
        if np.any(bad):
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name}: box {first} {boxes[first].tolist()} is empty or outside "
                             f"the {width}x{height} image (expected 0 <= x0 < x1 <= W, "
                             f"0 <= y0 < y1 <= H)")


def _check_csr(superpixels: np.ndarray, leaf_indices: np.ndarray, leaf_offsets: np.ndarray,
               scores: np.ndarray, name: str) -> None:
    """Structural checks of the leaf sets (raise ValueError naming ``name``)."""
    if superpixels.ndim != 2 or superpixels.size == 0:
        raise ValueError(f"{name}: superpixels must be a non-empty 2-D label image, "
                         f"got shape {superpixels.shape}")
    if superpixels.min() < 0:
        raise ValueError(f"{name}: superpixels contain negative labels")
    n_leaves = int(superpixels.max()) + 1
    if leaf_offsets.ndim != 1 or len(leaf_offsets) < 1:
        raise ValueError(f"{name}: leaf_offsets must be a 1-D array of length N+1")
    if leaf_indices.ndim != 1:
        raise ValueError(f"{name}: leaf_indices must be 1-D, got shape {leaf_indices.shape}")
    n = len(leaf_offsets) - 1
    if leaf_offsets[0] != 0:
        raise ValueError(f"{name}: leaf_offsets must start at 0, starts at {leaf_offsets[0]}")
    steps = np.diff(leaf_offsets)
    if np.any(steps < 0):
        first = int(np.flatnonzero(steps < 0)[0])
        raise ValueError(f"{name}: leaf_offsets are not monotone (offset[{first + 1}] = "
                         f"{leaf_offsets[first + 1]} < offset[{first}] = {leaf_offsets[first]})")
    if leaf_offsets[-1] != len(leaf_indices):
        raise ValueError(f"{name}: leaf_offsets ends at {leaf_offsets[-1]} but leaf_indices "
                         f"has {len(leaf_indices)} entries")
    if np.any(steps == 0):
        first = int(np.flatnonzero(steps == 0)[0])
        raise ValueError(f"{name}: proposal {first} has no leaves (empty mask)")
    if len(leaf_indices):
        low, high = int(leaf_indices.min()), int(leaf_indices.max())
        if low < 0 or high >= n_leaves:
            bad = low if low < 0 else high
            raise ValueError(f"{name}: leaf index {bad} out of range: the superpixel image has "
                             f"labels 0..{n_leaves - 1}")
        # Fast path: leaves strictly increasing inside every proposal (as written by
        # save_proposals) cannot repeat; otherwise sort (proposal, leaf) keys.
        rises = np.diff(leaf_indices.astype(np.int64)) > 0
        rises[leaf_offsets[1:-1] - 1] = True  # boundaries between proposals
        if rises.all():
            return _check_scores_length(scores, n, name)
        owner = np.repeat(np.arange(n, dtype=np.int64), steps)
        keys = owner * n_leaves + leaf_indices.astype(np.int64)
        sorted_keys = np.sort(keys)
        dup = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])
        if len(dup):
            key = int(sorted_keys[dup[0]])
            raise ValueError(f"{name}: proposal {key // n_leaves} lists leaf {key % n_leaves} "
                             f"more than once")
    _check_scores_length(scores, n, name)


def _check_scores_length(scores: np.ndarray, n: int, name: str) -> None:
    if scores.ndim != 1 or len(scores) != n:
        raise ValueError(f"{name}: scores has shape {scores.shape}, but leaf_offsets describe "
                         f"{n} proposals")


def boxes_from_leaf_sets(superpixels: np.ndarray, leaf_indices: np.ndarray,
                         leaf_offsets: np.ndarray) -> np.ndarray:
    """Tight boxes of proposals given as CSR leaf sets.

    Parameters
    ----------
    superpixels : ndarray of int, shape (H, W)
        Base label image, labels ``0 .. L-1``.
    leaf_indices : ndarray of int, shape (T,)
    leaf_offsets : ndarray of int64, shape (N + 1,)
        Every proposal must have at least one leaf.

    Returns
    -------
    ndarray of float32, shape (N, 4)
        ``[x0, y0, x1, y1]`` with exclusive ``x1, y1``.
    """
    leaf_boxes = leaf_bounding_boxes(superpixels)
    n = len(leaf_offsets) - 1
    if n == 0:
        return np.zeros((0, 4), dtype=np.float32)
    gathered = leaf_boxes[np.asarray(leaf_indices, dtype=np.int64)]
    starts = np.asarray(leaf_offsets[:-1], dtype=np.int64)
    out = np.empty((n, 4), dtype=np.float32)
    out[:, 0] = np.minimum.reduceat(gathered[:, 0], starts)
    out[:, 1] = np.minimum.reduceat(gathered[:, 1], starts)
    out[:, 2] = np.maximum.reduceat(gathered[:, 2], starts)
    out[:, 3] = np.maximum.reduceat(gathered[:, 3], starts)
    return out


def leaf_bounding_boxes(superpixels: np.ndarray) -> np.ndarray:
    """Box of every label of a label image.

    Parameters
    ----------
    superpixels : ndarray of int, shape (H, W)
        Labels ``0 .. L-1``.

    Returns
    -------
    ndarray of int64, shape (L, 4)
        ``[x0, y0, x1, y1]`` (exclusive upper corners); labels absent from the image get
        the empty box ``[W, H, 0, 0]`` (neutral for min/max).
    """
    import scipy.ndimage

    height, width = superpixels.shape
    n_leaves = int(superpixels.max()) + 1
    boxes = np.empty((n_leaves, 4), dtype=np.int64)
    boxes[:] = (width, height, 0, 0)
    slices = scipy.ndimage.find_objects(np.asarray(superpixels, dtype=np.int64) + 1)
    for label, found in enumerate(slices):
        if found is not None:
            rows, cols = found
            boxes[label] = (cols.start, rows.start, cols.stop, rows.stop)
    return boxes


def mask_box(mask: np.ndarray) -> np.ndarray:
    """Tight ``[x0, y0, x1, y1]`` box (exclusive upper corners) of a binary mask.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)

    Returns
    -------
    ndarray of float64, shape (4,)
        All zeros for an empty mask.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0:
        return np.zeros(4)
    cols = np.flatnonzero(mask.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float64)


def partition_from_masks(masks: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Coarsest partition on which every mask is a union of regions.

    Pixels get the same label exactly when they belong to the same subset of the masks.

    Parameters
    ----------
    masks : ndarray of bool, shape (K, H, W)

    Returns
    -------
    labels : ndarray of int32, shape (H, W)
        Labels ``0 .. L-1``.
    leaf_sets : list of ndarray of int32
        ``leaf_sets[k]`` are the labels whose union is ``masks[k]`` (empty for an empty
        mask).
    """
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3:
        raise ValueError(f"masks must have shape (K, H, W), got {masks.shape}")
    n_masks, height, width = masks.shape
    labels = np.zeros(height * width, dtype=np.int64)
    flat = masks.reshape(n_masks, -1)
    chunk = 62
    for start in range(0, n_masks, chunk):
        bits = np.zeros(height * width, dtype=np.int64)
        for j, row in enumerate(flat[start:start + chunk]):
            bits |= row.astype(np.int64) << j
        code = _compact_labels(bits)
        if start == 0:
            labels = code
        else:
            labels = _compact_labels(labels * (int(code.max()) + 1) + code)
    n_labels = int(labels.max()) + 1
    leaf_sets = []
    for row in flat:
        present = np.zeros(n_labels, dtype=bool)
        present[labels[row]] = True
        leaf_sets.append(np.flatnonzero(present).astype(np.int32))
    return labels.reshape(height, width).astype(np.int32), leaf_sets


def _compact_labels(values: np.ndarray) -> np.ndarray:
    """Map non-negative int64 values to 0..U-1 preserving order (dense table when small)."""
    top = int(values.max()) if values.size else 0
    if top < (1 << 22):
        present = np.zeros(top + 1, dtype=bool)
        present[values] = True
        remap = np.cumsum(present, dtype=np.int64) - 1
        return remap[values]
    _, inverse = np.unique(values, return_inverse=True)
    return inverse.ravel().astype(np.int64)


def proposals_from_masks(masks: np.ndarray, scores: Sequence[float] | np.ndarray | None = None,
                         sort: bool = True) -> Proposals:
    """Express arbitrary binary masks in the leaf-set format.

    The base partition is :func:`partition_from_masks` (exact). Cost grows with the number
    of masks (one pass over the image per mask), so it suits tens to a few thousand masks.

    Parameters
    ----------
    masks : ndarray of bool, shape (N, H, W)
        Non-empty masks, in rank order when ``scores`` is omitted.
    scores : array_like of float, shape (N,), optional
        Scores; ``N .. 1`` (given order) when omitted.
    sort : bool
        Sort by descending score (stable).

    Returns
    -------
    Proposals
    """
    masks = np.asarray(masks, dtype=bool)
    empty = ~masks.reshape(len(masks), -1).any(axis=1) if len(masks) else np.zeros(0, bool)
    if np.any(empty):
        raise ValueError(f"mask {int(np.flatnonzero(empty)[0])} is empty: proposals must cover "
                         f"at least one pixel")
    labels, leaf_sets = partition_from_masks(masks)
    return Proposals.from_leaf_sets(labels, leaf_sets, scores=scores, sort=sort)


def proposal_arrays(proposals: Proposals,
                    source: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` format of this module, in canonical form.

    Parameters
    ----------
    proposals : Proposals
        Validated first; leaf sets are given sorted ascending (deterministic content).
    source : str or path, optional
        Name used in validation errors (the destination file).

    Returns
    -------
    dict of str to ndarray
        ``format_version`` int32, ``image_size`` (2,) int64, ``superpixels`` (H, W) int32,
        ``leaf_indices`` (L,) int32, ``leaf_offsets`` (N + 1,) int64, ``scores`` (N,)
        float32, ``boxes`` (N, 4) float32, in this order.
    """
    proposals.validate(source=source)
    offsets = proposals.leaf_offsets
    owner = np.repeat(np.arange(proposals.n_proposals, dtype=np.int64), np.diff(offsets))
    order = np.lexsort((proposals.leaf_indices, owner))
    return {
        "format_version": np.int32(FORMAT_VERSION),
        "image_size": np.asarray(proposals.image_size, dtype=np.int64),
        "superpixels": proposals.superpixels.astype(np.int32, copy=False),
        "leaf_indices": proposals.leaf_indices[order].astype(np.int32),
        "leaf_offsets": offsets.astype(np.int64, copy=False),
        "scores": proposals.scores.astype(np.float32, copy=False),
        "boxes": proposals.boxes.astype(np.float32, copy=False),
    }


def save_proposals(path: str | os.PathLike, proposals: Proposals, compress: bool = True) -> Path:
    """Write proposals to ``path`` in the ``.npz`` format of this module.

    Parameters
    ----------
    path : str or path
        Destination file; ``.npz`` is appended when missing. Parent folders are created.
    proposals : Proposals
        Validated before writing; leaf sets are written sorted ascending.
    compress : bool
        Use ``np.savez_compressed`` (default) rather than ``np.savez``.

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mcg import Proposals, save_proposals
    >>> proposals = Proposals.from_leaf_sets([[0, 0, 1]], [[0], [0, 1]], scores=[0.5, 0.2])
    >>> save_proposals(Path(tempfile.mkdtemp()) / "image", proposals).name
    'image.npz'
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays = proposal_arrays(proposals, source=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = np.savez_compressed if compress else np.savez
    writer(path, **arrays)
    return path


def load_proposals(path: str | os.PathLike) -> Proposals:
    """Read and validate a proposal ``.npz`` file.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    Proposals

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        Naming the file, when it is not a readable archive, misses arrays, has a newer
        format version, or violates an invariant of the format.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from mcg import Proposals, load_proposals, save_proposals
    >>> saved = Proposals.from_leaf_sets(np.array([[0, 1, 1]]), [[1]], scores=[0.7])
    >>> loaded = load_proposals(save_proposals(os.path.join(tempfile.gettempdir(), "p.npz"), saved))
    >>> loaded.n_proposals, loaded.mask(0).tolist()
    (1, [[False, True, True]])
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"proposal file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            data = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not a readable proposal .npz file ({error})") from None
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise ValueError(f"{path}: missing arrays {', '.join(missing)} (not a proposal file "
                         f"of format version {FORMAT_VERSION}?)")
    version = int(np.asarray(data["format_version"]).reshape(-1)[0])
    if version > FORMAT_VERSION or version < 1:
        raise ValueError(f"{path}: format version {version} is not supported (this reader "
                         f"knows version {FORMAT_VERSION})")
    dtypes = {"superpixels": np.integer, "leaf_indices": np.integer,
              "leaf_offsets": np.integer, "scores": np.floating, "boxes": np.floating}
    for key, kind in dtypes.items():
        if not np.issubdtype(data[key].dtype, kind):
            raise ValueError(f"{path}: array {key} has dtype {data[key].dtype}, expected "
                             f"{kind.__name__}")
    superpixels = data["superpixels"]
    image_size = tuple(int(v) for v in np.asarray(data["image_size"]).reshape(-1))
    if superpixels.ndim != 2 or image_size != tuple(superpixels.shape):
        raise ValueError(f"{path}: image_size {list(image_size)} does not match the "
                         f"superpixel image of shape {list(superpixels.shape)}")
    boxes = data["boxes"]
    if boxes.ndim == 1 and boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    props = Proposals(
        superpixels=superpixels.astype(np.int32, copy=False),
        leaf_indices=data["leaf_indices"].astype(np.int32, copy=False).reshape(-1),
        leaf_offsets=data["leaf_offsets"].astype(np.int64, copy=False).reshape(-1),
        scores=data["scores"].astype(np.float32, copy=False).reshape(-1),
        boxes=boxes.astype(np.float32, copy=False),
    )
    props.validate(source=path)
    return props


def proposals_to_coco_results(proposals: Proposals, image_id: int | str,
                              category_id: int = 1, top_k: int | None = None) -> list[dict]:
    """Export proposals as COCO result entries with RLE masks.

    Parameters
    ----------
    proposals : Proposals
    image_id : int or str
        COCO image id of the image.
    category_id : int
        Category written in every entry (proposals are class-agnostic).
    top_k : int, optional
        Export only the best ``top_k``.

    Returns
    -------
    list of dict
        ``{"image_id", "category_id", "score", "bbox": [x, y, w, h], "segmentation":
        {"size": [H, W], "counts": str}}`` in rank order (JSON-serializable).
    """
    from pycocotools import mask as mask_utils

    k = proposals.n_proposals if top_k is None else min(int(top_k), proposals.n_proposals)
    results = []
    for i in range(k):
        rle = mask_utils.encode(np.asfortranarray(proposals.mask(i).astype(np.uint8)))
        rle["counts"] = rle["counts"].decode("ascii")
        x0, y0, x1, y1 = (float(v) for v in proposals.boxes[i])
        results.append({
            "image_id": image_id,
            "category_id": int(category_id),
            "score": float(proposals.scores[i]),
            "bbox": [x0, y0, x1 - x0, y1 - y0],
            "segmentation": {"size": [int(rle["size"][0]), int(rle["size"][1])],
                             "counts": rle["counts"]},
        })
    return results
