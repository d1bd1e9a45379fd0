r"""The searches' ``step``: a table of next-token log-probabilities, not a neural network.

A search does not care what model scores the next token: it only calls
``logp, state = step(tokens, state)``. The search exercises' cases score it with
plain data, a second-order Markov "decoder": a table ``logp[before_last, last, next]``
(V, V, V) of log-probabilities (each row normalised; ``<pad>`` and ``<sos>`` at -inf).
Its state is the token before the last one, per row: ``state = (before_last (M,) int,)``.
A step looks up the rows of the tokens it is fed, and the token it was fed becomes the
next step's "before the last" -- so a beam search that does not reorder its state rows
after choosing its candidates looks up the wrong rows of the table, and scores wrong.

This file imports NumPy and nothing else: the grader's sandbox loads it by path
(minis2s itself cannot be imported there) to build the ``step`` a search exercise is
called with, exactly as :func:`minis2s.exercises.check` does.
"""
from __future__ import annotations

import numpy as np

__all__ = ["make_step", "prepare"]


def make_step(logp):
    """``step(tokens, state) -> (logp (M, V), new_state)`` reading the table ``logp`` (V, V, V).

    tokens (M,) int: the last token of each row; state = (before_last (M,) int,).
    """
    def step(tokens, state):
        (before_last,) = state
        last = np.array(tokens, dtype=np.int64)                  # a copy: the caller's stays theirs
        return logp[np.asarray(before_last), last], (last,)      # indexing copies: the table stays
    return step


def prepare(exercise, args):
    """The arguments a student's function is called with, from a case's plain data.

    Cases travel between processes as plain arrays; the search exercises are called with a
    ``step`` function, which is built here from the case's table (in the grader's sandbox as
    well as in :func:`minis2s.exercises.check`). Every other exercise gets its arguments as
    they are.
    """
    if exercise in ("greedy_search", "beam_search"):
        table, rest = args[0], args[1:]
        return (make_step(table),) + tuple(rest)
    return tuple(args)
