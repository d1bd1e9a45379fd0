r"""Reference solutions to the exercises in :mod:`minis2s.exercises`.

Try each exercise before reading its solution here. They are written to be
read: one idea per line, NumPy only, and the comments name the equations of
docs/derivations.md. The checker does not use them -- it compares answers with
a numerical gradient -- but the tests check that each of them passes.
(The library's own, GPU-ready versions live in :mod:`minis2s.functional`.)
"""
from __future__ import annotations

import numpy as np

__all__ = ["lstm_step_backward", "lstm_backward", "embedding_backward",
           "softmax_cross_entropy", "peeky_concat_backward", "adam_update"]


def _cell_backward(dh, dc, gates, c_prev, tanh_c):
    """One LSTM cell backwards: (da (N, 4H), dc_prev (N, H)) from the gradients dh, dc into h, c."""
    i, f, g, o = np.split(gates, 4, axis=1)      # activated gates, order i, f, g, o
    # c reaches the loss directly (dc) and through h = o * tanh(c)
    dc_total = dc + dh * o * (1.0 - tanh_c ** 2)
    di = dc_total * g                            # c = f * c_prev + i * g
    df = dc_total * c_prev
    dg = dc_total * i
    do = dh * tanh_c                             # h = o * tanh(c)
    # back through the nonlinearities: sigmoid' = s (1 - s), tanh' = 1 - tanh^2
    da = np.concatenate([di * i * (1.0 - i), df * f * (1.0 - f),
                         dg * (1.0 - g ** 2), do * o * (1.0 - o)], axis=1)
    return da, dc_total * f


def lstm_step_backward(dh, dc, cache):
    """(dx, dh_prev, dc_prev, dWx, dWh, db) for one step; see minis2s.exercises.lstm."""
    x, h_prev, c_prev, Wx, Wh, gates, tanh_c = cache
    da, dc_prev = _cell_backward(dh, dc, gates, c_prev, tanh_c)
    # a = x @ Wx + h_prev @ Wh + b is an affine map: its backward is three matrix products
    dx = da @ Wx.T
    dh_prev = da @ Wh.T
    dWx = x.T @ da
    dWh = h_prev.T @ da                          # h_prev, the step's input -- not its output h
    db = da.sum(axis=0)                          # b was added to every row of the batch
    return dx, dh_prev, dc_prev, dWx, dWh, db


def lstm_backward(dhs, dhT, dcT, cache):
    """(dx, dh0, dc0, dWx, dWh, db) through time, mask included; see minis2s.exercises.lstm."""
    x_tm, h0, c0, Wx, Wh, gates, hs, cs, tanh_cs, m = cache
    T, N, H = hs.shape
    x = x_tm.reshape(T, N, -1)                   # time-major inputs: x[t] is (N, D)
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H)
    dh_next = np.zeros((N, H)) if dhT is None else dhT   # from the future (the final state)
    dc_next = np.zeros((N, H)) if dcT is None else dcT
    for t in reversed(range(T)):
        dh = dhs[:, t] + dh_next                 # h_t feeds the output at t and step t+1
        dc = dc_next
        h_prev = hs[t - 1] if t > 0 else h0
        c_prev = cs[t - 1] if t > 0 else c0
        keep = 1.0 if m is None else m[t]        # (N, 1): 1 on real tokens, 0 on padding
        # h_t = keep * h_cell + (1 - keep) * h_prev: the cell gets keep * dh ...
        da, dc_cell = _cell_backward(keep * dh, keep * dc, gates[t], c_prev, tanh_cs[t])
        dx[t] = da @ Wx.T
        dWx += x[t].T @ da                       # the same weights at every step: sum over t
        dWh += h_prev.T @ da
        db += da.sum(axis=0)
        # ... and the padded rows' gradient skips the cell, straight to step t-1
        dh_next = da @ Wh.T + (1.0 - keep) * dh
        dc_next = dc_cell + (1.0 - keep) * dc
    return dx.transpose(1, 0, 2), dh_next, dc_next, dWx, dWh, db


def embedding_backward(dout, ids, V):
    """dW (V, E): each row collects the sum of dout over the positions that looked it up."""
    E = dout.shape[-1]
    dW = np.zeros((V, E))
    # scatter-add: np.add.at adds once per occurrence; dW[ids] += dout would keep only one
    np.add.at(dW, ids.reshape(-1), dout.reshape(-1, E))
    return dW


def softmax_cross_entropy(logits, targets, ignore_index):
    """(loss, dlogits): mean -log p[target] over the real rows, and (p - onehot) / M' there."""
    V = logits.shape[-1]
    z = logits.reshape(-1, V)
    y = targets.reshape(-1)
    z = z - z.max(axis=1, keepdims=True)                     # stable: no exp overflow
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))  # log-softmax
    real = np.ones(len(y), bool) if ignore_index is None else y != ignore_index
    count = max(int(real.sum()), 1)                          # M': the real rows only
    rows = np.arange(len(y))[real]
    loss = -logp[rows, y[real]].sum() / count
    dz = np.exp(logp)                                        # p
    dz[rows, y[real]] -= 1.0                                 # p - onehot(y)
    dz[~real] = 0.0                                          # padding contributes nothing
    return loss, (dz / count).reshape(logits.shape)


def peeky_concat_backward(dout, E):
    """(de, dctx): split at column E; ctx was used at all T steps, so sum its T gradients."""
    de = dout[:, :, :E]
    dctx = dout[:, :, E:].sum(axis=1)            # (N, T, H) -> (N, H)
    return de, dctx


def adam_update(p, g, m, v, t, lr, beta1, beta2, eps):
    """(p_new, m_new, v_new): one bias-corrected Adam step, eps outside the root as in torch."""
    m = beta1 * m + (1.0 - beta1) * g            # running mean of g
    v = beta2 * v + (1.0 - beta2) * g * g        # running mean of g^2
    m_hat = m / (1.0 - beta1 ** t)               # m, v start at 0: undo that bias
    v_hat = v / (1.0 - beta2 ** t)
    p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p, m, v
