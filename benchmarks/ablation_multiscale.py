"""MCG multiscale ablations on BSDS val (paper section 4): write ucm2 results for each variant.

Variants (one results folder each, under ``--out``):

* ``mcg``: the full method: per-scale hierarchies aligned onto the finest superpixels
  (``alignment="finest"``), combined, rebuilt by mean boundary strength, calibrated;
* ``no_alignment``: the resampled per-scale UCMs combined directly (``alignment="none"``);
* ``next_finer``: each scale aligned only onto the next finer scale's superpixels, without
  the transfer to the finest ones (``alignment="next_finer"``);
* ``resized_contours``: contours of the three scales resized to the image size and averaged,
  then one hierarchy (OWT, globalization, UCM, calibration): resizing contours instead of
  aligning hierarchies;
* ``scg``: the single-scale hierarchy (calibrated), for reference.

Calibration: the shipped ``mcg/models/calibration.json`` (MCG's for the multiscale variants
and resized contours, SCG's for ``scg``) of the chosen edge preset (``--edges``, default
``accurate`` as :func:`mcg.pipeline.im2ucm`; the contours of each scale follow
:data:`mcg.pipeline.EDGE_PRESETS`).

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/ablation_multiscale.py --out /tmp/ablation
    for v in mcg no_alignment next_finer resized_contours scg; do
        mcg bench bsds --results /tmp/ablation/$v --gt ../shared/data/bsds500/groundTruth/val \\
            --no-regions; done

Edges of each scale are computed once and shared by all variants.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from common import BSDS_VAL_IMAGES, jpg_images  # noqa: E402 (this folder, first on sys.path)

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

VARIANTS = ("mcg", "no_alignment", "next_finer", "resized_contours", "scg")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", default=str(BSDS_VAL_IMAGES), help="folder of .jpg images")
    parser.add_argument("--out", required=True, help="output folder (one sub-folder per variant)")
    parser.add_argument("--limit", type=int, default=0, help="first N images only (0: all)")
    parser.add_argument("--edges", choices=("accurate", "fast"), default="accurate",
                        help="edge preset of the contours and calibration (default accurate)")
    args = parser.parse_args(argv)
    from mcg.allocator import keep_freed_memory

    keep_freed_memory()  # as the command line (see mcg.allocator)

    import scipy.io

    from contours import detect_edges
    from grouping.multiscale import combine_contour_maps, multiscale_hierarchy
    from grouping.resample import resample_tree
    from mcg.pipeline import load_calibration
    from mcg.io import read_image
    from mcg.pipeline import EDGE_PRESETS, SCALES, _resize_image, preset_key, tree_from_contours

    paths = jpg_images(args.images, args.limit)
    # The shipped calibration: MCG's for the multiscale variants, SCG's for the single scale.
    mcg_cal = load_calibration(preset_key("mcg", args.edges))
    scg_cal = load_calibration(preset_key("scg", args.edges))
    sig_mcg = dict(weights=mcg_cal["weights"], sigmoid_thr=mcg_cal["sigmoid_thr"],
                   sigmoid_slope=mcg_cal["sigmoid_slope"])
    sig_one = dict(sigmoid_thr=mcg_cal["sigmoid_thr"], sigmoid_slope=mcg_cal["sigmoid_slope"])
    sig_scg = dict(sigmoid_thr=scg_cal["sigmoid_thr"], sigmoid_slope=scg_cal["sigmoid_slope"])
    out = Path(args.out)
    for variant in VARIANTS:
        (out / variant).mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(paths, 1):
        if all((out / v / f"{path.stem}.mat").is_file() for v in VARIANTS):
            continue
        start = time.perf_counter()
        image = read_image(path)
        shape = image.shape[:2]
        edges_by_scale, orientation_by_scale, trees = [], [], {}
        for scale, settings in zip(SCALES[args.edges]["mcg"], EDGE_PRESETS[args.edges]["mcg"]):
            edges, orientation = detect_edges(_resize_image(image, scale), nms=False,
                                              multiscale=settings.multiscale,
                                              sharpen=settings.sharpen)
            edges_by_scale.append(edges)
            orientation_by_scale.append(orientation)
            tree = tree_from_contours(edges, orientation)
            trees[scale] = tree if tree.shape == shape else resample_tree(tree, shape)
        results = {
            "mcg": multiscale_hierarchy(trees, **sig_mcg)[0],
            "no_alignment": multiscale_hierarchy(trees, alignment="none", **sig_mcg)[0],
            "next_finer": multiscale_hierarchy(trees, alignment="next_finer", **sig_mcg)[0],
            "scg": multiscale_hierarchy({1.0: trees[1.0]}, **sig_scg)[0],
        }
        edges, orientation = combine_contour_maps(edges_by_scale, shape,
                                                  orientations_by_scale=orientation_by_scale)
        results["resized_contours"] = multiscale_hierarchy(
            [tree_from_contours(edges, orientation)], **sig_one)[0]
        for variant, tree in results.items():
            scipy.io.savemat(out / variant / f"{path.stem}.mat", {"ucm2": tree.to_ucm2()},
                             do_compression=True)
        print(f"[{index}/{len(paths)}] {path.name} ({time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
