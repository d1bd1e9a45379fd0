"""A workspace: named arrays reused from one call to the next.

Why it exists: a fresh multi-megabyte NumPy array is backed by pages the
operating system has not handed out yet, and the first write to each 4 kB page
is a page fault. glibc's allocator gives large freed blocks back to the system,
so a training loop that allocates its buffers anew every step faults on them
anew every step. On the addition task (config A of benchmarks/bench_step.py)
that was about 1,300 faults and 2 ms of an 11 ms step -- as much as all the
LSTM's elementwise arithmetic.

A layer keeps one workspace and asks it for its buffers by name::

    G = ws.empty("G", (T, 4 * H, N), dtype, xp)   # the same array as last time if
                                                  # the shape and dtype match

The contract: what a workspace buffer held before the call is garbage, and the
next call with the same workspace overwrites it. So a function may keep
workspace buffers in its cache (a layer's cache is replaced by its next forward
anyway), but must never *return* one to its caller: results are fresh arrays.
On CuPy, whose memory pool already reuses device memory, it costs nothing and
changes nothing.
"""
from __future__ import annotations

__all__ = ["Workspace"]


class Workspace:
    """Named scratch arrays, reallocated only when a shape, dtype or backend changes."""

    def __init__(self):
        self._arrays: dict = {}

    def empty(self, name: str, shape: tuple, dtype, xp):
        """An uninitialised array of ``shape`` and ``dtype`` from module ``xp``, reused by name."""
        a = self._arrays.get(name)
        if a is None or a.shape != tuple(shape) or a.dtype != dtype or not isinstance(a, xp.ndarray):
            a = self._arrays[name] = xp.empty(shape, dtype=dtype)
        return a

    def clear(self) -> None:
        """Forget every buffer (frees the memory once nothing else holds it)."""
        self._arrays.clear()

    def nbytes(self) -> int:
        """Bytes held by the workspace."""
        return sum(int(a.nbytes) for a in self._arrays.values())
