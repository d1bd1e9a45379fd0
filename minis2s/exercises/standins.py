r"""Reference stand-ins for the exercises an exercise may call, so one mistake costs one exercise.

``lstm_backward`` may call the student's own ``lstm_step_backward``;
``peeky_decoder_backward`` their ``softmax_cross_entropy``, ``lstm_backward``,
``embedding_backward`` ...; ``attention_backward`` their
``masked_softmax_backward``. Graded as written, one wrong forget-gate term in
``lstm_step_backward`` would cost three exercises. So while the grader grades an
exercise, each of these *dependencies* is replaced in the submission by a
reference stand-in -- and the stand-in holds no solution code:

* a backward pass is linear in the upstream gradient once its cache is fixed,
  so for every cache the case's forward pass made, the grader computes the
  Jacobian ``J`` of that forward step (central differences, as the oracle
  does) and the stand-in answers ``J^T @ upstream`` -- nothing a student could
  not compute by finite differences themselves, and nothing to read;
* the loss (``softmax_cross_entropy``) is answered for the logits of the case:
  the loss and its numerical gradient.

A *large* case (``Case.directional``) gets no stand-ins: at its realistic sizes the
Jacobians would be gigabytes, and the central differences that make them are the very
computation the large case is there to put out of reach. On it the submission's own
dependencies answer, as ``check`` uses them locally: a wrong ``lstm_step_backward`` still
costs ``lstm_backward`` nothing on its small cases, but fails its large case.

A stand-in recognises its cache by value (the arrays the forward pass put in it);
called with anything else it raises, saying so. ``standins(name, case)`` gives
the plain data the grader's sandbox builds the stand-ins from
(:mod:`minis2s.grading.sandbox`); ``check`` does not use them -- locally a
student's whole chain is checked, their own dependencies included.
"""
from __future__ import annotations

import inspect

import numpy as np

from .. import functional as F
from .softmax import cross_entropy_loss

__all__ = ["standins", "DEPENDENCIES", "jacobian"]

#: exercise -> the exercises (stub names) it may call, replaced while it is graded
DEPENDENCIES = {
    "rnn_backward": ("rnn_step_backward",),
    "lstm_backward": ("lstm_step_backward",),
    "peeky_decoder_backward": ("softmax_cross_entropy", "lstm_backward", "lstm_step_backward",
                               "embedding_backward", "peek_backward"),
    "attention_backward": ("masked_softmax_backward",),
}


def jacobian(f, inputs: dict, h: float = 1e-5) -> np.ndarray:
    """d flat(f(**inputs)) / d flat(inputs), (outputs, inputs), by central differences.

    f returns an array or a tuple of arrays (flattened and joined in order); the inputs
    are taken in the dict's order.
    """
    def flat_out():
        out = f(**inputs)
        out = out if isinstance(out, tuple) else (out,)
        return np.concatenate([np.asarray(o, dtype=np.float64).reshape(-1) for o in out])

    columns = []
    for x in inputs.values():
        if not x.flags.c_contiguous:
            raise ValueError("jacobian needs C-contiguous inputs (it writes through a flat view)")
        flat = x.reshape(-1)                              # a view: writes reach inputs
        for k in range(flat.size):
            old = flat[k]
            flat[k] = old + h
            up = flat_out()
            flat[k] = old - h
            down = flat_out()
            flat[k] = old
            columns.append((up - down) / (2 * h))
    return np.stack(columns, axis=1)


def _params(stub_name):
    from . import EXERCISES
    stub = next(ex.stub for ex in EXERCISES.values() if ex.stub.__name__ == stub_name)
    return list(inspect.signature(stub).parameters)


def _linear(match, grad_args, grad_shapes, f, inputs):
    """A linear stand-in entry: outputs = J^T @ (the gradient arguments, flattened)."""
    # C order: the Jacobian writes into each input through a flat view (a transposed view,
    # like the engine's hs, would be copied by reshape and its columns come out zero)
    inputs = {k: np.array(v, dtype=np.float64, order="C") for k, v in inputs.items()}
    return {"kind": "linear", "match": match, "grad_args": list(grad_args),
            "grad_shapes": [list(s) for s in grad_shapes], "J": jacobian(f, inputs),
            "out_shapes": [list(v.shape) for v in inputs.values()]}


def _lstm_step_entries(steps, a_x):
    """LSTMStepCache(h_prev, c_prev, Wh, ...) of step t, matched on h_prev and c_prev (the cache
    is argument 2); the Jacobian of the engine's step with respect to (a_x, h_prev, c_prev)."""
    return [_linear([[[2, 0], step.h_prev], [[2, 1], step.c_prev]], (0, 1),
                    (step.h_prev.shape, step.h_prev.shape),
                    lambda Wh=step.Wh, **k: F.lstm_step_forward(Wh=Wh, **k)[:2],
                    {"a_x": a_x[:, t], "h_prev": step.h_prev, "c_prev": step.c_prev})
            for t, step in enumerate(steps)]


def standins(name: str, case) -> dict:
    """{stub name: {"params": [...], "entries": [...]}} for the dependencies of exercise ``name``."""
    if name not in DEPENDENCIES or case.directional:     # a large case: the submission's own
        return {}
    specs = {}
    if name == "rnn_backward":
        cache, a_x = case.args[2], case.context["a_x"]
        specs["rnn_step_backward"] = [       # RNNStepCache(h_prev, Wh, h): matched on h_prev and h
            _linear([[[1, 0], step.h_prev], [[1, 2], step.h]], (0,), (step.h.shape,),
                    lambda Wh=step.Wh, **k: F.rnn_step_forward(Wh=Wh, **k)[0],
                    {"a_x": a_x[:, t], "h_prev": step.h_prev})
            for t, step in enumerate(cache.steps)]
    elif name == "lstm_backward":
        specs["lstm_step_backward"] = _lstm_step_entries(case.args[3].steps, case.context["a_x"])
    elif name == "attention_backward":
        _, cache = case.args
        h, keys = cache.score_cache
        scores, mask = h @ keys.transpose(0, 2, 1), case.context["mask"]
        specs["masked_softmax_backward"] = [_linear(       # the engine's cache: alpha itself
            [[[1], cache.alpha]], (0,), (scores.shape,),
            lambda scores: F.masked_softmax_forward(scores, mask)[0], {"scores": scores})]
    elif name == "peeky_decoder_backward":
        (cache,) = case.args
        p, lstm = cache["params"], cache["lstm"]
        x, h0 = cache["x"], lstm.h0
        c0 = lstm.steps[0].c_prev
        N, T, _ = x.shape
        H = h0.shape[1]
        logits, y_out, pad = cache["logits"], cache["y_out"], cache["pad_id"]
        dlogits = jacobian(lambda logits: cross_entropy_loss(logits, y_out, pad),
                           {"logits": np.array(logits)}).reshape(logits.shape)
        specs["softmax_cross_entropy"] = [{
            "kind": "value", "match": [[[0], logits], [[1], y_out], [[2], pad]],
            "outputs": [float(cross_entropy_loss(logits, y_out, pad)), dlogits]}]
        # LSTMCache(proj, h0, ...): matched on the input rows and h0
        specs["lstm_backward"] = [_linear(
            [[[3, 0, 0], lstm.proj.x_rows], [[3, 1], h0]], (0, 1, 2),
            ((N, T, H), (N, H), (N, H)),
            lambda **k: (lambda hs, state, _: (hs, *state))(*F.lstm_forward(**k)),
            dict(x=x, h0=h0, c0=c0, Wx=p["Wx"], Wh=p["Wh"], b=p["b"]))]
        specs["lstm_step_backward"] = _lstm_step_entries(lstm.steps, x @ p["Wx"] + p["b"])
        V, E = p["W_emb"].shape
        specs["embedding_backward"] = [_linear(     # EmbeddingCache(ids, V)
            [[[1, 0], cache["y_in"]], [[1, 1], V]], (0,), (cache["e"].shape,),
            lambda W: F.embedding_forward(cache["y_in"], W)[0], {"W": np.zeros((V, E))})]
        specs["peek_backward"] = [                   # the input side, the output side (cache: K)
            _linear([[[1], E]], (0,), (x.shape,), lambda **k: F.peek_forward(**k)[0],
                    {"a": cache["e"], "ctx": cache["ctx"]}),
            _linear([[[1], H]], (0,), (cache["z"].shape,), lambda **k: F.peek_forward(**k)[0],
                    {"a": cache["hs"], "ctx": cache["ctx"]})]
    return {dep: {"params": _params(dep), "entries": entries} for dep, entries in specs.items()}
