"""The run folder: one writer at a time, and nothing left over from a writer that died.

A run folder (``runs/addition-peeky/``) is written by one training process,
epoch after epoch. Two processes writing it at once -- a second ``minis2s
train`` started by mistake, two ``--resume`` in two terminals -- would
overwrite each other's checkpoints, and one of the two trained models would be
lost without a word. So a writer first *claims* the folder::

    with claim_run_folder("runs/addition-peeky", command="minis2s train ..."):
        ...                                   # the only writer until the block ends

The claim is an operating-system lock (``flock`` on Unix, ``LockFileEx`` on
Windows, through the ``filelock`` package) on the file ``.lock`` in the folder.
The operating system releases it when the process ends *in any way* -- normal
exit, exception, Ctrl-C, ``kill -9``, a crash -- so a dead writer never leaves
a stale lock behind that someone would have to delete by hand. A second claim
fails at once with :class:`RunFolderBusy`, whose message names the folder and
the process holding it (pid, host, command, start time, read from
``.lock.owner.json``, which the holder writes beside the lock and removes when
it releases the claim).

Under the claim, and before anything else, the temporary files of a writer
that was killed in the middle of a save (``.checkpoint.npz.x1y2z3.tmp``, see
:func:`minis2s.app.checkpoint.atomic_write_bytes`) are removed: they are never
part of the run, and nobody else can be writing them now.

Claims are re-entrant within one process: the command line claims the folder
for the whole command and :meth:`minis2s.app.trainer.Trainer.fit` claims it again
(a no-op) for the epochs it writes; API users who only call ``fit`` are
protected the same way.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
from pathlib import Path

from filelock import FileLock, Timeout

from .checkpoint import atomic_write_bytes

__all__ = ["claim_run_folder", "RunFolderBusy", "remove_leftovers", "LOCK_NAME", "OWNER_NAME",
           "RUN_FILES"]

LOCK_NAME = ".lock"
OWNER_NAME = ".lock.owner.json"
# Every file a writer puts in a run folder (all written atomically).
RUN_FILES = ("checkpoint.npz", "history.json", "curves.png", "config.json", OWNER_NAME)
# What tempfile.mkstemp(prefix=".<name>.", suffix=".tmp") makes for those files.
_LEFTOVER = re.compile(r"^\.(" + "|".join(re.escape(n) for n in RUN_FILES) + r")\.[^./]+\.tmp$")

_held: dict[str, list] = {}      # resolved folder -> [lock, depth]: the claims of this process


class RunFolderBusy(OSError):
    """Another process is writing the run folder; the message names the folder and the holder."""


@contextlib.contextmanager
def claim_run_folder(folder, command: str | None = None, log=None):
    """Be the only writer of ``folder`` (created if needed) for the ``with`` block.

    Raises :class:`RunFolderBusy` at once if another process holds it.
    ``log`` (e.g. ``print``), if given, is told about removed leftovers.
    """
    folder = Path(folder)
    key = os.path.realpath(folder)
    if key in _held:                                  # this process already holds it
        _held[key][1] += 1
        try:
            yield folder
        finally:
            _held[key][1] -= 1
        return
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(os.fspath(folder / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunFolderBusy(f"the run folder {folder} is in use by another minis2s process "
                            f"({_describe_owner(folder)}); wait for it to finish, or pass "
                            "another --out") from None
    _held[key] = [lock, 1]
    try:
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                 "started": time.strftime("%Y-%m-%d %H:%M:%S %z")}
        text = json.dumps(owner).encode("utf-8")
        atomic_write_bytes(folder / OWNER_NAME, lambda f: f.write(text))
        removed = remove_leftovers(folder)
        if removed and log is not None:
            log(f"removed {len(removed)} unfinished temporary file(s) left in {folder} by an "
                "interrupted save")
        yield folder
    finally:
        del _held[key]
        with contextlib.suppress(OSError):
            (folder / OWNER_NAME).unlink()
        lock.release()


def remove_leftovers(folder) -> list:
    """Delete the temporary files of interrupted saves in ``folder``; returns their names.

    Call it only while holding the folder's claim: a live writer's temporary
    file looks exactly the same.
    """
    removed = []
    for entry in os.scandir(folder):
        if _LEFTOVER.match(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return sorted(removed)


def _describe_owner(folder: Path) -> str:
    """``pid 123 on host, running 'minis2s train ...' since ...``, or why that is unknown."""
    try:
        owner = json.loads((folder / OWNER_NAME).read_text(encoding="utf-8"))
        where = f"pid {int(owner['pid'])} on {owner['host']}"
        if owner.get("command"):
            where += f", running {owner['command']!r}"
        return where + (f" since {owner['started']}" if owner.get("started") else "")
    except (OSError, ValueError, KeyError, TypeError):
        return "its pid is not recorded yet"
