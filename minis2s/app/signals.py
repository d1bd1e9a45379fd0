"""SIGTERM handled like Ctrl-C.

``kill PID``, a job scheduler's stop and a container's shutdown send SIGTERM,
whose default action ends Python at once, without a word. Inside
:func:`terminate_as_interrupt` it raises :class:`Terminated` instead, a
``KeyboardInterrupt``, so a training run stops exactly as it does on Ctrl-C: the
checkpoint on disk is whole (writes are atomic), and the command says which
epoch it holds and how to continue.

:func:`interrupts_held` is the other half: while a run folder is being written,
Ctrl-C and SIGTERM wait until the files are whole, then stop the run as usual.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["Terminated", "interrupts_held", "terminate_as_interrupt"]


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


@contextmanager
def interrupts_held():
    """While inside, Ctrl-C and SIGTERM are held; at the end they are delivered, in order.

    Why: an exception raised by a signal handler lands wherever the main thread
    happens to be. Inside a save that may be the first import of matplotlib, whose
    C extension then fails with "ImportError: initialization failed" -- the run
    stops with a traceback and exit status 1 instead of the interrupt's message.
    Held, the signal is raised again (:func:`signal.raise_signal`) once the
    previous handlers are back, so it does exactly what it would have done, a
    moment later: Ctrl-C raises KeyboardInterrupt, SIGTERM raises
    :class:`Terminated` inside :func:`terminate_as_interrupt` or ends the
    process where nothing handles it.

    A handler installed from C (``signal.getsignal`` gives None) is left alone,
    as is everything outside the main thread, where handlers cannot be set.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum, frame):
        pending.append(signum)

    held = [s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) is not None]
    previous = {s: signal.signal(s, hold) for s in held}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in dict.fromkeys(pending):         # each signal once, in the order it came
            signal.raise_signal(s)
