r"""``check(name)`` with no function: the package's *own* implementation, judged.

In a student edition (``make_student_edition.py``, without ``--no-package``) the exercises are
holes in the engine itself (``minis2s/functional/lstm.py``'s ``lstm_step_backward`` raises
``ExerciseNotDone`` until the student writes its body). ``check("lstm_step_backward")``
then judges what is in the package -- the student's body -- on a fresh random case:
its caches are the engine's NamedTuples, made by the engine's own forward passes, and
the oracle is the numerical gradient of those forward passes. The report is the
checker's, finer feedback included (which gate blocks of ``da`` are wrong, which rows of
``dW``, which padded positions).

A forward pass that is itself still a hole (exercise 5 before exercise 6) is named:
"finish exercise 5 first". The exercises without a gradient to compare with (the
forward passes, clipping, Adam, the searches, BLEU) have no engine check here yet.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..errors import ExerciseNotDone
from ..gradcheck import numerical_gradient
from . import _cases
from .attention import _attention_case as _attention, _softmax_backward_case as _masked_softmax
from .attention import unpack_attention
from .checker import Case, Exercise, ExerciseResult, judge
from .embedding import _case as _embedding
from .gru import _step_case as _gru_step
from .lstm import _sequence_case as _lstm, _step_case as _lstm_step
from .peeky import _concat_case as _peek
from .rnn import _sequence_case as _rnn, _step_case as _rnn_step
from .softmax import cross_entropy_loss

__all__ = ["ENGINE", "check_engine"]


def _r(rng, *shape, scale=1.0):
    return rng.standard_normal(shape) * scale


def _mask(rng, N, T):
    return np.arange(T)[None, :] < _cases.lengths(rng, N, T)[:, None]


def _softmax(rng):
    s = _cases.sizes(rng, "NTV", 2, 9)
    N, T, V = s["N"], s["T"], s["V"]
    logits = _r(rng, N, T, V, scale=2.0)
    real = _mask(rng, N, T)
    targets = np.where(real, rng.integers(1, V, size=(N, T)), 0)

    def loss(logits):                 # from the engine's log_softmax: not the exercise's code
        return cross_entropy_loss(logits, targets, 0)
    num = numerical_gradient(loss, {"logits": logits}, np.ones(()))
    return Case(args=(logits, targets, 0), oracle={"loss": loss(logits), "dlogits": num["logits"]},
                sizes=_cases.spell(s), context={"mask": real})


def _source_mask(rng, N, S):
    return (np.arange(S)[None, :] < _cases.lengths(rng, N, S)[:, None]).astype(np.float64)


def _engine(name, function, signature, outputs, make_case, explain=None, unpack=None):
    ex = Exercise(name=name, signature=signature, outputs=outputs, make_case=make_case,
                  stub=None, hints=(), level=1, minutes=0,
                  oracle="the numerical gradient of the package's own forward pass",
                  explain=explain or {}, unpack=unpack)
    return ex, function


#: exercise -> (how the package's function is judged, the function's name in minis2s.functional)
ENGINE = dict((ex.name, (ex, fn)) for ex, fn in (
    _engine("softmax_cross_entropy", "softmax_cross_entropy",
            "F.softmax_cross_entropy(logits, targets, ignore_index) -> (loss, dlogits)",
            {"loss": "()", "dlogits": "(N, T, V)"}, _softmax, {"dlogits": "positions"}),
    _engine("embedding_backward", "embedding_backward",
            "F.embedding_backward(dout, cache) -> dW", {"dW": "(V, E)"}, _embedding, {"dW": "rows"}),
    _engine("rnn_step_backward", "rnn_step_backward", "F.rnn_step_backward(dh, cache) -> (da, dh_prev)",
            {"da": "(N, H)", "dh_prev": "(N, H)"}, _rnn_step),
    _engine("rnn_backward", "rnn_backward", "F.rnn_backward(dhs, dhT, cache) -> (dx, dh0, dWx, dWh, db)",
            {"dx": "(N, T, D)", "dh0": "(N, H)", "dWx": "(D, H)", "dWh": "(H, H)", "db": "(H,)"}, _rnn,
            {"dx": "positions"}),
    _engine("lstm_step_backward", "lstm_step_backward",
            "F.lstm_step_backward(dh, dc, cache) -> (da, dh_prev, dc_prev)",
            {"da": "(N, 4H)", "dh_prev": "(N, H)", "dc_prev": "(N, H)"}, _lstm_step, {"da": "gates"}),
    _engine("lstm_backward", "lstm_backward",
            "F.lstm_backward(dhs, dhT, dcT, cache) -> (dx, dh0, dc0, dWx, dWh, db)",
            {"dx": "(N, T, D)", "dh0": "(N, H)", "dc0": "(N, H)", "dWx": "(D, 4H)", "dWh": "(H, 4H)",
             "db": "(4H,)"}, _lstm, {"dx": "positions", "dWx": "gates", "dWh": "gates", "db": "gates"}),
    _engine("peeky_concat", "peek_backward", "F.peek_backward(dout, cache) -> (da, dctx)",
            {"da": "(N, T, K)", "dctx": "(N, H)"}, _peek),
    _engine("masked_softmax_backward", "masked_softmax_backward",
            "F.masked_softmax_backward(dalpha, cache) -> dscores", {"dscores": "(N, T, S)"},
            _masked_softmax),
    _engine("attention_backward", "attention_backward",
            "F.attention_backward(dh_tilde, cache) -> (dh, dhs, dkeys, grads), dot score",
            {"dh": "(N, T, H)", "dhs": "(N, S, H)", "dkeys": "(N, S, H)", "dWc": "(2H, H)"},
            _attention, unpack=unpack_attention),
    _engine("gru_step_backward", "gru_step_backward",
            "F.gru_step_backward(dh, cache) -> (da_x, dh_prev, da_h)",
            {"da_x": "(N, 3H)", "dh_prev": "(N, H)", "da_h": "(N, 3H)"}, _gru_step),
))


def check_engine(name: str, seed: int = 0, verbose: bool = True) -> ExerciseResult:
    """Judge the package's own function for exercise ``name`` (see the module docstring)."""
    if name not in ENGINE:
        raise KeyError(f"check({name!r}) needs your function: the package's own {name} has no "
                       f"engine check yet (those that have: {', '.join(ENGINE)})")
    ex, function = ENGINE[name]
    lines = []

    def fail(problem):
        lines.append(f"FAIL: {problem}")
        result = ExerciseResult(name, {}, ex.tol, problem, lines)
        if verbose:
            print(result)
        return result

    try:
        case = ex.make_case(np.random.default_rng(seed))
    except ExerciseNotDone as e:      # the forward pass this one differentiates is a hole too
        lines.append(f"{name}: the case needs the package's forward pass")
        return fail(str(e))
    lines.append(f"minis2s.functional.{function} (seed {seed}; {case.sizes}): "
                 f"outputs compared with {ex.oracle}")
    call = getattr(F, function)
    try:
        out = call(*case.args)
    except ExerciseNotDone as e:
        return fail(str(e))
    except Exception as e:           # a bug in the package's (the student's) code: a FAIL
        return fail(f"minis2s.functional.{function} raised {type(e).__name__}: {e}")
    result = judge(ex, case, out, seed, lines)
    if verbose:
        print(result)
    return result
