"""``mcg bench``: the BSDS500 boundary/region benchmark and the proposal benchmark."""
from __future__ import annotations

from mcg.cli import positive_int


def _register_bsds(bench_subparsers) -> None:
    parser = bench_subparsers.add_parser(
        "bsds",
        help="BSDS500 boundary (ODS/OIS/AP) and region (Covering, PRI, VI) benchmark",
        description="Benchmark a folder of results (ucm2 .mat, segs .mat, soft-boundary .png, "
        "or our own .npy/.npz) against a BSDS groundTruth folder.",
    )
    parser.add_argument("--results", required=True, help="folder of results, one file per image")
    parser.add_argument("--gt", required=True, help="BSDS groundTruth folder of .mat files")
    parser.add_argument("--nthresh", type=int, default=99, help="number of thresholds (default 99)")
    parser.add_argument("--out", default=None, help="output folder (default: RESULTS/eval)")
    parser.add_argument("--workers", type=int, default=None,
                        help="parallel worker processes (default: number of cores)")
    parser.add_argument("--no-regions", action="store_true",
                        help="skip the region benchmarks (Covering, PRI, VI)")
    parser.add_argument("--nms", action="store_true",
                        help="thin soft boundary maps (e.g. HED/RCF PNGs) first, as the HED "
                        "evaluation's nms_process.m: convTri 1, orientation from the map's "
                        "second derivatives, edgesNms r=1 s=5 m=1.01, rounded to 8 bits")
    parser.add_argument("--nms-radius", type=positive_int, default=1, metavar="R",
                        help="NMS suppression radius (default 1; RCF's edge_nms.m uses 2)")
    parser.add_argument("--nms-smooth", type=int, default=1, choices=range(0, 5), metavar="S",
                        help="triangle pre-smoothing radius of --nms (default 1; RCF's "
                        "edge_nms.m uses 0)")
    parser.add_argument("--compare", default=None, metavar="OTHER_RESULTS",
                        help="also evaluate this second folder and print a paired bootstrap "
                        "(over images) of the differences RESULTS - OTHER_RESULTS: boundary "
                        "ODS/OIS/AP and, for hierarchies or segmentations, Covering ODS/OIS "
                        "(also saved as OUT/compare_<name of OTHER_RESULTS>.txt)")
    parser.add_argument("--resamples", type=positive_int, default=1000,
                        help="bootstrap resamples of --compare (default 1000)")
    parser.set_defaults(func=run_bsds)


def run_bsds(args) -> int:
    """``mcg bench bsds``: benchmark a result folder (and ``--compare`` another); print, save."""
    import sys
    from pathlib import Path

    from eval.bsds import (NMS_RADIUS, NMS_SMOOTH, bsds_benchmark, find_results,
                           list_ground_truth)
    from eval.bsds_compare import compare_boundaries, compare_regions

    out = args.out if args.out is not None else str(Path(args.results) / "eval")
    other = getattr(args, "compare", None)
    if other is not None:  # refuse a bad second folder before the first one's long evaluation
        find_results(other, list(list_ground_truth(args.gt)))
    nms = bool(getattr(args, "nms", False))
    nms_opts = {"nms": nms, "nms_radius": getattr(args, "nms_radius", NMS_RADIUS),
                "nms_smooth": getattr(args, "nms_smooth", NMS_SMOOTH)}
    summary = bsds_benchmark(args.results, args.gt, out_dir=out, nthresh=args.nthresh,
                             workers=args.workers, regions=not args.no_regions, verbose=True,
                             **nms_opts)
    print(summary.format())
    if other is not None:
        print(f"evaluating {other} for the comparison (nothing written there)", file=sys.stderr)
        other_summary = bsds_benchmark(other, args.gt, out_dir=None, nthresh=args.nthresh,
                                       workers=args.workers, regions=not args.no_regions,
                                       verbose=True, **nms_opts)
        names = (Path(args.results).resolve().name or "A", Path(other).resolve().name or "B")
        resamples = getattr(args, "resamples", 1000)
        report = [f"{names[1]}: {other_summary.format()}",
                  compare_boundaries(summary.boundary_counts, other_summary.boundary_counts,
                                     n_resamples=resamples).format(*names)]
        if summary.region_counts and other_summary.region_counts:
            report.append(compare_regions(summary.region_counts, other_summary.region_counts,
                                          n_resamples=resamples).format(*names))
        text = "\n".join(report)
        print(text)
        report_path = Path(out) / f"compare_{names[1]}.txt"
        report_path.write_text(text + "\n")
        print(f"  comparison saved in {report_path}")
    return 0


def _register_proposals(bench_subparsers) -> None:
    parser = bench_subparsers.add_parser(
        "proposals",
        help="object-proposal benchmark (ABO, recall at IoU, average recall; masks and boxes)",
        description="Benchmark ranked object proposals against COCO-format instance ground truth.",
    )
    parser.add_argument("--gt", required=True, help="COCO instances JSON (or a folder of BSDS .mat)")
    parser.add_argument("--images", required=True, help="folder of the images")
    parser.add_argument("--proposals", required=True,
                        help="folder of per-image proposal .npz files, or a COCO results JSON")
    parser.add_argument("--out", default=None, help="output folder for the tables and plot")
    parser.set_defaults(func=_run_proposals)


def _run_proposals(args) -> int:
    """``mcg bench proposals``: evaluate, print the table, write the tables and plot."""
    import sys
    import warnings
    from pathlib import Path

    from eval.proposals import (ProposalBenchmarkWarning, default_out_dir, evaluate_dataset,
                                format_table, write_outputs)

    out_dir = Path(args.out) if args.out else default_out_dir(args.proposals)
    if not args.out:
        print(f"no --out given: writing results to {out_dir}", file=sys.stderr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProposalBenchmarkWarning)
        result = evaluate_dataset(args.gt, args.images, args.proposals)
    shown = 20
    for message in result.warnings[:shown]:
        print(f"mcg bench proposals: warning: {message}", file=sys.stderr)
    if len(result.warnings) > shown:
        print(f"mcg bench proposals: warning: ... and {len(result.warnings) - shown} more "
              f"(all listed in summary.json)", file=sys.stderr)
    paths = write_outputs(result, out_dir)
    print(format_table(result.summary))
    seconds = result.summary["seconds"]["total"]
    print(f"evaluated in {seconds:.1f} s; wrote {', '.join(p.name for p in paths.values())} "
          f"to {out_dir}")
    return 0


def register(subparsers) -> None:
    """Add ``mcg bench`` with its ``bsds`` and ``proposals`` sub-commands."""
    parser = subparsers.add_parser("bench", help="run a benchmark (bsds, proposals)")
    bench_subparsers = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    _register_bsds(bench_subparsers)
    _register_proposals(bench_subparsers)
