r"""``check(name)`` with no function: the package's *own* implementation, judged.

In a student edition (``make_student_edition.py``, without ``--no-package``) the exercises are
holes in the engine itself (``minis2s/functional/lstm.py``'s ``lstm_step_backward`` raises
``ExerciseNotDone`` until the student writes its body). ``check("lstm_step_backward")``
then judges what is in the package -- the student's body -- on a fresh random case:
its caches are the engine's NamedTuples, made by the engine's own forward passes, and
the oracle is the numerical gradient of those forward passes. The report is the
checker's, finer feedback included (which gate blocks of ``da`` are wrong, which rows of
``dW``, which padded positions).

The peeky decoder's backward (exercise 9) is a method, ``Decoder.backward``: its check runs a
small float64 peeky decoder of the package forward and backward against a random upstream
gradient, and compares the weight gradients it adds and the gradient it hands the encoder
with the numerical gradient of the same forward pass.

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


#: Decoder.backward's outputs, in the order of exercise 9's (peeky_decoder_backward's) function
DECODER_GRADS = {"dW_emb": "embed.W", "dWx": "lstm.0.Wx", "dWh": "lstm.0.Wh", "db": "lstm.0.b",
                 "dW_out": "fc.W", "db_out": "fc.b"}


def _peeky_decoder(rng):
    """A package's PeekyDecoder (one layer, float64), its forward pass on random inputs from a
    random encoder state, and a random upstream gradient of the logits: the oracle is the
    numerical gradient of <logits, dlogits> w.r.t. the decoder's weights and that state."""
    from ..models import Seq2Seq                     # the package's own model and decoder
    from ..models.encoder import Encoded
    s = _cases.sizes(rng, "NTEHV", 2, 6)
    N, T, E, H, V = s["N"], s["T"], s["E"], s["H"], s["V"] + 4    # V > the special ids 0..3
    model = Seq2Seq(5, V, emb=E, hidden=H, decoder="peeky", seed=int(rng.integers(2 ** 31)))
    decoder = model.to(dtype="float64").decoder
    y_in = rng.integers(4, V, size=(N, T))
    state = {"h0": _r(rng, 1, N, H), "c0": _r(rng, 1, N, H)}   # (L, N, H): the encoder's final state
    dlogits = _r(rng, N, T, V)
    live = decoder.params                            # the decoder reads these very arrays
    weights = {k: live[name].copy() for k, name in DECODER_GRADS.items()}

    def logits(**k):                                 # the forward pass, at the given values
        for out, name in DECODER_GRADS.items():
            live[name][...] = k[out]
        return decoder.forward(y_in, Encoded(None, None, k["h0"], k["c0"]))[0]
    num = numerical_gradient(logits, dict(weights, **state), dlogits)
    for out, name in DECODER_GRADS.items():          # back to the drawn weights
        live[name][...] = weights[out]
    _, cache = decoder.forward(y_in, Encoded(None, None, state["h0"], state["c0"]))
    oracle = {k: num[k] for k in DECODER_GRADS}
    oracle.update(dh_enc=num["h0"][0], dc_enc=num["c0"][0])
    return Case(args=(decoder, dlogits, cache), oracle=oracle, sizes=_cases.spell(dict(s, V=V)),
                context={"ids": y_in})


def decoder_backward(decoder, dlogits, cache):
    """Run the package's Decoder.backward from zero gradients: (the six weight gradients it
    added, in DECODER_GRADS's order, dh_enc (N, H), dc_enc (N, H))."""
    decoder.zero_grad()
    d = decoder.backward(dlogits, cache)
    grads = decoder.grads
    return tuple(grads[name] for name in DECODER_GRADS.values()) + (d.h[0], d.c[0])


def _engine(name, function, signature, outputs, make_case, explain=None, unpack=None):
    ex = Exercise(name=name, signature=signature, outputs=outputs, make_case=make_case,
                  stub=None, hints=(), level=1, minutes=0,
                  oracle="the numerical gradient of the package's own forward pass",
                  explain=explain or {}, unpack=unpack)
    return ex, function


#: exercise -> (how the package's code is judged, the function's name in minis2s.functional --
#: or, for the decoder's backward, a function that runs it)
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
    _engine("peeky_decoder_backward", decoder_backward,
            "Decoder.backward(dlogits, cache) of a PeekyDecoder -> the weight gradients it adds, "
            "and the encoder's (dh, dc)",
            {"dW_emb": "(V, E)", "dWx": "(E + H, 4H)", "dWh": "(H, 4H)", "db": "(4H,)",
             "dW_out": "(2H, V)", "db_out": "(V,)", "dh_enc": "(N, H)", "dc_enc": "(N, H)"},
            _peeky_decoder, {"dW_emb": "rows"}),
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
    # a function of minis2s.functional by name, or (the decoder's method) a call that runs it
    call = getattr(F, function) if isinstance(function, str) else function
    where = (f"minis2s.functional.{function}" if isinstance(function, str)
             else "minis2s.models.decoder.Decoder.backward")
    lines.append(f"{where} (seed {seed}; {case.sizes}): outputs compared with {ex.oracle}")
    try:
        out = call(*case.args)
    except ExerciseNotDone as e:
        return fail(str(e))
    except Exception as e:           # a bug in the package's (the student's) code: a FAIL
        return fail(f"{where} raised {type(e).__name__}: {e}")
    result = judge(ex, case, out, seed, lines)
    if verbose:
        print(result)
    return result
