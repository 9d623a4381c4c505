"""The public API: ``import mcg`` gives it all, cheaply; its examples run; clear image errors."""
from __future__ import annotations

import doctest
import subprocess
import sys
import warnings

import numpy as np
import pytest

import mcg


def test_import_mcg_is_cheap_and_has_no_side_effects():
    code = ("import sys, mcg; "
            "print(sorted(m for m in ('numba', 'mcg.pipeline', 'cv2', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_resolves_to_its_definition():
    from contours.detect import detect_edges
    from eval.bsds import bsds_benchmark
    from grouping.hierarchy import MergeTree
    from grouping.proposal_format import Proposals, load_proposals
    from mcg.proposals import im2mcg

    namespace: dict = {}
    exec("from mcg import *", namespace)
    assert sorted(k for k in namespace if not k.startswith("__")) == sorted(mcg.__all__)
    assert {"read_image", "detect_edges", "im2ucm", "im2mcg", "MergeTree", "Proposals",
            "load_proposals", "save_proposals", "bsds_benchmark", "evaluate_proposals"} <= \
        set(mcg.__all__)
    assert (mcg.detect_edges, mcg.MergeTree, mcg.Proposals, mcg.load_proposals, mcg.im2mcg,
            mcg.bsds_benchmark) == (detect_edges, MergeTree, Proposals, load_proposals, im2mcg,
                                    bsds_benchmark)
    with pytest.raises(AttributeError, match="no attribute 'im2anything'"):
        mcg.im2anything


def test_no_submodule_shadows_a_public_name():
    # Importing a submodule sets it as an attribute of the package: a module named like a
    # public function would replace that function once anything imported the module.
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(mcg.__path__, "mcg."):
        importlib.import_module(module.name)
    for name in mcg.__all__:
        assert not isinstance(getattr(mcg, name), type(mcg)), f"mcg.{name} is a module"


EXAMPLES = ["detect_edges", "im2ucm", "im2mcg", "proposals_to_coco", "MergeTree", "Proposals",
            "save_proposals", "load_proposals", "evaluate_proposals", "evaluate_dataset",
            "read_image", "train_proposals", "train_edges", "train_calibration"]


def test_plots_leave_the_matplotlib_backend_and_pyplot_alone(tmp_path):
    code = ("import sys, matplotlib; matplotlib.use('svg'); import numpy as np; "
            "from types import SimpleNamespace as S; from eval.plots import plot_pr_curve; "
            "r = np.linspace(0, 1, 5); "
            "e = S(recall=r, precision=1 - r, ods_f=.5, ois_f=.5, ap=.5, ods_recall=.5, "
            "ods_precision=.5); "
            f"plot_pr_curve(e, {str(tmp_path / 'pr.png')!r}); "
            "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["svg", "False"]
    assert (tmp_path / "pr.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_examples_of_the_public_api_run(name):
    obj = getattr(mcg, name)
    tests = [t for t in doctest.DocTestFinder(recurse=name == "Proposals").find(obj, name)
             if t.examples]
    assert tests, f"{name} has no Examples section"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for test in tests:
            runner.run(test)
    assert runner.failures == 0, f"{runner.failures} example(s) of {name} failed (run with -s)"


def test_boxes_in_coco_form():
    superpixels = np.array([[0, 0, 1, 1], [2, 2, 2, 1]], dtype=np.int32)
    proposals = mcg.Proposals.from_leaf_sets(superpixels, [[2], [0, 1]], scores=[0.8, 0.3])
    np.testing.assert_array_equal(proposals.boxes, [[0, 1, 3, 2], [0, 0, 4, 2]])
    np.testing.assert_array_equal(proposals.boxes_xywh(), [[0, 1, 3, 1], [0, 0, 4, 2]])
    assert proposals.boxes_xywh().dtype == np.float32


@pytest.mark.parametrize("bad, message", [
    (None, "must be a numpy array .* not NoneType"),
    ("photo.jpg", r"not str \(to read a file, use mcg.read_image\(path\)\)"),
    ([[1, 2], [3, 4]], "must be a numpy array .* not list"),
    (np.zeros((4, 4, 3), np.int64), "unsupported image dtype int64"),
    (np.zeros((4, 4, 2), np.uint8), r"got shape \(4, 4, 2\)"),
    (np.zeros((0, 4, 3), np.uint8), "image is empty"),
    (np.full((4, 4), 2.0), r"values must lie in \[0, 1\]"),
])
def test_images_are_checked_alike_everywhere(bad, message):
    for function in (mcg.detect_edges, mcg.im2ucm, mcg.im2mcg):
        with pytest.raises(ValueError, match=message):
            function(bad)


def test_a_single_channel_image_is_taken_alike_everywhere():
    gray = np.full((40, 40, 1), 60, np.uint8)
    gray[10:30, 10:30] = 200
    tree = mcg.im2ucm(gray, mode="scg", edges="fast")
    assert tree == mcg.im2ucm(np.repeat(gray, 3, axis=2), mode="scg", edges="fast")
    edges, _ = mcg.detect_edges(gray)
    np.testing.assert_array_equal(edges, mcg.detect_edges(np.repeat(gray, 3, axis=2))[0])
