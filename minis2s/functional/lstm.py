r"""The LSTM: the cell, one step, and a whole sequence with backpropagation through time.

Shapes (batch first): N batch, T time steps, D input size, H hidden size.

Gate layout -- **i, f, g, o**, PyTorch's order, so weights move to and from
``torch.nn.LSTM`` without reshuffling (its ``weight_ih_l0`` is our ``Wx.T``,
``weight_hh_l0`` is ``Wh.T`` and ``bias_ih_l0 + bias_hh_l0`` is ``b``)::

    a = x @ Wx + h_prev @ Wh + b            (N, 4H)  pre-activations
    i = sigmoid(a[:, 0H:1H])                input gate
    f = sigmoid(a[:, 1H:2H])                forget gate
    g = tanh   (a[:, 2H:3H])                candidate cell
    o = sigmoid(a[:, 3H:4H])                output gate
    c = f * c_prev + i * g
    h = o * tanh_c,     tanh_c = tanh(c)

Backward, given dh and dc flowing into (h, c) from above and from the future
(derived in docs/derivations.md, sections "LSTM: one step" and "LSTM through time")::

    dc_total = dc + dh * o * (1 - tanh_c**2)
    d_i = dc_total * g      d_f = dc_total * c_prev      d_g = dc_total * i      d_o = dh * tanh_c
    da  = [d_i * i*(1-i),  d_f * f*(1-f),  d_g * (1-g**2),  d_o * o*(1-o)]
    dc_prev = dc_total * f
    dx = da @ Wx.T,  dh_prev = da @ Wh.T,  dWx = x.T @ da,  dWh = h_prev.T @ da,  db = sum_n da

The file reads top to bottom: the cell (the elementwise part, shared by
everything below), one step (the cell plus its two matrix products), and a
sequence. The sequence functions are what :class:`minis2s.layers.LSTM` trains
on; their speed comes from two choices, both explained where they are made:
the input projection of all T steps is one matrix product before the loop,
and the weight gradients are one matrix product each after it.

Masks: ``mask[n, t] = 1`` (or True) marks a real token, 0 padding. At a padded
step the state passes through unchanged, so a right-padded sequence ends in the
state of its last real token -- the encoder's context is then right for every length.
"""
from __future__ import annotations

import numpy as np

from ..backend import get_array_module
from ._checks import check_float, check_shape

__all__ = ["sigmoid", "lstm_cell_forward", "lstm_cell_backward", "lstm_step_forward",
           "lstm_step_backward", "lstm_forward", "lstm_backward"]


def sigmoid(x):
    """Logistic sigmoid, 1 / (1 + exp(-x)).

    For x below about -88 (float32; -709 in float64) exp(-x) overflows to inf, and
    1 / (1 + inf) = 0 is then exactly the right answer: NumPy is told not to warn
    about it. (CuPy never warns; the context changes nothing there.) This form needs
    one exp; the other common one, 0.5 * (1 + tanh(x / 2)), needs a tanh, which
    costs about twice as much on a CPU.
    """
    xp = get_array_module(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + xp.exp(-x))


# --- the cell: the elementwise part of a step ---------------------------------------

def lstm_cell_forward(a, c_prev):
    """Gates and new state from the pre-activations.

    a (N, 4H): ``x @ Wx + h_prev @ Wh + b``; c_prev (N, H).
    Returns (h (N, H), c (N, H), cache) with cache = (i, f, g, o, c_prev, tanh_c).
    """
    xp = get_array_module(a=a, c_prev=c_prev)
    H = c_prev.shape[1]
    i = sigmoid(a[:, 0 * H:1 * H])
    f = sigmoid(a[:, 1 * H:2 * H])
    g = xp.tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:4 * H])
    c = f * c_prev + i * g
    tanh_c = xp.tanh(c)
    h = o * tanh_c
    return h, c, (i, f, g, o, c_prev, tanh_c)


def lstm_cell_backward(dh, dc, cache):
    """Backward of :func:`lstm_cell_forward`.

    dh, dc (N, H): gradients flowing into h and c.
    Returns (da (N, 4H), dc_prev (N, H)).
    """
    i, f, g, o, c_prev, tanh_c = cache
    xp = get_array_module(dh=dh, dc=dc, i=i)
    # c reaches the loss directly (dc) and through h = o * tanh(c).
    dc_total = dc + dh * o * (1.0 - tanh_c ** 2)
    d_i = dc_total * g
    d_f = dc_total * c_prev
    d_g = dc_total * i
    d_o = dh * tanh_c
    # Back through each gate's nonlinearity: sigmoid' = s (1 - s), tanh' = 1 - t^2.
    da_i = d_i * i * (1.0 - i)
    da_f = d_f * f * (1.0 - f)
    da_g = d_g * (1.0 - g ** 2)
    da_o = d_o * o * (1.0 - o)
    da = xp.concatenate([da_i, da_f, da_g, da_o], axis=1)
    dc_prev = dc_total * f
    return da, dc_prev


# --- argument checks (shapes and dtypes only: free on a GPU) --------------------------

def _check_weights(fn, D, H, Wx, Wh, b):
    check_float(fn, "Wx", Wx)
    check_shape(fn, "Wx", Wx, (D, 4 * H), "(D, 4H)")
    check_shape(fn, "Wh", Wh, (H, 4 * H), "(H, 4H)")
    check_shape(fn, "b", b, (4 * H,), "(4H,)")


def _check_sequence(fn, x, h0, c0, Wx, Wh, b, mask):
    """The argument checks of a sequence function; returns (N, T, D, H)."""
    check_float(fn, "x", x)
    check_shape(fn, "x", x, (None, None, None), "(N, T, D)")
    N, T, D = x.shape
    check_shape(fn, "h0", h0, (N, None), "(N, H)")
    H = h0.shape[1]
    check_shape(fn, "c0", c0, (N, H), "(N, H)")
    _check_weights(fn, D, H, Wx, Wh, b)
    if mask is not None:
        check_shape(fn, "mask", mask, (N, T), "(N, T)")
    return N, T, D, H


# --- one step -------------------------------------------------------------------------

def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step.

    x (N, D), h_prev (N, H), c_prev (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns (h (N, H), c (N, H), cache).
    """
    fn = "lstm_step_forward"
    get_array_module(x=x, h_prev=h_prev, c_prev=c_prev, Wx=Wx, Wh=Wh, b=b)  # one backend
    check_float(fn, "x", x)
    check_shape(fn, "x", x, (None, None), "(N, D)")
    N, D = x.shape
    check_shape(fn, "h_prev", h_prev, (N, None), "(N, H)")
    H = h_prev.shape[1]
    check_shape(fn, "c_prev", c_prev, (N, H), "(N, H)")
    _check_weights(fn, D, H, Wx, Wh, b)

    a = x @ Wx + h_prev @ Wh + b
    h, c, cell_cache = lstm_cell_forward(a, c_prev)
    return h, c, (x, h_prev, Wx, Wh, cell_cache)


def lstm_step_backward(dh, dc, cache):
    """Backward of :func:`lstm_step_forward`.

    dh, dc (N, H): gradients flowing into h and c.
    Returns (dx (N, D), dh_prev (N, H), dc_prev (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)).
    """
    x, h_prev, Wx, Wh, cell_cache = cache
    get_array_module(dh=dh, dc=dc, x=x)  # one backend, or a named error
    check_shape("lstm_step_backward", "dh", dh, h_prev.shape, "(N, H)")
    check_shape("lstm_step_backward", "dc", dc, h_prev.shape, "(N, H)")
    da, dc_prev = lstm_cell_backward(dh, dc, cell_cache)
    dx = da @ Wx.T
    dh_prev = da @ Wh.T
    dWx = x.T @ da
    dWh = h_prev.T @ da          # the step's input h_prev, not its output h
    db = da.sum(axis=0)
    return dx, dh_prev, dc_prev, dWx, dWh, db


# --- a whole sequence: explicit BPTT ---------------------------------------------------

def lstm_forward(x, h0, c0, Wx, Wh, b, mask=None):
    """Run the LSTM over a sequence.

    x (N, T, D); h0, c0 (N, H); Wx (D, 4H); Wh (H, 4H); b (4H,);
    mask (N, T) of 0/1 or bool, optional (1 = real token).
    Returns (hs (N, T, H), (hT (N, H), cT (N, H)), cache).
    """
    xp = get_array_module(x=x, h0=h0, c0=c0, Wx=Wx, Wh=Wh, b=b, mask=mask)
    N, T, D, H = _check_sequence("lstm_forward", x, h0, c0, Wx, Wh, b, mask)

    # Time-major (T, N, .) so that step t reads one contiguous block.
    xs = x.transpose(1, 0, 2).reshape(T * N, D)
    # x_t @ Wx + b does not depend on the previous step: one matrix product for all
    # T steps (a big GEMM runs far closer to the machine's peak than T small ones).
    ax = (xs @ Wx + b).reshape(T, N, 4 * H)
    h, c = h0, c0
    hs = xp.empty((T, N, H), dtype=x.dtype)     # every step's h, time-major
    cell_caches = []
    for t in range(T):
        a = ax[t] + h @ Wh                       # only h_{t-1} @ Wh has to wait for step t-1
        h_cell, c_cell, cell_cache = lstm_cell_forward(a, c)
        if mask is not None:                     # padded rows keep their previous state
            real = mask[:, t, None] > 0          # (N, 1)
            h_cell = xp.where(real, h_cell, h)
            c_cell = xp.where(real, c_cell, c)
        h, c = h_cell, c_cell
        hs[t] = h
        cell_caches.append(cell_cache)
    cache = (xs, h0, Wx, Wh, hs, cell_caches, mask)
    return hs.transpose(1, 0, 2), (h, c), cache


def lstm_backward(dhs, dhT, dcT, cache):
    """Backpropagation through time for :func:`lstm_forward`.

    dhs (N, T, H): gradient of the loss w.r.t. every output h_t, or None when
    only the final state matters (an encoder whose outputs feed no loss);
    dhT, dcT (N, H) or None: gradient w.r.t. the final state (e.g. from a decoder).
    Returns (dx (N, T, D), dh0 (N, H), dc0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)).
    """
    xs, h0, Wx, Wh, hs, cell_caches, mask = cache
    T, N, H = hs.shape
    D = Wx.shape[0]
    xp = get_array_module(dhs=dhs, dhT=dhT, dcT=dcT, Wx=Wx)
    if dhs is not None:
        check_shape("lstm_backward", "dhs", dhs, (N, T, H), "(N, T, H)")
    for name, d in (("dhT", dhT), ("dcT", dcT)):
        if d is not None:
            check_shape("lstm_backward", name, d, (N, H), "(N, H)")
    dh_next = xp.zeros((N, H), dtype=hs.dtype) if dhT is None else dhT
    dc_next = xp.zeros((N, H), dtype=hs.dtype) if dcT is None else dcT
    das = xp.empty((T, N, 4 * H), dtype=hs.dtype)   # every step's da, time-major
    for t in reversed(range(T)):
        # h_t is read by the output at t and by step t+1; c_t only by step t+1.
        dh = dh_next if dhs is None else dhs[:, t] + dh_next
        dc = dc_next
        if mask is None:
            da, dc_prev = lstm_cell_backward(dh, dc, cell_caches[t])
            dh_prev = da @ Wh.T
        else:
            # A padded step copied its state: its gradient skips the cell and goes
            # straight to step t-1; a real step's goes through the cell.
            real = mask[:, t, None] > 0
            da, dc_prev = lstm_cell_backward(xp.where(real, dh, 0.0), xp.where(real, dc, 0.0),
                                             cell_caches[t])
            dh_prev = da @ Wh.T + xp.where(real, 0.0, dh)
            dc_prev = dc_prev + xp.where(real, 0.0, dc)
        das[t] = da
        dh_next, dc_next = dh_prev, dc_prev

    # Every step used the same weights, so their gradients are sums over t: with the
    # steps stacked time-major as rows, each sum is one matrix product.
    da = das.reshape(T * N, 4 * H)
    h_prevs = xp.concatenate([h0[None], hs[:-1]]).reshape(T * N, H)   # h_{t-1} of every step
    dWx = xs.T @ da
    dWh = h_prevs.T @ da
    db = da.sum(axis=0)
    dx = (da @ Wx.T).reshape(T, N, D).transpose(1, 0, 2)
    return dx, dh_next, dc_next, dWx, dWh, db
