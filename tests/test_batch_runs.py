"""Dataset runs that lose nothing: refusals, atomic outputs, resume, failures, signals, exports."""
from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from mcg import storage
from mcg.batch import FAILED_NAME, MANIFEST_NAME, check_image_paths
from mcg.cli import main


def _shapes_image(seed: int, height: int = 60, width: int = 80) -> np.ndarray:
    """A BGR image with a disc and a square of random colours (edges and proposals to find)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:height, :width]
    image = np.empty((height, width, 3), np.uint8)
    image[:] = rng.integers(40, 90, 3)
    image[(rows - height // 2) ** 2 + (cols - width // 3) ** 2 <= (height // 4) ** 2] = \
        rng.integers(150, 250, 3)
    image[height // 4: 3 * height // 4, width // 2 + 5: width - 5] = rng.integers(100, 200, 3)
    return image


def _folder(tmp_path: Path, names, name: str = "in") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for seed, file_name in enumerate(names):
        assert cv2.imwrite(str(folder / file_name), _shapes_image(seed))
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(autouse=True)
def _quiet_model_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


# ---------------------------------------------------------------------------- refusals
def test_an_input_is_never_overwritten(tmp_path, capsys):
    folder = _folder(tmp_path, ["a.png", "b.jpg"])
    before = _files(folder)
    assert main(["edges", str(folder), "-o", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "would overwrite input image(s)" in err and "a.png" in err
    assert _files(folder) == before  # nothing written, nothing changed
    # the same through another spelling of the folder
    assert main(["edges", str(folder / "a.png"), "-o", str(folder / ".." / "in")]) == 2
    assert _files(folder) == before


def test_two_commands_into_one_folder_do_not_overwrite_each_other(tmp_path, capsys):
    folder = _folder(tmp_path, ["a.png"])
    out = tmp_path / "out"
    assert main(["edges", str(folder), "-o", str(out)]) == 0
    edges = (out / "a.png").read_bytes()
    assert main(["ucm", str(folder), "-o", str(out), "--format", "png"]) == 2
    err = capsys.readouterr().err
    assert "holds the results of another run" in err and "command: 'edges' in the folder, " \
        "'ucm' now" in err
    assert (out / "a.png").read_bytes() == edges


def test_files_of_an_unrecorded_run_are_not_overwritten(tmp_path, capsys):
    folder = _folder(tmp_path, ["a.png"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"precious")
    assert main(["edges", str(folder), "-o", str(out)]) == 2
    assert "no record (mcg_run.json)" in capsys.readouterr().err
    assert (out / "a.png").read_bytes() == b"precious"
    assert main(["edges", str(folder), "-o", str(out), "--overwrite"]) == 0
    assert cv2.imread(str(out / "a.png"), cv2.IMREAD_UNCHANGED).shape == (60, 80)


def test_bad_numbers_and_export_paths_are_refused_before_any_work(tmp_path, capsys):
    folder = _folder(tmp_path, ["a.png"])
    for option in (["--max-pixels", "-5"], ["--max", "0"], ["--max", "x"], ["--workers", "-1"]):
        with pytest.raises(SystemExit) as stop:
            main(["proposals", str(folder), "-o", str(tmp_path / "p")] + option)
        assert stop.value.code == 2
    coco_folder = tmp_path / "a_folder"
    coco_folder.mkdir()
    assert main(["proposals", str(folder), "-o", str(tmp_path / "p"), "--coco-json",
                 str(coco_folder)]) == 2
    assert f"--coco-json {coco_folder} is a folder" in capsys.readouterr().err
    assert main(["proposals", str(folder), "-o", str(tmp_path / "p"), "--mmdet",
                 str(folder / "a.png")]) == 2
    assert "is an input image" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()  # refused before the output folder was made


def test_an_unwritable_output_folder_is_refused_before_any_work(tmp_path, capsys):
    folder = _folder(tmp_path, ["a.png"])
    if os.geteuid() == 0:  # root writes into any ordinary folder; /proc refuses even root
        if not Path("/proc/self").is_dir():
            pytest.skip("running as root without /proc: no folder to refuse writes")
        locked = Path("/proc/self")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
    try:
        assert main(["edges", str(folder), "-o", str(locked)]) == 2
        assert f"cannot write into output folder {locked}" in capsys.readouterr().err
    finally:
        if locked != Path("/proc/self"):
            locked.chmod(0o700)


def test_an_output_folder_that_is_a_file_is_refused(tmp_path, capsys):
    folder = _folder(tmp_path, ["a.png"])
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert main(["edges", str(folder), "-o", str(a_file)]) == 2
    assert f"output folder is an existing file: {a_file}" in capsys.readouterr().err
    assert main(["edges", str(folder), "-o", str(a_file / "sub")]) == 2
    assert f"cannot create output folder {a_file / 'sub'}" in capsys.readouterr().err
    assert a_file.read_text() == "x"


# ---------------------------------------------------------------------------- atomic writes
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "result.npz"
    target.write_bytes(b"old content")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with storage.atomic_open(str(target), "wb") as handle:
            handle.write(b"half of the new cont")
            raise Boom()
    assert target.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.npz"]
    storage.write_bytes(str(target), b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.npz"]


def test_a_job_failing_inside_a_write_leaves_no_output(tmp_path, monkeypatch, capsys):
    """A failure injected while the edge map's bytes are written: no file under its name."""
    folder = _folder(tmp_path, ["a.png", "b.png"])
    out = tmp_path / "out"
    real_write = storage.write_bytes

    def failing_write(location, data):
        if location.endswith("b.png"):
            with storage.atomic_open(location, "wb") as handle:
                handle.write(data[: len(data) // 2])
                raise OSError("disk full (injected)")
        return real_write(location, data)

    monkeypatch.setattr(storage, "write_bytes", failing_write)
    assert main(["edges", str(folder), "-o", str(out)]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", FAILED_NAME, MANIFEST_NAME]
    failed = (out / FAILED_NAME).read_text()
    assert "b.png\tdisk full (injected)" in failed
    monkeypatch.setattr(storage, "write_bytes", real_write)
    assert main(["edges", str(folder), "-o", str(out)]) == 0  # the rerun retries b only
    assert "1 done earlier, skipped; 1 to compute" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", MANIFEST_NAME]


def test_serializers_give_the_same_bytes_for_the_same_arrays():
    import io

    import scipy.io

    arrays = {"ucm2": np.linspace(0, 1, 35).reshape(5, 7)}
    first = storage.mat_bytes(arrays)
    time.sleep(1.1)  # scipy's own header would now carry another time
    assert storage.mat_bytes(arrays) == first
    np.testing.assert_array_equal(scipy.io.loadmat(io.BytesIO(first))["ucm2"], arrays["ucm2"])
    npz = storage.npz_bytes({"a": np.arange(5), "b": np.eye(2, dtype=np.float32)})
    time.sleep(2.1)  # zip time stamps have a 2 s resolution
    assert storage.npz_bytes({"a": np.arange(5), "b": np.eye(2, dtype=np.float32)}) == npz
    with np.load(io.BytesIO(npz)) as loaded:
        np.testing.assert_array_equal(loaded["a"], np.arange(5))
        assert loaded["b"].dtype == np.float32


# ---------------------------------------------------------------------------- resume
def test_a_rerun_skips_what_is_done_and_refuses_other_parameters(tmp_path, capsys):
    folder = _folder(tmp_path, ["a.png", "b.png", "c.png", "d.png"])
    out = tmp_path / "out"
    assert main(["edges", str(folder), "-o", str(out), "--npy"]) == 0
    complete = _files(out)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["command"] == "edges" and manifest["parameters"]["sharpen"] == 2
    assert manifest["models"]["edge_forest"].startswith("sha256:")
    (out / "c.npy").unlink()  # as if killed between the two files of c
    (out / "d.png").unlink()
    capsys.readouterr()
    assert main(["edges", str(folder), "-o", str(out), "--npy"]) == 0
    printed = capsys.readouterr().out
    assert "4 image(s) into" in printed and "2 done earlier, skipped; 2 to compute" in printed
    assert "a.png ->" not in printed and "c.png ->" in printed
    assert _files(out) == complete  # byte-identical to the uninterrupted run
    # other parameters: refused, naming the difference; nothing changed
    assert main(["edges", str(folder), "-o", str(out), "--npy", "--sharpen", "0"]) == 2
    err = capsys.readouterr().err
    assert "parameters.sharpen: 2 in the folder, 0 now" in err and "--overwrite" in err
    assert _files(out) == complete
    # --overwrite recomputes everything with the new parameters
    assert main(["edges", str(folder), "-o", str(out), "--npy", "--sharpen", "0",
                 "--overwrite"]) == 0
    assert "0 done earlier, skipped; 4 to compute" in capsys.readouterr().out
    assert (out / "a.npy").read_bytes() != complete["a.npy"]
    assert json.loads((out / MANIFEST_NAME).read_text())["parameters"]["sharpen"] == 0


def test_failed_images_are_listed_and_retried(tmp_path, capsys):
    folder = _folder(tmp_path, ["a.png", "b.png"])
    (folder / "c_broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    assert main(["edges", str(folder), "-o", str(out)]) == 1
    lines = (out / FAILED_NAME).read_text().splitlines()
    assert lines[1].startswith(f"{folder / 'c_broken.jpg'}\tcannot read image")
    assert len(lines) == 2
    capsys.readouterr()
    assert main(["edges", str(folder), "-o", str(out)]) == 1
    assert "2 done earlier, skipped; 1 to compute" in capsys.readouterr().out
    (folder / "c_broken.jpg").unlink()
    assert cv2.imwrite(str(folder / "c_broken.png"), _shapes_image(9))
    assert main(["edges", str(folder), "-o", str(out)]) == 0
    assert not (out / FAILED_NAME).exists()  # nothing failed any more


def test_a_truncated_jpeg_fails_by_name_and_the_others_go_on(tmp_path, capsys):
    from mcg.io import read_image

    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", noisy)
    assert ok and len(encoded) > 8000
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "whole.jpg").write_bytes(encoded.tobytes())
    (folder / "truncated.jpg").write_bytes(encoded.tobytes()[:2048])
    ok, png = cv2.imencode(".png", noisy)
    (folder / "truncated_png.png").write_bytes(png.tobytes()[: len(png) // 2])
    assert read_image(folder / "whole.jpg").shape == (120, 160, 3)
    with pytest.raises(ValueError, match="truncated JPEG"):
        read_image(folder / "truncated.jpg")
    with pytest.raises(ValueError, match="cannot read image"):
        read_image(folder / "truncated_png.png")
    out = tmp_path / "out"
    assert main(["edges", str(folder), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "truncated.jpg: FAILED: cannot read image (truncated JPEG" in err
    assert sorted(p.name for p in out.glob("*.png")) == ["whole.png"]


def test_input_checks_are_linear_in_the_number_of_images(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(20000):
        (folder / f"{i:06d}.jpg").touch()
    start = time.perf_counter()
    paths = check_image_paths([str(folder)])
    seconds = time.perf_counter() - start
    assert len(paths) == 20000 and paths[0].name == "000000.jpg"
    assert seconds < 2.0, seconds  # the quadratic check took minutes here


# ---------------------------------------------------------------------------- kill, SIGTERM
def _mcg(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from mcg.cli import main; sys.exit(main())",
            *args]


def _wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sigkill_then_rerun_gives_the_files_of_an_uninterrupted_run(tmp_path):
    names = [f"{i:03d}.png" for i in range(8)]
    folder = _folder(tmp_path, names)
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    args = ["proposals", str(folder), "--mode", "scg", "--max", "50"]
    run = subprocess.run(_mcg(*args, "-o", str(reference), "--coco-json",
                              str(reference / "all.json")), capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    process = subprocess.Popen(_mcg(*args, "-o", str(killed), "--coco-json",
                                    str(killed / "all.json")),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(lambda: len(list(killed.glob("*.npz"))) >= 2, 300, "two images done")
    process.kill()
    process.wait(30)
    done = sorted(p.name for p in killed.glob("*.npz"))
    assert 2 <= len(done) < len(names)
    from grouping.proposal_format import load_proposals

    for name in done:  # no partial file under a final name
        load_proposals(killed / name)
    assert not (killed / "all.json").exists()
    rerun = subprocess.run(_mcg(*args, "-o", str(killed), "--coco-json",
                                str(killed / "all.json")), capture_output=True, text=True,
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(done)} done earlier, skipped" in rerun.stdout
    assert _files(killed) == _files(reference)  # byte for byte, the COCO JSON included
    results = json.loads((killed / "all.json").read_text())
    assert {r["image_id"] for r in results} == set(range(8))


_SLOW_JOB_SCRIPT = '''
import sys, time
from pathlib import Path
from mcg import storage
from mcg.batch import BatchJob, run_batch
from mcg.cli import main

def slow_job(path, image, out):
    time.sleep(0.4)
    storage.write_bytes(storage.join(out, storage.stem(path) + ".txt"), b"%d" % image.sum())
    return "done"

def outputs(stem):
    return (stem + ".txt",)

if __name__ == "__main__":
    import functools, signal
    from mcg.cli import _raise_terminated, Terminated
    signal.signal(signal.SIGTERM, _raise_terminated)
    job = BatchJob("slow", functools.partial(slow_job, out=sys.argv[2]), outputs, {})
    options = {"scheduler": sys.argv[3]} if len(sys.argv) > 3 else {"workers": 2}
    try:
        sys.exit(run_batch([sys.argv[1]], sys.argv[2], job, **options))
    except Terminated:
        sys.exit(143)
'''


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def _terminate_mid_run(tmp_path, extra_args=()) -> tuple[subprocess.Popen, Path, Path]:
    """Start the slow job on 30 images; return once two are written."""
    folder = _folder(tmp_path, [f"{i:02d}.png" for i in range(30)])
    out = tmp_path / "out"
    script = tmp_path / "slow.py"
    script.write_text(_SLOW_JOB_SCRIPT)
    process = subprocess.Popen([sys.executable, str(script), str(folder), str(out), *extra_args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: len(list(out.glob("*.txt"))) >= 2, 120, "two images done")
    return process, folder, out


def _check_terminated_run(process, stdout: str, stderr: str, out: Path) -> None:
    assert process.returncode == 143, stderr
    assert "interrupted; finishing the image(s) in progress" in stderr
    written = sorted(p.name for p in out.iterdir() if p.name.endswith(".txt"))
    reported = sorted(line.split(" -> ")[0].rsplit("/", 1)[1].replace(".png", ".txt")
                      for line in stdout.splitlines() if " -> " in line)
    assert written == reported and len(written) < 30  # every image written was reported
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_sigterm_stops_the_workers_and_leaves_no_process_or_partial_file(tmp_path):
    process, folder, out = _terminate_mid_run(tmp_path)
    workers = _children(process.pid)
    assert len(workers) >= 2
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    _wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), 10,
              "the workers to end")
    _check_terminated_run(process, stdout, stderr, out)


def test_sigterm_on_a_dask_run_cancels_the_tasks_not_started(tmp_path):
    distributed = pytest.importorskip("distributed", reason="Dask extra not installed "
                                      "(pip install \".[dask]\")")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        process, folder, out = _terminate_mid_run(tmp_path, [cluster.scheduler_address])
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
        _check_terminated_run(process, stdout, stderr, out)
        time.sleep(1.5)  # tasks cancelled on the cluster write nothing later
        after = sorted(p.name for p in out.iterdir() if p.name.endswith(".txt"))
        assert len(after) == len([line for line in stdout.splitlines() if " -> " in line])


# ---------------------------------------------------------------------------- exports
def test_coco_json_with_assigned_ids_and_detector_files(tmp_path, capsys):
    folder = _folder(tmp_path, ["beach.png", "city.png"], name="val2017")
    out = tmp_path / "out"
    exports_dir = tmp_path / "exports"
    command = ["proposals", str(folder), "-o", str(out), "--mode", "scg", "--max", "300",
               "--coco-json", str(exports_dir / "props.json"),
               "--detectron2", str(exports_dir / "d2.pkl"), "--mmdet", str(exports_dir / "mm.pkl")]
    assert main(command) == 0
    id_map = json.loads((exports_dir / "props.image_ids.json").read_text())
    assert id_map == {"beach.png": 1, "city.png": 2}  # input order
    results = json.loads((exports_dir / "props.json").read_text())
    from grouping.proposal_format import load_proposals

    beach, city = load_proposals(out / "beach.npz"), load_proposals(out / "city.npz")
    assert len(results) == beach.n_proposals + city.n_proposals
    assert [r["image_id"] for r in results] == [1] * beach.n_proposals + [2] * city.n_proposals
    assert results[0]["score"] == pytest.approx(float(beach.scores[0]))
    with open(exports_dir / "d2.pkl", "rb") as handle:
        d2 = pickle.load(handle)
    assert set(d2) == {"ids", "boxes", "objectness_logits", "bbox_mode"}
    assert d2["ids"] == [1, 2] and d2["bbox_mode"] == 0  # BoxMode.XYXY_ABS
    np.testing.assert_array_equal(d2["boxes"][0], beach.boxes)
    assert d2["boxes"][0].dtype == np.float32 and d2["boxes"][0].shape == (beach.n_proposals, 4)
    logits = d2["objectness_logits"][1]
    assert logits.shape == (city.n_proposals,) and np.all(np.diff(logits) <= 0)
    with open(exports_dir / "mm.pkl", "rb") as handle:
        mm = pickle.load(handle)
    assert sorted(mm) == ["val2017/beach.png", "val2017/city.png"]
    np.testing.assert_array_equal(mm["val2017/city.png"]["bboxes"], city.boxes)
    np.testing.assert_array_equal(mm["val2017/city.png"]["scores"], city.scores)
    # a new image later: the known ids stay, the new one gets the next
    assert cv2.imwrite(str(folder / "alley.png"), _shapes_image(7))
    assert main(command) == 0
    assert "2 done earlier, skipped; 1 to compute" in capsys.readouterr().out
    id_map = json.loads((exports_dir / "props.image_ids.json").read_text())
    assert id_map == {"beach.png": 1, "city.png": 2, "alley.png": 3}
    with open(exports_dir / "d2.pkl", "rb") as handle:
        assert pickle.load(handle)["ids"] == [3, 1, 2]  # input (name) order


def test_our_benchmark_reads_a_coco_json_with_5000_proposals_per_image(tmp_path, capsys):
    """pycocotools' mask.area fails on 256+ RLEs at once; the benchmark must not."""
    from eval.coco_io import CocoGroundTruth
    from eval.proposals import evaluate_dataset, open_proposals, rle_areas
    from pycocotools import mask as mask_utils

    folder = _folder(tmp_path, ["000000000007.png"])
    image = cv2.imread(str(folder / "000000000007.png"))
    height, width = image.shape[:2]
    gt_mask = np.zeros((height, width), np.uint8)
    gt_mask[15:45, 45:75] = 1
    rle = mask_utils.encode(np.asfortranarray(gt_mask))
    gt = {"images": [{"id": 7, "file_name": "000000000007.png", "height": height, "width": width}],
          "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0,
                           "area": int(gt_mask.sum()), "bbox": [45, 15, 30, 30],
                           "segmentation": {"size": [height, width],
                                            "counts": rle["counts"].decode()}}],
          "categories": [{"id": 1, "name": "thing"}]}
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(gt))
    rng = np.random.default_rng(0)
    results, areas = [], []
    for i in range(5000):
        y0, x0 = rng.integers(0, height - 10), rng.integers(0, width - 10)
        mask = np.zeros((height, width), np.uint8)
        mask[y0:y0 + 10, x0:x0 + 10] = 1
        if i == 100:
            mask = gt_mask.copy()  # one exact hit, ranked 101st
        areas.append(int(mask.sum()))
        encoded = mask_utils.encode(np.asfortranarray(mask))
        results.append({"image_id": 7, "category_id": 1, "score": 1.0 - i / 10000,
                        "segmentation": {"size": [height, width],
                                         "counts": encoded["counts"].decode()}})
    results_path = tmp_path / "results.json"
    results_path.write_text(json.dumps(results))
    rles = [r["segmentation"] for r in results]
    np.testing.assert_array_equal(rle_areas(rles), areas)
    outcome = evaluate_dataset(CocoGroundTruth(gt_path), folder, open_proposals(results_path),
                               n_values=(100, 5000))
    evaluation = outcome.evaluations[0]
    assert evaluation.n_proposals == 5000
    assert evaluation.best_iou[0, 0] < 1.0  # the exact hit is 101st
    assert evaluation.best_iou[0, 1] == pytest.approx(1.0) and evaluation.best_index[0, 1] == 100
    # the command line on the same files
    assert main(["bench", "proposals", "--gt", str(gt_path), "--images", str(folder),
                 "--proposals", str(results_path), "--out", str(tmp_path / "bench")]) == 0
    assert (tmp_path / "bench").is_dir()


# ---------------------------------------------------------------------------- Dask
def test_dask_cluster_run_gives_the_local_files_and_resumes(tmp_path, capsys):
    distributed = pytest.importorskip("distributed", reason="Dask extra not installed "
                                      "(pip install \".[dask]\")")
    folder = _folder(tmp_path, [f"{i}.png" for i in range(6)])
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["edges", str(folder), "-o", str(local), "--npy"]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert main(["edges", str(folder), "-o", str(remote), "--npy", "--scheduler",
                     address]) == 0
        assert _files(remote) == _files(local)
        (remote / "3.png").unlink()
        capsys.readouterr()
        assert main(["edges", str(folder), "-o", str(remote), "--npy", "--scheduler",
                     address]) == 0
        assert "5 done earlier, skipped; 1 to compute" in capsys.readouterr().out
        assert _files(remote) == _files(local)
        # the same through a file:// URL, as the workers would read a shared folder
        url_out = "file://" + str(tmp_path / "url_out")
        assert main(["edges", "file://" + str(folder), "-o", url_out, "--npy",
                     "--scheduler", address]) == 0
        assert _files(tmp_path / "url_out") == _files(local)
        with pytest.raises(SystemExit):
            main(["edges", str(folder), "-o", str(remote), "--workers", "x"])
        assert main(["edges", str(folder), "-o", str(remote), "--workers", "2",
                     "--scheduler", address]) == 2
    assert "--workers is for runs on this machine" in capsys.readouterr().err
    assert main(["edges", str(folder), "-o", str(tmp_path / "none"), "--scheduler",
                 "tcp://127.0.0.1:9"]) == 2
    assert "cannot connect to the Dask scheduler" in capsys.readouterr().err


def test_dask_task_states_tell_started_from_not_started_tasks():
    """On an interrupt only the tasks the scheduler has not started are cancelled: a finished
    task (outputs written) and a running one are kept, whatever the client has heard yet."""
    distributed = pytest.importorskip("distributed", reason="Dask extra not installed "
                                      "(pip install \".[dask]\")")
    from mcg.batch import NOT_STARTED, _task_states

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        finished = client.submit(sum, [1, 2], key="finished")
        finished.result()
        running = client.submit(time.sleep, 3, key="running")
        queued = [client.submit(time.sleep, 3, key=f"queued-{i}") for i in range(3)]
        _wait_for(lambda: "running" in {k for keys in client.processing().values()
                                        for k in keys}, 30, "the first task to start")
        states = client.run_on_scheduler(_task_states, ["finished", "running", "queued-2",
                                                        "unknown"])
        client.cancel([running, *queued])
    assert states["finished"] == "memory" and states["finished"] not in NOT_STARTED
    assert states["running"] == "processing" and states["running"] not in NOT_STARTED
    assert states["queued-2"] in NOT_STARTED
    assert states.get("unknown") in NOT_STARTED
