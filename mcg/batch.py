"""Running one job over many images: input checks, progress, per-image failures."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

from mcg.io import read_image


def check_image_paths(images: list[str]) -> list[Path]:
    """Validate a list of input image paths before any work starts.

    Parameters
    ----------
    images : list of str
        Image file paths.

    Returns
    -------
    list of Path

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    ValueError
        If the list is empty or two images share a file stem (their outputs would collide).
    """
    if not images:
        raise ValueError("no input images given")
    paths = [Path(p) for p in images]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"image(s) not found: {', '.join(missing)}")
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
