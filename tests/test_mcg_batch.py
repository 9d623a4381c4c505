"""Input lists of the command line: files, folders of images, and the errors a user sees."""
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
    assert written == ["dark.png", "light.png"]
    edge_map = cv2.imread(str(out / "dark.png"), cv2.IMREAD_UNCHANGED)
    assert edge_map.shape == (24, 32) and edge_map.max() > 50
    # an empty folder is a usage error (exit 2), nothing is written
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["edges", str(empty), "-o", str(tmp_path / "out2")]) == 2
    assert not (tmp_path / "out2").exists()
