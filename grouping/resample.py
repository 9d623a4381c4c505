"""Resampling a hierarchy (merge tree / ucm2) to another resolution.

MCG's ``resample_ucm2`` resizes, for each of 100 thresholds, the partition at that threshold
with nearest-neighbour interpolation, takes its boundaries, and keeps for every boundary
element the largest threshold at which it is a boundary. Because nearest-neighbour resizing
maps every target pixel to one source pixel, the same source pixel at every level, this is
equivalent (without the quantization to 100 levels) to: the boundary element between two
adjacent target pixels holds the ultrametric distance (height of the lowest common ancestor
in the source tree) between the leaves of their source pixels. That map is an ultrametric
contour map by construction -- if two adjacent target pixels are joined by a path whose
elements are all ``<= t``, the ultrametric inequality makes their own element ``<= t`` --
so contours stay closed and the partitions stay nested. The resampled tree is then read from
it with single linkage; regions that vanish at the new resolution disappear from the tree and
regions cut in pieces become several leaves.
"""
from __future__ import annotations

import numpy as np

from grouping.hierarchy import MergeTree, _fill_ucm2_elements, _fill_vertices

__all__ = ["nearest_indices", "resample_tree", "resample_ucm2"]


def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each target index for nearest-neighbour resizing along one axis.

    Target pixel ``i`` (centre at ``(i + 0.5) * n_in / n_out`` in source pixel units) takes
    source pixel ``floor((i + 0.5) * n_in / n_out)``, clipped to ``[0, n_in - 1]``.

    Returns
    -------
    (n_out,) int64.
    """
    idx = np.floor((np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out)).astype(np.int64)
    return np.clip(idx, 0, n_in - 1)


def _check_shape(shape) -> tuple[int, int]:
    try:
        h, w = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"shape must be a pair of positive integers (H, W), got {shape!r}"
        ) from None
    if h < 1 or w < 1:
        raise ValueError(f"shape must be a pair of positive integers (H, W), got {shape!r}")
    return h, w


def resample_tree(tree: MergeTree, shape) -> MergeTree:
    """The hierarchy of ``tree`` at resolution ``shape`` (nearest-neighbour leaves).

    Parameters
    ----------
    tree : MergeTree
    shape : (H', W') target size of the leaf image.

    Returns
    -------
    MergeTree
        Canonical tree whose ``to_ucm2()`` is, for every boundary element between target
        pixels ``p`` and ``q``, the source ultrametric distance between the leaves of their
        nearest source pixels. At the same shape the result equals ``tree.canonical()`` when
        all heights are > 0.
    """
    h, w = _check_shape(shape)
    rows = nearest_indices(tree.shape[0], h)
    cols = nearest_indices(tree.shape[1], w)
    labels = np.ascontiguousarray(tree.leaves[rows][:, cols])
    ucm2 = np.zeros((2 * h + 1, 2 * w + 1), dtype=np.float64)
    if tree.n_merges:
        depth, up = tree._lift()
        _fill_ucm2_elements(labels, depth, up, tree.node_heights, ucm2)
        _fill_vertices(ucm2)
    return MergeTree.from_ucm2(ucm2, strict=False)


def resample_ucm2(ucm2, shape) -> np.ndarray:
    """Resample a double-size ucm2 to leaf resolution ``shape``; returns (2H'+1, 2W'+1).

    Equivalent to ``MergeTree.from_ucm2(ucm2, strict=False).resample(shape).to_ucm2()``.
    """
    return resample_tree(MergeTree.from_ucm2(ucm2, strict=False), shape).to_ucm2()
