"""mcg.allocator: glibc malloc tuning is the command line's; importing the library changes nothing."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

LIBRARY = (
    "import mcg, mcg.pipeline, mcg.proposals, mcg.allocator as a; "
    "print(a._state['enabled'])"
)


def run(code: str, env_value=None) -> str:
    env = dict(os.environ)
    env.pop("MCG_SYSTEM_MALLOC", None)
    if env_value is not None:
        env["MCG_SYSTEM_MALLOC"] = env_value
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def test_importing_the_library_leaves_malloc_alone():
    assert run(LIBRARY) == "False"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
def test_the_command_line_keeps_freed_memory_unless_opted_out():
    code = ("import contextlib, io, mcg.allocator as a, mcg.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    mcg.cli.main(['bench', 'proposals', '--gt', 'x', '--images', 'y', "
            "'--proposals', 'z'])\n"
            "print(a._state['enabled'])")
    assert run(code) == "True"
    assert run(code, "0") == "True"
    assert run(code, "1") == "False"
