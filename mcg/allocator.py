"""Keep freed memory inside the process between the pipeline's large temporary arrays.

One MCG hierarchy allocates and frees dozens of arrays of tens of megabytes (double-size
boundary grids, sparse affinities, eigenvector blocks). glibc serves every allocation above
its mmap threshold with a fresh ``mmap`` and returns it with ``munmap`` when freed, so each
such array is faulted in page by page again. On virtual machines and sandboxes page faults are
expensive: the whole MCG mode on a COCO image spends about a quarter of its time there.

:func:`keep_freed_memory` tells glibc (``mallopt``) to serve large blocks from the heap and
not to give freed memory back to the system, so the next array reuses pages that are already
mapped. The results are unchanged (only where memory comes from changes); the process keeps
its peak resident size until it exits. The ``mcg`` command line calls it in its own process
and in its worker processes (local or Dask) unless the environment variable
``MCG_SYSTEM_MALLOC=1`` is set; importing the library does not, so a program using the library
keeps its own malloc settings unless it calls :func:`keep_freed_memory` itself. It does
nothing on non-glibc platforms.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt parameters of glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
# heap memory above this much free at the top is still returned to the system (int limit)
_TRIM_THRESHOLD_BYTES = 2**31 - 1

_state = {"enabled": False}


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed large blocks for reuse (see the module docstring).

    Returns
    -------
    bool
        True if the setting is active (now or from an earlier call), False where it is not
        available (not Linux/glibc) or disabled by ``MCG_SYSTEM_MALLOC=1``.
    """
    if _state["enabled"]:
        return True
    if os.environ.get("MCG_SYSTEM_MALLOC", "") not in ("", "0") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; both settings or none
    if mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES) != 1:
        return False
    if mallopt(_M_MMAP_MAX, 0) != 1:
        return False
    _state["enabled"] = True
    return True
