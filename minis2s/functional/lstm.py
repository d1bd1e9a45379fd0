r"""The LSTM: one step, and a whole sequence with backpropagation through time.

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
    h = o * tanh(c)

Backward, given dh and dc flowing into (h, c) from above and from the future
(derivation in docs/derivations.md, section "LSTM")::

    dc_total = dc + dh * o * (1 - tanh(c)^2)
    do = dh * tanh(c)        di = dc_total * g
    df = dc_total * c_prev   dg = dc_total * i
    da = [di*i*(1-i), df*f*(1-f), dg*(1-g^2), do*o*(1-o)]
    dc_prev = dc_total * f
    dx = da @ Wx.T,  dh_prev = da @ Wh.T
    dWx = x.T @ da,  dWh = h_prev.T @ da,  db = sum_n da

Masks: ``mask[n, t] = 1`` marks a real token, 0 padding. At a padded step the
state passes through unchanged, so a right-padded sequence ends in the state of
its last real token -- the encoder's context is then right for every length.
"""
from __future__ import annotations

from ..backend import get_array_module, get_kernels
from ._checks import check_float, check_shape

__all__ = ["sigmoid", "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"]


def sigmoid(x, xp=None):
    """Logistic sigmoid written as 0.5 * (1 + tanh(x / 2)).

    The identity avoids exp(-x), which overflows for large negative x; tanh
    saturates cleanly instead, so no warnings and no inf/inf.
    """
    xp = xp or get_array_module(x)
    return 0.5 * (xp.tanh(0.5 * x) + 1.0)


# --- the cell: shared by the step API and the sequence API ---------------------
# The elementwise formulas above live in minis2s/kernels/ufunc.py (one fused
# CUDA kernel each on CuPy); here the gate blocks are column slices (axis 1).

def _cell_forward(a, c_prev):
    """Gates and new state from the pre-activations ``a`` (N, 4H).

    Activates the gates *in place*, so on return ``a`` holds [i, f, g, o], which
    the backward pass needs. Returns (h, c, tanh_c), each (N, H).
    """
    xp = get_array_module(a)
    h, c, tanh_c = xp.empty_like(c_prev), xp.empty_like(c_prev), xp.empty_like(c_prev)
    get_kernels(a).lstm_cell_forward(a, c_prev, c, tanh_c, h, gate_axis=1)
    return h, c, tanh_c


def _cell_backward(dh, dc, gates, c_prev, tanh_c):
    """Gradient of the pre-activations (N, 4H) and of c_prev (N, H), given dh and dc."""
    xp = get_array_module(gates)
    da, dc_prev = xp.empty_like(gates), xp.empty_like(c_prev)
    get_kernels(gates).lstm_cell_backward(dh, dc, gates, c_prev, tanh_c, da, dc_prev, gate_axis=1)
    return da, dc_prev


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


# --- one step -----------------------------------------------------------------

def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step.

    x (N, D), h_prev (N, H), c_prev (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns (h (N, H), c (N, H), cache).
    """
    fn = "lstm_step_forward"
    get_array_module(x=x, h_prev=h_prev, c_prev=c_prev, Wx=Wx, Wh=Wh, b=b)  # one backend, or a named error
    check_shape(fn, "x", x, (None, None), "(N, D)")
    N, D = x.shape
    check_shape(fn, "h_prev", h_prev, (N, None), "(N, H)")
    H = h_prev.shape[1]
    check_shape(fn, "c_prev", c_prev, (N, H), "(N, H)")
    _check_weights(fn, D, H, Wx, Wh, b)

    a = x @ Wx + h_prev @ Wh + b
    h, c, tanh_c = _cell_forward(a, c_prev)
    cache = (x, h_prev, c_prev, Wx, Wh, a, tanh_c)
    return h, c, cache


def lstm_step_backward(dh, dc, cache):
    """Backward of :func:`lstm_step_forward`.

    dh, dc (N, H): gradients flowing into h and c.
    Returns (dx (N, D), dh_prev (N, H), dc_prev (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)).
    """
    x, h_prev, c_prev, Wx, Wh, gates, tanh_c = cache
    get_array_module(dh=dh, dc=dc, x=x)  # one backend, or a named error
    check_shape("lstm_step_backward", "dh", dh, h_prev.shape, "(N, H)")
    check_shape("lstm_step_backward", "dc", dc, c_prev.shape, "(N, H)")
    da, dc_prev = _cell_backward(dh, dc, gates, c_prev, tanh_c)
    dx = da @ Wx.T
    dh_prev = da @ Wh.T
    dWx = x.T @ da
    dWh = h_prev.T @ da
    db = da.sum(axis=0)
    return dx, dh_prev, dc_prev, dWx, dWh, db


# --- a whole sequence: explicit BPTT -----------------------------------------

def lstm_forward(x, h0, c0, Wx, Wh, b, mask=None):
    """Run the LSTM over a sequence.

    x (N, T, D); h0, c0 (N, H); Wx (D, 4H); Wh (H, 4H); b (4H,);
    mask (N, T) of 0/1 or bool, optional (1 = real token).
    Returns (hs (N, T, H), (hT (N, H), cT (N, H)), cache).

    The input projection ``x @ Wx + b`` of all T steps is one matrix product
    before the loop; only ``h @ Wh`` has to wait for the previous step. Internal
    buffers are time-major (T, N, .) so each step reads a contiguous block.
    """
    xp = get_array_module(x=x, h0=h0, c0=c0, Wx=Wx, Wh=Wh, b=b, mask=mask)
    N, T, D, H = _check_sequence("lstm_forward", x, h0, c0, Wx, Wh, b, mask)
    if mask is not None:
        m = mask.T.astype(x.dtype)[:, :, None]          # (T, N, 1)

    x_tm = x.transpose(1, 0, 2).reshape(T * N, D)       # time-major copy
    gates = (x_tm @ Wx + b).reshape(T, N, 4 * H)        # a_t without h_{t-1} @ Wh yet
    hs = xp.empty((T, N, H), dtype=x.dtype)             # h_t after masking
    cs = xp.empty((T, N, H), dtype=x.dtype)             # c_t after masking
    tanh_cs = xp.empty((T, N, H), dtype=x.dtype)        # tanh of the cell's own c_t
    h, c = h0, c0
    for t in range(T):
        gates[t] += h @ Wh
        h_new, c_new, tanh_cs[t] = _cell_forward(gates[t], c)
        if mask is not None:  # padded rows keep their previous state
            real = m[t] > 0                              # (N, 1)
            h_new, c_new = xp.where(real, h_new, h), xp.where(real, c_new, c)
        hs[t], cs[t] = h_new, c_new
        h, c = hs[t], cs[t]

    cache = (x_tm, h0, c0, Wx, Wh, gates, hs, cs, tanh_cs, None if mask is None else m)
    return hs.transpose(1, 0, 2), (h, c), cache


def lstm_backward(dhs, dhT, dcT, cache):
    """Backpropagation through time for :func:`lstm_forward`.

    dhs (N, T, H): gradient of the loss w.r.t. every output h_t, or None when
    only the final state matters (an encoder: no loss reads its outputs);
    dhT, dcT (N, H) or None: gradient w.r.t. the final state (e.g. from a decoder).
    Returns (dx (N, T, D), dh0 (N, H), dc0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)).

    Walks t = T-1 ... 0 carrying dh and dc backwards; the weight gradients,
    summed over time, are then one matrix product each.
    """
    x_tm, h0, c0, Wx, Wh, gates, hs, cs, tanh_cs, m = cache
    T, N, H = hs.shape
    D = Wx.shape[0]
    xp = get_array_module(dhs=dhs, dhT=dhT, dcT=dcT, Wx=Wx)
    if dhs is not None:
        check_shape("lstm_backward", "dhs", dhs, (N, T, H), "(N, T, H)")
    dh_next = xp.zeros((N, H), dtype=hs.dtype) if dhT is None else dhT
    dc_next = xp.zeros((N, H), dtype=hs.dtype) if dcT is None else dcT
    dhs_tm = None if dhs is None else dhs.transpose(1, 0, 2)
    da = xp.empty_like(gates)                            # (T, N, 4H)
    for t in reversed(range(T)):
        dh = dh_next if dhs_tm is None else dhs_tm[t] + dh_next
        dc = dc_next
        c_prev = cs[t - 1] if t > 0 else c0
        if m is not None:  # a padded step passed its state through: route the gradient past the cell
            real = m[t] > 0
            dh_carry, dc_carry = xp.where(real, 0.0, dh), xp.where(real, 0.0, dc)
            dh, dc = xp.where(real, dh, 0.0), xp.where(real, dc, 0.0)
        da[t], dc_next = _cell_backward(dh, dc, gates[t], c_prev, tanh_cs[t])
        dh_next = da[t] @ Wh.T
        if m is not None:
            dh_next += dh_carry
            dc_next += dc_carry

    da2 = da.reshape(T * N, 4 * H)
    h_prevs = xp.concatenate([h0[None], hs[:-1]], axis=0).reshape(T * N, H)
    dWx = x_tm.T @ da2
    dWh = h_prevs.T @ da2
    db = da2.sum(axis=0)
    dx = (da2 @ Wx.T).reshape(T, N, D).transpose(1, 0, 2)
    return dx, dh_next, dc_next, dWx, dWh, db
