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

**A folder minis2s did not make is the user's.** minis2s marks each run folder it
makes with ``.minis2s-run`` and claims only a folder that is new, empty, marked, or
an older minis2s run (a ``checkpoint.npz`` with nothing but run files beside it).
Any other folder -- one holding the user's own ``config.json`` and
``history.json``, say -- is refused with :class:`NotARunFolder`, naming what is
there, before anything is written into it.

**A deleted lock file.** ``rm .lock`` while a trainer runs removes the file, not
the running process's lock on it: a second writer would lock a new file of the same
name. So a claim also reads ``.lock.owner.json``: if it names a process that is
still alive on this machine (same pid, same start time), the claim is refused as
busy. A lock file left behind needs nothing: the operating system released the
lock when its process ended, and an owner file whose process is gone is ignored.

**A failed first claim leaves nothing behind**: if the folder was made by this
claim and writing its first file fails (a full disk), the folder is removed again.
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

from ..errors import InputError
from .checkpoint import atomic_write_bytes

__all__ = ["claim_run_folder", "RunFolderBusy", "NotARunFolder", "remove_leftovers", "LOCK_NAME",
           "OWNER_NAME", "MARK_NAME", "RUN_FILES"]

LOCK_NAME = ".lock"
OWNER_NAME = ".lock.owner.json"
MARK_NAME = ".minis2s-run"          # "minis2s made this folder"
# Every file a writer puts in a run folder (all written atomically).
RUN_FILES = ("checkpoint.npz", "history.json", "curves.png", "config.json", OWNER_NAME, MARK_NAME)
# What tempfile.mkstemp(prefix=".<name>.", suffix=".tmp") makes for those files.
_LEFTOVER = re.compile(r"^\.(" + "|".join(re.escape(n) for n in RUN_FILES) + r")\.[^./]+\.tmp$")

_held: dict[str, list] = {}      # resolved folder -> [lock, depth]: the claims of this process


class RunFolderBusy(OSError):
    """Another process is writing the run folder; the message names the folder and the holder."""


class NotARunFolder(InputError):
    """The folder exists and holds files minis2s did not make; the message names them."""


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
    check_run_folder(folder)
    made = [d for d in (folder, *folder.parents) if not d.exists()]   # what mkdir will make
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
        try:
            if _live_owner(folder):        # its .lock was deleted under a live writer
                raise RunFolderBusy(
                    f"the run folder {folder} is in use by another minis2s process "
                    f"({_describe_owner(folder)}; its lock file {LOCK_NAME} was deleted while "
                    "it runs); wait for it to finish, or pass another --out")
            owner = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                     "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
                     "process_start": _process_start(os.getpid())}
            text = json.dumps(owner).encode("utf-8")
            atomic_write_bytes(folder / OWNER_NAME, lambda f: f.write(text))
            if not (folder / MARK_NAME).exists():
                atomic_write_bytes(folder / MARK_NAME, lambda f: f.write(_MARK))
        except BaseException:
            if made:                       # a failed first claim (a full disk) leaves nothing
                _remove_claimed(made, lock)
            raise
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


_MARK = b'{"made_by": "minis2s", "what": "a run folder: checkpoint.npz, history.json, curves.png, config.json"}\n'


def check_run_folder(folder) -> None:
    """Refuse (:class:`NotARunFolder`) a folder that exists and is not minis2s's to write:
    unless it is empty, marked, or an older minis2s run folder, it is the user's."""
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise NotARunFolder(f"--out {folder} is a file, not a folder: choose another --out")
    names = sorted(e.name for e in os.scandir(folder))
    if not names or MARK_NAME in names:
        return
    ours = set(RUN_FILES) | {LOCK_NAME}
    if "checkpoint.npz" in names and all(n in ours or _LEFTOVER.match(n) for n in names):
        return                            # a run folder of an older minis2s (before the mark)
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    raise NotARunFolder(f"--out {folder} is not a minis2s run folder: it holds {shown}, which "
                        "minis2s did not make (its run folders are marked with "
                        f"{MARK_NAME}); to keep your files, choose another --out (a new or an "
                        "empty folder)")


def _remove_claimed(made: list, lock) -> None:
    """Undo a first claim: the files it wrote, the lock, the folders it made (if then empty)."""
    folder = made[0]
    for name in (OWNER_NAME, MARK_NAME):
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    remove_leftovers(folder)
    lock.release()
    with contextlib.suppress(OSError):
        (folder / LOCK_NAME).unlink()
    for directory in made:                # the run folder, then the parents made for it
        with contextlib.suppress(OSError):
            directory.rmdir()


def _process_start(pid: int):
    """The process's start time in clock ticks since boot (Linux), so that a reused pid is
    not taken for the writer; None where /proc does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _live_owner(folder: Path) -> bool:
    """Does .lock.owner.json name another process that is alive on this machine?"""
    try:
        owner = json.loads((folder / OWNER_NAME).read_text(encoding="utf-8"))
        pid, host = int(owner["pid"]), owner["host"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if host != socket.gethostname() or pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)                   # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass                              # it exists, under another user
    except OSError:
        return False
    started = owner.get("process_start")
    return started is None or _process_start(pid) in (None, started)


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
