r"""Exercises 8-9: the peeky decoder -- its concatenation, then its whole backward pass.

The peeky decoder (:class:`minis2s.models.decoder.PeekyDecoder`) feeds the
context ``ctx`` -- the encoder's final h -- to *every* step, by concatenating it
to each step's input and to the output layer's input. Its forward pass, with
its loss, is :func:`peeky_decoder_forward` below; its LSTM is minis2s's own
(:func:`minis2s.functional.lstm_forward`), so its cache is the engine's ``LSTMCache``,
the one your ``lstm_backward`` reads.
Maths: docs/derivations.md, sections "The peeky decoder" and "The hand-off".
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..gradcheck import numerical_gradient
from . import _cases
from .checker import Case, Exercise
from .softmax import cross_entropy_loss

__all__ = ["peek_backward", "peeky_decoder_backward", "peeky_decoder_forward", "EXERCISES"]


def peek_backward(dout, cache):
    """Backward of minis2s's ``peek_forward(a, ctx)``, out = [a ; ctx] (the peeky concatenation).

    dout (N, T, K + H): the gradient flowing into the concatenation.
    cache: what peek_forward keeps, K: the width of the first part (a); ctx (N, H) was
    repeated at every step.
    Returns (da (N, T, K), dctx (N, H)).
    """
    raise NotImplementedError


def peeky_decoder_backward(cache):
    """The gradients of the peeky decoder's loss, and what it hands back to the encoder.

    cache: what :func:`peeky_decoder_forward` made: {"y_in",
    "y_out" (N, T) int, "pad_id", "params" (W_emb (V, E), Wx (E + H, 4H), Wh (H, 4H),
    b (4H,), W_out (2H, V), b_out (V,)), "ctx" (N, H), "e" (N, T, E), "embed" (the
    embedding's EmbeddingCache), "x" (N, T, E + H), "peek_in" (E: peek_forward's cache),
    "lstm" (minis2s's lstm_forward cache, an LSTMCache, mask None), "hs" (N, T, H),
    "z" (N, T, 2H), "peek_out" (H), "logits" (N, T, V)}.
    The decoder starts from the encoder's final state (h0, c0), and ctx = h0.

    Returns (dW_emb, dWx, dWh, db, dW_out, db_out, dh_enc (N, H), dc_enc (N, H)): the
    parameter gradients, then the gradient of the loss with respect to the encoder's
    final state h0 and c0 -- everything the encoder's backward pass starts from.
    You may call your own functions (softmax_cross_entropy, lstm_backward, ...).
    """
    raise NotImplementedError


def peeky_decoder_forward(y_in, y_out, h0, c0, params, pad_id):
    """The peeky decoder of one layer, and its loss, as minis2s's PeekyDecoder computes them.

    y_in, y_out (N, T) int: the decoder's inputs and targets (y_out padded with pad_id).
    h0, c0 (N, H): the encoder's final state; the context is ctx = h0.
    params: {"W_emb" (V, E), "Wx" (E + H, 4H), "Wh" (H, 4H), "b" (4H,),
             "W_out" (2H, V), "b_out" (V,)}.

        e      = W_emb[y_in]                          (N, T, E)   minis2s's embedding_forward
        x      = [e ; ctx]                            (N, T, E + H)   peek_forward
        hs, _  = lstm_forward(x, h0, c0)              (N, T, H)   minis2s's own
        z      = [hs ; ctx]                           (N, T, 2H)
        logits = z @ W_out + b_out                    (N, T, V)
        loss   = cross_entropy_loss(logits, y_out, pad_id)

    Returns (loss, cache) with cache = {"y_in", "y_out", "pad_id", "params", "ctx", "e",
    "embed" (the EmbeddingCache), "x", "peek_in" (E), "lstm" (the LSTMCache), "hs", "z",
    "peek_out" (H), "logits"}: minis2s's own embedding, peek and LSTM caches.
    """
    ctx = h0
    e, embed = F.embedding_forward(y_in, params["W_emb"])
    x, peek_in = F.peek_forward(e, ctx)
    hs, _, lstm_cache = F.lstm_forward(x, h0, c0, params["Wx"], params["Wh"], params["b"])
    z, peek_out = F.peek_forward(hs, ctx)
    logits, _ = F.linear_forward(z, params["W_out"], params["b_out"])   # the output layer
    loss = cross_entropy_loss(logits, y_out, pad_id)                    # the engine's log_softmax
    cache = {"y_in": y_in, "y_out": y_out, "pad_id": pad_id, "params": params, "ctx": ctx,
             "e": e, "embed": embed, "x": x, "peek_in": peek_in, "lstm": lstm_cache, "hs": hs,
             "z": z, "peek_out": peek_out, "logits": logits}
    return loss, cache


CONCAT_HINTS = (
    """
    A concatenation's backward splits the gradient where the forward joined the arrays. A value
    used at several places receives the sum of the gradients of all its uses.
    """,
    """
    da is dout's first K columns, (N, T, K). The last H columns are (N, T, H), one gradient for
    each of the T uses of ctx; dctx must have the shape of ctx, (N, H).
    """,
    """
    The forward put a and ctx side by side along the last axis, ctx copied to every step. So split
    dout at column K: the first part is da as it is. The second part holds one gradient per step
    for the same ctx; a value used T times receives the sum of its T gradients, so reduce that part
    over the time axis to get the shape of ctx.
    """,
)

DECODER_HINTS = (
    """
    Run the forward pass backwards: loss -> logits -> output layer -> split [hs ; ctx] -> LSTM
    -> split [e ; ctx] -> embedding. ctx = h0 is used in three places: at the LSTM's input of
    every step, at the output layer of every step, and as the LSTM's initial state. Its gradient
    is the sum of all three: that sum is what the encoder receives.
    """,
    """
    dlogits (N, T, V); dz = dlogits @ W_out.T is (N, T, 2H): dhs is its first H columns and its
    last H columns, summed over T, are the output-side dctx (N, H). dW_out (2H, V) sums z^T dlogits
    over all N*T positions. lstm_backward gives dx (N, T, E + H), dh0 and dc0 (N, H); dx splits
    into de (N, T, E) and the input-side dctx (N, H). dW_emb (V, E) is a scatter-add of de.
    """,
    """
    Follow the forward pass backwards, one line at a time, and keep three separate contributions
    for ctx = h0. (1) The loss gives the gradient of the logits (your softmax_cross_entropy). (2)
    The output layer: its weight gradient collects z against that gradient over all N T positions,
    its bias sums it; the gradient of z splits like a peeky concatenation into the gradient of hs
    and an output-side contribution to ctx. (3) The LSTM's backward (your lstm_backward, with no
    gradient arriving at the final state) gives the LSTM weights, its initial state's gradients and
    the gradient of its input x. (4) x splits like a peeky concatenation into the gradient of the
    embeddings and an input-side contribution to ctx; the embedding gradient is a scatter-add at
    y_in. (5) h0 is the LSTM's initial h *and* ctx: the encoder receives the sum of the LSTM's dh0
    and both ctx contributions; c0 only ever went into the LSTM.
    """,
)


def _concat_case(rng) -> Case:
    s = _cases.sizes(rng, "NTKH")
    N, T, K, H = s["N"], s["T"], s["K"], s["H"]
    inputs = {"a": rng.standard_normal((N, T, K)), "ctx": rng.standard_normal((N, H))}
    _, cache = F.peek_forward(**inputs)
    dout = rng.standard_normal((N, T, K + H))
    num = numerical_gradient(lambda **k: F.peek_forward(**k)[0], inputs, dout)
    return Case(args=(dout, cache), oracle={"da": num["a"], "dctx": num["ctx"]}, sizes=_cases.spell(s))


def _large_concat_case(rng) -> Case:
    """Realistic sizes: checked along random directions."""
    N, T = int(rng.integers(40, 56)), int(rng.integers(32, 48))
    K, H = int(rng.integers(176, 208)), int(rng.integers(144, 176))
    inputs = {"a": rng.standard_normal((N, T, K)), "ctx": rng.standard_normal((N, H))}
    _, cache = F.peek_forward(**inputs)
    dout = rng.standard_normal((N, T, K + H))
    dirs = _cases.directional_oracle(lambda **k: F.peek_forward(**k)[0], inputs, dout, rng)
    return Case(args=(dout, cache), oracle={"da": None, "dctx": None},
                sizes=f"large: N={N}, T={T}, K={K}, H={H}",
                directional={"da": dirs["a"], "dctx": dirs["ctx"]})


PARAMS = ("W_emb", "Wx", "Wh", "b", "W_out", "b_out")


def _decoder_problem(rng, N, T, E, H, V, scale, out_scale):
    """Weights (the LSTM's of ``scale``, the output layer's of ``out_scale``, biases 0.5), the
    encoder's state, inputs and padded targets, the forward pass's cache and its loss."""
    pad = 0
    params = {"W_emb": _cases.randn(rng, V, E), "Wx": _cases.randn(rng, E + H, 4 * H, scale=scale),
              "Wh": _cases.randn(rng, H, 4 * H, scale=scale), "b": _cases.randn(rng, 4 * H, scale=0.5),
              "W_out": _cases.randn(rng, 2 * H, V, scale=out_scale),
              "b_out": _cases.randn(rng, V, scale=0.5)}
    h0, c0 = _cases.randn(rng, N, H), _cases.randn(rng, N, H)
    y_in = rng.integers(1, V, size=(N, T))
    y_out = rng.integers(1, V, size=(N, T))
    lengths = _cases.lengths(rng, N, T)
    y_out[np.arange(T)[None, :] >= lengths[:, None]] = pad

    def loss(**k):
        return peeky_decoder_forward(y_in, y_out, k["h0"], k["c0"],
                                     {p: k[p] for p in PARAMS}, pad)[0]

    _, cache = peeky_decoder_forward(y_in, y_out, h0, c0, params, pad)
    return dict(params, h0=h0, c0=c0), y_in, y_out, lengths, cache, loss


def _decoder_case(rng) -> Case:
    s = _cases.sizes(rng, "NTEHV", 2, 7)
    inputs, y_in, _, lengths, cache, loss = _decoder_problem(
        rng, s["N"], s["T"], s["E"], s["H"], s["V"], scale=0.5, out_scale=1.0)
    num = numerical_gradient(loss, inputs, np.ones(()))
    oracle = {"d" + p: num[p] for p in PARAMS}
    oracle.update(dh_enc=num["h0"], dc_enc=num["c0"])
    return Case(args=(cache,), oracle=oracle,
                sizes=f"{_cases.spell(s)}, target lengths={lengths.tolist()}", context={"ids": y_in})


def _large_decoder_case(rng) -> Case:
    """Realistic sizes (a vocabulary of a thousand and more, hundreds of thousands of inputs,
    padded targets): checked along random directions."""
    N, T = int(rng.integers(12, 16)), int(rng.integers(12, 16))
    E, H, V = int(rng.integers(64, 96)), int(rng.integers(96, 128)), int(rng.integers(1000, 1400))
    inputs, y_in, y_out, _, cache, loss = _decoder_problem(rng, N, T, E, H, V, scale=0.1,
                                                           out_scale=0.1)
    dirs = _cases.directional_oracle(loss, inputs, np.ones(()), rng)
    directional = {"d" + p: dirs[p] for p in PARAMS}
    directional.update(dh_enc=dirs["h0"], dc_enc=dirs["c0"])
    return Case(args=(cache,), oracle={k: None for k in directional},
                sizes=f"large: N={N}, T={T}, E={E}, H={H}, V={V}, "
                      f"{int((y_out == 0).sum())} padded targets",
                directional=directional, context={"ids": y_in})


EXERCISES = [
    Exercise(
        name="peeky_concat",
        signature="peek_backward(dout, cache) -> (da, dctx)",
        outputs={"da": "(N, T, K)", "dctx": "(N, H)"},
        make_case=_concat_case, stub=peek_backward, hints=CONCAT_HINTS, level=1, minutes=10,
        oracle="the numerical gradient of peek_forward", make_large_case=_large_concat_case),
    Exercise(
        name="peeky_decoder_backward",
        signature="peeky_decoder_backward(cache) -> (dW_emb, dWx, dWh, db, dW_out, db_out, dh_enc, dc_enc)",
        outputs={"dW_emb": "(V, E)", "dWx": "(E + H, 4H)", "dWh": "(H, 4H)", "db": "(4H,)",
                 "dW_out": "(2H, V)", "db_out": "(V,)", "dh_enc": "(N, H)", "dc_enc": "(N, H)"},
        make_case=_decoder_case, stub=peeky_decoder_backward, hints=DECODER_HINTS, level=3,
        minutes=60, oracle="the numerical gradient of peeky_decoder_forward's loss",
        explain={"dW_emb": "rows", "dWx": "gates", "dWh": "gates", "db": "gates"},
        make_large_case=_large_decoder_case),
]
