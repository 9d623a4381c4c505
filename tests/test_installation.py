"""The installed ``mcg`` command works from outside the source tree (all packages installed)."""
from __future__ import annotations

import shutil
import subprocess

import pytest


def test_console_command_runs_outside_the_source_tree(tmp_path):
    command = shutil.which("mcg")
    if command is None:
        pytest.skip("the mcg console command is not installed in this environment")
    result = subprocess.run([command, "--help"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    for subcommand in ("bench", "demo", "edges", "proposals", "ucm"):
        assert subcommand in result.stdout
