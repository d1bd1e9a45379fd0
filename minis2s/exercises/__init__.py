r"""Gradient-check exercises: write a backward pass, and let the checker judge it.

Each exercise is a function to write, with a stub in this package that raises
``NotImplementedError`` and a hint. Write your own version and check it::

    from minis2s.exercises import check, list_exercises
    list_exercises()            # ['lstm_step_backward', 'lstm_backward', ...]

    def my_lstm_step_backward(dh, dc, cache):
        ...
    check("lstm_step_backward", my_lstm_step_backward)

``check`` builds a fresh random float64 problem (``seed`` picks it), calls your
function, and compares every output with a central-difference numerical
gradient of the given forward pass (:mod:`minis2s.gradcheck`) -- not with a
stored answer. It prints one line per output and a final PASS or FAIL naming
the wrong outputs, and returns the result (``.passed``, ``.errors``, ``.failed``).

The exercises (``EXERCISES[name].signature`` spells each one out):

* ``lstm_step_backward`` -- one LSTM step (:mod:`minis2s.exercises.lstm`)
* ``lstm_backward``      -- BPTT over a padded batch (:mod:`minis2s.exercises.lstm`)
* ``embedding_backward`` -- the scatter-add (:mod:`minis2s.exercises.embedding`)
* ``softmax_cross_entropy`` -- loss and gradient with padding ignored (:mod:`minis2s.exercises.softmax`)
* ``peeky_concat``       -- the peeky decoder's concatenation (:mod:`minis2s.exercises.peeky`)
* ``adam_update``        -- one bias-corrected Adam step, checked against
  :class:`minis2s.optim.Adam` to 1e-12 (:mod:`minis2s.exercises.adam`)

Reference solutions are in :mod:`minis2s.exercises.solutions` -- try first.
docs/exercises.md walks through an example; docs/derivations.md has the maths.
"""
from __future__ import annotations

from . import adam, embedding, lstm, peeky, softmax, solutions
from .checker import Exercise, ExerciseResult, run_exercise

__all__ = ["check", "list_exercises", "EXERCISES", "Exercise", "ExerciseResult", "solutions"]

EXERCISES: dict = {ex.name: ex for module in (lstm, embedding, softmax, peeky, adam)
                   for ex in module.EXERCISES}


def list_exercises() -> list:
    """The names of the exercises, in the order of the course."""
    return list(EXERCISES)


def check(name: str, student_fn, seed: int = 0, verbose: bool = True) -> ExerciseResult:
    """Check ``student_fn`` on exercise ``name`` with a fresh random case.

    seed: picks the random case (try a few). verbose: print the report.
    Returns an :class:`ExerciseResult`: ``.passed`` (bool), ``.errors``
    ({output: max relative error}), ``.failed`` (the wrong outputs), ``.problem``
    (why nothing could be compared, if so); ``print(result)`` shows the report.
    A mistake in ``student_fn`` -- an exception, ``None``, the wrong number or
    shape of outputs -- is a FAIL, never an exception. An unknown ``name`` raises
    ``KeyError`` listing the exercises.
    """
    if name not in EXERCISES:
        raise KeyError(f"no exercise named {name!r}; the exercises are {list_exercises()}")
    return run_exercise(EXERCISES[name], student_fn, seed=seed, verbose=verbose)
