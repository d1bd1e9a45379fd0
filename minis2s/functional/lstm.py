r"""The LSTM: one step, and a whole sequence as a loop over that step (backpropagation through time).

Shapes (batch first): N batch, T time steps, D input size, H hidden size.

Gate layout -- **i, f, g, o**, PyTorch's order, so weights move to and from
``torch.nn.LSTM`` without reshuffling (its ``weight_ih_l0`` is our ``Wx.T``,
``weight_hh_l0`` is ``Wh.T`` and ``bias_ih_l0 + bias_hh_l0`` is ``b``).

The pre-activation of a step has a part that depends on the previous step and a
part that does not::

    a   = a_x + h_prev @ Wh                 (N, 4H)
    a_x = x @ Wx + b                        the input projection: no h_prev in it

so a sequence computes ``a_x`` for all T steps as *one* matrix product before
the loop (a big GEMM runs far closer to the machine's peak than T small ones),
and the step takes ``a_x`` as its input. One step::

    i = sigmoid(a[:, 0H:1H])                input gate
    f = sigmoid(a[:, 1H:2H])                forget gate
    g = tanh   (a[:, 2H:3H])                candidate cell
    o = sigmoid(a[:, 3H:4H])                output gate
    c = f * c_prev + i * g
    h = o * tanh_c,     tanh_c = tanh(c)

.. EXERCISE lstm_step_backward: begin
Backward of a step, given dh and dc flowing into (h, c) from above and from the
future (derived in docs/derivations.md, "LSTM: one step" and "LSTM through time")::

    dc_total = dc + dh * o * (1 - tanh_c**2)
    d_i = dc_total * g      d_f = dc_total * c_prev      d_g = dc_total * i      d_o = dh * tanh_c
    da  = [d_i * i*(1-i),  d_f * f*(1-f),  d_g * (1-g**2),  d_o * o*(1-o)]
    dh_prev = da @ Wh.T,    dc_prev = dc_total * f

.. EXERCISE lstm_step_backward: end

``da`` is also the gradient of ``a_x``. The weights were used at every step, so
their gradients are sums over t; the sequence backward forms them once, after
the loop, as one matrix product each.

.. EXERCISE lstm_backward: begin

::

    dWh = sum_t h_prev_t.T @ da_t        dx, dWx, db = linear_backward(da, ...)

.. EXERCISE lstm_backward: end

Masks: ``mask[n, t] = 1`` (or True) marks a real token, 0 padding. At a padded
step the state passes through unchanged, so a right-padded sequence ends in the
state of its last real token -- the encoder's context is then right for every length.

These bodies hold the maths only: shapes and dtypes are checked where arrays
enter the engine (:class:`minis2s.layers.LSTM`, the models, the exercise checker).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..backend import get_array_module
from .linear import linear_backward, linear_forward

__all__ = ["sigmoid", "LSTMStepCache", "LSTMCache", "lstm_step_forward", "lstm_step_backward",
           "lstm_forward", "lstm_backward"]


def sigmoid(x):
    """Logistic sigmoid, 1 / (1 + exp(-x)).

    For x below about -88 (float32; -709 in float64) exp(-x) overflows to inf, and
    1 / (1 + inf) = 0 is then exactly the right answer: NumPy is told not to warn
    about it. (CuPy never warns; the context changes nothing there.) This form needs
    one exp; the other common one, 0.5 * (1 + tanh(x / 2)), needs a tanh, which
    costs twice as much as exp on an AVX2 CPU (and a little less on an AVX-512 one:
    docs/benchmarks.md weighs the two).
    """
    xp = get_array_module(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + xp.exp(-x))


class LSTMStepCache(NamedTuple):
    """What one step's backward needs, under the derivation's names (each (N, H); Wh (H, 4H))."""
    h_prev: Any
    c_prev: Any
    Wh: Any
    i: Any
    f: Any
    g: Any
    o: Any
    c: Any
    tanh_c: Any


class LSTMCache(NamedTuple):
    """What a sequence's backward needs.

    proj: the input projection's cache (linear_forward); h0 (N, H); Wh (H, 4H);
    steps: T :class:`LSTMStepCache`; hs (T, N, H): every step's h, time-major;
    mask (N, T) or None.
    """
    proj: Any
    h0: Any
    Wh: Any
    steps: list
    hs: Any
    mask: Any


# --- one step -------------------------------------------------------------------------

def lstm_step_forward(a_x, h_prev, c_prev, Wh):
    """One LSTM step.

    a_x (N, 4H): the input projection ``x @ Wx + b``; h_prev, c_prev (N, H); Wh (H, 4H).
    Returns (h (N, H), c (N, H), cache: :class:`LSTMStepCache`).
    """
    # EXERCISE lstm_step_forward: begin
    xp = get_array_module(a_x)
    H = h_prev.shape[1]
    a = a_x + h_prev @ Wh
    i = sigmoid(a[:, 0 * H:1 * H])
    f = sigmoid(a[:, 1 * H:2 * H])
    g = xp.tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:4 * H])
    c = f * c_prev + i * g
    tanh_c = xp.tanh(c)
    h = o * tanh_c
    return h, c, LSTMStepCache(h_prev, c_prev, Wh, i, f, g, o, c, tanh_c)
    # EXERCISE lstm_step_forward: end


def lstm_step_backward(dh, dc, cache: LSTMStepCache):
    """Backward of :func:`lstm_step_forward`.

    dh, dc (N, H): gradients flowing into h and c.
    Returns (da (N, 4H): the gradient of a, and so of a_x; dh_prev (N, H); dc_prev (N, H)).
    """
    # EXERCISE lstm_step_backward: begin
    h_prev, c_prev, Wh, i, f, g, o, c, tanh_c = cache
    xp = get_array_module(dh)
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
    dh_prev = da @ Wh.T
    dc_prev = dc_total * f
    return da, dh_prev, dc_prev
    # EXERCISE lstm_step_backward: end


# --- a whole sequence: a loop over the step, then explicit BPTT -------------------------

def lstm_forward(x, h0, c0, Wx, Wh, b, mask=None):
    """Run the LSTM over a sequence.

    x (N, T, D); h0, c0 (N, H); Wx (D, 4H); Wh (H, 4H); b (4H,);
    mask (N, T) of 0/1 or bool, optional (1 = real token).
    Returns (hs (N, T, H), (hT (N, H), cT (N, H)), cache: :class:`LSTMCache`).
    """
    xp = get_array_module(x)
    N, T, D = x.shape
    # Time-major rows (t, n), so that step t reads one contiguous block of a_x.
    x_tm = x.transpose(1, 0, 2).reshape(T * N, D)
    a_x, proj = linear_forward(x_tm, Wx, b)          # all T input projections: one GEMM
    a_x = a_x.reshape(T, N, -1)
    h, c = h0, c0
    hs, steps = [], []
    for t in range(T):
        h_step, c_step, step = lstm_step_forward(a_x[t], h, c, Wh)
        if mask is not None:                         # padded rows keep their previous state
            real = mask[:, t, None] > 0              # (N, 1)
            h_step = xp.where(real, h_step, h)
            c_step = xp.where(real, c_step, c)
        h, c = h_step, c_step
        hs.append(h)
        steps.append(step)
    hs = xp.stack(hs)                                # (T, N, H)
    return hs.transpose(1, 0, 2), (h, c), LSTMCache(proj, h0, Wh, steps, hs, mask)


def lstm_backward(dhs, dhT, dcT, cache: LSTMCache):
    """Backpropagation through time for :func:`lstm_forward`.

    dhs (N, T, H): gradient of the loss w.r.t. every output h_t, or None when
    only the final state matters (an encoder whose outputs feed no loss);
    dhT, dcT (N, H) or None: gradient w.r.t. the final state (e.g. from a decoder).
    Returns (dx (N, T, D), dh0 (N, H), dc0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)).
    """
    # EXERCISE lstm_backward: begin
    proj, h0, Wh, steps, hs, mask = cache
    xp = get_array_module(hs)
    T, N, H = hs.shape
    dh_next = xp.zeros((N, H), dtype=hs.dtype) if dhT is None else dhT
    dc_next = xp.zeros((N, H), dtype=hs.dtype) if dcT is None else dcT
    das = [None] * T
    for t in reversed(range(T)):
        # h_t is read by the output at t and by step t+1; c_t only by step t+1.
        dh = dh_next if dhs is None else dhs[:, t] + dh_next
        dc = dc_next
        if mask is None:
            das[t], dh_next, dc_next = lstm_step_backward(dh, dc, steps[t])
        else:
            # A padded step copied its state: its gradient skips the cell and goes
            # straight to step t-1; a real step's goes through the cell.
            real = mask[:, t, None] > 0
            das[t], dh_prev, dc_prev = lstm_step_backward(xp.where(real, dh, 0.0),
                                                          xp.where(real, dc, 0.0), steps[t])
            dh_next = dh_prev + xp.where(real, 0.0, dh)
            dc_next = dc_prev + xp.where(real, 0.0, dc)

    # Every step used the same weights, so their gradients are sums over t: with the
    # steps stacked time-major as rows, each sum is one matrix product.
    da = xp.stack(das).reshape(T * N, 4 * H)
    h_prevs = xp.concatenate([h0[None], hs[:-1]]).reshape(T * N, H)   # h_prev of every step
    dWh = h_prevs.T @ da
    dx, dWx, db = linear_backward(da, proj)          # back through a_x = x @ Wx + b
    dx = dx.reshape(T, N, -1).transpose(1, 0, 2)
    return dx, dh_next, dc_next, dWx, dWh, db
    # EXERCISE lstm_backward: end
