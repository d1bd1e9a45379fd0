r"""Exercises: write the maths of a seq2seq model yourself, and let the checker judge it.

A ladder of functions to write, from a loss to beam search and BLEU
(``ladder()`` prints it with difficulty and expected time). Each has a stub here
(its signature and a docstring with every shape; the body raises
``NotImplementedError``) and a checker::

    from minis2s.exercises import check, hint, ladder
    ladder()                                  # the exercises, in order
    def my_lstm_step_backward(dh, dc, cache):
        ...
    check("lstm_step_backward", my_lstm_step_backward)      # prints a report
    assert check("lstm_step_backward", my_lstm_step_backward, verbose=False)
    hint("lstm_step_backward")                # what each hint level reveals
    hint("lstm_step_backward", 1)             # 1 concept, 2 shapes, 3 structure

``check`` builds a fresh random float64 problem (``seed`` picks it, sizes
included), calls your function, and compares every output with a numerical
gradient of the package's own forward pass or with what the package itself
computes (its forward passes, its searches, its metrics; in a student edition,
where those are your holes, with the answers the full package stored for the
public seeds: :mod:`minis2s.exercises.stored`). The result is truthy only if
every output agrees.

Hints are never printed unless you ask: the stubs raise a bare
``NotImplementedError``. ``template()`` writes a submission file with every
stub, for the autograder (``minis2s grade submission.py``).

The solutions are not part of the package: instructors keep them (instructor/
in the repository). docs/exercises.md walks through an example;
docs/derivations.md has the maths.
"""
from __future__ import annotations

import inspect

from . import adam, attention, bleu, clip, embedding, gru, lstm, peeky, rnn, search, softmax
from .checker import DIFFICULTY, Exercise, ExerciseResult, format_hint, run_exercise

__all__ = ["check", "hint", "ladder", "list_exercises", "template", "EXERCISES",
           "Exercise", "ExerciseResult"]

#: The exercises, in the order of the course.
EXERCISES: dict = {ex.name: ex for module in (softmax, embedding, rnn, lstm, peeky, attention,
                                               clip, adam, search, bleu, gru)
                   for ex in module.EXERCISES}


def list_exercises() -> list:
    """The names of the exercises, in the order of the course."""
    return list(EXERCISES)


def _get(name: str) -> Exercise:
    if name not in EXERCISES:
        raise KeyError(f"no exercise named {name!r}; the exercises are {list_exercises()}")
    return EXERCISES[name]


def check(name: str, student_fn=None, seed: int = 0, verbose: bool = True,
          large: bool = False) -> ExerciseResult:
    """Check ``student_fn`` on exercise ``name`` with a fresh random case.

    Without ``student_fn``, judge the package's own implementation instead -- in a student
    edition whose exercises are holes in the engine, the body you wrote there -- against the
    numerical gradient of the package's own forward passes, on the engine's caches
    (:mod:`minis2s.exercises.engine`; the backward exercises have one).

    seed: picks the random case, sizes included (try a few). verbose: print the report.
    large: the exercise's large case instead (realistic sizes, checked along random
    directions; the grader adds one to the exercises that have it).
    Returns an :class:`ExerciseResult`, truthy only when every output agrees:
    ``.passed``, ``.errors`` ({output: error}), ``.failed`` (the wrong outputs),
    ``.problem`` (why nothing could be compared, if so); ``print(result)`` shows
    the report. A mistake in ``student_fn`` -- an exception, ``None``, the wrong
    number or shape of outputs, a call into minis2s's own code -- is a FAIL,
    never an exception. An unknown ``name`` raises ``KeyError``.
    """
    if student_fn is None:
        from .engine import check_engine
        _get(name)
        return check_engine(name, seed=seed, verbose=verbose)
    return run_exercise(_get(name), student_fn, seed=seed, verbose=verbose, large=large)


def hint(name: str, level: int | None = None) -> None:
    """Print a hint for exercise ``name``: level 1 the concept, 2 the shapes, 3 the structure.

    Without a level, print what each level reveals. Each level tells more than
    the one before; level 3 walks through every step in words -- the last step before the
    code, which stays yours. An instructor may ship fewer levels
    (``make_student_edition.py --max-hint``).
    """
    print(format_hint(_get(name), level))


def ladder() -> str:
    """The exercises in order, with difficulty, expected time and signature (printed and returned)."""
    rows = [f"{k:>2}. {ex.name:<24}{DIFFICULTY[ex.level]:<17}~{ex.minutes:>3} min   {ex.signature}"
            for k, ex in enumerate(EXERCISES.values(), 1)]
    total = sum(ex.minutes for ex in EXERCISES.values())
    text = "\n".join(rows + [f"    total ~{total / 60:.1f} h"])
    print(text)
    return text


def template(names=None) -> str:
    """The text of a submission file holding the stubs of ``names`` (default: all).

    Save it as ``submission.py``, fill in the bodies, check each function with
    ``check`` (below ``if __name__ == "__main__":``, which the grader skips) and
    grade it with ``minis2s grade submission.py``.
    """
    names = list_exercises() if names is None else list(names)
    parts = ['"""My solutions to the minis2s exercises (minis2s grade submission.py).\n\n'
             'Only NumPy may be imported: the grader runs this file where minis2s cannot be\n'
             'imported (your checks go below `if __name__ == "__main__":`, which it skips)."""\n'
             "import numpy as np\n"]
    for name in names:
        ex = _get(name)
        parts.append(f"\n# --- {ex.name}: {DIFFICULTY[ex.level]}, ~{ex.minutes} min "
                     + "-" * max(0, 60 - len(ex.name)) + "\n\n" + inspect.getsource(ex.stub))
    parts.append('\n\nif __name__ == "__main__":   # your own checks; the grader does not run them\n'
                 "    from minis2s.exercises import check\n"
                 + "".join(f"    # check({n!r}, {_get(n).stub.__name__})\n" for n in names))
    return "".join(parts)


def _doc_table() -> str:
    """The ladder as a Markdown table (docs/exercises.md holds a copy, checked by a test)."""
    lines = ["| # | exercise | difficulty | time | you write | checked against |",
             "|---|---|---|---|---|---|"]
    for k, ex in enumerate(EXERCISES.values(), 1):
        lines.append(f"| {k} | `{ex.name}` | {DIFFICULTY[ex.level]} | {ex.minutes} min | "
                     f"`{ex.signature}` | {ex.oracle} |")
    return "\n".join(lines)
