r"""Run a command so that nothing it starts outlives it: a process group of its own, killed whole.

:func:`run_contained` starts the command in a new session (``start_new_session``:
its own process group), waits for it at most ``timeout`` seconds, then kills
the group and every other process that came from it -- including one that left
the group with ``setsid`` or by double-forking. On Linux the grader makes
itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``) while the
command runs, so an orphaned descendant is re-parented to the grader instead of
to init, where the grader finds it and kills it; without that (other systems)
the process group is still killed. It returns only once every one of those
processes is gone, so what the grader writes afterwards (results.json) cannot be
rewritten by a leftover.

``user``: when the grader runs as root, the command runs as this unprivileged
user (Gradescope's ``run_autograder`` creates one), which cannot write the
grader's files at all.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

__all__ = ["run_contained", "Contained", "descendants"]

PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Contained:
    returncode: int | None          # None: killed at the timeout
    timed_out: bool
    killed_leftovers: int           # processes that were still there after the command ended
    survivors: int                  # processes that could not be killed (0 unless something is odd)


def _set_subreaper(on: bool) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _parents() -> dict:
    """{pid: parent pid} of every process (Linux /proc; {} elsewhere)."""
    table = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()     # after "pid (comm) "
        if len(fields) > 1 and fields[0] != b"Z":          # zombies are dead already
            table[int(name)] = int(fields[1])
    return table


def descendants(root: int, exclude=()) -> set:
    """The pids below ``root`` in the process tree, without the subtrees of ``exclude``."""
    table = _parents()
    children = {}
    for pid, ppid in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [c for c in children.get(root, []) if c not in exclude]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found


def _reap(pids) -> None:
    """Collect the killed processes that are our children (orphans re-parented to us)."""
    me = os.getpid()
    parents = _parents()
    for pid in pids:
        try:
            if parents.get(pid) == me or _is_zombie_child(pid, me):
                os.waitpid(pid, 0)             # SIGKILLed: it dies at once
        except (ChildProcessError, OSError):
            pass


def _is_zombie_child(pid, me) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    fields = stat[stat.rfind(b")") + 2:].split()
    return len(fields) > 1 and fields[0] == b"Z" and int(fields[1]) == me


def _kill_all(pids) -> None:
    for pid in pids:                    # stop first, so nothing forks while we kill
        try:
            os.kill(pid, signal.SIGSTOP)
        except OSError:
            pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def run_contained(cmd, timeout: float, cwd=None, env=None, user=None, stdout=None,
                  stderr=None, preexec_fn=None) -> Contained:
    """Run ``cmd`` for at most ``timeout`` seconds; return once it and all it started are gone."""
    me = os.getpid()
    before = set(descendants(me))               # the grader's own children stay untouched
    reaper = _set_subreaper(True)
    extra = {}
    if user is not None:
        extra = {"user": user, "group": _group_of(user), "extra_groups": []}
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=stdout or subprocess.DEVNULL,
                                stderr=stderr or subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=preexec_fn, **extra)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
        leftovers, survivors = 0, set()
        for _ in range(100):                    # orphans are re-parented to us as they appear
            survivors = descendants(me, exclude=before)
            if not survivors:
                break
            leftovers += len(survivors)
            _kill_all(survivors)
            _reap(survivors)
            time.sleep(0.01)
        return Contained(None if timed_out else proc.returncode, timed_out, leftovers,
                         len(survivors))
    finally:
        if reaper:
            _set_subreaper(False)


def _group_of(user):
    import pwd
    entry = pwd.getpwnam(user) if isinstance(user, str) else pwd.getpwuid(user)
    return entry.pw_gid
