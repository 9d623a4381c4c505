"""Shared fixtures: where the optional development data lives (../shared/data)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MCG_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """Path inside the shared data folder; skips the calling test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path} (set MCG_SHARED_DATA to its location)")
    return path


@pytest.fixture
def shared_data() -> Path:
    """Root of the shared data; the test is skipped when the folder is absent."""
    return shared_path()
