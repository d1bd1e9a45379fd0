r"""The autograder: grade a submission file on every exercise, several cases each.

::

    from minis2s.grading import grade
    report = grade("submission.py")                 # all exercises, public seeds 0, 1, 2
    report = grade("submission.py", secret=key)     # the instructor's secret cases (Gradescope)
    print(report.text())                            # the plain report
    report.write_gradescope("results.json")         # Gradescope's format
    report.score, report.max_score

or ``minis2s grade submission.py --results results.json`` (``--secret-file`` for the secret
cases). A Jupyter notebook (``.ipynb``) is graded on its exported source: its function
definitions and its NumPy and standard-library imports, nothing else
(:mod:`minis2s.grading.notebook`).

How it works (docs/teaching.md, "The autograder"):

1. For each exercise the grader builds the random cases in *this* process, with
   their oracle (numerical gradients of the package's forward passes, the package's
   own forward passes and searches, :mod:`minis2s.metrics`).
   Locally the cases come from public seeds -- the ones ``check`` uses. With an
   instructor's ``secret`` (the Gradescope zip holds one, never printed), each
   case's generator is seeded from the secret, the exercise and the case number:
   sizes and values nobody can reproduce, so a table of answers to the public
   cases is worth nothing, and the report names the cases "case 1, 2, ...". Where an
   exercise has one, a *large* case is added: realistic sizes, checked along random
   directions -- milliseconds for a backward pass, hours for finite differences. (On it a
   dependent exercise calls the submission's own dependencies, not the reference stand-ins
   of :mod:`minis2s.exercises.standins`: those would be too large.)
2. The submission runs in a separate Python process per exercise
   (:mod:`minis2s.grading.sandbox`), with a timeout, in a process group of its
   own that is killed whole afterwards, with every process it left behind
   (:mod:`minis2s.grading.contain`); as an unprivileged user when the grader
   runs as root (``sandbox_user``). There minis2s cannot be imported or read,
   nor torch, cupy, ctypes; no process can be
   started and nothing outside its own folder written. It receives the cases'
   arguments, never the oracle, and the data comes back as JSON and ``.npz``:
   nothing a submission returns is ever unpickled.
3. Back here, the outputs are judged exactly as :func:`minis2s.exercises.check`
   judges them. **A case passes only if every output is right** (the report
   still names each wrong output), and an exercise earns its points in
   proportion to the cases that pass. No forward pass is handed to the
   submission, so finite differences need a copy of one in the submission's own
   file: the large cases make those run out of time.

A submission is a Python file that defines the exercises' functions under their
stub names (``minis2s.exercises.template()`` writes one). A missing function
scores 0 for its exercise; a file that does not load scores 0 everywhere, with
its traceback in the report. Still run untrusted submissions in a disposable
container (Gradescope does): the sandbox's audit hook is a tripwire, the
unprivileged user and the container are the walls.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..exercises import EXERCISES, list_exercises
from ..exercises import markov as _markov
from ..exercises.checker import ExerciseResult, judge
from ..exercises.standins import DEPENDENCIES, standins
from ..exercises import stored as _stored
from ..exercises.stored import UNAVAILABLE
from ..app.safe_npz import NpzError, read_npz
from . import sandbox as _wire
from .contain import run_contained

__all__ = ["grade", "GradeReport", "ExerciseGrade", "DEFAULT_SEEDS", "DEFAULT_CASES",
           "DEFAULT_TIMEOUT", "load_secret", "new_secret", "case_rng"]

DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_CASES = 3
DEFAULT_TIMEOUT = 60.0
SANDBOX = Path(__file__).with_name("sandbox.py")
PACKAGE = Path(__file__).resolve().parents[1]
MAX_RESULT_BYTES = 64 * 2 ** 20     # what a sandbox may send back: its JSON, and its arrays
MAX_ARRAY_BYTES = 512 * 2 ** 20
_IMPORT = re.compile(r"^\s*(?:from|import)\s+(minis2s(?:\.\w+)*|torch|cupy)\b", re.M)


# --- the instructor's secret ---------------------------------------------------------------------

def new_secret() -> str:
    """A fresh secret: 64 hex digits (256 bits)."""
    import secrets
    return secrets.token_hex(32)


def load_secret(path) -> str:
    """The secret in the file at ``path`` (64 hex digits, as :func:`new_secret` writes)."""
    try:
        text = Path(path).read_text().strip()
    except OSError as e:
        raise InputError(f"--secret-file {path}: cannot be read ({e.strerror})") from None
    if not re.fullmatch(r"[0-9a-fA-F]{32,}", text):
        raise InputError(f"--secret-file {path}: expected at least 32 hex digits "
                         "(instructor/make_autograder.py writes one)")
    return text.lower()


def case_rng(name: str, k: int, secret: str) -> np.random.Generator:
    """The generator of case ``k`` of exercise ``name`` under ``secret``."""
    seq = np.random.SeedSequence(int(secret, 16), spawn_key=(zlib.crc32(name.encode()), int(k)))
    return np.random.default_rng(seq)


# --- the report ---------------------------------------------------------------------------------

@dataclass
class ExerciseGrade:
    """One exercise: its result per case; a case counts only when all its outputs are right."""
    name: str
    max_points: float
    results: list                     # ExerciseResult per case
    labels: list                      # "seed 0" / "case 1" per case
    note: str = ""                    # missing, timed out, did not load ...

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def score(self) -> float:
        if not self.results:
            return 0.0
        return self.max_points * self.passed / len(self.results)

    def case_lines(self) -> list:
        out = []
        for label, r in zip(self.labels, self.results):
            if r.passed:
                out.append(f"{label}: PASS")
            elif r.problem:
                out.append(f"{label}: FAIL ({r.problem.strip().splitlines()[-1][:200]})")
            else:
                out.append(f"{label}: FAIL (wrong: {', '.join(r.failed)})")
        return out


@dataclass
class GradeReport:
    """The grades of one submission, with both report formats."""
    submission: str
    labels: list                      # the cases' labels, the same for every exercise
    exercises: list                   # ExerciseGrade, in the order of the course
    secret: bool = False              # the cases came from an instructor's secret
    flags: list = field(default_factory=list)
    load_error: str = ""

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 6)

    @property
    def max_score(self) -> float:
        return sum(e.max_points for e in self.exercises)

    def _cases_line(self) -> str:
        if self.secret:
            return f"{len(self.labels)} secret cases per exercise"
        return "public seeds " + ", ".join(label.removeprefix("seed ") for label in self.labels)

    def text(self) -> str:
        """The plain report: one block per exercise, one line per case, then the failed cases."""
        lines = [f"minis2s autograder: {self.submission}",
                 f"{self._cases_line()}; score {self.score:g} / {self.max_score:g}"]
        if self.flags:
            lines.append("FLAGGED: " + "; ".join(self.flags))
        if self.load_error:
            lines += ["", "The submission did not load:", self.load_error.rstrip()]
        for k, e in enumerate(self.exercises, 1):
            lines += ["", f"{k}. {e.name}: {e.score:g} / {e.max_points:g}" + (f"  ({e.note})" if e.note else "")]
            if e.name in DEPENDENCIES and e.results:
                large = any("large" in label for label in e.labels)   # too large for a stand-in
                lines.append(f"   (graded with the reference {', '.join(DEPENDENCIES[e.name])} in "
                             "place of yours, so a mistake there costs that exercise only" +
                             (" its large case, which runs yours)" if large else ")"))
            lines += [f"   {line}" for line in e.case_lines()]
            for r in e.results:
                if not r.passed and not e.note:
                    lines.append("   " + "\n   ".join(str(r).splitlines()))
        return "\n".join(lines)

    def gradescope(self) -> dict:
        """The dict of Gradescope's results.json (one test per exercise)."""
        tests = []
        for k, e in enumerate(self.exercises, 1):
            fails = [str(r) for r in e.results if not r.passed and not e.note]
            tests.append({"name": f"{k}. {e.name}", "score": round(e.score, 4),
                          "max_score": e.max_points, "visibility": "visible",
                          "output": "\n".join(([e.note] if e.note else []) + e.case_lines() + fails)})
        output = ("FLAGGED: " + "; ".join(self.flags) + "\n" if self.flags else "") + \
                 (f"The submission did not load:\n{self.load_error}" if self.load_error else "")
        return {"score": self.score, "output": output or f"{len(tests)} exercise{'s' * (len(tests) != 1)} graded",
                "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}

    def write_gradescope(self, path) -> None:
        _write_atomic(path, json.dumps(self.gradescope(), indent=2))

    def write_text(self, path) -> None:
        _write_atomic(path, self.text() + "\n")


def _write_atomic(path, text) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# --- running one exercise in the sandbox ------------------------------------------------------------

def _failed(ex, label, case, problem) -> ExerciseResult:
    lines = [f"{ex.name} ({label}; {case.sizes})", f"FAIL: {problem}"]
    return ExerciseResult(ex.name, {}, ex.tol, problem, lines)


def _allowed_array(key, dtype, shape):
    if dtype.kind not in "biuf":
        return f"dtype {dtype} is not a number type"
    if int(np.prod(shape, dtype=object)) * dtype.itemsize > MAX_ARRAY_BYTES:
        return "too large"
    return None


def _limits():                                        # in the child, before it runs Python
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (2 * MAX_ARRAY_BYTES, 2 * MAX_ARRAY_BYTES))
    except (ImportError, ValueError, OSError):
        pass


def _chown_tree(path: Path, user) -> None:
    import pwd
    entry = pwd.getpwnam(user) if isinstance(user, str) else pwd.getpwuid(user)
    for p in [path, *path.rglob("*")]:
        os.chown(p, entry.pw_uid, entry.pw_gid)


def _run_sandbox(source: str, ex, cases, timeout: float, python: str, user=None,
                 unreadable=()) -> dict:
    """Run the submission's function on every case in a fresh, contained process; its raw results."""
    work = Path(tempfile.mkdtemp(prefix="minis2s-grade-"))
    try:
        job = {"exercise": ex.name, "function": ex.stub.__name__, "prepare": _markov.__file__,
               "unreadable": [str(PACKAGE), *map(str, unreadable)]}
        (work / "job.json").write_text(json.dumps(job))
        (work / "submission.py").write_text(source)
        _wire.write_wire([{"args": list(c.args), "standins": standins(ex.name, c)} for c in cases],
                         work / "cases.json", work / "cases.npz")
        if user is not None:
            _chown_tree(work, user)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work),
               "LANG": os.environ.get("LANG", "C.UTF-8"), "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
        with open(work / "stderr.txt", "wb") as err:
            try:
                run = run_contained([python, "-I", str(SANDBOX), str(work)], timeout,
                                    cwd=str(work), env=env, user=user, stderr=err,
                                    preexec_fn=_limits)
            except OSError as e:
                who = f" as user {user}" if user is not None else ""
                return {"crash": f"the grading process could not start{who}: {e}"}
        calls, outputs = [], []
        for k in range(len(cases)):                  # each case's result, as far as it got
            try:
                call = _read_wire(work / f"call{k}.json", work / f"call{k}.npz")
            except FileNotFoundError:
                break
            except _UNREADABLE as e:
                return {"crash": f"the grading process sent back results that cannot be read ({e})"}
            calls.append(call.get("call") or {})
            outputs.append(call.get("output"))
        if run.timed_out:
            return {"timeout": True, "calls": calls}
        try:
            raw = _read_wire(work / "out.json", work / "out.npz")
        except FileNotFoundError:
            tail = (work / "stderr.txt").read_text(errors="replace").strip()[-1500:]
            return {"crash": f"the grading process ended with status {run.returncode}: {tail}"}
        except _UNREADABLE as e:
            return {"crash": f"the grading process sent back results that cannot be read ({e})"}
        raw.update(calls=calls, outputs=outputs)
        return raw
    finally:
        shutil.rmtree(work, ignore_errors=True)


_UNREADABLE = (NpzError, ValueError, KeyError, TypeError, AttributeError, RecursionError)


def _read_wire(json_path: Path, npz_path: Path):
    """What the sandbox wrote, read without trusting it (sizes capped, no pickle)."""
    if not json_path.exists() or not npz_path.exists():
        raise FileNotFoundError(json_path)
    if json_path.stat().st_size > MAX_RESULT_BYTES:
        raise ValueError("its results are larger than the grader reads")
    arrays = read_npz(npz_path, _allowed_array)
    return _wire.decode(json.loads(json_path.read_text()), arrays)


def _grade_exercise(source: str, ex, rngs, labels, timeout, python, user, unreadable,
                    large_rng=None, large_label=""):
    labels = list(labels)
    try:
        cases = [ex.make_case(rng) for rng in rngs]
        if large_rng is not None and ex.make_large_case is not None:
            cases.append(ex.make_large_case(large_rng))     # too large for finite differences
            labels.append(large_label)
    except UNAVAILABLE as e:
        # a student edition: this exercise's cases run a forward pass that is still a hole there
        # (or need an answer it does not store); the other exercises are graded all the same
        return ExerciseGrade(ex.name, ex.max_points, [], labels,
                             f"not graded in this edition yet: {e}"), ""
    raw = _run_sandbox(source, ex, cases, timeout, python, user, unreadable)
    note, results = "", []
    if raw.get("timeout"):
        done = len(raw.get("calls") or [])
        where = labels[done] if done < len(labels) else ""
        note = f"timed out after {timeout:g} s" + (f" on {where}" if where else "")
        if "large" in where:
            note += " (a backward pass takes milliseconds on it; finite differences, hours)"
    elif raw.get("crash"):
        note = raw["crash"]
    elif raw.get("load_error"):
        note = "the submission did not load"
    elif raw.get("missing"):
        note = f"no function {ex.stub.__name__} in the submission"
    if note:
        results = [_failed(ex, label, c, note) for label, c in zip(labels, cases)]
    else:
        calls = list(raw.get("calls", []))
        outputs = list(raw.get("outputs", []))
        for k, (label, case) in enumerate(zip(labels, cases)):
            if k >= len(calls):
                results.append(_failed(ex, label, case, "no result came back for this case"))
                continue
            call, out = calls[k], outputs[k] if k < len(outputs) else None
            if call.get("error") is not None:
                not_impl = call.get("kind") == "NotImplementedError"
                problem = ("not implemented yet: it raised NotImplementedError" if not_impl
                           else f"your function raised {str(call['error']).strip().splitlines()[-1]}")
                raised_in = re.findall(r", in (\w+)\n", str(call["error"]))
                if not_impl and raised_in and raised_in[-1] in DEPENDENCIES.get(ex.name, ()):
                    # the large case has no stand-in: the submission's own dependency was called
                    problem = (f"your {raised_in[-1]}, which {ex.stub.__name__} calls, is not "
                               "implemented yet: it raised NotImplementedError")
                r = _failed(ex, label, case, problem)
                if not not_impl:
                    r.lines.insert(1, str(call["error"]).rstrip()[-3000:])
                results.append(r)
            elif call.get("not_data"):
                results.append(_failed(ex, label, case, "returned something that is not data "
                                       f"(numbers, arrays, lists, tuples): {call['not_data']}"))
            else:
                results.append(judge(ex, case, out, label))
    return ExerciseGrade(ex.name, ex.max_points, results, labels, note), \
        str(raw.get("load_error") or "")


def grade(submission, exercises=None, seeds=DEFAULT_SEEDS, timeout: float = DEFAULT_TIMEOUT,
          python: str | None = None, secret: str | None = None, cases: int = DEFAULT_CASES,
          sandbox_user=None, unreadable=(), large: bool = True) -> GradeReport:
    """Grade the submission file (``.py``, or ``.ipynb``: its exported source) on ``exercises``.

    exercises: default all, in course order (in a student edition: the edition's exercises).
    seeds: the public cases per exercise (sizes vary with the seed), when there is no secret.
    secret: an instructor's secret (:func:`load_secret`): ``cases`` secret cases per exercise
        instead of the seeds; the report never names a seed.
    timeout: seconds each exercise may take, all its cases together.
    python: the interpreter for the sandbox (default: this one).
    sandbox_user: run the submission as this (unprivileged) user; needs root.
    unreadable: more paths the submission may not read (the autograder's folder, the secret).
    large: add, to each exercise that has one, a case of realistic size checked along random
        directions ("large case"): milliseconds for a backward pass, hours for finite
        differences, within the same ``timeout``.
    """
    submission = Path(submission).resolve()
    if not submission.is_file():
        raise FileNotFoundError(f"no submission file {submission}")
    if exercises is None:       # in a student edition, its exercises; else the whole ladder
        exercises = _stored.holes() or list_exercises()
    names = list(dict.fromkeys(exercises))      # each once, in the order given
    unknown = [n for n in names if n not in EXERCISES]
    if unknown:
        raise ValueError(f"unknown exercise(s) {unknown}; the exercises are {list_exercises()}")
    if secret is None:
        seeds = tuple(int(s) for s in seeds)
        if not seeds:
            raise ValueError("seeds: give at least one")
        labels = [f"seed {s}" for s in seeds]
    else:
        if int(cases) < 1:
            raise ValueError("cases: give at least one")
        labels = [f"case {k}" for k in range(1, int(cases) + 1)]
    if submission.suffix == ".ipynb":
        from .notebook import export_notebook
        source = export_notebook(submission)
    else:
        source = submission.read_text(errors="replace")
    flags = sorted({m.group(1) for m in _IMPORT.finditer(source)
                    if m.group(1) != "minis2s.exercises"})
    report = GradeReport(str(submission), labels, [], secret=secret is not None,
                         flags=[f"imports {f}" for f in flags])
    for name in names:
        ex = EXERCISES[name]
        if secret is None:
            rngs = [np.random.default_rng(s) for s in seeds]
            large_rng, large_label = np.random.default_rng(seeds[0]), f"seed {seeds[0]}, large"
        else:
            rngs = [case_rng(name, k, secret) for k in range(1, len(labels) + 1)]
            large_rng, large_label = case_rng(name, 0, secret), "large case"
        graded, load_error = _grade_exercise(source, ex, rngs, labels, timeout,
                                             python or sys.executable, sandbox_user,
                                             unreadable, large_rng if large else None,
                                             large_label)
        report.exercises.append(graded)
        report.load_error = report.load_error or load_error
    return report
