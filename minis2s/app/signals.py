"""SIGTERM handled like Ctrl-C.

``kill PID``, a job scheduler's stop and a container's shutdown send SIGTERM,
whose default action ends Python at once, without a word. Inside
:func:`terminate_as_interrupt` it raises :class:`Terminated` instead, a
``KeyboardInterrupt``, so a training run stops exactly as it does on Ctrl-C: the
checkpoint on disk is whole (writes are atomic), and the command says which
epoch it holds and how to continue.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["Terminated", "terminate_as_interrupt"]


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM; ``signum`` is the signal's number (exit status 128 + it)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


@contextmanager
def terminate_as_interrupt():
    """While inside, SIGTERM raises :class:`Terminated` in the main thread (no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield                        # only the main thread may set signal handlers
        return

    def handler(signum, frame):
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
