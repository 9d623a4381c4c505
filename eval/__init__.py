"""eval layer: the benchmarks that judge contours, hierarchies and proposals.

The layer only reads results (the proposal type and file format are
:mod:`grouping.proposal_format`).

Modules
-------
eval.bsds             BSDS500 boundary (ODS/OIS/AP) and region (Covering, PRI, VI) benchmark,
                      reproducing the original MATLAB ``bench``: ``bsds_benchmark``,
                      ``evaluate_boundaries_image``, ``evaluate_regions_image``
eval.bsds_io          readers of results (ucm2/segs .mat, .png, .npy, .npz) and ground truth
eval.bsds_matching    exact pixel correspondence (min-cost assignment with outliers)
eval.proposals        proposal benchmark (ABO, recall at IoU, average recall, class Jaccard,
                      boxes): ``evaluate_proposals``, ``evaluate_dataset``
eval.coco_io          COCO and BSDS instance ground truth
"""
