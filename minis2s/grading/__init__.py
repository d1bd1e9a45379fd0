r"""The autograder: grade a submission file on every exercise, several seeds each.

::

    from minis2s.grading import grade
    report = grade("submission.py")                 # all exercises, seeds 0, 1, 2
    print(report.text())                            # the plain report
    report.write_gradescope("results.json")         # Gradescope's format
    report.score, report.max_score

or ``minis2s grade submission.py --results results.json``.

How it works (docs/teaching.md, "The autograder"):

1. For each exercise and seed the grader builds the random case in *this*
   process -- sizes vary with the seed -- with its oracle (numerical gradients,
   ``Seq2Seq.generate``, :mod:`minis2s.metrics`).
2. The submission runs in a separate Python process (:mod:`minis2s.grading.sandbox`),
   one per exercise, with a timeout. There, ``minis2s`` cannot be imported
   (except the given forward passes), nor can torch or cupy: a submission that
   calls the library's backward fails with an ImportError saying so. The
   process receives only the cases' arguments, never the oracle.
3. Back here, the outputs are judged exactly as :func:`minis2s.exercises.check`
   judges them, and every output earns its share of the exercise's points in
   proportion to the seeds on which it is right.

A submission is a Python file that defines the exercises' functions under their
stub names (``minis2s.exercises.template()`` writes one). A missing function
scores 0 for its exercise; a file that does not load scores 0 everywhere, with
its traceback in the report. The sandbox is a separate process, not a security
boundary: run untrusted submissions in a disposable container (Gradescope does).
"""
from __future__ import annotations

import json
import math
import os
import pickle
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exercises import EXERCISES, list_exercises
from ..exercises import given as _given
from ..exercises.checker import Case, ExerciseResult, judge

__all__ = ["grade", "GradeReport", "ExerciseGrade", "DEFAULT_SEEDS", "DEFAULT_TIMEOUT"]

DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_TIMEOUT = 60.0
SANDBOX = Path(__file__).with_name("sandbox.py")
_IMPORT = re.compile(r"^\s*(?:from|import)\s+(minis2s(?:\.\w+)*|torch|cupy)\b", re.M)


@dataclass
class ExerciseGrade:
    """One exercise: its results per seed, and the points per output."""
    name: str
    max_points: float
    results: list                     # ExerciseResult per seed
    points: dict = field(default_factory=dict)   # output -> points earned
    note: str = ""                    # missing, timed out, did not load ...

    @property
    def score(self) -> float:
        return sum(self.points.values())


@dataclass
class GradeReport:
    """The grades of one submission, with both report formats."""
    submission: str
    seeds: tuple
    exercises: list                   # ExerciseGrade, in the order of the course
    flags: list = field(default_factory=list)   # lines of the submission that import libraries
    load_error: str = ""

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 6)

    @property
    def max_score(self) -> float:
        return sum(e.max_points for e in self.exercises)

    def text(self) -> str:
        """The plain report: one block per exercise, one line per output."""
        lines = [f"minis2s autograder: {self.submission}",
                 f"seeds {', '.join(map(str, self.seeds))}; score {self.score:g} / {self.max_score:g}"]
        if self.flags:
            lines.append("FLAGGED: the submission imports libraries that are not available "
                         "while grading: " + "; ".join(self.flags))
        if self.load_error:
            lines += ["", "The submission did not load:", self.load_error.rstrip()]
        for k, e in enumerate(self.exercises, 1):
            lines += ["", f"{k}. {e.name}: {e.score:g} / {e.max_points:g}" + (f"  ({e.note})" if e.note else "")]
            for out, pts in e.points.items():
                ok = sum(1 for r in e.results if out in r.errors and r.errors[out] <= r.tol)
                lines.append(f"   {out:<10} {pts:5.2f} pts   right on {ok}/{len(self.seeds)} seeds")
            for seed, r in zip(self.seeds, e.results):
                if not r.passed:
                    lines.append(f"   seed {seed}: " + "\n   ".join(str(r).splitlines()))
        return "\n".join(lines)

    def gradescope(self) -> dict:
        """The dict of Gradescope's results.json (one test per exercise)."""
        tests = []
        for k, e in enumerate(self.exercises, 1):
            detail = [f"{out}: {pts:.2f} pts" for out, pts in e.points.items()]
            fails = [f"seed {s}: {r}" for s, r in zip(self.seeds, e.results) if not r.passed]
            tests.append({"name": f"{k}. {e.name}", "score": round(e.score, 4),
                          "max_score": e.max_points, "visibility": "visible",
                          "output": "\n".join(([e.note] if e.note else []) + detail + fails)})
        output = ("FLAGGED: " + "; ".join(self.flags) + "\n" if self.flags else "") + \
                 (f"The submission did not load:\n{self.load_error}" if self.load_error else "")
        return {"score": self.score, "output": output or f"{len(tests)} exercises graded",
                "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}

    def write_gradescope(self, path) -> None:
        Path(path).write_text(json.dumps(self.gradescope(), indent=2))

    def write_text(self, path) -> None:
        Path(path).write_text(self.text() + "\n")


def _failed(ex, seed, case, problem) -> ExerciseResult:
    lines = [f"{ex.name} (seed {seed}; {case.sizes})", f"FAIL: {problem}"]
    return ExerciseResult(ex.name, {}, ex.tol, problem, lines)


def _run_sandbox(submission: Path, ex, cases, timeout: float, python: str) -> dict:
    """Run the submission's function on every case in a fresh process; its raw results."""
    with tempfile.TemporaryDirectory(prefix="minis2s-grade-") as tmp:
        job, out = Path(tmp, "job.pkl"), Path(tmp, "out.pkl")
        with open(job, "wb") as fh:
            pickle.dump({"given": _given.__file__, "submission": str(submission),
                         "exercise": ex.name, "function": ex.stub.__name__,
                         "cases": [c.args for c in cases]}, fh)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        try:
            proc = subprocess.run([python, "-I", str(SANDBOX), str(job), str(out)],
                                  capture_output=True, text=True, timeout=timeout,
                                  cwd=str(submission.parent), env=env)
        except subprocess.TimeoutExpired:
            return {"timeout": True}
        if not out.exists():
            tail = (proc.stderr or proc.stdout or "").strip()[-1500:]
            return {"crash": f"the grading process ended with status {proc.returncode}: {tail}"}
        with open(out, "rb") as fh:
            return pickle.load(fh)


def _grade_exercise(submission: Path, ex, seeds, timeout, python):
    cases = [ex.make_case(np.random.default_rng(s)) for s in seeds]
    raw = _run_sandbox(submission, ex, cases, timeout, python)
    note, results = "", []
    if raw.get("timeout"):
        note = f"timed out after {timeout:g} s"
    elif raw.get("crash"):
        note = raw["crash"]
    elif raw.get("load_error"):
        note = "the submission did not load"
    elif raw.get("missing"):
        note = f"no function {ex.stub.__name__} in the submission"
    if note:
        results = [_failed(ex, s, c, note) for s, c in zip(seeds, cases)]
    else:
        for seed, case, call in zip(seeds, cases, raw["calls"]):
            if call["error"] is not None:
                problem = ("not implemented yet (it raised NotImplementedError)"
                           if call["kind"] == "NotImplementedError"
                           else f"your function raised {call['error'].strip().splitlines()[-1]}")
                r = _failed(ex, seed, case, problem)
                if call["kind"] != "NotImplementedError":
                    r.lines.insert(1, call["error"].rstrip())
                results.append(r)
            elif isinstance(call["out"], dict) and "__unpicklable__" in call["out"]:
                results.append(_failed(ex, seed, case, "returned something that is not data: "
                                       + call["out"]["__unpicklable__"]))
            else:
                results.append(judge(ex, case, call["out"], seed))
    share = ex.max_points / len(ex.outputs)
    points = {}
    for out in ex.outputs:
        right = sum(1 for r in results if not r.problem and r.errors.get(out, math.inf) <= r.tol)
        points[out] = share * right / len(seeds)
    return ExerciseGrade(ex.name, ex.max_points, results, points, note), raw.get("load_error") or ""


def grade(submission, exercises=None, seeds=DEFAULT_SEEDS, timeout: float = DEFAULT_TIMEOUT,
          python: str | None = None) -> GradeReport:
    """Grade the submission file on ``exercises`` (default: all, in course order).

    seeds: the random cases per exercise (sizes vary with the seed).
    timeout: seconds each exercise may take, all its seeds together.
    python: the interpreter for the sandbox (default: this one).
    """
    submission = Path(submission).resolve()
    if not submission.is_file():
        raise FileNotFoundError(f"no submission file {submission}")
    names = list_exercises() if exercises is None else list(exercises)
    unknown = [n for n in names if n not in EXERCISES]
    if unknown:
        raise ValueError(f"unknown exercise(s) {unknown}; the exercises are {list_exercises()}")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds: give at least one")
    source = submission.read_text(errors="replace")
    flags = sorted({m.group(1) for m in _IMPORT.finditer(source)
                    if m.group(1) not in ("minis2s.exercises", "minis2s.exercises.given")})
    report = GradeReport(str(submission), seeds, [], flags=[f"imports {f}" for f in flags])
    for name in names:
        graded, load_error = _grade_exercise(submission, EXERCISES[name], seeds, timeout,
                                             python or sys.executable)
        report.exercises.append(graded)
        report.load_error = report.load_error or load_error
    return report
