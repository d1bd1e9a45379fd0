"""The one family of errors that means "what you gave minis2s is wrong".

:class:`InputError` covers a bad option, data file, checkpoint or argument to a
model's public method: the command line prints its message on one line and
exits with status 1, because the message names the problem and the fix. Any
other exception -- a ``ValueError`` from a shape check inside a layer a student
has modified, say -- is a programming error and keeps its traceback.

It subclasses ``ValueError``, so ``except ValueError`` still catches it.
"""
from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad input from the user: an option, a file, a checkpoint, a model argument."""
