"""`mcg proposals` on a folder with local workers and on a Dask cluster; kill and resume.

Four runs of the same command line into four folders, each timed:

1. ``--workers N`` uninterrupted (the reference);
2. ``--scheduler`` on a cluster started as a user would (``dask scheduler`` and
   ``dask worker --nworkers N --nthreads 1``), uninterrupted;
3. ``--workers N`` killed with SIGKILL once ``--kill-after`` images are done, then rerun;
4. the same through ``--scheduler``.

After each killed run it checks that every ``.npz`` present loads (no partial file) and that
the rerun reports the done images as skipped; at the end, that every folder's files (per-image
``.npz``, COCO entries, manifest, COCO JSON) equal the reference byte for byte.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_batch_cluster.py \
        --images ../shared/data/coco/train2017 --gt ../shared/data/coco/annotations/instances_train2017.json
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def mcg_command(args, out: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "mcg.cli", "proposals", str(args.images), "-o", str(out),
            "--mode", args.mode, "--coco-gt", str(args.gt), "--coco-json", str(out / "all.json"),
            *extra]


def timed_run(command: list[str], log: Path) -> float:
    start = time.perf_counter()
    with open(log, "a") as handle:
        status = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(command)} exited with {status}; see {log}")
    return seconds


def killed_then_resumed(command: list[str], out: Path, kill_after: int, log: Path) -> dict:
    """Run, SIGKILL once ``kill_after`` images are done, check, rerun; returns the figures."""
    from grouping.proposal_format import load_proposals

    start = time.perf_counter()
    with open(log, "a") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
        while len(list(out.glob("*.npz"))) < kill_after:
            if process.poll() is not None:
                raise SystemExit(f"the run ended before {kill_after} images were done")
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait()
    first = time.perf_counter() - start
    time.sleep(2.0)  # local workers notice their parent is gone within a second
    done = sorted(out.glob("*.npz"))
    for path in done:
        load_proposals(path)  # raises on a partial file
    parts = [p.name for p in out.rglob("*.part")]
    log_start = log.stat().st_size
    second = timed_run(command, log)
    text = log.read_text()[log_start:]
    found = re.search(r"(\d+) done earlier, skipped", text)
    skipped = int(found.group(1)) if found else -1
    if skipped < len(done):  # Dask tasks running at the kill may finish after it: more
        raise SystemExit(f"the rerun skipped {skipped} images, {len(done)} were done")
    return {"killed_after_s": round(first, 1), "npz_after_kill": len(done),
            "all_loadable": True, "part_files_left": parts, "rerun_s": round(second, 1),
            "skipped_by_rerun": skipped}


def start_cluster(workers: int, scratch: Path) -> tuple[list, str]:
    scheduler_file = scratch / "scheduler.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    logs = open(scratch / "cluster.log", "a")
    scheduler = subprocess.Popen(["dask", "scheduler", "--scheduler-file", str(scheduler_file),
                                  "--port", "0", "--no-dashboard"], stdout=logs, stderr=logs,
                                 env=env)
    while not scheduler_file.exists():
        time.sleep(0.2)
    time.sleep(0.5)
    worker = subprocess.Popen(["dask", "worker", "--scheduler-file", str(scheduler_file),
                               "--nworkers", str(workers), "--nthreads", "1", "--no-dashboard",
                               "--memory-limit", "6GiB"], stdout=logs, stderr=logs, env=env)
    address = json.loads(scheduler_file.read_text())["address"]
    from distributed import Client

    with Client(address) as client:
        client.wait_for_workers(workers, timeout=120)
    return [worker, scheduler], address


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True, help="folder of images")
    parser.add_argument("--gt", type=Path, required=True, help="COCO instances JSON")
    parser.add_argument("--mode", choices=("mcg", "scg"), default="mcg")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-after", type=int, default=40)
    parser.add_argument("--scratch", type=Path, default=None, help="work folder (default: temp)")
    args = parser.parse_args(argv)
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="mcg_cluster_"))
    scratch.mkdir(parents=True, exist_ok=True)
    log = scratch / "runs.log"
    figures = {}
    processes, address = start_cluster(args.workers, scratch)
    try:
        local = scratch / "local"
        figures["workers_s"] = round(timed_run(
            mcg_command(args, local, ["--workers", str(args.workers)]), log), 1)
        print(f"--workers {args.workers}: {figures['workers_s']} s", flush=True)
        dask_out = scratch / "dask"
        figures["scheduler_s"] = round(timed_run(
            mcg_command(args, dask_out, ["--scheduler", address]), log), 1)
        print(f"--scheduler (local cluster, {args.workers} workers): {figures['scheduler_s']} s",
              flush=True)
        figures["kill_workers"] = killed_then_resumed(
            mcg_command(args, scratch / "killed_local", ["--workers", str(args.workers)]),
            scratch / "killed_local", args.kill_after, log)
        print(f"killed/resumed --workers: {figures['kill_workers']}", flush=True)
        figures["kill_scheduler"] = killed_then_resumed(
            mcg_command(args, scratch / "killed_dask", ["--scheduler", address]),
            scratch / "killed_dask", args.kill_after, log)
        print(f"killed/resumed --scheduler: {figures['kill_scheduler']}", flush=True)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(60)
    reference = folder_bytes(local)
    n_npz = sum(name.endswith(".npz") for name in reference)
    for name in ("dask", "killed_local", "killed_dask"):
        same = folder_bytes(scratch / name) == reference
        figures[f"{name}_identical_to_workers_run"] = same
        print(f"{name}: {'identical' if same else 'DIFFERENT'} to the --workers run "
              f"({len(reference)} files, {n_npz} .npz)", flush=True)
    (scratch / "figures.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1))
    return 0 if all(v for k, v in figures.items() if k.endswith("identical_to_workers_run")) else 1


if __name__ == "__main__":
    sys.exit(main())
