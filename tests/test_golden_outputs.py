"""The shipped models' outputs on a small embedded image against golden fixtures in the repo.

Needs no development data, so a clean checkout catches drift of the edge forest, the
hierarchies or the proposal models. After a deliberate change, regenerate the fixtures with
``python tests/golden/make_fixtures.py`` (and say why in the commit).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))
from make_fixtures import compute  # noqa: E402

#: Largest share of pixels whose 8-bit level may move by more than one (floating-point
#: differences between machines in the eigen-solver), and the largest move allowed there.
MOVED_SHARE, MOVED_MAX = 0.005, 8


@pytest.fixture(scope="module")
def outputs():
    return compute()


@pytest.mark.parametrize("name", ["edges", "ucm_scg", "ucm_mcg"])
def test_maps_match_the_golden_ones(outputs, name):
    with np.load(GOLDEN / "astronaut96.npz") as golden:
        expected = golden[name].astype(np.int16)
    got = outputs[name].astype(np.int16)
    assert got.shape == expected.shape
    moved = np.abs(got - expected)
    share = float((moved > 1).mean())
    assert share <= MOVED_SHARE, f"{name}: {share:.2%} of the pixels moved by more than one level"
    assert int(moved.max()) <= MOVED_MAX, f"{name}: a pixel moved by {moved.max()} levels"
    # the boundaries are where they were
    np.testing.assert_array_equal(got > 0, expected > 0)


@pytest.mark.parametrize("mode", ["scg", "mcg"])
def test_top_proposals_match_the_golden_ones(outputs, mode):
    from pycocotools import mask as mask_utils

    golden = json.loads((GOLDEN / "astronaut96_proposals.json").read_text())[f"proposals_{mode}"]
    got = outputs[f"proposals_{mode}"]
    assert abs(got["n_proposals"] - golden["n_proposals"]) <= 0.01 * golden["n_proposals"]
    assert len(got["top"]) == len(golden["top"])
    for rank, (mine, theirs) in enumerate(zip(got["top"], golden["top"])):
        assert mine["box"] == theirs["box"], f"{mode} proposal {rank}: box"
        assert mine["score"] == pytest.approx(theirs["score"], abs=1e-4), f"{mode} {rank}: score"
        size = [96, 96]
        iou = mask_utils.iou([{"size": size, "counts": mine["rle"]}],
                             [{"size": size, "counts": theirs["rle"]}], [0])[0, 0]
        assert iou >= 0.99, f"{mode} proposal {rank}: mask IoU {iou:.3f} with the golden one"
