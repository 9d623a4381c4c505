"""Running one job over many images: input checks, resumable output folders, executors.

Two levels:

- :func:`run_over_images` applies a function to every image and reports progress and
  per-image failures, in this process, in ``workers`` local processes, or on a Dask
  distributed cluster (``scheduler``). Only a bounded number of images is handed out at a
  time, so a million images never make a million pending tasks.
- :func:`run_batch` does that for a :class:`BatchJob` that writes files into an output folder,
  and makes the folder a resumable record of the run: inputs are never overwritten, a
  manifest (``mcg_run.json``) records the command, parameters and model files, images whose
  outputs are all present are skipped on a rerun, and failed images are listed in
  ``mcg_failed.txt`` (and retried by the next run). Output files are written atomically
  (:mod:`mcg.storage`), so a killed run leaves no partial file.

Locations are local paths or fsspec URLs (:mod:`mcg.storage`).
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import json
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable, Iterable, Iterator

from mcg import storage

#: File name endings taken from a folder given as input (case-insensitive).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
#: Manifest of a run, inside its output folder.
MANIFEST_NAME = "mcg_run.json"
#: Images that failed in the last run, inside the output folder (tab-separated: image, error).
FAILED_NAME = "mcg_failed.txt"
#: Lock file of a local output folder while a run writes into it.
LOCK_NAME = ".mcg_run.lock"
#: Images handed out at a time per local worker process.
IN_FLIGHT_PER_WORKER = 2
#: Images handed out at a time to a Dask cluster: per worker thread, and at least this many
#: (a task's round trip through the scheduler takes milliseconds; the scheduler keeps the
#: tasks not yet started in its own queue, where Ctrl-C cancels them).
DASK_IN_FLIGHT_PER_THREAD, DASK_MIN_IN_FLIGHT = 4, 256
#: A Dask task takes several images when they are quick (the scheduler's cost per task is about
#: a millisecond): as many as fit in this many seconds, at most :data:`DASK_MAX_CHUNK`.
DASK_TASK_SECONDS, DASK_MAX_CHUNK = 0.2, 64

_PART_FILE = re.compile(r"^\..+\.\d+-[0-9a-f]{8}" + re.escape(storage.PART_SUFFIX) + "$")


def check_image_paths(images: Iterable[str | os.PathLike]) -> list:
    """Validate a list of input image paths before any work starts (linear time).

    Parameters
    ----------
    images : iterable of str or path
        Image files, or folders: a folder stands for the image files directly inside it
        (names ending in one of :data:`IMAGE_SUFFIXES`, any case), sorted by name. Local paths
        or fsspec URLs (``s3://bucket/images/``).

    Returns
    -------
    list of Path or str
        The image files in the order given (folders expanded in place): a ``Path`` for a
        local file, the URL string otherwise.

    Raises
    ------
    FileNotFoundError
        If a path does not exist, or a folder holds no image file.
    ValueError
        If the list is empty or two images share a file stem (their outputs would collide).
    """
    images = [os.fspath(image) for image in images]
    if not images:
        raise ValueError("no input images given")
    paths: list = []
    missing, empty_folders = [], []
    for given in images:
        url = storage.is_url(given)
        if storage.is_dir(given):
            found = [f for f in storage.list_files(given)
                     if storage.base_name(f).lower().endswith(IMAGE_SUFFIXES)]
            if not found:
                empty_folders.append(given)
            paths.extend(found if url else map(Path, found))
        elif storage.is_file(given):
            paths.append(given if url else storage.local_path(given))
        else:
            missing.append(given)
    if missing:
        raise FileNotFoundError(f"image(s) not found: {', '.join(missing)}")
    if empty_folders:
        raise FileNotFoundError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in folder(s): "
                                f"{', '.join(empty_folders)}")
    counts = collections.Counter(storage.stem(p) for p in paths)
    duplicates = sorted(stem for stem, count in counts.items() if count > 1)
    if duplicates:
        raise ValueError(f"several input images share the output name(s) {duplicates[:20]}")
    return paths


def add_batch_arguments(parser) -> None:
    """Add the arguments every batch sub-command shares to an argparse parser.

    ``IMAGE...`` (files or folders, see :func:`check_image_paths`), ``-o/--out`` (output
    folder), ``--workers N``, ``--scheduler ADDRESS`` (see :func:`run_over_images`) and
    ``--overwrite`` (see :func:`run_batch`).
    """
    from mcg.cli import positive_int

    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="input image files, or folders of them (their image files, sorted); "
                        "local paths or fsspec URLs")
    parser.add_argument("-o", "--out", required=True,
                        help="output folder (created if needed; a local path or an fsspec URL). "
                        "Rerunning the same command into it continues where it stopped")
    parser.add_argument("--workers", type=positive_int, default=1, metavar="N",
                        help="images processed at the same time, each in its own process "
                        "(default 1); outputs are the same as with 1, memory grows with N")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the images on this Dask distributed scheduler (e.g. "
                        "tcp://host:8786; needs pip install \"mcg[dask]\"); the workers must "
                        "reach the inputs and the output folder")
    parser.add_argument("--overwrite", action="store_true",
                        help="recompute every image even if the output folder holds results "
                        "(of this or of a different run), replacing them")


# ---------------------------------------------------------------------------- one image
#: In a local worker process: the parent's "stop" event (set on Ctrl-C), else None.
_STOP_EVENT = None


def _watch_parent(parent_pid: int) -> None:
    """Worker thread: end this worker when its parent process is gone (killed)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(1)  # outputs are written atomically: at most a .part file is left


def _init_worker(stop_event, parent_pid: int) -> None:
    """Worker initializer: malloc keeps freed memory (:mod:`mcg.allocator`); Ctrl-C and
    SIGTERM are the parent's to handle (it sets ``stop_event`` and lets running images
    finish); the worker ends if the parent dies."""
    from mcg.allocator import keep_freed_memory

    global _STOP_EVENT
    keep_freed_memory()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _STOP_EVENT = stop_event
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _run_one(process: Callable, path) -> tuple:
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


# ---------------------------------------------------------------------------- executors
def _interrupted_message(label: str) -> None:
    print(f"{label}: interrupted; finishing the image(s) in progress (Ctrl-C again to stop "
          "waiting)", file=sys.stderr, flush=True)


def _run_serially(items: Iterator, process: Callable, report: Callable) -> None:
    for index, path in items:
        report(index, path, _run_one(process, path))


def _run_in_workers(items: Iterator, process: Callable, workers: int, report: Callable,
                    label: str) -> None:
    """Images on ``workers`` spawned processes, at most ``2 * workers`` handed out at a time.

    On Ctrl-C (or SIGTERM in the command line) the images not started are dropped, those in
    progress are finished and reported (so no image is computed without being reported),
    then KeyboardInterrupt is raised again; a second one stops waiting and kills the
    workers (their outputs are atomic: nothing half-written appears).
    """
    context = multiprocessing.get_context("spawn")
    stop_event = context.Event()
    limit = IN_FLIGHT_PER_WORKER * workers
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_init_worker, initargs=(stop_event, os.getpid()))
    in_flight: dict = {}

    def hand_out() -> None:
        while len(in_flight) < limit:
            item = next(items, None)
            if item is None:
                return
            in_flight[pool.submit(_run_one, process, item[1])] = item

    def report_done(futures) -> None:
        for future in futures:
            report(*in_flight.pop(future), future.result())

    try:
        hand_out()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            report_done(done)
            hand_out()
    except KeyboardInterrupt:
        stop_event.set()  # images queued to a worker but not started are skipped there
        for future in list(in_flight):
            if future.cancel():
                in_flight.pop(future)
        _interrupted_message(label)
        try:
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                report_done(done)
        except KeyboardInterrupt:
            _kill_workers(pool)
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    except BaseException:  # a bug in ``process``: do not run the other images
        _kill_workers(pool)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """End the worker processes of a pool now (they ignore SIGINT and SIGTERM)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.kill()
            process.join(5)


def connect_scheduler(address: str):
    """A ``distributed.Client`` of a running Dask scheduler, with clear errors.

    Parameters
    ----------
    address : str
        Scheduler address (``tcp://host:8786``, or what ``dask scheduler`` printed).

    Returns
    -------
    distributed.Client

    Raises
    ------
    ValueError
        If Dask distributed is not installed, the scheduler cannot be reached, or its workers
        run another version of this package.
    """
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("--scheduler needs Dask distributed: pip install \"mcg[dask]\"") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as error:
        raise ValueError(f"cannot connect to the Dask scheduler at {address} ({error})") from None
    from mcg import __version__

    versions = client.run(_worker_version)
    wrong = {worker: v for worker, v in versions.items() if v != __version__}
    if wrong:
        client.close()
        raise ValueError(f"Dask workers run another mcg version than this one ({__version__}): "
                         f"{wrong}")
    return client


def _worker_version() -> str:
    from mcg import __version__

    return __version__


def _run_chunk(process: Callable, paths: list) -> list[tuple]:
    """:func:`_run_one` on several images (one Dask task, in a worker process of the cluster)."""
    from mcg.allocator import keep_freed_memory

    keep_freed_memory()  # once per worker process; later calls return at once
    return [_run_one(process, path) for path in paths]


#: Scheduler states of a task that no worker has started (``None``: not registered yet).
NOT_STARTED = frozenset({None, "released", "waiting", "queued", "no-worker"})


def _task_states(keys: list, dask_scheduler=None) -> dict:
    """Run on the Dask scheduler: the state of each task key it knows (``processing``,
    ``memory``, ``queued``, ...)."""
    tasks = dask_scheduler.tasks
    return {key: tasks[key].state for key in keys if key in tasks}


def _run_on_dask(items: Iterator, process: Callable, scheduler, report: Callable,
                 label: str) -> None:
    """Images as tasks of a Dask distributed cluster, a bounded number at a time.

    ``scheduler`` is an address or a ``distributed.Client``. A task holds one image, or
    several when images take less than :data:`DASK_TASK_SECONDS` each. Ctrl-C behaves as with
    local workers: tasks not started are cancelled, running ones are waited for and reported.
    """
    from distributed import as_completed

    client = connect_scheduler(scheduler) if isinstance(scheduler, str) else scheduler
    threads = max(1, sum(client.nthreads().values()))
    limit = max(DASK_MIN_IN_FLIGHT, DASK_IN_FLIGHT_PER_THREAD * threads)
    in_flight: dict = {}
    completed = as_completed(with_results=True)  # results come with the completion events
    run_id = f"{os.getpid()}-{time.time_ns()}"
    timing = {"images": 0, "seconds": 0.0}

    def chunk_size() -> int:
        if timing["images"] < threads:
            return 1
        per_image = timing["seconds"] / timing["images"]
        return int(min(DASK_MAX_CHUNK, max(1, DASK_TASK_SECONDS // max(per_image, 1e-6))))

    def hand_out() -> None:
        while len(in_flight) < limit:
            chunk = [item for item in itertools.islice(items, chunk_size())]
            if not chunk:
                return
            future = client.submit(_run_chunk, process, [path for _, path in chunk],
                                   key=f"mcg-{run_id}-{chunk[0][0]}", retries=0)
            in_flight[future] = chunk
            completed.add(future)

    def report_done(future, outcomes) -> None:
        chunk = in_flight.pop(future, None)
        for (index, path), outcome in zip(chunk or (), outcomes):
            timing["images"] += 1
            timing["seconds"] += outcome[3]
            report(index, path, outcome)

    try:
        hand_out()
        for future, outcomes in completed:
            report_done(future, outcomes)
            hand_out()
    except KeyboardInterrupt:
        # The scheduler's own task states decide what has not started: a task that just
        # finished on a worker (its outputs written) may not be done() here yet, and is kept.
        states = client.run_on_scheduler(_task_states, [f.key for f in in_flight])
        waiting = [f for f in in_flight if not f.done() and states.get(f.key) in NOT_STARTED]
        client.cancel(waiting)
        for future in waiting:
            in_flight.pop(future, None)
        _interrupted_message(label)
        try:
            for future, outcomes in as_completed(list(in_flight), with_results=True):
                report_done(future, outcomes)
        except KeyboardInterrupt:
            client.cancel(list(in_flight))
            raise
        raise
    finally:
        if isinstance(scheduler, str):
            client.close()


def run_over_images(paths: list, process: Callable, label: str, workers: int = 1,
                    collect: Callable | None = None, *, scheduler=None,
                    first_index: int = 1, total: int | None = None,
                    on_failure: Callable | None = None) -> int:
    """Apply ``process(path, rgb_image)`` to every image, printing progress.

    A failing image (unreadable file, rejected content) is reported by name and the others
    still run; the return code says whether any failed. Each image's progress line is printed
    when it is done (with several workers, in the order they finish), with an estimate of the
    time left; ``collect`` is called in input order once every image is done, so what it
    gathers does not depend on ``workers``.

    Parameters
    ----------
    paths : list of Path or str
        Checked input images (see :func:`check_image_paths`).
    process : callable
        Called with the path and the (H, W, 3) uint8 RGB image; returns a short description
        of what it wrote, or a ``(description, extra)`` pair whose ``extra`` is handed to
        ``collect``. With ``workers > 1`` or a ``scheduler`` it runs in other processes, so it
        must be picklable (a module-level function, or a ``functools.partial`` of one).
    label : str
        Name of the job for the messages.
    workers : int
        Number of images processed at the same time, each in its own (spawned) process.
    collect : callable, optional
        Called in this process as ``collect(path, extra)`` for each image whose ``process``
        returned an ``extra``.
    scheduler : str or distributed.Client, optional
        Run the images as tasks on this Dask distributed cluster instead (``workers`` must
        then be 1). Its workers load the models once each and must reach ``paths``.
    first_index, total : int, optional
        Numbering of the progress lines (``[first_index/total]`` for the first image).
    on_failure : callable, optional
        Called as ``on_failure(path, message)`` for each failed image.

    Returns
    -------
    int
        0 when every image succeeded, 1 otherwise.

    Raises
    ------
    ValueError
        If ``workers`` is less than 1, or combined with a ``scheduler``.
    KeyboardInterrupt
        When interrupted, after the images in progress are finished and reported.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be a whole number of at least 1, got {workers!r}")
    if scheduler is not None and workers != 1:
        raise ValueError("--workers is for runs on this machine; with --scheduler the Dask "
                         "workers decide how many images run at a time")
    total = len(paths) + first_index - 1 if total is None else total
    failures, extras = [], []
    start = time.perf_counter()
    finished = [0]

    def report(index: int, path, outcome: tuple) -> None:
        description, extra, error, seconds = outcome
        if description is None and error is None:
            return  # skipped: the run was interrupted before this image
        finished[0] += 1
        if error is not None:
            failures.append((index, path))
            print(f"[{index}/{total}] {path}: FAILED: {error}", file=sys.stderr, flush=True)
            if on_failure is not None:
                on_failure(path, error)
            return
        if extra is not None:
            extras.append((index, path, extra))
        left = len(paths) - finished[0]
        eta = ""
        if left and finished[0] >= 2:
            eta = f"; {format_duration((time.perf_counter() - start) / finished[0] * left)} left"
        print(f"[{index}/{total}] {path} -> {description} ({seconds:.2f} s{eta})", flush=True)

    items = iter(enumerate(paths, first_index))
    if scheduler is not None:
        _run_on_dask(items, process, scheduler, report, label)
    elif min(workers, len(paths)) <= 1:
        _run_serially(items, process, report)
    else:
        _run_in_workers(items, process, min(workers, len(paths)), report, label)
    if collect is not None:
        for _, path, extra in sorted(extras, key=lambda item: item[0]):
            collect(path, extra)
    if failures:
        failed = [str(path) for _, path in sorted(failures, key=lambda item: item[0])]
        shown = ", ".join(failed[:20]) + (f" and {len(failed) - 20} more" if len(failed) > 20 else "")
        print(f"{label}: {len(failed)} of {len(paths)} image(s) failed: {shown}", file=sys.stderr)
        return 1
    return 0


def format_duration(seconds: float) -> str:
    """A duration for progress lines: ``"42 s"``, ``"17 min"`` or ``"3.2 h"``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# ---------------------------------------------------------------------------- output folders
@dataclasses.dataclass
class BatchJob:
    """A batch command's work on one image and the files it writes.

    Attributes
    ----------
    command : str
        Name of the command (``"edges"``, ``"ucm"``, ``"proposals"``), recorded in the manifest.
    process : callable
        ``process(path, rgb_image) -> description``: computes one image and writes its output
        files into the output folder (atomically, :mod:`mcg.storage`). Picklable.
    outputs : callable
        ``outputs(stem) -> tuple of str``: names (relative to the output folder, ``/``
        separated) of every file ``process`` writes for an image of that file stem. An image
        is done when all of them exist.
    parameters : dict
        Everything that changes the outputs (JSON-serializable), recorded in the manifest.
    models : dict
        Model files the outputs depend on: name -> content digest (see :func:`file_digest`).
    """

    command: str
    process: Callable
    outputs: Callable[[str], tuple]
    parameters: dict
    models: dict = dataclasses.field(default_factory=dict)

    def manifest(self) -> dict:
        """The manifest of a run of this job (what must match for a rerun to continue it)."""
        from mcg import __version__

        return {"command": self.command, "mcg_version": __version__,
                "parameters": self.parameters, "models": self.models}


def model_digests(edge_model=None, calibration=None) -> dict:
    """Digests of the model files behind a hierarchy: the edge forest and the calibration.

    Parameters
    ----------
    edge_model, calibration : str, Path or None
        The files (None: the shipped edge forest and ``mcg/models/calibration.json``).

    Returns
    -------
    dict
        ``edge_forest`` and ``calibration``: :func:`file_digest` of each.
    """
    from contours.detect import DEFAULT_MODEL
    from mcg.pipeline import CALIBRATION_FILE, MODELS_DIR

    return {"edge_forest": file_digest(edge_model or DEFAULT_MODEL),
            "calibration": file_digest(calibration or MODELS_DIR / CALIBRATION_FILE)}


def file_digest(path: str | os.PathLike) -> str:
    """A short content digest of a (model) file: ``sha256:<first 16 hex digits>``."""
    import hashlib

    return "sha256:" + hashlib.sha256(storage.read_bytes(path)).hexdigest()[:16]


def _manifest_differences(recorded: dict, current: dict, prefix: str = "") -> list[str]:
    differences = []
    for key in sorted(set(recorded) | set(current)):
        before, now = recorded.get(key, "(absent)"), current.get(key, "(absent)")
        if isinstance(before, dict) and isinstance(now, dict):
            differences += _manifest_differences(before, now, f"{prefix}{key}.")
        elif before != now:
            differences.append(f"{prefix}{key}: {before!r} in the folder, {now!r} now")
    return differences


@dataclasses.dataclass
class BatchPlan:
    """What a run into an output folder will do (see :func:`plan_batch`).

    Attributes
    ----------
    paths : list of Path or str
        Every input image, in order.
    pending : list of Path or str
        The images still to compute, in order.
    done : int
        Images whose outputs were all present (skipped).
    out : str
        Output folder.
    """

    paths: list
    pending: list
    done: int
    out: str


def _same_location(a: str, b: str) -> bool:
    return os.path.normcase(a) == os.path.normcase(b)


def _check_outputs_are_not_inputs(paths: list, outputs: list, out: str) -> None:
    """Refuse an output file that is one of the input files (checked in linear time).

    ``outputs[i]`` are the names the job writes for ``paths[i]``.
    """
    if storage.is_url(out):
        clash = [p for p, names in zip(paths, outputs)
                 if any(storage.join(out, name) == str(p) for name in names)]
    else:
        out_dir = os.path.realpath(storage.local_path(out))
        parents: dict[str, str] = {}
        clash = []
        for p, names in zip(paths, outputs):
            parent = os.fspath(Path(p).parent)
            if parent not in parents:
                parents[parent] = os.path.realpath(parent)
            for name in names:
                folder, _, base = os.path.join(out_dir, name).rpartition(os.sep)
                if base == Path(p).name and _same_location(folder, parents[parent]):
                    clash.append(p)
    if clash:
        shown = ", ".join(map(str, clash[:10]))
        raise ValueError(f"the output folder {out} would overwrite input image(s) {shown}: "
                         "choose another output folder")


def _existing_names(out: str, outputs: list) -> set[str]:
    """Relative names of the files present in the output folder and its output sub-folders
    (``outputs``: the names the job writes, per image)."""
    names = set(storage.list_names(out))
    subfolders = {name.rpartition("/")[0] for names_ in outputs for name in names_} - {""}
    for sub in sorted(subfolders):
        names.update(f"{sub}/{n}" for n in storage.list_names(storage.join(out, sub)))
    return names


@contextlib.contextmanager
def output_folder_lock(out: str) -> Iterator[None]:
    """Hold an exclusive lock on a local output folder (no lock on URLs); refuse if taken.

    Raises
    ------
    ValueError
        If another process holds the lock (another run is writing into the folder).
    """
    if storage.is_url(out):
        yield
        return
    import fcntl

    lock_path = storage.local_path(out) / LOCK_NAME
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"another mcg run is writing into {out} (it holds {lock_path}); "
                             "wait for it or choose another output folder") from None
        try:
            yield
        finally:
            lock_path.unlink(missing_ok=True)  # removed while held: no other run can be
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)  # holding a lock on this file


def plan_batch(paths: list, out: str, job: BatchJob, overwrite: bool = False) -> BatchPlan:
    """Check an output folder against a job and decide which images still need computing.

    Call it with the folder locked (:func:`output_folder_lock`); it creates the folder, checks
    the manifest and writes it, removes leftover temporary files of killed runs, and, with
    ``overwrite``, removes the outputs of ``paths`` that a previous run wrote.

    Parameters
    ----------
    paths : list of Path or str
        Checked input images (:func:`check_image_paths`).
    out : str
        Output folder (local path or fsspec URL).
    job : BatchJob
    overwrite : bool
        Recompute every image, whatever the folder holds.

    Returns
    -------
    BatchPlan

    Raises
    ------
    ValueError
        If an output would overwrite an input, or the folder holds the results of a run with
        other parameters or models (naming the differences) or files of no recorded run that
        this job would overwrite (both unless ``overwrite``).
    NotADirectoryError, PermissionError
        If the output folder is a file or cannot be written.
    """
    outputs = [job.outputs(storage.stem(p)) for p in paths]
    _check_outputs_are_not_inputs(paths, outputs, out)
    storage.make_folder(out)
    existing = _existing_names(out, outputs)
    for name in sorted(n for n in existing if _PART_FILE.match(n.rpartition("/")[2])):
        storage.remove(storage.join(out, name))  # temporary file of a killed run
    manifest = job.manifest()
    recorded = None
    if MANIFEST_NAME in existing:
        try:
            recorded = json.loads(storage.read_bytes(storage.join(out, MANIFEST_NAME)))
        except (ValueError, UnicodeDecodeError):
            recorded = {"unreadable manifest": True}
    if overwrite:
        for names in outputs:
            for name in names:
                if name in existing:
                    storage.remove(storage.join(out, name))
        existing = set()
    elif recorded is not None and recorded != manifest:
        differences = _manifest_differences(recorded, manifest)
        raise ValueError(f"{out} holds the results of another run ({'; '.join(differences)}); "
                         "rerun with the same options to continue it, choose another output "
                         "folder, or pass --overwrite to recompute everything")
    elif recorded is None:
        clash = [name for names in outputs for name in names if name in existing]
        if clash:
            raise ValueError(f"{out} already holds files this run would write "
                             f"({', '.join(clash[:5])}{', ...' if len(clash) > 5 else ''}) and "
                             f"no record ({MANIFEST_NAME}) of the run that made them; choose "
                             "another output folder or pass --overwrite to replace them")
    for sub in sorted({n.rpartition("/")[0] for names in outputs for n in names} - {""}):
        storage.make_folder(storage.join(out, sub))
    if recorded != manifest:
        storage.write_bytes(storage.join(out, MANIFEST_NAME),
                            (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    pending = [p for p, names in zip(paths, outputs)
               if not all(name in existing for name in names)]
    return BatchPlan(paths=paths, pending=pending, done=len(paths) - len(pending), out=out)


def done_images(plan_paths: list, out: str, job: BatchJob) -> list:
    """The images of ``plan_paths`` whose outputs are all present in ``out``, in order."""
    outputs = [job.outputs(storage.stem(p)) for p in plan_paths]
    existing = _existing_names(out, outputs)
    return [p for p, names in zip(plan_paths, outputs) if all(n in existing for n in names)]


def _write_failures(out: str, failures: list[tuple]) -> None:
    location = storage.join(out, FAILED_NAME)
    if not failures:
        storage.remove(location)
        return
    lines = "".join(f"{path}\t{' '.join(str(message).split())}\n" for path, message in failures)
    storage.write_bytes(location, ("# image\terror (these images are retried by a rerun)\n"
                                   + lines).encode())


def run_batch(images: Iterable, out: str | os.PathLike, job: BatchJob, *, workers: int = 1,
              scheduler=None, overwrite: bool = False, label: str | None = None,
              checked: bool = False) -> int:
    """Run a job over images into an output folder that records and resumes the run.

    Steps, all before any image is computed: the inputs are checked
    (:func:`check_image_paths`), the folder is locked, checked and planned
    (:func:`plan_batch`). Then the images not done earlier are computed
    (:func:`run_over_images`), and the failed ones are listed in ``mcg_failed.txt`` (the
    file is removed when none failed).

    Parameters
    ----------
    images : iterable of str or path
        Image files or folders (local or fsspec URLs).
    out : str or path
        Output folder.
    job : BatchJob
    workers : int
        Local worker processes.
    scheduler : str or distributed.Client, optional
        Dask distributed scheduler to run the images on instead.
    overwrite : bool
        Recompute every image (see :func:`plan_batch`).
    label : str, optional
        Name in the messages (default ``mcg <command>``).
    checked : bool
        ``images`` is already the result of :func:`check_image_paths` (not checked again).

    Returns
    -------
    int
        0 when every image is done, 1 when some failed.

    Raises
    ------
    ValueError, FileNotFoundError, NotADirectoryError, PermissionError
        Input or output folder problems, before any work.
    KeyboardInterrupt
        When interrupted (the failures so far are still listed).
    """
    label = label or f"mcg {job.command}"
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be a whole number of at least 1, got {workers!r}")
    if scheduler is not None and workers != 1:
        raise ValueError("--workers is for runs on this machine; with --scheduler the Dask "
                         "workers decide how many images run at a time")
    paths = list(images) if checked else check_image_paths(images)
    out = os.fspath(out)
    if not storage.is_url(out):
        storage.make_folder(out)
    with output_folder_lock(out):
        plan = plan_batch(paths, out, job, overwrite=overwrite)
        print(f"{label}: {len(paths)} image(s) into {out}: {plan.done} done earlier, skipped; "
              f"{len(plan.pending)} to compute", flush=True)
        failures: list[tuple] = []
        try:
            status = run_over_images(plan.pending, job.process, label, workers=workers,
                                     scheduler=scheduler, first_index=plan.done + 1,
                                     total=len(paths),
                                     on_failure=lambda p, m: failures.append((p, m)))
        finally:
            _write_failures(out, failures)
    return status
