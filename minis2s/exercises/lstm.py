r"""Exercises: the LSTM's backward pass, for one step and through time.

The forward passes are given: :func:`minis2s.functional.lstm_step_forward` and
:func:`minis2s.functional.lstm_forward` (gate order i, f, g, o, as PyTorch's).
Copy a stub below, fill it in, and check it::

    from minis2s.exercises import check
    check("lstm_step_backward", my_lstm_step_backward)

The maths is in docs/derivations.md, section "LSTM".
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..gradcheck import numerical_gradient
from .checker import Case, Exercise

__all__ = ["lstm_step_backward", "lstm_backward", "EXERCISES"]


# --- the stubs: write these -------------------------------------------------

def lstm_step_backward(dh, dc, cache):
    """Backward of one LSTM step, :func:`minis2s.functional.lstm_step_forward`.

    dh, dc (N, H): the gradients flowing into the step's outputs h and c.
    cache = (x, h_prev, c_prev, Wx, Wh, gates, tanh_c), as the forward made it:

        x       (N, D)    the input
        h_prev  (N, H)    the previous hidden state
        c_prev  (N, H)    the previous cell state
        Wx      (D, 4H)   input weights, gate blocks [i | f | g | o]
        Wh      (H, 4H)   recurrent weights, same blocks
        gates   (N, 4H)   the *activated* gates [i | f | g | o]: sigmoid(a) for
                          i, f, o and tanh(a) for g (not the pre-activations a)
        tanh_c  (N, H)    tanh of the new cell state c

    Returns (dx (N, D), dh_prev (N, H), dc_prev (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)).
    """
    raise NotImplementedError(
        "lstm_step_backward is yours to write. Hint: split gates into i, f, g, o "
        "(H columns each); the gradient reaching c is dc_total = dc + dh * o * (1 - tanh_c**2); "
        "from it get da (N, 4H), the gradient of the pre-activations a = x @ Wx + h_prev @ Wh + b; "
        "then dx, dh_prev, dWx, dWh and db are one line each, and dc_prev = dc_total * f.")


def lstm_backward(dhs, dhT, dcT, cache):
    """Backpropagation through time for :func:`minis2s.functional.lstm_forward`, with a mask.

    dhs (N, T, H): the gradient flowing into every output h_t (batch first, like hs).
    dhT, dcT (N, H): the gradient flowing into the final state (hT, cT).
    cache = (x_tm, h0, c0, Wx, Wh, gates, hs, cs, tanh_cs, m), as the forward made it.
    Its buffers are *time-major*, (T, N, ...), so ``gates[t]`` is step t for the batch:

        x_tm     (T*N, D)    the inputs, time-major and flattened:
                             x_tm.reshape(T, N, D)[t] is x[:, t]
        h0, c0   (N, H)      the initial state
        Wx (D, 4H), Wh (H, 4H)
        gates    (T, N, 4H)  the activated gates [i | f | g | o] of every step
        hs, cs   (T, N, H)   h_t and c_t *after* masking; so the state a step read
                             is hs[t-1], cs[t-1] (h0, c0 at t = 0)
        tanh_cs  (T, N, H)   tanh of the cell's own new c_t (before masking)
        m        (T, N, 1)   the mask as floats, 1 = real token, 0 = padding

    The forward masks each step: with (h_cell, c_cell) what the cell computed,

        h_t = m_t * h_cell + (1 - m_t) * h_{t-1}      (the same for c_t)

    so a padded step passes its state through untouched.

    Returns (dx (N, T, D), dh0 (N, H), dc0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)).
    """
    raise NotImplementedError(
        "lstm_backward is yours to write. Hint: walk t = T-1, ..., 0 carrying dh_next and "
        "dc_next (start them at dhT, dcT). At step t, dh = dhs[:, t] + dh_next and dc = dc_next; "
        "the cell only sees m[t] * dh and m[t] * dc, and (1 - m[t]) * dh, (1 - m[t]) * dc go "
        "straight back to step t-1. Sum dWx, dWh, db over the steps.")


# --- the cases: random problems and their numerical gradients -----------------

def _randn(rng, *shape, scale=1.0):
    return rng.standard_normal(shape) * scale


def _step_case(rng) -> Case:
    N, D, H = 3, 5, 4
    inputs = dict(x=_randn(rng, N, D), h_prev=_randn(rng, N, H), c_prev=_randn(rng, N, H),
                  Wx=_randn(rng, D, 4 * H, scale=0.5), Wh=_randn(rng, H, 4 * H, scale=0.5),
                  b=_randn(rng, 4 * H, scale=0.5))
    _, _, cache = F.lstm_step_forward(**inputs)
    dh, dc = _randn(rng, N, H), _randn(rng, N, H)
    num = numerical_gradient(lambda **a: F.lstm_step_forward(**a)[:2], inputs, [dh, dc])
    return Case(args=(dh, dc, cache), oracle={"d" + k: g for k, g in num.items()},
                sizes=f"N={N}, D={D}, H={H}")


def _sequence_case(rng) -> Case:
    N, T, D, H = 3, 6, 5, 4
    inputs = dict(x=_randn(rng, N, T, D), h0=_randn(rng, N, H), c0=_randn(rng, N, H),
                  Wx=_randn(rng, D, 4 * H, scale=0.5), Wh=_randn(rng, H, 4 * H, scale=0.5),
                  b=_randn(rng, 4 * H, scale=0.5))
    lengths = rng.permutation([T, T - 2, 1])               # one full row, two padded ones
    mask = np.arange(T)[None, :] < lengths[:, None]        # (N, T) bool, right-padded

    def forward(**a):
        hs, (hT, cT), _ = F.lstm_forward(mask=mask, **a)
        return hs, hT, cT

    _, _, cache = F.lstm_forward(mask=mask, **inputs)
    dhs, dhT, dcT = _randn(rng, N, T, H), _randn(rng, N, H), _randn(rng, N, H)
    num = numerical_gradient(forward, inputs, [dhs, dhT, dcT])
    return Case(args=(dhs, dhT, dcT, cache), oracle={"d" + k: g for k, g in num.items()},
                sizes=f"N={N}, T={T}, D={D}, H={H}, lengths={lengths.tolist()}")


EXERCISES = [
    Exercise(
        name="lstm_step_backward",
        signature="lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dWx, dWh, db)",
        outputs={"dx": "(N, D)", "dh_prev": "(N, H)", "dc_prev": "(N, H)",
                 "dWx": "(D, 4H)", "dWh": "(H, 4H)", "db": "(4H,)"},
        make_case=_step_case, stub=lstm_step_backward,
        oracle="the numerical gradient of lstm_step_forward"),
    Exercise(
        name="lstm_backward",
        signature="lstm_backward(dhs, dhT, dcT, cache) -> (dx, dh0, dc0, dWx, dWh, db)",
        outputs={"dx": "(N, T, D)", "dh0": "(N, H)", "dc0": "(N, H)",
                 "dWx": "(D, 4H)", "dWh": "(H, 4H)", "db": "(4H,)"},
        make_case=_sequence_case, stub=lstm_backward,
        oracle="the numerical gradient of lstm_forward (masked)"),
]
