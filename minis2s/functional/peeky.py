r"""The peeky decoder's one new operation: showing the context to every step.

The context vector ``ctx`` (N, H) -- the encoder's top-layer final hidden state --
is concatenated, broadcast over the T steps, to a per-step input ``a`` (N, T, K)::

    peek_forward:   out[:, t] = [a[:, t] ; ctx]                 (N, T, K + H)

The peeky decoder applies it twice: to the embeddings entering the first LSTM
layer, and to the LSTM outputs entering the output layer (models/decoder.py).

Backward: a concatenation splits its gradient at the same column; ``ctx`` was
used at all T steps, so its gradient is the sum of the T copies' gradients.

.. EXERCISE peeky_concat: begin

::

    peek_backward:  da = dout[:, :, :K],    dctx = sum_t dout[:, t, K:]     (N, H)

.. EXERCISE peeky_concat: end

Derived in docs/derivations.md, "The peeky decoder". A single step (decoding)
is the same with T = 1: pass a (N, K) and get (N, K + H).
"""
from __future__ import annotations

from ..backend import get_array_module

__all__ = ["peek_forward", "peek_backward"]


def peek_forward(a, ctx):
    """a (N, T, K) or (N, K), ctx (N, H) -> ([a ; ctx] with ctx repeated over T, cache: K, a's width)."""
    xp = get_array_module(a)
    if a.ndim == 3:                                       # the same ctx at every step
        ctx = xp.broadcast_to(ctx[:, None, :], a.shape[:2] + ctx.shape[1:])
    return xp.concatenate([a, ctx], axis=-1), a.shape[-1]


def peek_backward(dout, cache):
    """dout (N, T, K + H) or (N, K + H) -> (da (N, T, K) or (N, K), dctx (N, H))."""
    # EXERCISE peeky_concat: begin
    K = cache                                             # where a ends and ctx begins
    da = dout[..., :K]
    dctx = dout[..., K:]
    if dout.ndim == 3:                                    # ctx was read at every step: sum
        dctx = dctx.sum(axis=1)
    return da, dctx
    # EXERCISE peeky_concat: end
