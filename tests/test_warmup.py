"""The first-run warm-up process: synthetic inputs that run the later stages' kernels."""
from __future__ import annotations

import numpy as np

from mcg.warmup import compile_kernels, start_warmup, synthetic_hierarchy


def test_synthetic_hierarchy_merges_touching_regions():
    tree = synthetic_hierarchy(rows=3, columns=4, block=5)
    assert tree.shape == (15, 20) and tree.n_leaves == 12
    assert np.all(np.diff(tree.heights) > 0)
    # every level's regions are connected: each merge joined two regions that touch
    from scipy import ndimage

    for height in tree.heights:
        regions = tree.segmentation_at(height + 1e-9)
        for label in np.unique(regions):
            assert ndimage.label(regions == label)[1] == 1


def test_the_warmup_runs_the_stages_in_process_and_in_a_process():
    compile_kernels("scg")
    compile_kernels("mcg")
    process = start_warmup("scg")
    process.join(timeout=120)
    assert process.exitcode == 0
