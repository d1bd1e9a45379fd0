r"""The vanilla (Elman) tanh RNN, for comparison with the LSTM.

Same shapes and structure as :mod:`minis2s.functional.lstm`, with no cell state.
The input projection ``a_x = x @ Wx + b`` is computed for all steps at once; a step is::

    h = tanh(a_x + h_prev @ Wh)                 Wx (D, H), Wh (H, H), b (H,)

.. EXERCISE rnn_step_backward: begin
Backward of a step::

    da = dh * (1 - h^2),    dh_prev = da @ Wh.T

.. EXERCISE rnn_step_backward: end
.. EXERCISE rnn_backward: begin
and, after the loop, ``dWh = sum_t h_prev_t.T @ da_t`` and ``dx, dWx, db`` from
the input projection's backward, one matrix product each.
.. EXERCISE rnn_backward: end

Through time, dh_prev is multiplied by ``diag(1 - h^2) @ Wh.T`` once per step:
the product of T such Jacobians is what vanishes (or explodes) -- the LSTM's
additive cell path (``dc_prev`` is ``dc_total`` times the forget gate) lets gradients travel
much further (notebook 2 plots both).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..backend import get_array_module
from .linear import linear_backward, linear_forward

__all__ = ["RNNStepCache", "RNNCache", "rnn_step_forward", "rnn_step_backward",
           "rnn_forward", "rnn_backward"]


class RNNStepCache(NamedTuple):
    """One step's backward needs: h_prev (N, H), Wh (H, H), h (N, H)."""
    h_prev: Any
    Wh: Any
    h: Any


class RNNCache(NamedTuple):
    """proj: the input projection's cache; h0 (N, H); Wh; steps; hs (T, N, H) time-major; mask."""
    proj: Any
    h0: Any
    Wh: Any
    steps: list
    hs: Any
    mask: Any


def rnn_step_forward(a_x, h_prev, Wh):
    """a_x (N, H): the input projection ``x @ Wx + b``; h_prev (N, H) -> (h (N, H), cache)."""
    xp = get_array_module(a_x)
    h = xp.tanh(a_x + h_prev @ Wh)
    return h, RNNStepCache(h_prev, Wh, h)


def rnn_step_backward(dh, cache: RNNStepCache):
    """dh (N, H) -> (da (N, H): the gradient of a_x; dh_prev (N, H))."""
    # EXERCISE rnn_step_backward: begin
    h_prev, Wh, h = cache
    da = dh * (1.0 - h ** 2)
    return da, da @ Wh.T
    # EXERCISE rnn_step_backward: end


def rnn_forward(x, h0, Wx, Wh, b, mask=None):
    """x (N, T, D), h0 (N, H), mask (N, T) optional -> (hs (N, T, H), hT (N, H), cache).

    Padded steps (mask 0) carry the state through unchanged, as in lstm_forward.
    """
    xp = get_array_module(x)
    N, T, D = x.shape
    a_x, proj = linear_forward(x.transpose(1, 0, 2).reshape(T * N, D), Wx, b)   # one GEMM
    a_x = a_x.reshape(T, N, -1)
    h = h0
    hs, steps = [], []
    for t in range(T):
        h_step, step = rnn_step_forward(a_x[t], h, Wh)
        if mask is not None:                            # padded rows keep their previous state
            h_step = xp.where(mask[:, t, None] > 0, h_step, h)
        h = h_step
        hs.append(h)
        steps.append(step)
    hs = xp.stack(hs)                                   # (T, N, H)
    return hs.transpose(1, 0, 2), h, RNNCache(proj, h0, Wh, steps, hs, mask)


def rnn_backward(dhs, dhT, cache: RNNCache):
    """dhs (N, T, H), dhT (N, H) or None -> (dx, dh0, dWx, dWh, db)."""
    # EXERCISE rnn_backward: begin
    proj, h0, Wh, steps, hs, mask = cache
    xp = get_array_module(hs)
    T, N, H = hs.shape
    dh_next = xp.zeros((N, H), dtype=hs.dtype) if dhT is None else dhT
    das = [None] * T
    for t in reversed(range(T)):
        dh = dhs[:, t] + dh_next
        if mask is None:
            das[t], dh_next = rnn_step_backward(dh, steps[t])
        else:                                           # a padded step's gradient skips the cell
            real = mask[:, t, None] > 0
            das[t], dh_prev = rnn_step_backward(xp.where(real, dh, 0.0), steps[t])
            dh_next = dh_prev + xp.where(real, 0.0, dh)
    da = xp.stack(das).reshape(T * N, H)
    h_prevs = xp.concatenate([h0[None], hs[:-1]]).reshape(T * N, H)
    dx, dWx, db = linear_backward(da, proj)
    return dx.reshape(T, N, -1).transpose(1, 0, 2), dh_next, dWx, h_prevs.T @ da, db
    # EXERCISE rnn_backward: end
