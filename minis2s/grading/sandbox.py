r"""The grader's sandbox: run one exercise of a submission where minis2s cannot be imported.

Run as a script, never imported: ``python -I sandbox.py JOB OUT``. JOB is a
pickle written by :mod:`minis2s.grading` -- the paths of the submission and of
``minis2s/exercises/given.py``, the exercise's name, the function to call and
the arguments of every case (plain arrays, numbers, lists). OUT receives, for
every case, the function's outputs or the error it raised.

This file imports the standard library and NumPy only. Before the submission
is loaded, an import hook makes ``minis2s`` (except the given forward passes,
``minis2s.exercises.given``), ``torch``, ``cupy`` and other libraries that
hold these functions impossible to import, so a submission that hands its work
to a library fails with an ImportError that says why. The real minis2s modules
are never loaded into this process, so there is nothing to reach through
``sys.modules`` either.
"""
import contextlib
import importlib.abc
import importlib.util
import io
import pickle
import sys
import traceback
import types

BLOCKED = ("minis2s", "torch", "cupy", "cupyx", "sacrebleu", "nltk", "tensorflow", "jax",
           "keras", "chainer", "mxnet")
MAX_PRINTED = 2000          # characters of the submission's own printing kept per exercise


class NotDuringGrading(importlib.abc.MetaPathFinder):
    """Refuse the libraries that could do the exercises."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} cannot be imported while your submission is graded: "
                              "write the exercises with NumPy (and minis2s.exercises.given) only")
        return None


def _fake_minis2s(given_path):
    """sys.modules entries for minis2s, minis2s.exercises and minis2s.exercises.given only."""
    spec = importlib.util.spec_from_file_location("minis2s.exercises.given", given_path)
    given = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(given)
    pkg = types.ModuleType("minis2s")
    pkg.__path__ = []                                  # a package with nothing else in it
    ex = types.ModuleType("minis2s.exercises")
    ex.__path__ = []
    ex.given = given
    ex.check = ex.hint = lambda *a, **k: None          # harmless if a submission calls them
    pkg.exercises = ex
    sys.modules.update({"minis2s": pkg, "minis2s.exercises": ex, "minis2s.exercises.given": given})
    return given


def _picklable(value):
    try:
        pickle.dumps(value)
        return value
    except Exception as e:                              # a generator, a lambda, ...
        return {"__unpicklable__": f"{type(value).__name__} ({e})"}


def main(job_path, out_path):
    with open(job_path, "rb") as fh:
        job = pickle.load(fh)
    for name in list(sys.modules):                     # nothing of minis2s may be loaded already
        if name.split(".")[0] in BLOCKED:
            del sys.modules[name]
    given = _fake_minis2s(job["given"])
    sys.meta_path.insert(0, NotDuringGrading())
    printed = io.StringIO()
    result = {"load_error": None, "missing": False, "calls": [], "printed": ""}
    try:
        with contextlib.redirect_stdout(printed):
            spec = importlib.util.spec_from_file_location("submission", job["submission"])
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
    except BaseException as e:                         # noqa: BLE001 - anything a file can do
        result["load_error"] = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        module = None
    fn = getattr(module, job["function"], None) if module is not None else None
    if module is not None and not callable(fn):
        result["missing"] = True
    if callable(fn):
        for args in job["cases"]:
            try:
                with contextlib.redirect_stdout(printed):
                    out = fn(*given.prepare(job["exercise"], args))
                result["calls"].append({"out": _picklable(out), "error": None, "kind": None})
            except BaseException as e:                 # noqa: BLE001
                tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
                result["calls"].append({"out": None, "kind": type(e).__name__,
                                        "error": "".join(traceback.format_exception(type(e), e, tb))})
    result["printed"] = printed.getvalue()[:MAX_PRINTED]
    with open(out_path, "wb") as fh:
        pickle.dump(result, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
