"""Input lists of the command line: files, folders of images, and the errors a user sees."""
import time

import cv2
import numpy as np
import pytest

from mcg.batch import check_image_paths
from mcg.cli import main


def _write_image(path, value=128):
    image = np.full((24, 32, 3), value, np.uint8)
    image[6:18, 8:24] = 255 - value  # a square, so the edge map is not empty
    assert cv2.imwrite(str(path), image)


def test_folder_expands_to_its_images_sorted_in_place(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("b.png", "a.JPG", "c.jpeg"):
        _write_image(folder / name)
    (folder / "notes.txt").write_text("not an image")
    (folder / "sub").mkdir()
    _write_image(folder / "sub" / "deeper.png")  # only the folder's own files
    single = tmp_path / "z_first.png"
    _write_image(single)
    paths = check_image_paths([str(single), str(folder)])
    assert [p.name for p in paths] == ["z_first.png", "a.JPG", "b.png", "c.jpeg"]


def test_errors_name_the_problem(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match=r"no image files .* in folder\(s\): .*empty"):
        check_image_paths([str(empty)])
    with pytest.raises(FileNotFoundError, match=r"image\(s\) not found: .*missing.png"):
        check_image_paths([str(tmp_path / "missing.png")])
    with pytest.raises(ValueError, match="no input images"):
        check_image_paths([])
    folder = tmp_path / "f"
    folder.mkdir()
    _write_image(folder / "same.png")
    _write_image(tmp_path / "same.jpg")
    with pytest.raises(ValueError, match=r"share the output name\(s\) \['same'\]"):
        check_image_paths([str(folder), str(tmp_path / "same.jpg")])


def test_edges_command_on_a_folder_writes_one_map_per_image(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _write_image(folder / "dark.png", 40)
    _write_image(folder / "light.jpg", 200)
    out = tmp_path / "out"
    assert main(["edges", str(folder), "-o", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ["dark.png", "light.png", "mcg_run.json"]
    edge_map = cv2.imread(str(out / "dark.png"), cv2.IMREAD_UNCHANGED)
    assert edge_map.shape == (24, 32) and edge_map.max() > 50
    # an empty folder is a usage error (exit 2), nothing is written
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["edges", str(empty), "-o", str(tmp_path / "out2")]) == 2
    assert not (tmp_path / "out2").exists()


def _labelled_job(path, image):
    """A picklable job: a description and an 'extra' that depends on the image."""
    if path.stem == "a":
        time.sleep(0.5)  # with two workers, the first image finishes after the second
    if image.mean() > 250:
        raise ValueError("too bright to process")
    return f"{path.stem} done", (path.stem, int(image.sum()))


def _image_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, value in (("a.png", 40), ("b.png", 90), ("c.png", 160), ("d.png", 210)):
        _write_image(folder / name, value)
    cv2.imwrite(str(folder / "e_white.png"), np.full((8, 8, 3), 255, np.uint8))
    (folder / "f_broken.jpg").write_text("not a jpeg")
    return folder


@pytest.mark.parametrize("workers", [1, 2])
def test_run_over_images_reports_every_image_and_collects_in_input_order(tmp_path, capsys, workers):
    from mcg.batch import run_over_images

    paths = check_image_paths([str(_image_folder(tmp_path))])
    collected = []
    status = run_over_images(paths, _labelled_job, "job", workers=workers,
                             collect=lambda path, extra: collected.append((path.name, extra)))
    assert status == 1
    sums = {p.name: int(cv2.imread(str(p)).sum()) for p in paths[:4]}
    assert collected == [(name, (name[0], sums[name])) for name in ("a.png", "b.png", "c.png", "d.png")]
    out, err = capsys.readouterr()
    progress = sorted(line.split(" -> ")[0] for line in out.splitlines())
    assert progress == [f"[{i}/6] {p}" for i, p in enumerate(paths[:4], 1)]
    assert "[5/6]" in err and "e_white.png: FAILED: too bright to process" in err
    assert "[6/6]" in err and "f_broken.jpg: FAILED: cannot read image" in err
    assert "job: 2 of 6 image(s) failed" in err


def test_edges_command_with_two_workers_writes_what_one_writes(tmp_path, capsys):
    folder = _image_folder(tmp_path)
    assert main(["edges", str(folder), "-o", str(tmp_path / "one"), "--npy"]) == 1
    assert main(["edges", str(folder), "-o", str(tmp_path / "two"), "--npy", "--workers", "2"]) == 1
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir())
    # 5 readable images, .png and .npy each; the run's manifest and its list of failures
    assert len(names) == 12 and {"mcg_run.json", "mcg_failed.txt"} <= set(names)
    for name in names:  # the same bytes, whatever the number of workers
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert np.load(tmp_path / "two" / "a.npy").max() > 0.2  # the square's rim
    err = capsys.readouterr().err
    assert err.count("f_broken.jpg: FAILED") == 2


def test_workers_must_be_at_least_one(tmp_path, capsys):
    from mcg.batch import run_over_images

    _write_image(tmp_path / "x.png")
    for command in ("edges", "ucm", "proposals"):
        with pytest.raises(SystemExit) as stop:
            main([command, str(tmp_path / "x.png"), "-o", str(tmp_path / "o"), "--workers", "0"])
        assert stop.value.code == 2
        assert "--workers: must be a positive integer, got '0'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    with pytest.raises(ValueError, match="at least 1, got 0"):
        run_over_images([tmp_path / "x.png"], _labelled_job, "job", workers=0)


_INTERRUPT_SCRIPT = '''
import os, signal, sys, time
from pathlib import Path
from mcg.batch import run_over_images

def job(path, image):
    time.sleep(0.2)
    Path(str(path) + ".done").write_text("x")
    if path.stem == "c":  # Ctrl-C as a user would press it, while other images are running
        os.kill(os.getppid(), signal.SIGINT)
    return path.stem

if __name__ == "__main__":
    # a test runner started in the background may have left SIGINT ignored: restore Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)
    paths = sorted(Path(sys.argv[1]).glob("*.png"))
    try:
        run_over_images(paths, job, "job", workers=2)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(0)
'''


def test_interrupt_finishes_and_reports_the_images_in_progress_then_stops(tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "in"
    folder.mkdir()
    names = [chr(ord("a") + i) for i in range(12)]
    for name in names:
        _write_image(folder / f"{name}.png")
    script = tmp_path / "interrupt.py"
    script.write_text(_INTERRUPT_SCRIPT)
    run = subprocess.run([sys.executable, str(script), str(folder)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 130, run.stderr
    assert "job: interrupted; finishing the image(s) in progress" in run.stderr
    done = sorted(p.name.split(".")[0] for p in folder.glob("*.done"))
    reported = sorted(line.split(" -> ")[1].split(" ")[0] for line in run.stdout.splitlines())
    assert "c" in done and done == reported  # every image processed is reported
    # when "c" interrupts, a and b are done, c and d running and 3 more already queued to the
    # workers: those are skipped (at most one may slip in before the parent sees Ctrl-C), and
    # the rest are never handed out
    assert len(done) <= 5 + 1 < len(names)
