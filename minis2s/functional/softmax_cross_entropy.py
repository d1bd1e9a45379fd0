r"""Softmax cross-entropy over a vocabulary, averaged over the real tokens.

For logits z (M, V) and target ids y (M,)::

    shifted = z - max_v z                       (the shift changes nothing but overflow)
    p       = exp(shifted) / sum_v exp(shifted)                     softmax
    log p_y = shifted_y - log sum_v exp(shifted)                    stable log-softmax
    loss    = -(1 / M') * sum_{m real} log p[m, y_m]
    dz      =  (1 / M') * (p - onehot(y))   on real rows, 0 on ignored rows

M' is the number of rows whose target is not ``ignore_index`` (the padding id),
so padding neither adds to the loss nor dilutes it. Any leading shape works:
logits (N, T, V) with targets (N, T). Derived in docs/derivations.md,
"Softmax cross-entropy".
"""
from __future__ import annotations

from ..backend import get_array_module

__all__ = ["log_softmax", "softmax_cross_entropy"]


def log_softmax(z, axis=-1):
    """Numerically stable log-softmax along ``axis``: z - max - log sum exp(z - max)."""
    xp = get_array_module(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_cross_entropy(logits, targets, ignore_index=None):
    """logits (..., V) float, targets (...) int -> (loss, dlogits (..., V)).

    ``loss`` is a 0-d array on the logits' backend (call ``float(loss)`` to read
    it; on a GPU that is a sync). Rows whose target equals ``ignore_index`` are
    skipped; if every row is ignored the loss is 0 and so is the gradient.
    The target ids lie in [0, V) (the models check that where the ids enter).
    """
    # EXERCISE softmax_cross_entropy: begin
    xp = get_array_module(logits)
    V = logits.shape[-1]
    z = logits.reshape(-1, V)                   # (M, V)
    y = targets.reshape(-1)                     # (M,)
    real = xp.ones(y.shape, dtype=bool) if ignore_index is None else (y != ignore_index)
    rows = xp.arange(y.shape[0])
    y = xp.where(real, y, 0)                    # any valid id: these rows get weight 0 below
    # 1/M' on real rows, else 0; M' cast to z's dtype (an int64 count would make float32 float64)
    weight = real.astype(z.dtype) / xp.maximum(real.sum(), 1).astype(z.dtype)

    shifted = z - z.max(axis=1, keepdims=True)
    exp_shifted = xp.exp(shifted)               # the only exp: p and log p_y both use it
    sum_exp = exp_shifted.sum(axis=1)           # (M,)
    log_p_y = shifted[rows, y] - xp.log(sum_exp)
    loss = -(weight * log_p_y).sum()

    # dz = weight * (p - onehot(y)) with p = exp_shifted / sum_exp: one scale per row
    # turns exp_shifted into weight * p in a single pass over the (M, V) array, and the
    # one-hot part is a scatter, so the (M, V) matrices p and onehot(y) are never built.
    dz = exp_shifted * (weight / sum_exp)[:, None]
    dz[rows, y] -= weight
    return loss, dz.reshape(logits.shape)
    # EXERCISE softmax_cross_entropy: end
