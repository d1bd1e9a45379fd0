r"""The GRU: one step, and a whole sequence as a loop over that step (backpropagation through time).

Shapes (batch first): N batch, T time steps, D input size, H hidden size.

The gated recurrent unit (Cho et al., 2014) has no cell state: one state h,
and two gates that decide how much of it to keep. This is **PyTorch's form**,
gate order **r, z, n**, so weights move to and from ``torch.nn.GRU`` by
transposes alone (its ``weight_ih_l0`` is our ``Wx.T``, ``weight_hh_l0`` is
``Wh.T``, ``bias_ih_l0`` is ``bx`` and ``bias_hh_l0`` is ``bh``).

Unlike the LSTM's, the two biases cannot be merged into one: the reset gate
multiplies the hidden part of the candidate *including its bias*. So a step
has an input part and a hidden part, each with its own bias::

    a_x = x @ Wx + bx                       (N, 3H)  the input projection: no h_prev in it
    a_h = h_prev @ Wh + bh                  (N, 3H)  the hidden projection

and a sequence computes ``a_x`` for all T steps as *one* matrix product before
the loop; the step takes ``a_x`` as its input. One step::

    r = sigmoid(a_x[:, 0H:1H] + a_h[:, 0H:1H])      reset gate
    z = sigmoid(a_x[:, 1H:2H] + a_h[:, 1H:2H])      update gate
    a_hn = a_h[:, 2H:3H]                            the hidden part of the candidate
    n = tanh   (a_x[:, 2H:3H] + r * a_hn)           candidate state
    h = (1 - z) * n + z * h_prev

.. EXERCISE gru_step_backward: begin
Backward of a step, given dh flowing into h from above and from the future
(derived in docs/derivations.md, "GRU")::

    d_n = dh * (1 - z)        d_z = dh * (h_prev - n)
    da_n = d_n * (1 - n**2)   d_r = da_n * a_hn
    da_r = d_r * r*(1-r)      da_z = d_z * z*(1-z)
    da_x = [da_r, da_z, da_n]               gradient of a_x
    da_h = [da_r, da_z, da_n * r]           gradient of a_h: the reset gate scales the n block
    dh_prev = dh * z + da_h @ Wh.T

.. EXERCISE gru_step_backward: end
h_prev reaches h twice: directly through ``z * h_prev`` (the GRU's gradient
highway, like the LSTM's cell state) and through the three gates via ``a_h``.

The weights were used at every step, so their gradients are sums over t; the
sequence backward forms them once, after the loop, as one matrix product (or sum) each::

    dWh = sum_t h_prev_t.T @ da_h_t      dbh = sum_t,n da_h
    dx, dWx, dbx = linear_backward(da_x, ...)

Masks: ``mask[n, t] = 1`` (or True) marks a real token, 0 padding. At a padded
step the state passes through unchanged, so a right-padded sequence ends in the
state of its last real token, exactly as in the LSTM.

These bodies hold the maths only: shapes and dtypes are checked where arrays
enter the engine (the layers, the models, the exercise checker).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..backend import get_array_module
from .linear import linear_backward, linear_forward
from .lstm import sigmoid

__all__ = ["GRUStepCache", "GRUCache", "gru_step_forward", "gru_step_backward",
           "gru_forward", "gru_backward"]


class GRUStepCache(NamedTuple):
    """What one step's backward needs, under the derivation's names.

    h_prev (N, H); Wh (H, 3H); the activated gates r, z, n (N, H); a_hn (N, H):
    ``h_prev @ Whn + bhn``, the part of the candidate the reset gate scales.
    """
    h_prev: Any
    Wh: Any
    r: Any
    z: Any
    n: Any
    a_hn: Any


class GRUCache(NamedTuple):
    """What a sequence's backward needs.

    proj: the input projection's cache (linear_forward); h0 (N, H); Wh (H, 3H);
    steps: T :class:`GRUStepCache`; hs (T, N, H): every step's h, time-major;
    mask (N, T) or None.
    """
    proj: Any
    h0: Any
    Wh: Any
    steps: list
    hs: Any
    mask: Any


# --- one step -------------------------------------------------------------------------

def gru_step_forward(a_x, h_prev, Wh, bh):
    """One GRU step.

    a_x (N, 3H): the input projection ``x @ Wx + bx``; h_prev (N, H); Wh (H, 3H); bh (3H,).
    Returns (h (N, H), cache: :class:`GRUStepCache`).
    """
    xp = get_array_module(a_x)
    H = h_prev.shape[1]
    a_h = h_prev @ Wh + bh
    r = sigmoid(a_x[:, 0 * H:1 * H] + a_h[:, 0 * H:1 * H])
    z = sigmoid(a_x[:, 1 * H:2 * H] + a_h[:, 1 * H:2 * H])
    a_hn = a_h[:, 2 * H:3 * H]
    n = xp.tanh(a_x[:, 2 * H:3 * H] + r * a_hn)
    h = (1.0 - z) * n + z * h_prev
    return h, GRUStepCache(h_prev, Wh, r, z, n, a_hn)


def gru_step_backward(dh, cache: GRUStepCache):
    """Backward of :func:`gru_step_forward`.

    dh (N, H): the gradient flowing into h.
    Returns (da_x (N, 3H): the gradient of a_x; dh_prev (N, H);
    da_h (N, 3H): the gradient of a_h = h_prev @ Wh + bh, from which the
    sequence forms dWh and dbh after the loop).
    """
    # EXERCISE gru_step_backward: begin
    h_prev, Wh, r, z, n, a_hn = cache
    xp = get_array_module(dh)
    # h = (1 - z) * n + z * h_prev: a blend of the candidate and the old state.
    d_n = dh * (1.0 - z)
    d_z = dh * (h_prev - n)
    # Back through each nonlinearity: tanh' = 1 - t^2, sigmoid' = s (1 - s).
    da_n = d_n * (1.0 - n ** 2)            # the candidate's whole pre-activation
    d_r = da_n * a_hn                      # r scales a_hn inside that pre-activation
    da_r = d_r * r * (1.0 - r)
    da_z = d_z * z * (1.0 - z)
    da_x = xp.concatenate([da_r, da_z, da_n], axis=1)
    # The hidden projection's n block reached the candidate through r * a_hn.
    da_h = xp.concatenate([da_r, da_z, da_n * r], axis=1)
    # h_prev reaches h directly (z * h_prev) and through a_h = h_prev @ Wh + bh.
    dh_prev = dh * z + da_h @ Wh.T
    return da_x, dh_prev, da_h
    # EXERCISE gru_step_backward: end


# --- a whole sequence: a loop over the step, then explicit BPTT -------------------------

def gru_forward(x, h0, Wx, Wh, bx, bh, mask=None):
    """Run the GRU over a sequence.

    x (N, T, D); h0 (N, H); Wx (D, 3H); Wh (H, 3H); bx, bh (3H,);
    mask (N, T) of 0/1 or bool, optional (1 = real token).
    Returns (hs (N, T, H), hT (N, H), cache: :class:`GRUCache`).
    """
    xp = get_array_module(x)
    N, T, D = x.shape
    # Time-major rows (t, n), so that step t reads one contiguous block of a_x.
    x_tm = x.transpose(1, 0, 2).reshape(T * N, D)
    a_x, proj = linear_forward(x_tm, Wx, bx)         # all T input projections: one GEMM
    a_x = a_x.reshape(T, N, -1)
    h = h0
    hs, steps = [], []
    for t in range(T):
        h_step, step = gru_step_forward(a_x[t], h, Wh, bh)
        if mask is not None:                         # padded rows keep their previous state
            real = mask[:, t, None] > 0              # (N, 1)
            h_step = xp.where(real, h_step, h)
        h = h_step
        hs.append(h)
        steps.append(step)
    hs = xp.stack(hs)                                # (T, N, H)
    return hs.transpose(1, 0, 2), h, GRUCache(proj, h0, Wh, steps, hs, mask)


def gru_backward(dhs, dhT, cache: GRUCache):
    """Backpropagation through time for :func:`gru_forward`.

    dhs (N, T, H): gradient of the loss w.r.t. every output h_t, or None when
    only the final state matters (an encoder whose outputs feed no loss);
    dhT (N, H) or None: gradient w.r.t. the final state (e.g. from a decoder).
    Returns (dx (N, T, D), dh0 (N, H), dWx (D, 3H), dWh (H, 3H), dbx (3H,), dbh (3H,)).
    """
    proj, h0, Wh, steps, hs, mask = cache
    xp = get_array_module(hs)
    T, N, H = hs.shape
    dh_next = xp.zeros((N, H), dtype=hs.dtype) if dhT is None else dhT
    da_xs, da_hs = [None] * T, [None] * T
    for t in reversed(range(T)):
        # h_t is read by the output at t and by step t+1.
        dh = dh_next if dhs is None else dhs[:, t] + dh_next
        if mask is None:
            da_xs[t], dh_next, da_hs[t] = gru_step_backward(dh, steps[t])
        else:
            # A padded step copied its state: its gradient skips the cell and goes
            # straight to step t-1; a real step's goes through the cell.
            real = mask[:, t, None] > 0
            da_xs[t], dh_prev, da_hs[t] = gru_step_backward(xp.where(real, dh, 0.0), steps[t])
            dh_next = dh_prev + xp.where(real, 0.0, dh)

    # Every step used the same weights, so their gradients are sums over t: with the
    # steps stacked time-major as rows, each sum is one matrix product (or one sum).
    da_h = xp.stack(da_hs).reshape(T * N, 3 * H)
    h_prevs = xp.concatenate([h0[None], hs[:-1]]).reshape(T * N, H)   # h_prev of every step
    dWh = h_prevs.T @ da_h
    dbh = da_h.sum(axis=0)
    da_x = xp.stack(da_xs).reshape(T * N, 3 * H)
    dx, dWx, dbx = linear_backward(da_x, proj)       # back through a_x = x @ Wx + bx
    dx = dx.reshape(T, N, -1).transpose(1, 0, 2)
    return dx, dh_next, dWx, dWh, dbx, dbh
