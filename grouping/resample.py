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

from grouping.hierarchy import MergeTree, nearest_indices

__all__ = ["nearest_indices", "resample_tree", "resample_ucm2"]


def resample_tree(tree: MergeTree, shape) -> MergeTree:
    """The hierarchy of ``tree`` at resolution ``shape`` (nearest-neighbour leaves).

    Parameters
    ----------
    tree : MergeTree
    shape : (H', W') target size of the leaf image.

    Returns
    -------
    MergeTree
        ``tree.resample(shape)`` (:meth:`grouping.hierarchy.MergeTree.resample`): canonical
        tree whose ``to_ucm2()`` is, for every boundary element between target pixels ``p`` and
        ``q``, the source ultrametric distance between the leaves of their nearest source
        pixels.
    """
    return tree.resample(shape)


def resample_ucm2(ucm2, shape) -> np.ndarray:
    """Resample a double-size ucm2 to leaf resolution ``shape``; returns (2H'+1, 2W'+1).

    Equivalent to ``MergeTree.from_ucm2(ucm2, strict=False).resample(shape).to_ucm2()``.
    """
    return resample_tree(MergeTree.from_ucm2(ucm2, strict=False), shape).to_ucm2()
