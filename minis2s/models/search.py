r"""Decoding: greedy search and batched beam search.

Both run the decoder one step at a time -- ``state = decoder.start(enc)``, then
``logp, state = decoder.step(tokens, state)`` -- feeding back their own choices,
and never emit ``<pad>`` or ``<sos>``. Scores are
log-probabilities: ``score(y) = sum_t log p(y_t | y_<t, x)``, ``<eos>`` included.

Beam search keeps the k best partial hypotheses per source sentence, for all
sentences of the batch at once (arrays of shape (N, k, ...)). A hypothesis that
emits ``<eos>`` is *finished*: it stays in the beam with its score frozen (it
may only extend with ``<pad>`` at log-probability 0), so finished and live
hypotheses compete for the k places on equal terms. The search stops when all
N*k hypotheses are finished or after ``max_len`` steps.

Length normalisation (Wu et al. 2016, GNMT), applied when the finished
hypotheses are ranked at the end::

    normalised score = score / lp(|y|),   lp(|y|) = ((5 + |y|) / 6) ** alpha

``alpha = 0`` (the default) ranks by raw log-probability, which favours short
outputs; ``alpha`` around 0.6-1.0 compensates. With k = 1 beam search is
greedy search, token for token and score for score (up to exact ties between
two tokens' log-probabilities, which the two may break differently).
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import get_array_module, to_cpu
from ..errors import InputError
from ..validate import MAX_DECODE_LEN   # the longest output a search may be asked for

__all__ = ["greedy_search", "beam_search", "check_search_args", "NonFiniteDecodingError",
           "MAX_DECODE_LEN"]

NEG_INF = -np.inf


class NonFiniteDecodingError(FloatingPointError):
    """The decoder produced NaN log-probabilities: the model's weights are not usable."""


def _is_int(n) -> bool:
    return isinstance(n, (int, np.integer)) and not isinstance(n, bool)


def check_search_args(max_len, beam_size: int = 1, n_best: int = 1, alpha: float = 0.0) -> None:
    """A clear error for a search argument out of range, before any work is done.

    max_len bounds the loop (an absurd one would only fail later, with a MemoryError or
    a hang); alpha is the length penalty of :func:`beam_search`.
    """
    if not _is_int(max_len) or not 1 <= max_len <= MAX_DECODE_LEN:
        raise InputError(f"max_len must be an integer from 1 to {MAX_DECODE_LEN}, got {max_len!r}")
    if not _is_int(beam_size) or beam_size < 1:
        raise InputError(f"beam_size must be an integer >= 1, got {beam_size!r}")
    if not _is_int(n_best) or not 1 <= n_best <= beam_size:
        raise InputError(f"n_best must be between 1 and beam_size ({beam_size}), got {n_best!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) \
            or not math.isfinite(alpha) or alpha < 0:
        raise InputError(f"alpha (the length penalty) must be a finite number >= 0, got {alpha!r}")


def forbid(logp, ids):
    """logp (..., V) with the tokens the decoder may not emit at -inf (a new array: the
    decoder's log-probabilities are left as they were handed out)."""
    xp = get_array_module(logp)
    token = xp.arange(logp.shape[-1])
    banned = token < 0                                  # all False, (V,)
    for i in ids:
        banned = banned | (token == i)
    return xp.where(banned, NEG_INF, logp)


def _check_finite(nan, step: int) -> None:
    """Refuse a step whose log-probabilities held a NaN (from NaN or inf weights or inputs).

    nan: the 0-d bool ``isnan(logp).any()`` of that step.
    """
    if bool(nan):
        raise NonFiniteDecodingError(
            f"decoding step {step}: the decoder produced NaN log-probabilities (are the "
            "model's weights finite? a diverged checkpoint?); no output can be chosen")


def _strip(row: list, eos_id: int) -> list:
    """Token ids up to (not including) the first <eos>."""
    return row[:row.index(eos_id)] if eos_id in row else row


def greedy_search(decoder, enc, max_len: int, sos_id: int, eos_id: int, pad_id: int):
    """Pick the most probable token at every step.

    enc: the encoder's output (N sentences). Returns (list of N id lists, scores (N,) host array).
    """
    check_search_args(max_len)
    # EXERCISE greedy_search: begin
    state = decoder.start(enc)
    xp = get_array_module(state.h)
    N = state.h.shape[1]
    tokens = xp.full((N,), sos_id, dtype=xp.int64)
    finished = xp.zeros((N,), dtype=bool)
    scores = xp.zeros((N,), dtype=state.h.dtype)
    rows = xp.arange(N)
    out = []
    for t in range(max_len):
        logp, state = decoder.step(tokens, state)
        nan = xp.isnan(logp).any()
        logp = forbid(logp, [pad_id, sos_id])
        tokens = logp.argmax(axis=1)
        scores = scores + xp.where(finished, 0.0, logp[rows, tokens])
        tokens = xp.where(finished, pad_id, tokens)
        out.append(tokens)
        finished = finished | (tokens == eos_id)
        if bool(finished.all() | nan):  # one sync per step: every row done, or no number to trust
            _check_finite(nan, t)
            break
    out = to_cpu(xp.stack(out, axis=1))                   # (N, steps): one transfer
    return [_strip(r, eos_id) for r in out.tolist()], to_cpu(scores)
    # EXERCISE greedy_search: end


def beam_search(decoder, enc, max_len: int, beam_size: int, sos_id: int, eos_id: int,
                pad_id: int, n_best: int = 1, alpha: float = 0.0):
    """Batched beam search; returns (hypotheses, scores) for each of the N sources.

    hypotheses[n] is a list of up to ``n_best`` id lists, best first; scores[n] the
    matching normalised scores (raw log-probabilities when alpha = 0). Fewer than
    n_best come back only when fewer distinct hypotheses exist (a vocabulary smaller
    than the beam, say); the caller decides whether to warn.
    """
    check_search_args(max_len, beam_size, n_best, alpha)
    # EXERCISE beam_search: begin
    state = decoder.start(enc)
    xp = get_array_module(state.h)
    N, k = state.h.shape[1], beam_size
    # Every source gets k hypotheses. At step 0 they would all be the same one (same
    # state, same <sos>), so step 0 runs once per source; its result goes to copy 0
    # and the other k-1 copies start at -inf, so that step 0 expands one hypothesis,
    # not k equal ones. Then the state is copied k times, one per hypothesis.
    scores = xp.zeros((N, k), dtype=state.h.dtype)
    finished = xp.zeros((N, k), dtype=bool)
    lengths = xp.zeros((N, k), dtype=xp.int64)
    tokens = xp.full((N,), sos_id, dtype=xp.int64)
    history = []                                   # (token, parent beam) per step, each (N, k)
    base = (xp.arange(N) * k)[:, None]             # row of hypothesis (n, 0) in the flat state
    for t in range(max_len):
        logp, state = decoder.step(tokens, state)
        nan = xp.isnan(logp).any()
        logp = forbid(logp, [pad_id, sos_id])
        V = logp.shape[1]
        if t == 0:
            first = xp.full((N, k, V), NEG_INF, dtype=logp.dtype)
            first[:, 0] = logp
            logp = first
            state = state.take(xp.repeat(xp.arange(N), k))   # N rows -> N*k rows
            # finished hypotheses may only "extend" with <pad>, at no cost
            frozen = xp.full((V,), NEG_INF, dtype=logp.dtype)
            frozen[pad_id] = 0.0
        logp = logp.reshape(N, k, V)
        logp = xp.where(finished[:, :, None], frozen, logp)
        cand = (scores[:, :, None] + logp).reshape(N, k * V)
        # the k best of k*V candidates: partition (linear time on NumPy), then order those k
        top = xp.argpartition(-cand, k - 1, axis=1)[:, :k]
        top = xp.take_along_axis(top, xp.argsort(-xp.take_along_axis(cand, top, axis=1), axis=1), axis=1)
        scores = xp.take_along_axis(cand, top, axis=1)
        parent, tok = top // V, top % V
        was_finished = xp.take_along_axis(finished, parent, axis=1)
        lengths = xp.take_along_axis(lengths, parent, axis=1) + (~was_finished)
        finished = was_finished | (tok == eos_id)
        history.append((tok, parent))
        state = state.take((base + parent).reshape(-1))   # each hypothesis continues its parent
        tokens = tok.reshape(-1)
        if bool(finished.all() | nan):  # one sync per step, as in greedy search
            _check_finite(nan, t)
            break
    return _backtrack(history, to_cpu(scores), to_cpu(lengths), eos_id, n_best, alpha)
    # EXERCISE beam_search: end


def _backtrack(history, scores, lengths, eos_id, n_best, alpha):
    """Follow parent pointers back from the final beams; rank; keep n_best per source.

    history: per step, (token, parent beam), each (N, k). All N*k hypotheses are
    rebuilt at once, one array operation per step, walking from the last step back.
    """
    xp = get_array_module(*history[0])
    toks = to_cpu(xp.stack([t for t, _ in history]))         # (T, N, k): one transfer each
    parents = to_cpu(xp.stack([p for _, p in history]))
    T, N, k = toks.shape
    rows = np.arange(N)[:, None]
    beam = np.broadcast_to(np.arange(k), (N, k))
    seqs = np.empty((N, k, T), dtype=toks.dtype)
    for t in reversed(range(T)):
        seqs[:, :, t] = toks[t][rows, beam]
        beam = parents[t][rows, beam]
    # GNMT length normalisation; placeholders that never became hypotheses (-inf) sort last
    normalised = scores / ((5.0 + lengths) / 6.0) ** alpha
    order = np.argsort(-normalised, axis=1, kind="stable")[:, :n_best]           # (N, n_best)
    best = np.take_along_axis(seqs, order[:, :, None], axis=1).tolist()          # (N, n_best, T)
    best_scores = np.take_along_axis(normalised, order, axis=1).tolist()
    # <pad> only ever follows <eos> (it is forbidden otherwise), so cutting at the
    # first <eos> also drops the padding of hypotheses that finished early.
    hyps = [[_strip(seq, eos_id) for seq, s in zip(seqs_n, scores_n) if math.isfinite(s)]
            for seqs_n, scores_n in zip(best, best_scores)]
    out_scores = [[s for s in scores_n if math.isfinite(s)] for scores_n in best_scores]
    return hyps, out_scores
