r"""Exercises 15-16: greedy search and beam search, checked against ``Seq2Seq.generate``.

You get a ``step`` function -- one step of a trained-looking peeky decoder,
:func:`minis2s.exercises.given.decoder_step`, with its weights bound -- and the
decoder's initial state for N source sentences. The case builds a minis2s
model with the same weights, and your outputs must equal what
``model.generate(src, max_len, beam_size=k)`` returns: the same tokens, the
same scores. Maths and the rules: the module docstring of
:mod:`minis2s.models.search`, and notebook 04.

``step(tokens, state) -> (logp, new_state)``: tokens (M,) int, state a tuple
(h, c, ctx) of (M, H) arrays, logp (M, V) log-probabilities of the next token.
``<pad>`` and ``<sos>`` already have log-probability -inf. M may be any number
of rows: select rows of a state with ``tuple(s[rows] for s in state)``.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..errors import ExerciseNotDone
from . import _cases, given
from .checker import Case, Exercise

__all__ = ["greedy_search", "beam_search", "EXERCISES"]


def greedy_search(step, state, sos_id, eos_id, max_len):
    """Greedy decoding of N sentences at once.

    state: (h, c, ctx), each (N, H). Every sentence starts from ``sos_id``; at each
    step feed back the most probable token. A sentence is finished when it emits
    ``eos_id``; stop after ``max_len`` steps at most.
    Returns (tokens, scores): tokens, a list of N token-id lists without the <eos>;
    scores (N,), the sum of the log-probabilities of the tokens chosen, <eos> included.
    """
    raise NotImplementedError


def beam_search(step, state, sos_id, eos_id, max_len, beam_size):
    """Beam search with beam_size k, for each of the N sentences; no length normalisation.

    Keep the k best partial hypotheses (by summed log-probability). A hypothesis that
    emits ``eos_id`` is finished: it keeps its place and its score, and competes with the
    live ones for the k places at every later step. Stop when all k are finished or after
    ``max_len`` steps; answer the best of the k (finished or not).
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
    For one sentence: the state of k hypotheses is (k, H) per array; logp is (k, V); candidate
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


def _model_case(rng, beam_size, eos_bias):
    """Random peeky weights, the initial state for N sources, and generate's answer."""
    from ..models import Seq2Seq                     # the oracle: the library's own search
    s = _cases.sizes(rng, "NEHV", 2, 9)
    N, E, H, V = s["N"], s["E"], s["H"], s["V"] + 4   # V > the special ids 0..3
    Vs, S, max_len = int(rng.integers(8, 13)), int(rng.integers(2, 6)), int(rng.integers(4, 9))
    src_params = {"W_emb": _cases.randn(rng, Vs, E), "Wx": _cases.randn(rng, E, 4 * H, scale=0.5),
                  "Wh": _cases.randn(rng, H, 4 * H, scale=0.5), "b": _cases.randn(rng, 4 * H, scale=0.5)}
    params = {"W_emb": _cases.randn(rng, V, E), "Wx": _cases.randn(rng, E + H, 4 * H, scale=0.5),
              "Wh": _cases.randn(rng, H, 4 * H, scale=0.5), "b": _cases.randn(rng, 4 * H, scale=0.5),
              "W_out": _cases.randn(rng, 2 * H, V, scale=1.5), "b_out": _cases.randn(rng, V, scale=0.5)}
    model = Seq2Seq(Vs, V, emb=E, hidden=H, n_layers=1, decoder="peeky", reverse=True, seed=0)
    params["b_out"][model.eos_id] += eos_bias        # so that sentences end, at various lengths
    model.to(dtype="float64")
    model.load_state_dict({
        "encoder.embed.W": src_params["W_emb"], "encoder.lstm.0.Wx": src_params["Wx"],
        "encoder.lstm.0.Wh": src_params["Wh"], "encoder.lstm.0.b": src_params["b"],
        "decoder.embed.W": params["W_emb"], "decoder.lstm.0.Wx": params["Wx"],
        "decoder.lstm.0.Wh": params["Wh"], "decoder.lstm.0.b": params["b"],
        "decoder.fc.W": params["W_out"], "decoder.fc.b": params["b_out"]})
    src = rng.integers(4, Vs, size=(N, S))
    key = _key(src_params, params, src, max_len, beam_size)
    try:
        tokens, scores = model.generate(src, max_len, beam_size=beam_size)
    except ExerciseNotDone:            # a student edition: generate's searches are still holes
        stored = _stored().get(key)
        if stored is None:
            raise
        tokens, scores = stored["tokens"], stored["scores"]
    state = given.encode(src_params, src)
    forbid = (model.pad_id, model.sos_id)
    args = (params, forbid, state, model.sos_id, model.eos_id, max_len)
    if beam_size > 1:
        args += (beam_size,)
    spelled = f"{_cases.spell(dict(N=N, E=E, H=H, V=V))}, max_len={max_len}"
    return Case(args=args, oracle={"tokens": [list(map(int, t)) for t in tokens],
                                   "scores": np.array(scores, dtype=np.float64)},
                sizes=spelled + (f", beam_size={beam_size}" if beam_size > 1 else ""),
                context={"key": key})


#: generate's answers for the public seeds, stored in a student edition when it is built
#: (instructor/make_student_edition.py): there generate runs the student's own searches, or
#: cannot run at all while they are holes, so the check reads what the full package answered
STORED = Path(__file__).with_name("search_expected.json")


def _key(src_params, params, src, max_len, beam_size) -> str:
    """A fingerprint of a case's inputs: which stored answer belongs to it."""
    h = hashlib.sha256(f"{max_len},{beam_size}".encode())
    for d in (src_params, params):
        for k in sorted(d):
            h.update(k.encode() + np.ascontiguousarray(d[k], dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(src, dtype=np.int64).tobytes())
    return h.hexdigest()


def _stored() -> dict:
    try:
        return json.loads(STORED.read_text())
    except FileNotFoundError:
        return {}


def expected_answers(seeds=range(10)) -> dict:
    """{case fingerprint: generate's {"tokens", "scores"}} for both searches' cases of ``seeds``
    (what a student edition stores in search_expected.json)."""
    out = {}
    for make in (_greedy_case, _beam_case):
        for seed in seeds:
            case = make(np.random.default_rng(seed))
            out[case.context["key"]] = {"tokens": case.oracle["tokens"],
                                        "scores": case.oracle["scores"].tolist()}
    return out


def _greedy_case(rng) -> Case:
    return _model_case(rng, 1, eos_bias=1.0)


def _beam_case(rng) -> Case:
    return _model_case(rng, int(rng.integers(2, 5)), eos_bias=-0.5)  # beam favours short: less <eos>


EXERCISES = [
    Exercise(
        name="greedy_search",
        signature="greedy_search(step, state, sos_id, eos_id, max_len) -> (tokens, scores)",
        outputs={"tokens": "[N id lists]", "scores": "(N,)"},
        make_case=_greedy_case, stub=greedy_search, hints=GREEDY_HINTS, level=2, minutes=30,
        oracle="Seq2Seq.generate (greedy)", tol=1e-9, forward_limit=None),
    Exercise(
        name="beam_search",
        signature="beam_search(step, state, sos_id, eos_id, max_len, beam_size) -> (tokens, scores)",
        outputs={"tokens": "[N id lists]", "scores": "(N,)"},
        make_case=_beam_case, stub=beam_search, hints=BEAM_HINTS, level=3, minutes=60,
        oracle="Seq2Seq.generate (beam search)", tol=1e-9, forward_limit=None),
]
