r"""Softmax cross-entropy over a vocabulary, averaged over the real tokens.

For logits z (M, V) and target ids y (M,)::

    p = softmax(z) = exp(z - max z) / sum exp(z - max z)     (the shift changes
                                                             nothing but overflow)
    loss = -(1 / M') * sum_{m real} log p[m, y_m]
    dz   =  (1 / M') * (p - onehot(y))   on real rows, 0 on ignored rows

M' is the number of rows whose target is not ``ignore_index`` (the padding id),
so padding neither adds to the loss nor dilutes it. Any leading shape works:
logits (N, T, V) with targets (N, T).
"""
from __future__ import annotations

from ..backend import get_array_module, get_kernels
from ._checks import check_float, check_int, check_shape

__all__ = ["log_softmax", "softmax_cross_entropy"]


def log_softmax(z, axis=-1):
    """Numerically stable log-softmax along ``axis``."""
    xp = get_array_module(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_cross_entropy(logits, targets, ignore_index=None):
    """logits (..., V) float, targets (...) int -> (loss, dlogits (..., V)).

    ``loss`` is a 0-d array on the logits' backend (call ``float(loss)`` to read
    it; on a GPU that is a sync). Rows whose target equals ``ignore_index`` are
    skipped; if every row is ignored the loss is 0 and so is the gradient.
    """
    fn = "softmax_cross_entropy"
    xp = get_array_module(logits=logits, targets=targets)
    check_float(fn, "logits", logits)
    check_int(fn, "targets", targets)
    check_shape(fn, "logits", logits, targets.shape + (None,), "(..., V) matching targets (...)")
    V = logits.shape[-1]
    z = logits.reshape(-1, V)
    y = targets.reshape(-1)
    real = xp.ones(y.shape, dtype=bool) if ignore_index is None else (y != ignore_index)
    if y.size and bool((((y < 0) | (y >= V)) & real).any()):
        raise ValueError(f"{fn}: target ids must lie in [0, {V}) (or equal ignore_index), "
                         f"got ids from {int(y.min())} to {int(y.max())}")
    y_safe = xp.where(real, y, 0)               # any valid index; these rows are zeroed below
    weight = real.astype(z.dtype)
    count = xp.maximum(weight.sum(), 1.0)
    # The formulas of the module docstring, row by row, with scale = weight / M'
    # (0 on ignored rows): minis2s.kernels (chunked ufuncs; fused kernels on CuPy).
    dz = xp.empty_like(z)
    loss = get_kernels(z).softmax_cross_entropy_rows(z, y_safe, weight / count, dz)
    return loss, dz.reshape(logits.shape)
