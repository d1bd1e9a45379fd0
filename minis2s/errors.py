"""The one family of errors that means "what you gave minis2s is wrong".

:class:`InputError` covers a bad option, data file, checkpoint or argument to a
model's public method: the command line prints its message on one line and
exits with status 1, because the message names the problem and the fix. Any
other exception -- a ``ValueError`` from a shape check inside a layer a student
has modified, say -- is a programming error and keeps its traceback.

It subclasses ``ValueError``, so ``except ValueError`` still catches it.
"""
from __future__ import annotations

__all__ = ["InputError", "ExerciseNotDone"]


class InputError(ValueError):
    """Bad input from the user: an option, a file, a checkpoint, a model argument."""


class ExerciseNotDone(NotImplementedError, InputError):
    """A student edition's hole: the body of exercise ``number`` is still to be written.

    The student edition (instructor/make_student_edition.py) replaces each exercise's
    region of the engine by ``raise ExerciseNotDone(number, name, where)``. minis2s runs on
    the student's code, so ``minis2s train`` and the notebooks stop at the first hole they
    need, saying which exercise to finish (the command line prints the message on one line:
    an :class:`InputError`); ``except NotImplementedError`` catches it too.
    """

    def __init__(self, number: int, name: str, where: str):
        self.number, self.name, self.where = number, name, where
        super().__init__(
            f"finish exercise {number} first ({name}, in {where}): minis2s runs on your code, "
            "and this body is still yours to write -- its docstring says what it takes and "
            "returns; docs/exercises.md says how to check it")
