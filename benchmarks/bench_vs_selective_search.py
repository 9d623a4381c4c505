"""Time our proposals against OpenCV's Selective Search (fast mode), one thread each.

Selective Search lives in ``opencv-contrib-python``, which cannot share an environment with the
``opencv-python`` this project uses, so it runs in a separate Python interpreter given by
``--ss-python``. Create one once, e.g.::

    python -m venv /work/exp/ss_venv
    /work/exp/ss_venv/bin/pip install opencv-contrib-python-headless numpy

Usage::

    python benchmarks/bench_vs_selective_search.py --ss-python /work/exp/ss_venv/bin/python \
        [--images ../shared/data/coco/train2017 | --images a.jpg b.png ...] [--limit N] \
        [--modes mcg scg] [--json OUT.json] [--ss-timeout SECONDS] \
        [--ss-results SS.json --coco-gt instances.json]

``--images`` takes folders (all ``.jpg``/``.jpeg``/``.png`` files, sorted by name) and image
files; the default is the shared COCO subset ``../shared/data/coco/train2017``.

What is timed (wall clock, ``time.perf_counter``, one image at a time):

* Selective Search: ``setBaseImage`` + ``switchToSelectiveSearchFast`` + ``process()`` of a new
  ``cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()`` object on the BGR image,
  in ONE long-lived worker process of the ``--ss-python`` interpreter (started once, so its
  start-up and the ``cv2`` import are not timed), with ``cv2.setNumThreads(1)`` and
  ``OMP_NUM_THREADS=1`` / ``OPENBLAS_NUM_THREADS=1``. Reading the image is not timed.
* Ours: ``mcg.im2mcg(image, mode=m)`` for each mode of ``--modes`` (default options: ``fast``
  edges, all proposals), in this process with ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``
  and ``NUMBA_NUM_THREADS`` set to 1, ``cv2.setNumThreads(1)``, and the glibc malloc setting of
  the ``mcg`` command line (:func:`mcg.allocator.keep_freed_memory`; ``MCG_SYSTEM_MALLOC=1``
  disables it). Reading the image (``mcg.read_image``) is not timed.

Every method is first run once on the first image (warm-up: Numba compilation, model loading
and OpenCV initialisation are excluded). Then, image by image, the methods run one after the
other, the order rotating from image to image (SS, MCG, SCG; then MCG, SCG, SS; ...), so that a
change of machine load affects all of them alike. Both processes are single-threaded and never
run at the same time.

Prints per image times, then per method the median, mean and 90th percentile seconds per image
(and the median CPU seconds, which stay close to the wall time when the machine is not
contended), the ratios ``median(SS) / median(MCG)`` and ``median(SS) / median(SCG)`` with the
targets (MCG faster than SS: ratio > 1; SCG at least 5x faster: ratio >= 5), image by image
for each mode the number of images on which it was faster than SS, the median of the per-image
ratios and the summed seconds, and the 1-minute load average at the start and the end.
``--json`` writes the same, with the per-image seconds.

``--ss-results SS.json`` also writes Selective Search's boxes as a COCO results file (``bbox``
``[x, y, w, h]``, ``category_id`` 1, ``score`` falling with Selective Search's own order), the
``image_id`` of each image looked up by file name in ``--coco-gt``, so that its quality can be
measured with ``mcg bench proposals --proposals SS.json`` on the same images as ours.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS")
for _name in THREAD_VARIABLES:  # before numpy, Numba and OpenCV are imported
    os.environ[_name] = "1"

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_IMAGES = REPO.parent / "shared" / "data" / "coco" / "train2017"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SS = "ss"
#: Targets: median(SS) / median(mode) must be at least this (strictly more for ``>``).
TARGETS = {"mcg": (">", 1.0), "scg": (">=", 5.0)}
#: Seconds the worker may take to start and import ``cv2`` (a loaded machine is slow).
START_TIMEOUT = 120.0

#: Code of the Selective Search worker, run as ``ss_python -I -c WORKER_CODE``. It answers one
#: JSON line on start-up (``ready`` or ``error``), then one per image path read from stdin, and
#: exits when stdin is closed.
WORKER_CODE = r'''
import json
import sys
import time


def reply(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


try:
    import cv2
    create = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation
except Exception as exc:
    reply(error=f"cannot load OpenCV Selective Search ({type(exc).__name__}: {exc}); "
                "install opencv-contrib-python-headless in this interpreter")
    sys.exit(1)
cv2.setNumThreads(1)
reply(ready=True, cv2=cv2.__version__, threads=cv2.getNumThreads(),
      python=sys.version.split()[0])
for line in sys.stdin:
    path = line.rstrip("\n")
    try:
        image = cv2.imread(path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        if image is None:
            raise ValueError(f"cv2.imread cannot read {path}")
        ss = create()
        wall, cpu = time.perf_counter(), time.process_time()
        ss.setBaseImage(image)
        ss.switchToSelectiveSearchFast()
        rects = ss.process()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        reply(seconds=wall, cpu_seconds=cpu, n_boxes=len(rects),
              height=image.shape[0], width=image.shape[1],
              boxes=[[int(v) for v in rect] for rect in rects])
    except Exception as exc:
        reply(error=f"{type(exc).__name__}: {exc}")
'''


class SelectiveSearchError(RuntimeError):
    """The Selective Search worker could not start or failed on an image."""


class SelectiveSearchWorker:
    """One long-lived Selective Search process of another Python interpreter.

    Parameters
    ----------
    python : str or Path
        Interpreter with ``opencv-contrib-python(-headless)`` installed. It runs in isolated mode
        (``-I``: ``PYTHONPATH`` and the user site-packages are ignored, so it cannot pick up
        this environment's ``cv2``).
    start_timeout : float
        Seconds to wait for the worker to import ``cv2`` and report ready.

    Raises
    ------
    SelectiveSearchError
        If the interpreter cannot be started, lacks ``cv2.ximgproc`` or does not answer.

    Notes
    -----
    Use as a context manager: leaving it closes the worker's stdin, so the worker exits, and
    kills it if it has not exited after a few seconds. Replies are read by a daemon thread into
    a queue so that every wait has a timeout; the thread sleeps in ``read`` while the timed
    methods run.
    """

    def __init__(self, python: str | Path, start_timeout: float = START_TIMEOUT):
        env = dict(os.environ, **{name: "1" for name in THREAD_VARIABLES})
        self.python = str(python)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self._replies: queue.Queue = queue.Queue()
        try:
            self._process = subprocess.Popen(
                [str(python), "-I", "-c", WORKER_CODE], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self._stderr, env=env, text=True, bufsize=1)
        except OSError as exc:
            self._stderr.close()
            raise SelectiveSearchError(f"cannot start --ss-python {python}: "
                                       f"{exc.strerror or exc}") from None
        threading.Thread(target=self._read_replies, daemon=True).start()
        try:
            ready = self._reply(start_timeout, "start")
        except SelectiveSearchError:
            self.close()
            raise
        self.cv2_version = ready.get("cv2", "?")
        self.python_version = ready.get("python", "?")
        self.threads = ready.get("threads")

    def _read_replies(self) -> None:
        """Put each line of the worker's stdout in the queue, then ``None`` at end of file."""
        for line in self._process.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def _stderr_tail(self) -> str:
        """The last non-empty line the worker wrote to stderr ('' if none)."""
        self._stderr.seek(0)
        lines = [line.strip() for line in self._stderr.read().decode(errors="replace").splitlines()]
        lines = [line for line in lines if line]
        return lines[-1] if lines else ""

    def _reply(self, timeout: float, what: str) -> dict:
        """The next JSON reply of the worker.

        Parameters
        ----------
        timeout : float
            Seconds to wait for it.
        what : str
            What the reply answers (for error messages).

        Returns
        -------
        dict
            The decoded reply (never an ``error`` reply).

        Raises
        ------
        SelectiveSearchError
            On a timeout, an exit of the worker, an undecodable line or an ``error`` reply.
        """
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise SelectiveSearchError(f"Selective Search worker gave no answer ({what}) within "
                                       f"{timeout:g} s") from None
        if line is None:
            code = self._process.wait()
            tail = self._stderr_tail()
            raise SelectiveSearchError(f"Selective Search worker {self.python} exited with code "
                                       f"{code} before answering ({what})"
                                       + (f": {tail}" if tail else ""))
        try:
            reply = json.loads(line)
        except json.JSONDecodeError:
            raise SelectiveSearchError(f"Selective Search worker answered ({what}) with "
                                       f"{line.strip()[:200]!r}, not JSON") from None
        if not isinstance(reply, dict):
            raise SelectiveSearchError(f"Selective Search worker answered ({what}) with "
                                       f"{reply!r}")
        if "error" in reply:
            raise SelectiveSearchError(f"Selective Search worker ({what}): {reply['error']}")
        return reply

    def run(self, path: Path, timeout: float) -> dict:
        """Run Selective Search (fast mode) on one image file.

        Parameters
        ----------
        path : Path
            Local image file.
        timeout : float
            Seconds to wait for the answer.

        Returns
        -------
        dict
            ``seconds`` (wall) and ``cpu_seconds`` of setBaseImage + switchToSelectiveSearchFast
            + process, ``n_boxes``, ``height``, ``width``, and ``boxes``: Selective Search's
            output order, ``[x, y, w, h]`` ints.
        """
        text = str(Path(path).resolve())
        if "\n" in text:
            raise SelectiveSearchError(f"image path with a newline: {text!r}")
        try:
            self._process.stdin.write(text + "\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            pass  # the worker has exited: _reply reports it
        return self._reply(timeout, Path(path).name)

    def close(self) -> None:
        """Close the worker's stdin, wait for it to exit (kill it after 10 s) and clean up."""
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._stderr.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def fail(message: str) -> None:
    """Print ``error: message`` to stderr and exit with code 2.

    Raises
    ------
    SystemExit
    """
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def list_images(entries: list[str], limit: int) -> list[Path]:
    """Image files of the ``--images`` arguments.

    Parameters
    ----------
    entries : list of str
        Folders (their ``.jpg``/``.jpeg``/``.png`` files, sorted by name) and image files, in
        the given order.
    limit : int
        Keep the first ``limit`` images (0: all).

    Returns
    -------
    list of Path

    Raises
    ------
    SystemExit
        With code 2 and a one-line message when an entry does not exist or there is no image.
    """
    paths = []
    for entry in map(Path, entries):
        if entry.is_dir():
            paths += sorted(p for p in entry.iterdir()
                            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif entry.is_file():
            paths.append(entry)
        else:
            fail(f"no such image file or folder: {entry}")
    if limit:
        paths = paths[:limit]
    if not paths:
        fail(f"no .jpg/.png image in {' '.join(entries)}")
    return paths


def load_average() -> float:
    """The 1-minute load average (first field of ``/proc/loadavg``, else ``os.getloadavg``)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return os.getloadavg()[0]


def summarize(seconds: list[float]) -> dict:
    """Median, mean and 90th percentile of per-image seconds.

    Parameters
    ----------
    seconds : list of float

    Returns
    -------
    dict
        ``n``, ``median``, ``mean``, ``p90`` (linear interpolation between images).
    """
    values = np.asarray(seconds, dtype=float)
    return {"n": int(values.size), "median": float(np.median(values)),
            "mean": float(values.mean()), "p90": float(np.percentile(values, 90))}


def rotated(methods: list[str], index: int) -> list[str]:
    """``methods`` rotated left by ``index`` (the run order of image number ``index``)."""
    shift = index % len(methods)
    return methods[shift:] + methods[:shift]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (see the module docstring).

    Parameters
    ----------
    argv : list of str or None
        Arguments (``None``: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", nargs="+", default=[str(DEFAULT_IMAGES)],
                        metavar="DIR_OR_FILE",
                        help="image folders (.jpg/.png sorted by name) or files "
                        "(default: %(default)s)")
    parser.add_argument("--limit", type=int, default=0, metavar="N",
                        help="use only the first N images (default: all)")
    parser.add_argument("--ss-python", required=True, metavar="PATH",
                        help="Python interpreter with opencv-contrib-python(-headless)")
    parser.add_argument("--modes", nargs="+", choices=("mcg", "scg"), default=["mcg", "scg"],
                        help="our modes to time (default: mcg scg)")
    parser.add_argument("--json", metavar="OUT.json",
                        help="write the per-image seconds and the summary to this file")
    parser.add_argument("--ss-timeout", type=float, default=900.0, metavar="SECONDS",
                        help="give up when Selective Search takes longer on one image "
                        "(default: %(default)s)")
    parser.add_argument("--ss-results", metavar="SS.json",
                        help="write Selective Search's boxes as a COCO results file "
                        "(needs --coco-gt)")
    parser.add_argument("--coco-gt", metavar="instances.json",
                        help="COCO ground truth giving the image_id of each image file name")
    args = parser.parse_args(argv)
    if args.limit < 0:
        parser.error("--limit must be 0 (all) or positive")
    if args.ss_results and not args.coco_gt:
        parser.error("--ss-results needs --coco-gt (the image ids of the results)")
    args.modes = list(dict.fromkeys(args.modes))  # drop repeats, keep the order
    return args


def coco_image_ids(gt_path: str, paths: list[Path]) -> dict:
    """``image_id`` of each image file, looked up by file name in a COCO ground truth.

    Parameters
    ----------
    gt_path : str
        COCO instances JSON (read by :class:`eval.coco_io.CocoGroundTruth`).
    paths : list of Path
        The images of the run.

    Returns
    -------
    dict of str -> int
        File name -> ``image_id``.

    Raises
    ------
    SystemExit
        With code 2 when the file cannot be read or an image is not in it.
    """
    from eval.coco_io import CocoGroundTruth

    try:
        ids = {info.file_name: info.image_id for info in CocoGroundTruth(gt_path).images}
    except (OSError, ValueError) as exc:
        fail(f"cannot read the image ids of {gt_path}: {exc}")
    missing = [path.name for path in paths if path.name not in ids]
    if missing:
        fail(f"{len(missing)} image(s) not in {gt_path}, e.g. {missing[0]}")
    return ids


def selective_search_results(image_id: int, boxes: list) -> list[dict]:
    """COCO results entries of one image's Selective Search boxes.

    Parameters
    ----------
    image_id : int
    boxes : list of [x, y, w, h]
        In Selective Search's order (best first).

    Returns
    -------
    list of dict
        ``image_id``, ``category_id`` 1, ``bbox`` and ``score`` ``1 - rank / len(boxes)``
        (so that sorting by score keeps Selective Search's order).
    """
    count = len(boxes)
    return [{"image_id": image_id, "category_id": 1, "bbox": [float(v) for v in box],
             "score": 1.0 - rank / count} for rank, box in enumerate(boxes)]


def paired_comparison(records: list[dict], mode: str) -> dict:
    """Image-by-image comparison of Selective Search and ``mode`` on the same images.

    Parameters
    ----------
    records : list of dict
        Per image, ``seconds``: wall seconds per method (``"ss"`` and ``mode``).
    mode : str

    Returns
    -------
    dict
        ``faster_images``: images on which ``mode`` took less time than Selective Search;
        ``median_ratio``: median over the images of ``SS seconds / mode seconds``;
        ``total_ss``, ``total_mode``: summed seconds.
    """
    ss = np.array([record["seconds"][SS] for record in records], dtype=float)
    ours = np.array([record["seconds"][mode] for record in records], dtype=float)
    return {"faster_images": int(np.count_nonzero(ours < ss)),
            "median_ratio": float(np.median(ss / ours)),
            "total_ss": float(ss.sum()), "total_mode": float(ours.sum())}


def target_holds(mode: str, ratio: float) -> bool:
    """Whether ``median(SS) / median(mode)`` meets the target of ``mode`` (:data:`TARGETS`)."""
    op, target = TARGETS[mode]
    return ratio > target if op == ">" else ratio >= target


def print_summary(summary: dict, ratios: dict, methods: list[str],
                  paired: dict | None = None) -> None:
    """Print the per-method table, the ratios, the targets and the image-by-image comparison.

    Parameters
    ----------
    summary : dict
        Per method, :func:`summarize` of the wall seconds plus ``cpu_median`` and
        ``boxes_mean``.
    ratios : dict
        Per mode, ``median(SS) / median(mode)``.
    methods : list of str
        Methods in table order.
    paired : dict, optional
        Per mode, :func:`paired_comparison`.
    """
    print(f"\n{'method':8s} {'images':>6s} {'median s':>9s} {'mean s':>9s} {'p90 s':>9s} "
          f"{'median cpu s':>12s} {'mean boxes':>10s}")
    for method in methods:
        row = summary[method]
        print(f"{method.upper():8s} {row['n']:6d} {row['median']:9.3f} {row['mean']:9.3f} "
              f"{row['p90']:9.3f} {row['cpu_median']:12.3f} {row['boxes_mean']:10.0f}")
    print()
    for mode, ratio in ratios.items():
        op, target = TARGETS[mode]
        print(f"median(SS)/median({mode.upper()}) = {ratio:6.2f}   "
              f"target {op} {target:g}: {'holds' if target_holds(mode, ratio) else 'NOT met'}")
    for mode, pair in (paired or {}).items():
        n_images = summary[mode]["n"]
        print(f"image by image, {mode.upper()}: faster on {pair['faster_images']} of {n_images}, "
              f"median of SS/{mode.upper()} {pair['median_ratio']:.3f}, total "
              f"{pair['total_ss']:.1f} s (SS) against {pair['total_mode']:.1f} s")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (see the module docstring).

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (``None``: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 when Selective Search cannot run or an image cannot be read.
    """
    args = parse_args(argv)
    paths = list_images(args.images, args.limit)
    image_ids = coco_image_ids(args.coco_gt, paths) if args.ss_results else {}

    import cv2

    from mcg import im2mcg, read_image
    from mcg.allocator import keep_freed_memory

    cv2.setNumThreads(1)
    malloc = keep_freed_memory()
    methods = [SS, *args.modes]
    load_start = load_average()
    print(f"load average (1 min) at start: {load_start:.2f} on {os.cpu_count()} CPUs")
    try:
        with SelectiveSearchWorker(args.ss_python) as worker:
            print(f"Selective Search: OpenCV {worker.cv2_version} (contrib) in "
                  f"{worker.python} (Python {worker.python_version}), "
                  f"{worker.threads} thread(s), fast mode")
            print(f"ours: OpenCV {cv2.__version__}, {cv2.getNumThreads()} thread(s), "
                  f"modes {' '.join(args.modes)}, kept freed memory: {malloc}")

            def load(path: Path) -> np.ndarray:
                try:
                    return read_image(path)
                except (OSError, ValueError) as exc:
                    fail(f"cannot read {path}: {exc}")

            def run(method: str, path: Path, image: np.ndarray) -> dict:
                if method == SS:
                    return worker.run(path, args.ss_timeout)
                wall, cpu = time.perf_counter(), time.process_time()
                proposals = im2mcg(image, mode=method)
                return {"seconds": time.perf_counter() - wall,
                        "cpu_seconds": time.process_time() - cpu,
                        "n_boxes": int(proposals.n_proposals)}

            image = load(paths[0])
            start = time.perf_counter()
            for method in methods:
                run(method, paths[0], image)
            print(f"warm-up on {paths[0].name}: {time.perf_counter() - start:.1f} s "
                  "(not counted)\n")

            records = []
            ss_results = []
            for index, path in enumerate(paths):
                image = load(path)
                order = rotated(methods, index)
                results = {method: run(method, path, image) for method in order}
                ss_shape = (results[SS]["height"], results[SS]["width"])
                if ss_shape != image.shape[:2]:
                    print(f"warning: {path.name}: Selective Search read {ss_shape}, "
                          f"we read {image.shape[:2]}", file=sys.stderr)
                records.append({
                    "image": str(path), "height": image.shape[0], "width": image.shape[1],
                    "order": order,
                    "seconds": {m: results[m]["seconds"] for m in methods},
                    "cpu_seconds": {m: results[m]["cpu_seconds"] for m in methods},
                    "n_boxes": {m: results[m]["n_boxes"] for m in methods}})
                if args.ss_results:
                    ss_results += selective_search_results(image_ids[path.name],
                                                           results[SS]["boxes"])
                times = "  ".join(f"{m.upper()} {results[m]['seconds']:7.3f} s" for m in methods)
                print(f"[{index + 1}/{len(paths)}] {path.name} {image.shape[1]}x{image.shape[0]} "
                      f"(order {'>'.join(m.upper() for m in order)}): {times}", flush=True)
    except SelectiveSearchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    summary = {}
    for method in methods:
        summary[method] = summarize([r["seconds"][method] for r in records])
        summary[method]["cpu_median"] = float(np.median([r["cpu_seconds"][method]
                                                         for r in records]))
        summary[method]["boxes_mean"] = float(np.mean([r["n_boxes"][method] for r in records]))
    ratios = {mode: summary[SS]["median"] / summary[mode]["median"] for mode in args.modes}
    paired = {mode: paired_comparison(records, mode) for mode in args.modes}
    print_summary(summary, ratios, methods, paired)
    load_end = load_average()
    print(f"\nload average (1 min): {load_start:.2f} at start, {load_end:.2f} at end "
          f"({os.cpu_count()} CPUs)")

    if args.json:
        out = {
            "ss_python": worker.python, "ss_opencv": worker.cv2_version,
            "opencv": cv2.__version__, "modes": args.modes, "kept_freed_memory": malloc,
            "load_average": {"start": load_start, "end": load_end}, "cpus": os.cpu_count(),
            "images": records, "summary": summary, "ratios": ratios, "paired": paired,
            "targets": {mode: {"op": TARGETS[mode][0], "value": TARGETS[mode][1],
                               "holds": target_holds(mode, ratios[mode])}
                        for mode in args.modes}}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.ss_results:
        Path(args.ss_results).parent.mkdir(parents=True, exist_ok=True)
        Path(args.ss_results).write_text(json.dumps(ss_results))
        print(f"wrote {args.ss_results}: {len(ss_results)} Selective Search boxes of "
              f"{len(records)} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
