r"""Exercises 15-16: greedy search and beam search, checked against minis2s's own searches.

A search does not care what model scores the next token: it calls
``logp, state = step(tokens, state)`` and chooses. You get such a ``step`` and the
first state of N sentences; your outputs must equal what minis2s's own
:func:`minis2s.models.search.greedy_search` / :func:`~minis2s.models.search.beam_search`
answer when they run the same ``step``: the same tokens, the same scores. Maths and the
rules: the module docstring of :mod:`minis2s.models.search`, and notebook 04.

``step(tokens, state) -> (logp, new_state)``: tokens (M,) int, state a tuple of (M, ...)
arrays, logp (M, V) log-probabilities of the next token. ``<pad>`` and ``<sos>`` already
have log-probability -inf. M may be any number of rows: select rows of a state with
``tuple(s[rows] for s in state)``. In a trained model the step is a decoder; here a table
scores the tokens (:mod:`minis2s.exercises.markov`: the next token's log-probabilities
depend on the last two tokens), so a beam that forgets to move its state rows along with
its hypotheses reads the wrong rows -- as it would read the wrong hidden states of a decoder.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..data.vocab import EOS, PAD, SOS
from . import _cases, stored
from .checker import Case, Exercise
from .markov import make_step

__all__ = ["greedy_search", "beam_search", "EXERCISES"]


def greedy_search(step, state, sos_id, eos_id, max_len):
    """Greedy decoding of N sentences at once.

    step(tokens (M,), state) -> (logp (M, V), new state): scores the next token (whatever model
    does it). state: a tuple of (N, ...) arrays, the first state of the N sentences. Every
    sentence starts from ``sos_id``; at each step feed back the most probable token. A
    sentence is finished when it emits ``eos_id``; stop after ``max_len`` steps at most.
    Returns (tokens, scores): tokens, a list of N token-id lists without the <eos>;
    scores (N,), the sum of the log-probabilities of the tokens chosen, <eos> included.
    """
    raise NotImplementedError


def beam_search(step, state, sos_id, eos_id, max_len, beam_size):
    """Beam search with beam_size k, for each of the N sentences; no length normalisation.

    Keep the k best partial hypotheses (by summed log-probability). A hypothesis that
    emits ``eos_id`` is finished: it keeps its place and its score, and competes with the
    live ones for the k places at every later step. Stop when all k are finished or after
    ``max_len`` steps; answer the best of the k (finished or not). ``step`` and ``state`` as for
    greedy_search; a hypothesis continues from its parent's state row
    (``tuple(s[rows] for s in state)``).
    Returns (tokens, scores) as greedy_search does: the best hypothesis per sentence.
    """
    raise NotImplementedError


GREEDY_HINTS = (
    """
    Decode all N sentences in lock-step: one call of step per time step for the whole batch.
    A finished sentence must neither grow nor change its score, even though the batch keeps
    stepping for the others.
    """,
    """
    tokens (N,) int starts as sos_id everywhere; logp = step(tokens, state) is (N, V); the
    choice is argmax over axis 1, (N,). Keep finished (N,) bool and scores (N,) float.
    """,
    """
    Keep, for all N sentences at once: the current token (all sos_id at first), the state, the
    running scores, the growing token lists and a finished flag. Each step: one call of step on
    the current tokens, choose each row's most probable token, add its log-probability to the
    score of the rows that are not finished yet, append it to the lists of those rows unless it is
    eos_id, then mark the rows that just produced eos_id as finished. Stop when every row is
    finished or after max_len steps.
    """,
)

BEAM_HINTS = (
    """
    Beam search keeps k candidate prefixes instead of one. Each step, every live candidate is
    extended by every token; of all extensions (and the finished candidates, unchanged) keep
    the k best. At the start there is one candidate, not k copies of it.
    """,
    """
    For one sentence: the state of k hypotheses is (k, ...) per array; logp is (k, V); candidate
    scores score[:, None] + logp are (k, V), flattened k*V; the parent of candidate j is j // V,
    its token j % V. Reorder the state with the parents: tuple(s[parent] for s in state).
    """,
    """
    One sentence at a time is simplest. Hypotheses are (tokens, score, finished) and a state row;
    start with a single live hypothesis. Each step: run step on the live hypotheses' last tokens;
    every live hypothesis extended by every token is a candidate (its score plus that token's
    log-probability); every finished hypothesis is a candidate too, unchanged. Keep the beam_size
    best candidates by score; a kept candidate that ended with eos_id becomes finished. Reorder the
    state rows to follow the kept candidates' parents. Stop when all kept hypotheses are finished
    or after max_len steps, and answer the best one (without its eos_id).
    """,
)


class _TableState:
    """The table's state as minis2s's searches handle a decoder state: ``.h`` (only its shape
    (1, M) and dtype are read: M rows, float64 scores) and ``.take(rows)``."""

    def __init__(self, before_last):
        self.before_last = np.asarray(before_last)

    @property
    def h(self):
        return np.zeros((1, self.before_last.shape[0]))

    def take(self, rows):
        return _TableState(self.before_last[rows])


class _TableDecoder:
    """The table as minis2s's searches call a decoder: ``start(enc) -> state`` (enc: the
    first "before the last" token of each sentence) and ``step(tokens, state) -> (logp, state)``,
    through the very ``step`` the student's search is called with."""

    def __init__(self, table):
        self._step = make_step(table)

    def start(self, enc):
        return _TableState(enc)

    def step(self, tokens, state):
        logp, (last,) = self._step(tokens, (state.before_last,))
        return logp, _TableState(last)


def _table(rng, V, eos_bias):
    """A random (V, V, V) table of log-probabilities, normalised by the engine's log_softmax
    (not an exercise): <pad> and <sos> never come next, <eos> gets ``eos_bias`` more."""
    logits = _cases.randn(rng, V, V, V, scale=1.5)
    logits[:, :, EOS] += eos_bias                  # so that sentences end, at various lengths
    logits[:, :, [PAD, SOS]] = -np.inf
    return F.log_softmax(logits)


def _table_case(rng, beam_size, eos_bias):
    """A random table, the first state of N sentences, and minis2s's own search's answer."""
    from ..models.search import beam_search as engine_beam, greedy_search as engine_greedy
    N, V = int(rng.integers(2, 10)), int(rng.integers(7, 14))   # V > the special ids 0..3
    max_len = int(rng.integers(4, 9))
    table = _table(rng, V, eos_bias)
    before = rng.integers(3, V, size=N)                          # each sentence starts elsewhere
    args = (table, (before,), SOS, EOS, max_len) + ((beam_size,) if beam_size > 1 else ())
    name = "beam_search" if beam_size > 1 else "greedy_search"

    def compute():                                 # the oracle: the library's own search
        decoder = _TableDecoder(table)
        if beam_size == 1:
            tokens, scores = engine_greedy(decoder, before, max_len, SOS, EOS, PAD)
        else:
            hyps, best = engine_beam(decoder, before, max_len, beam_size, SOS, EOS, PAD)
            tokens, scores = [h[0] for h in hyps], [s[0] for s in best]
        return {"tokens": [list(map(int, t)) for t in tokens],
                "scores": np.array(scores, dtype=np.float64)}
    spelled = f"N={N}, V={V}, max_len={max_len}"
    return Case(args=args, oracle=stored.oracle(name, args, compute),
                sizes=spelled + (f", beam_size={beam_size}" if beam_size > 1 else ""))


def _greedy_case(rng) -> Case:
    return _table_case(rng, 1, eos_bias=1.0)


def _beam_case(rng) -> Case:
    return _table_case(rng, int(rng.integers(2, 5)), eos_bias=-0.5)  # beam favours short: less <eos>


EXERCISES = [
    Exercise(
        name="greedy_search",
        signature="greedy_search(step, state, sos_id, eos_id, max_len) -> (tokens, scores)",
        outputs={"tokens": "[N id lists]", "scores": "(N,)"},
        make_case=_greedy_case, stub=greedy_search, hints=GREEDY_HINTS, level=2, minutes=30,
        oracle="minis2s.models.search.greedy_search", tol=1e-9),
    Exercise(
        name="beam_search",
        signature="beam_search(step, state, sos_id, eos_id, max_len, beam_size) -> (tokens, scores)",
        outputs={"tokens": "[N id lists]", "scores": "(N,)"},
        make_case=_beam_case, stub=beam_search, hints=BEAM_HINTS, level=3, minutes=60,
        oracle="minis2s.models.search.beam_search", tol=1e-9),
]
