"""Keep freed memory for the next step: why fresh arrays can be cheap.

The functional core allocates fresh arrays for every result (that is what lets it
read like the maths). A training step then frees and allocates the same sizes
again and again. glibc's ``malloc`` returns every block above a threshold (128 kB
to start with) straight to the operating system, so the next step's array of the
same size arrives as fresh pages, and the first write to each 4 kB page costs a
page fault: about 1,500 of them per step of the addition model, a third of its
time. Raising two thresholds keeps those blocks in the process, where the next
step reuses them. The maths is unchanged; the process keeps a little more memory.

:func:`keep_freed_memory` does it through ``mallopt`` on Linux with glibc and does
nothing elsewhere (macOS, Windows, musl: their allocators decide for themselves).
Only the command line calls it (:func:`minis2s.app.cli.main`): the library, the
Trainer included, never changes a process-wide setting by itself. Call it yourself
in a notebook or script that trains, if the process is yours to set.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1      # free memory above this at the top of the heap goes back to the OS
_M_MMAP_THRESHOLD = -3      # blocks above this size get their own mmap, unmapped when freed
_MMAP_THRESHOLD = 256 * 2**20
_TRIM_THRESHOLD = 512 * 2**20


@functools.cache                     # once per process: later calls return the first answer
def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks up to 256 MB for reuse.

    Returns True if the allocator took the setting, False where there is no glibc.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
