"""mcg.allocator: glibc malloc tuning is applied on import of the pipeline, or opted out."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

CHECK = (
    "import mcg.pipeline, mcg.allocator as a; "
    "print(a._state['enabled'], a.keep_freed_memory())"
)


def run(env_value):
    env = dict(os.environ)
    env.pop("MCG_SYSTEM_MALLOC", None)
    if env_value is not None:
        env["MCG_SYSTEM_MALLOC"] = env_value
    out = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True,
                         check=True)
    return out.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
def test_pipeline_import_keeps_freed_memory():
    assert run(None) == ["True", "True"]
    assert run("0") == ["True", "True"]


def test_opt_out_by_environment():
    assert run("1") == ["False", "False"]
