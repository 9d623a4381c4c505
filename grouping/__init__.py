"""grouping layer: superpixels, hierarchies (UCMs), multiscale combination, object candidates.

Public API
----------
oriented_watershed(edges, orientation) -> (owt2 (2H+1, 2W+1) float64, superpixels (H, W) int32)
ucm_mean_pb(owt2, superpixels) -> MergeTree          greedy merging by mean boundary strength
MergeTree                                           the canonical hierarchy (to/from ucm2,
                                                    segmentation_at, regions_at, resample, save)
resample_tree(tree, shape) -> MergeTree
multiscale_hierarchy(trees_by_scale) -> (combined MergeTree, aligned trees)
proposals_from_trees(trees, model=None, n_cands=None) -> Proposals
Proposals, load_proposals, save_proposals   ranked proposals and their per-image .npz format
                                            (grouping.proposal_format)
"""
from grouping.hierarchy import MergeTree
from grouping.multiscale import multiscale_hierarchy
from grouping.owt import oriented_watershed
from grouping.proposal_format import Proposals, load_proposals, save_proposals
from grouping.ranking import proposals_from_trees
from grouping.resample import resample_tree
from grouping.ucm import ucm_mean_pb

__all__ = [
    "MergeTree",
    "multiscale_hierarchy",
    "oriented_watershed",
    "proposals_from_trees",
    "Proposals",
    "load_proposals",
    "save_proposals",
    "resample_tree",
    "ucm_mean_pb",
]
