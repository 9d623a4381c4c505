"""Helpers shared by the benchmark scripts of this folder (run as ``python benchmarks/X.py``)."""
from __future__ import annotations

import sys
from pathlib import Path

#: The BSDS500 val images of the development data (../shared/data next to the repository).
BSDS_VAL_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "bsds500" / "images" / "val"


def jpg_images(folder: str | Path, limit: int = 0) -> list[Path]:
    """The ``.jpg`` files of ``folder``, sorted by name; the first ``limit`` when it is not 0.

    Exits with code 2 and a one-line message when there is none.
    """
    paths = sorted(Path(folder).glob("*.jpg"))
    if limit:
        paths = paths[:limit]
    if not paths:
        print(f"no .jpg images in {folder}", file=sys.stderr)
        raise SystemExit(2)
    return paths
