r"""The grader's sandbox: run one exercise of a submission where minis2s cannot be reached.

Run as a script, never imported by the submission: ``python -I sandbox.py WORKDIR``.
WORKDIR (a fresh folder the grader made) holds

* ``job.json``: the exercise, the function to call, the path of
  ``minis2s/exercises/markov.py`` (NumPy only: it builds the ``step`` the search
  exercises are called with, from a case's table), the paths the submission may
  not read;
* ``submission.py``: a copy of the submission;
* ``cases.json`` + ``cases.npz``: the arguments of every case, in the wire
  format below -- never the answers -- and the data of the reference stand-ins
  for the exercises this one may call (:mod:`minis2s.exercises.standins`):
  while it runs, the submission's own ``lstm_step_backward`` (say) is replaced
  by one, so that one mistake costs one exercise (a large case has none: there
  the submission's own answers).

The sandbox writes ``callK.json`` + ``callK.npz`` as soon as case K is done --
the function's outputs (or the error it raised) and how long it took -- and
``out.json`` + ``out.npz`` at the end (whether the submission loaded, what it
printed).

**Nothing is pickled, in either direction.** Data crosses the process boundary
as JSON for the structure (numbers, strings, lists, tuples, dicts, named tuples)
and an ``.npz`` of plain numeric arrays, which the grader reads with
:func:`minis2s.app.safe_npz.read_npz` (no pickle, no object arrays, every header
checked). An output that is anything else -- an object of the submission's own
class, a generator -- is refused here as "not data" and scores nothing.

Before the submission is loaded:

* an import hook makes ``minis2s`` (all of it: ``from minis2s.exercises import
  check, hint`` finds two functions that do nothing), ``torch``, ``cupy``,
  ``ctypes`` and other libraries that could do the exercise impossible to import;
* an audit hook (PEP 578) refuses, for the rest of the process: reading any
  file of the minis2s package or the other paths the grader names (the
  instructor's secret, the autograder's folder), ``/proc`` and ``/sys``;
  writing, renaming or deleting anything outside WORKDIR; starting a process;
  sending signals; sockets; and ``ctypes``. So the package cannot be loaded
  under another name, and nothing outlives the exercise or rewrites the results.

No forward pass is handed out, so none can be called for finite differences: a
submission that copies a forward pass into its own file and differentiates it
numerically is stopped by the large cases (realistic sizes: milliseconds for a
backward pass, hours for finite differences, within the same time limit).

An audit hook is a tripwire, not a wall: the grader also runs this process in a
process group of its own, kills it and every process it left behind after each
exercise, and on Gradescope runs it as an unprivileged user that cannot write
the autograder's files (docs/teaching.md, "What the autograder does").
This file imports the standard library and NumPy only.
"""
import collections
import contextlib
import importlib.abc
import importlib.util
import io
import json
import os
import sys
import time
import traceback
import types

import numpy as np

BLOCKED = ("minis2s", "torch", "cupy", "cupyx", "sacrebleu", "nltk", "tensorflow", "jax",
           "keras", "chainer", "mxnet", "ctypes", "_ctypes", "cffi", "multiprocessing",
           "_posixsubprocess", "socket", "_socket")
MAX_PRINTED = 2000          # characters of the submission's own printing kept per exercise
ARRAY_KINDS = "biuf"        # bool, int, unsigned, float: the only arrays that cross the boundary
MAX_DEPTH = 32

PROCESS_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                  "subprocess.Popen", "os.kill", "os.killpg", "pty.spawn", "os.startfile",
                  "signal.pthread_kill", "socket.connect", "socket.bind", "socket.__new__",
                  "sys.setprofile", "sys.settrace", "sys._current_frames")
PATH_EVENTS = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
               "os.symlink", "os.link", "os.truncate", "os.utime", "os.chflags", "os.lchflags",
               "os.listxattr", "os.setxattr", "os.removexattr", "shutil.rmtree")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


# --- the wire format: JSON for the structure, .npz for the arrays -----------------------------------

class NotData(TypeError):
    """A value that cannot cross the boundary (an object, a function, an object array ...)."""


def encode(value, arrays: dict, depth: int = 0):
    """``value`` as JSON-able structure; its arrays go into ``arrays`` (key -> ndarray)."""
    if depth > MAX_DEPTH:
        raise NotData(f"nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind not in ARRAY_KINDS:
            raise NotData(f"a NumPy scalar of dtype {value.dtype}")
        return value.item()
    if type(value) is np.ndarray:
        if value.dtype.kind not in ARRAY_KINDS or value.dtype.fields is not None:
            raise NotData(f"an array of dtype {value.dtype} (numbers only)")
        key = f"a{len(arrays)}"
        arrays[key] = np.array(value, order="C", copy=True)     # (ascontiguousarray makes 0-d 1-d)
        return {"$a": key}
    if type(value) is tuple:
        return {"$t": [encode(v, arrays, depth + 1) for v in value]}
    if isinstance(value, tuple) and type(value).__bases__ == (tuple,) and hasattr(value, "_fields"):
        return {"$n": [type(value).__name__, list(value._fields),
                       [encode(v, arrays, depth + 1) for v in value]]}
    if type(value) is list:
        return [encode(v, arrays, depth + 1) for v in value]
    if type(value) is dict:
        if not all(type(k) is str for k in value):
            raise NotData("a dict whose keys are not all strings")
        return {"$d": {k: encode(v, arrays, depth + 1) for k, v in value.items()}}
    raise NotData(f"a {type(value).__name__}")


_NAMED = {}


def decode(data, arrays: dict):
    """The inverse of :func:`encode`."""
    if isinstance(data, list):
        return [decode(v, arrays) for v in data]
    if not isinstance(data, dict):
        return data
    (kind, body), = data.items()
    if kind == "$a":
        return arrays[body]
    if kind == "$t":
        return tuple(decode(v, arrays) for v in body)
    if kind == "$d":
        return {k: decode(v, arrays) for k, v in body.items()}
    if kind == "$n":
        name, fields, values = body
        cls = _NAMED.get((name, tuple(fields)))
        if cls is None:
            cls = _NAMED[(name, tuple(fields))] = collections.namedtuple(name, fields)
        return cls(*(decode(v, arrays) for v in values))
    raise ValueError(f"unknown wire tag {kind!r}")


def write_wire(value, json_path, npz_path) -> None:
    arrays = {}
    structure = encode(value, arrays)
    np.savez(npz_path, **arrays)                      # uncompressed, as read_npz wants
    with open(json_path, "w") as fh:
        json.dump(structure, fh)


# --- what the submission may not do -----------------------------------------------------------------

def _refusal(name) -> str:
    why = f"{name} cannot be imported while your submission is graded: write the exercises with NumPy only"
    if name.split(".")[0] == "minis2s":
        why += " (`from minis2s.exercises import check, hint, ...` alone is allowed: they do nothing here)"
    else:   # often pulled in by a plotting or other library the file imports at its top
        why += (" (if your file imports a library at its top -- matplotlib, say -- that needs it, "
                "the whole file fails to load: import such libraries under "
                "`if __name__ == \"__main__\":`)")
    return why


#: what a submission may import from minis2s.exercises at its top: each does nothing here
HARMLESS = ("check", "hint", "ladder", "list_exercises", "template")


def harmless_check_and_hint() -> None:
    """``minis2s`` and ``minis2s.exercises`` as empty packages whose ``check``, ``hint`` and the
    other public functions do nothing: a submission that imports them at its top (to check
    itself at home) still loads.
    Nothing else of minis2s exists in this process; any other name is refused on import."""
    package = types.ModuleType("minis2s")
    package.__path__ = []                          # no submodule can be found in it
    exercises = types.ModuleType("minis2s.exercises")
    exercises.__path__ = []
    for name in HARMLESS:
        setattr(exercises, name, lambda *args, **kwargs: None)
    exercises.EXERCISES = {}
    package.exercises = exercises
    sys.modules.update({"minis2s": package, "minis2s.exercises": exercises})


class NotDuringGrading(importlib.abc.MetaPathFinder):
    """Refuse the libraries that could do the exercises (or reach past the sandbox)."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(_refusal(name))
        return None


def _inside(path, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def make_audit_hook(workdir, unreadable):
    """The PEP 578 hook: see the module docstring for what it refuses."""
    workdir = os.path.realpath(workdir)
    unreadable = [os.path.realpath(p) for p in unreadable] + ["/proc", "/sys"]

    def refuse(what):
        raise PermissionError(f"not allowed while your submission is graded: {what}")

    def hook(event, args):
        if event == "open":
            path, _mode, flags = (tuple(args) + (None, None, None))[:3]
            if path is None or isinstance(path, int):
                return
            real = os.path.realpath(os.fsdecode(path))
            if _inside(real, unreadable):
                refuse(f"reading {os.fsdecode(path)}")
            if isinstance(flags, int) and flags & WRITE_FLAGS and not _inside(real, [workdir]):
                refuse(f"writing {os.fsdecode(path)}")
        elif event.startswith(PROCESS_EVENTS) or event.startswith("ctypes"):
            refuse(f"{event} (no processes, signals, sockets or ctypes)")
        elif event in PATH_EVENTS:
            paths = [a for a in args if isinstance(a, (str, bytes, os.PathLike))]
            for p in paths:
                if not _inside(os.path.realpath(os.fsdecode(p)), [workdir]):
                    refuse(f"{event} on {os.fsdecode(p)}")
        elif event == "import" and args and isinstance(args[0], str) \
                and args[0].split(".")[0] in BLOCKED:
            raise ImportError(_refusal(args[0]))
    return hook


# --- the reference stand-ins for the exercises this one may call -------------------------------------

def _at(args, path):
    value = args[path[0]]
    for key in path[1:]:
        value = value[key]
    return value


def _same(got, want) -> bool:
    if isinstance(want, np.ndarray):
        got = np.asarray(got)
        return (got.shape == want.shape and got.dtype.kind in ARRAY_KINDS
                and bool(np.allclose(got, want, rtol=1e-9, atol=1e-12)))
    return bool(got == want)


def make_standin(name, spec):
    """A function answering for the submission's ``name`` from the grader's data (no solution code):
    J^T @ upstream for a backward pass whose cache it recognises, a stored value for the loss."""
    params, entries = spec["params"], spec["entries"]

    def reference(*args, **kwargs):
        args = list(args) + [kwargs.pop(p) for p in params[len(args):] if p in kwargs]
        if kwargs:
            raise TypeError(f"{name}() got unexpected arguments {sorted(kwargs)}")
        for entry in entries:
            try:
                if not all(_same(_at(args, path), want) for path, want in entry["match"]):
                    continue
            except (IndexError, KeyError, TypeError):
                continue
            if entry["kind"] == "value":
                return tuple(np.array(v) if isinstance(v, np.ndarray) else v for v in entry["outputs"])
            upstream = np.concatenate([
                np.broadcast_to(np.asarray(args[i], dtype=np.float64), tuple(shape)).reshape(-1)
                for i, shape in zip(entry["grad_args"], entry["grad_shapes"])])
            flat = entry["J"].T @ upstream
            outs, start = [], 0
            for shape in entry["out_shapes"]:
                size = int(np.prod(shape, dtype=np.int64))
                outs.append(flat[start:start + size].reshape(shape))
                start += size
            return outs[0] if len(outs) == 1 else tuple(outs)
        raise ValueError(f"while this exercise is graded, the reference {name} stands in for yours; "
                         "it knows the caches and inputs this case's forward pass made, and was "
                         "called with others")
    reference.__name__ = reference.__qualname__ = name
    return reference


def main(workdir):
    sys.dont_write_bytecode = True
    with open(os.path.join(workdir, "job.json")) as fh:
        job = json.load(fh)
    with np.load(os.path.join(workdir, "cases.npz"), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    with open(os.path.join(workdir, "cases.json")) as fh:
        cases = decode(json.load(fh), arrays)
    for name in list(sys.modules):      # nothing of minis2s may be loaded already; NumPy keeps
        if name.split(".")[0] in BLOCKED:  # its own reference to ctypes, which the hook disarms
            del sys.modules[name]
    # the search exercises' step, from markov.py: loaded by path before the hooks go in, under a
    # name of its own (it is no part of an importable minis2s)
    spec = importlib.util.spec_from_file_location("_minis2s_grading_markov", job["prepare"])
    markov = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(markov)
    prepare = markov.prepare
    harmless_check_and_hint()
    sys.meta_path.insert(0, NotDuringGrading())
    sys.addaudithook(make_audit_hook(workdir, job["unreadable"]))
    os.chdir(workdir)
    printed = io.StringIO()
    result = {"load_error": None, "missing": False, "calls": [], "printed": ""}
    try:
        with contextlib.redirect_stdout(printed):
            spec = importlib.util.spec_from_file_location("submission",
                                                          os.path.join(workdir, "submission.py"))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
    except BaseException as e:                         # noqa: BLE001 - anything a file can do
        result["load_error"] = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        module = None
    fn = getattr(module, job["function"], None) if module is not None else None
    if module is not None and not callable(fn):
        result["missing"] = True
    if callable(fn):
        for k, case in enumerate(cases):
            args = case["args"]
            start = time.perf_counter()
            call = {"error": None, "kind": None}
            value = None
            saved = {dep: module.__dict__.get(dep) for dep in case["standins"]}
            for dep, spec in case["standins"].items():   # one mistake costs one exercise
                module.__dict__[dep] = make_standin(dep, spec)
            try:
                with contextlib.redirect_stdout(printed):
                    out = fn(*prepare(job["exercise"], args))
                try:
                    encode(out, {})                      # a dry run: is it data at all?
                    value = out
                except (NotData, RecursionError) as e:
                    call["not_data"] = f"{e}"
            except BaseException as e:                 # noqa: BLE001
                tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
                call.update(kind=type(e).__name__,
                            error="".join(traceback.format_exception(type(e), e, tb)))
            for dep, own in saved.items():
                if own is None:
                    module.__dict__.pop(dep, None)
                else:
                    module.__dict__[dep] = own
            call["seconds"] = time.perf_counter() - start
            # each case as soon as it is done: a later case that runs out of time loses only itself
            write_wire({"call": call, "output": value}, os.path.join(workdir, f"call{k}.json"),
                       os.path.join(workdir, f"call{k}.npz"))
            result["calls"].append(k)
    result["printed"] = printed.getvalue()[:MAX_PRINTED]
    write_wire(result, os.path.join(workdir, "out.json"), os.path.join(workdir, "out.npz"))

if __name__ == "__main__":
    main(sys.argv[1])
