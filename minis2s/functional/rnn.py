r"""The vanilla (Elman) tanh RNN, for comparison with the LSTM.

Same shapes and API as :mod:`minis2s.functional.lstm`, with no cell state::

    h = tanh(x @ Wx + h_prev @ Wh + b)          Wx (D, H), Wh (H, H), b (H,)

Backward::

    da = dh * (1 - h^2)
    dx = da @ Wx.T,  dh_prev = da @ Wh.T,  dWx = x.T @ da,  dWh = h_prev.T @ da,  db = sum_n da

Through time, dh_prev is multiplied by ``diag(1 - h^2) @ Wh.T`` once per step:
the product of T such Jacobians is what vanishes (or explodes) -- the LSTM's
additive cell path ``dc_prev = dc_total * f`` lets gradients travel much further (notebook 2 plots both).
"""
from __future__ import annotations

from ..backend import get_array_module
from ._checks import check_float, check_shape

__all__ = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward"]


def _check_weights(fn, D, H, Wx, Wh, b):
    check_float(fn, "Wx", Wx)
    check_shape(fn, "Wx", Wx, (D, H), "(D, H)")
    check_shape(fn, "Wh", Wh, (H, H), "(H, H)")
    check_shape(fn, "b", b, (H,), "(H,)")


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """x (N, D), h_prev (N, H) -> (h (N, H), cache)."""
    fn = "rnn_step_forward"
    xp = get_array_module(x=x, h_prev=h_prev, Wx=Wx, Wh=Wh, b=b)
    check_shape(fn, "x", x, (None, None), "(N, D)")
    N, D = x.shape
    check_shape(fn, "h_prev", h_prev, (N, None), "(N, H)")
    _check_weights(fn, D, h_prev.shape[1], Wx, Wh, b)
    h = xp.tanh(x @ Wx + h_prev @ Wh + b)
    return h, (x, h_prev, Wx, Wh, h)


def rnn_step_backward(dh, cache):
    """dh (N, H) -> (dx (N, D), dh_prev (N, H), dWx (D, H), dWh (H, H), db (H,))."""
    x, h_prev, Wx, Wh, h = cache
    check_shape("rnn_step_backward", "dh", dh, h.shape, "(N, H)")
    da = dh * (1.0 - h * h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b, mask=None):
    """x (N, T, D), h0 (N, H), mask (N, T) optional -> (hs (N, T, H), hT (N, H), cache).

    Padded steps (mask 0) carry the state through unchanged, as in lstm_forward.
    """
    fn = "rnn_forward"
    xp = get_array_module(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b, mask=mask)
    check_float(fn, "x", x)
    check_shape(fn, "x", x, (None, None, None), "(N, T, D)")
    N, T, D = x.shape
    check_shape(fn, "h0", h0, (N, None), "(N, H)")
    H = h0.shape[1]
    _check_weights(fn, D, H, Wx, Wh, b)
    if mask is not None:
        check_shape(fn, "mask", mask, (N, T), "(N, T)")

    xs = x.transpose(1, 0, 2).reshape(T * N, D)         # time-major rows
    ax = (xs @ Wx + b).reshape(T, N, H)                 # input projection of all steps at once
    h = h0
    hs, h_cells = [], []
    for t in range(T):
        h_cell = xp.tanh(ax[t] + h @ Wh)                # the cell's own h_t
        if mask is not None:                            # padded rows keep their previous state
            h_cell_or_prev = xp.where(mask[:, t, None] > 0, h_cell, h)
        else:
            h_cell_or_prev = h_cell
        h = h_cell_or_prev
        hs.append(h)
        h_cells.append(h_cell)
    hs = xp.stack(hs)                                   # (T, N, H)
    cache = (xs, h0, Wx, Wh, h_cells, hs, mask)
    return hs.transpose(1, 0, 2), h, cache


def rnn_backward(dhs, dhT, cache):
    """dhs (N, T, H), dhT (N, H) or None -> (dx, dh0, dWx, dWh, db)."""
    xs, h0, Wx, Wh, h_cells, hs, mask = cache
    T, N, H = hs.shape
    D = Wx.shape[0]
    xp = get_array_module(dhs=dhs, dhT=dhT, Wx=Wx)
    check_shape("rnn_backward", "dhs", dhs, (N, T, H), "(N, T, H)")
    dh_next = xp.zeros((N, H), dtype=hs.dtype) if dhT is None else dhT
    das = [None] * T
    for t in reversed(range(T)):
        dh = dhs[:, t] + dh_next
        if mask is None:
            da = dh * (1.0 - h_cells[t] ** 2)
            dh_next = da @ Wh.T
        else:                                           # a padded step's gradient skips the cell
            real = mask[:, t, None] > 0
            da = xp.where(real, dh, 0.0) * (1.0 - h_cells[t] ** 2)
            dh_next = da @ Wh.T + xp.where(real, 0.0, dh)
        das[t] = da
    da = xp.stack(das).reshape(T * N, H)
    h_prevs = xp.concatenate([h0[None], hs[:-1]]).reshape(T * N, H)
    dx = (da @ Wx.T).reshape(T, N, D).transpose(1, 0, 2)
    return dx, dh_next, xs.T @ da, h_prevs.T @ da, da.sum(axis=0)
