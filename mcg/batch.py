"""Running one job over many images: input checks, progress, per-image failures."""
from __future__ import annotations

import multiprocessing
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable


#: File name endings taken from a folder given as input (case-insensitive).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def check_image_paths(images: list[str]) -> list[Path]:
    """Validate a list of input image paths before any work starts.

    Parameters
    ----------
    images : list of str
        Image file paths, or folders: a folder stands for the image files directly inside it
        (names ending in one of :data:`IMAGE_SUFFIXES`, any case), sorted by name.

    Returns
    -------
    list of Path
        The image files, in the order given (folders expanded in place).

    Raises
    ------
    FileNotFoundError
        If a path does not exist, or a folder holds no image file.
    ValueError
        If the list is empty or two images share a file stem (their outputs would collide).
    """
    if not images:
        raise ValueError("no input images given")
    paths: list[Path] = []
    missing, empty_folders = [], []
    for given in map(Path, images):
        if given.is_dir():
            found = sorted(f for f in given.iterdir()
                           if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                empty_folders.append(str(given))
            paths.extend(found)
        elif given.is_file():
            paths.append(given)
        else:
            missing.append(str(given))
    if missing:
        raise FileNotFoundError(f"image(s) not found: {', '.join(missing)}")
    if empty_folders:
        raise FileNotFoundError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in folder(s): "
                                f"{', '.join(empty_folders)}")
    stems = [p.stem for p in paths]
    duplicates = sorted({s for s in stems if stems.count(s) > 1})
    if duplicates:
        raise ValueError(f"several input images share the output name(s) {duplicates}")
    return paths


def add_batch_arguments(parser) -> None:
    """Add the arguments every batch sub-command shares to an argparse parser.

    ``IMAGE...`` (files or folders, see :func:`check_image_paths`), ``-o/--out`` (output
    folder) and ``--workers N`` (see :func:`run_over_images`).
    """
    from mcg.cli import positive_int

    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="input image files, or folders of them (their image files, sorted)")
    parser.add_argument("-o", "--out", required=True, help="output folder (created if needed)")
    parser.add_argument("--workers", type=positive_int, default=1, metavar="N",
                        help="images processed at the same time, each in its own process "
                        "(default 1); outputs are the same as with 1, memory grows with N")


#: In a worker process: the parent's "stop" event (set on Ctrl-C), else None.
_STOP_EVENT = None


def _init_worker(stop_event) -> None:
    """Worker initializer: Ctrl-C is the parent's to handle; it sets ``stop_event``."""
    global _STOP_EVENT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _STOP_EVENT = stop_event


def _run_one(process: Callable, path: Path) -> tuple:
    """Read one image and apply ``process``; input errors are returned, not raised.

    Returns ``(description, extra, error_message, seconds)``: ``extra`` is the second item
    when ``process`` returned a ``(description, extra)`` pair, else None; ``error_message``
    is None on success. ``description`` and ``error_message`` are both None for an image
    skipped because the run was interrupted.
    """
    from mcg.io import read_image

    if _STOP_EVENT is not None and _STOP_EVENT.is_set():
        return None, None, None, 0.0  # interrupted before this image started
    start = time.perf_counter()
    try:
        outcome = process(path, read_image(path))
    except (ValueError, OSError) as error:
        return None, None, str(error), time.perf_counter() - start
    description, extra = outcome if isinstance(outcome, tuple) else (outcome, None)
    return description, extra, None, time.perf_counter() - start


def _run_in_workers(paths: list[Path], process: Callable, workers: int, report: Callable,
                    label: str) -> None:
    """:func:`run_over_images` with ``workers`` spawned processes; reports as images finish.

    On Ctrl-C the images not started are dropped, those in progress are finished and
    reported (so no file is left half-written or unreported), then KeyboardInterrupt is
    raised again; a second Ctrl-C stops waiting for them to be reported.
    """
    context = multiprocessing.get_context("spawn")
    stop_event = context.Event()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_init_worker, initargs=(stop_event,)) as pool:
        futures = {pool.submit(_run_one, process, path): (index, path)
                   for index, path in enumerate(paths, 1)}
        unreported = set(futures)

        def report_as_completed(pending) -> None:
            for future in as_completed(pending):
                report(*futures[future], future.result())
                unreported.discard(future)

        try:
            report_as_completed(futures)
        except KeyboardInterrupt:
            stop_event.set()  # images already queued to a worker are skipped
            for future in unreported:
                future.cancel()
            started = [f for f in unreported if not f.cancelled()]
            print(f"{label}: interrupted; finishing the image(s) in progress "
                  "(Ctrl-C again to stop waiting)", file=sys.stderr)
            try:
                report_as_completed(started)
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
            raise
        except BaseException:  # a bug in ``process``: do not run the other images
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def run_over_images(paths: list[Path], process: Callable, label: str, workers: int = 1,
                    collect: Callable | None = None) -> int:
    """Apply ``process(path, rgb_image)`` to every image, printing progress.

    A failing image (unreadable file, rejected content) is reported by name and the others
    still run; the return code says whether any failed. Each image's progress line is printed
    when it is done (with several workers, in the order they finish); ``collect`` is called
    in input order once every image is done, so what it gathers does not depend on
    ``workers``.

    Parameters
    ----------
    paths : list of Path
        Checked input images (see :func:`check_image_paths`).
    process : callable
        Called with the path and the (H, W, 3) uint8 RGB image; returns a short description
        of what it wrote, or a ``(description, extra)`` pair whose ``extra`` is handed to
        ``collect``. With ``workers > 1`` it runs in other processes, so it must be picklable
        (a module-level function, or a ``functools.partial`` of one).
    label : str
        Name of the job for the messages.
    workers : int
        Number of images processed at the same time, each in its own (spawned) process.
    collect : callable, optional
        Called in this process as ``collect(path, extra)`` for each image whose ``process``
        returned an ``extra``.

    Returns
    -------
    int
        0 when every image succeeded, 1 otherwise.

    Raises
    ------
    ValueError
        If ``workers`` is less than 1.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be a whole number of at least 1, got {workers!r}")
    failures, extras = [], []

    def report(index: int, path: Path, outcome: tuple) -> None:
        description, extra, error, seconds = outcome
        if description is None and error is None:
            return  # skipped: the run was interrupted before this image
        if error is not None:
            failures.append((index, path))
            print(f"[{index}/{len(paths)}] {path}: FAILED: {error}", file=sys.stderr)
            return
        if extra is not None:
            extras.append((index, path, extra))
        print(f"[{index}/{len(paths)}] {path} -> {description} ({seconds:.2f} s)", flush=True)

    if min(workers, len(paths)) <= 1:
        for index, path in enumerate(paths, 1):
            report(index, path, _run_one(process, path))
    else:
        _run_in_workers(paths, process, min(workers, len(paths)), report, label)
    if collect is not None:
        for _, path, extra in sorted(extras, key=lambda item: item[0]):
            collect(path, extra)
    if failures:
        failed = [str(path) for _, path in sorted(failures, key=lambda item: item[0])]
        print(f"{label}: {len(failed)} of {len(paths)} image(s) failed: " + ", ".join(failed),
              file=sys.stderr)
        return 1
    return 0
