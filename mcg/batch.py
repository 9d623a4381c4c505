"""Running one job over many images: input checks, progress, per-image failures."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

from mcg.io import read_image


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


def run_over_images(paths: list[Path], process: Callable[[Path, object], str], label: str) -> int:
    """Apply ``process(path, rgb_image)`` to every image, printing progress.

    A failing image (unreadable file, rejected content) is reported by name and the others
    still run; the return code says whether any failed.

    Parameters
    ----------
    paths : list of Path
        Checked input images (see :func:`check_image_paths`).
    process : callable
        Called with the path and the (H, W, 3) uint8 RGB image; returns a short description
        of what it wrote.
    label : str
        Name of the job for the messages.

    Returns
    -------
    int
        0 when every image succeeded, 1 otherwise.
    """
    failures = []
    for index, path in enumerate(paths, 1):
        start = time.perf_counter()
        try:
            image = read_image(path)
            written = process(path, image)
        except (ValueError, OSError) as error:
            failures.append(path)
            print(f"[{index}/{len(paths)}] {path}: FAILED: {error}", file=sys.stderr)
            continue
        print(f"[{index}/{len(paths)}] {path} -> {written} ({time.perf_counter() - start:.2f} s)")
    if failures:
        print(f"{label}: {len(failures)} of {len(paths)} image(s) failed: "
              + ", ".join(str(p) for p in failures), file=sys.stderr)
        return 1
    return 0
