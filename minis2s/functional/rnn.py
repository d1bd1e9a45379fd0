r"""The vanilla (Elman) tanh RNN, for comparison with the LSTM.

Same shapes and API as :mod:`minis2s.functional.lstm`, with no cell state::

    h = tanh(x @ Wx + h_prev @ Wh + b)          Wx (D, H), Wh (H, H), b (H,)

Backward::

    da = dh * (1 - h^2)
    dx = da @ Wx.T,  dh_prev = da @ Wh.T,  dWx = x.T @ da,  dWh = h_prev.T @ da,  db = sum_n da

Through time, dh_prev is multiplied by ``diag(1 - h^2) @ Wh.T`` once per step:
the product of T such Jacobians is what vanishes (or explodes) -- the LSTM's
additive cell path ``dc_prev = dc * f`` is the cure (notebook 2 plots both).
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
        m = mask.T.astype(x.dtype)[:, :, None]          # (T, N, 1)

    x_tm = x.transpose(1, 0, 2).reshape(T * N, D)
    a = (x_tm @ Wx + b).reshape(T, N, H)               # input projection of all steps at once
    hs = xp.empty((T, N, H), dtype=x.dtype)
    h = h0
    for t in range(T):
        a[t] += h @ Wh
        xp.tanh(a[t], out=a[t])                          # a[t] now holds the cell's own h_t
        hs[t] = a[t] if mask is None else m[t] * a[t] + (1.0 - m[t]) * h
        h = hs[t]
    cache = (x_tm, h0, Wx, Wh, a, hs, None if mask is None else m)
    return hs.transpose(1, 0, 2), h, cache


def rnn_backward(dhs, dhT, cache):
    """dhs (N, T, H), dhT (N, H) or None -> (dx, dh0, dWx, dWh, db)."""
    x_tm, h0, Wx, Wh, a, hs, m = cache
    T, N, H = hs.shape
    D = Wx.shape[0]
    xp = get_array_module(dhs=dhs, dhT=dhT, Wx=Wx)
    check_shape("rnn_backward", "dhs", dhs, (N, T, H), "(N, T, H)")
    dh_next = xp.zeros((N, H), dtype=hs.dtype) if dhT is None else dhT
    dhs_tm = dhs.transpose(1, 0, 2)
    da = xp.empty_like(a)
    for t in reversed(range(T)):
        dh = dhs_tm[t] + dh_next
        if m is None:
            da[t] = dh * (1.0 - a[t] * a[t])
            dh_next = da[t] @ Wh.T
        else:
            da[t] = m[t] * dh * (1.0 - a[t] * a[t])
            dh_next = da[t] @ Wh.T + (1.0 - m[t]) * dh
    da2 = da.reshape(T * N, H)
    h_prevs = xp.concatenate([h0[None], hs[:-1]], axis=0).reshape(T * N, H)
    dx = (da2 @ Wx.T).reshape(T, N, D).transpose(1, 0, 2)
    return dx, dh_next, x_tm.T @ da2, h_prevs.T @ da2, da2.sum(axis=0)
