r"""Exercises 5-7: the LSTM -- one step forward, one step backward, masked BPTT.

Gate order i, f, g, o (PyTorch's, as in minis2s)::

    a = x @ Wx + h_prev @ Wh + b            (N, 4H)  pre-activations
    i = sigmoid(a[:, 0H:1H])   f = sigmoid(a[:, 1H:2H])
    g = tanh   (a[:, 2H:3H])   o = sigmoid(a[:, 3H:4H])
    c = f * c_prev + i * g
    h = o * tanh(c)

The given forward passes, :func:`minis2s.exercises.given.lstm_step_forward` and
:func:`minis2s.exercises.given.lstm_forward`, make the caches you receive.
Maths: docs/derivations.md, section "LSTM".
"""
from __future__ import annotations

import numpy as np

from ..gradcheck import numerical_gradient
from . import _cases, given
from .checker import Case, Exercise

__all__ = ["lstm_step_forward", "lstm_step_backward", "lstm_backward", "EXERCISES"]


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step (the equations of the module docstring).

    x (N, D), h_prev (N, H), c_prev (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns (h (N, H), c (N, H)). (No cache here: only h and c are checked.)
    """
    raise NotImplementedError


def lstm_step_backward(dh, dc, cache):
    """Backward of one LSTM step, :func:`minis2s.exercises.given.lstm_step_forward`.

    dh, dc (N, H): the gradients flowing into the step's outputs h and c.
    cache: the dict the forward made, keyed by the symbols of docs/derivations.md:

        x (N, D), h_prev (N, H), c_prev (N, H), Wx (D, 4H), Wh (H, 4H),
        i, f, g, o (N, H) each: the *activated* gates (not the pre-activations),
        c (N, H): the new cell state, tanh_c (N, H): tanh(c).

    Returns (dx (N, D), dh_prev (N, H), dc_prev (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)).
    """
    raise NotImplementedError


def lstm_backward(dhs, dhT, dcT, cache):
    """BPTT over a padded batch, for :func:`minis2s.exercises.given.lstm_forward`.

    dhs (N, T, H): the gradient flowing into every output h_t.
    dhT, dcT (N, H): the gradient flowing into the final state (hT, cT).
    cache: {"steps": [the lstm_step_forward cache of step t], "m": (N, T) float mask,
    1 = real token, 0 = padding}. The forward masks each step:

        h_t = m_t * h_cell + (1 - m_t) * h_{t-1}        (the same for c_t)

    so a padded step passes its state through untouched.
    Returns (dx (N, T, D), dh0 (N, H), dc0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)).
    You may call your own lstm_step_backward.
    """
    raise NotImplementedError


FORWARD_HINTS = (
    """
    One matrix product gives all four gates' pre-activations at once; slice it into four
    blocks of H columns, apply the right nonlinearity to each, then update c, then h.
    """,
    """
    a is (N, 4H); each of i, f, g, o is (N, H), the blocks a[:, k*H:(k+1)*H] for k = 0..3 in the
    order i, f, g, o. c and h are (N, H).
    """,
    """
    i, f, o = sigmoid of their blocks; g = tanh of its block;
    c = f * c_prev + i * g;   h = o * tanh(c)
    """,
)

STEP_HINTS = (
    """
    c reaches the loss two ways: directly (dc, from the next step) and through h = o tanh(c).
    Add both first. Then each gate's gradient is a product rule, then back through each gate's
    nonlinearity, and the affine map a = x Wx + h_prev Wh + b as in the RNN.
    """,
    """
    dc_total (N, H) is the whole gradient reaching c. di, df, dg, do are (N, H) each; da is
    (N, 4H), the four blocks side by side in the order i, f, g, o. dx (N, D), dh_prev (N, H),
    dWx (D, 4H), dWh (H, 4H), db (4H,) come from da as in the RNN. dc_prev is (N, H).
    """,
    """
    dc_total = dc + dh * o * (1 - tanh_c**2)
    di = dc_total * g      df = dc_total * c_prev      dg = dc_total * i      do = dh * tanh_c
    da = [di*i*(1-i), df*f*(1-f), dg*(1-g**2), do*o*(1-o)]      dc_prev = dc_total * f
    dx = da @ Wx.T   dh_prev = da @ Wh.T   dWx = x.T @ da   dWh = h_prev.T @ da   db = da.sum(0)
    """,
)

BPTT_HINTS = (
    """
    As for the RNN, walk backwards carrying the gradients of the state, now two of them (h
    and c). The mask blends the cell's new state with the old one: a blend's gradient splits
    in the same proportions, and the part on padded rows skips the cell altogether.
    """,
    """
    Carry dh_next, dc_next (N, H), starting at dhT, dcT. At step t: dh = dhs[:, t] + dh_next
    (N, H), dc = dc_next; keep = m[:, t:t+1] (N, 1). The cell receives keep*dh and keep*dc;
    (1 - keep)*dh and (1 - keep)*dc go straight to step t-1.
    """,
    """
    for t = T-1 .. 0:
        dh = dhs[:, t] + dh_next;  dc = dc_next;  keep = m[:, t:t+1]
        dx_t, dh_p, dc_p, dWx_t, dWh_t, db_t = lstm_step_backward(keep*dh, keep*dc, steps[t])
        dh_next = dh_p + (1 - keep) * dh;   dc_next = dc_p + (1 - keep) * dc
        accumulate dWx, dWh, db;  dx[:, t] = dx_t
    dh0, dc0 = dh_next, dc_next
    """,
)


def _inputs(rng, N, D, H, T=None):
    x = _cases.randn(rng, N, D) if T is None else _cases.randn(rng, N, T, D)
    return dict(x=x, h=_cases.randn(rng, N, H), c=_cases.randn(rng, N, H),
                Wx=_cases.randn(rng, D, 4 * H, scale=0.5), Wh=_cases.randn(rng, H, 4 * H, scale=0.5),
                b=_cases.randn(rng, 4 * H, scale=0.5))


def _forward_case(rng) -> Case:
    s = _cases.sizes(rng, "NDH")
    a = _inputs(rng, s["N"], s["D"], s["H"])
    args = (a["x"], a["h"], a["c"], a["Wx"], a["Wh"], a["b"])
    h, c, _ = given.lstm_step_forward(*args)
    return Case(args=args, oracle={"h": h, "c": c}, sizes=_cases.spell(s))


def _step_case(rng) -> Case:
    s = _cases.sizes(rng, "NDH")
    N, H = s["N"], s["H"]
    a = _inputs(rng, N, s["D"], H)
    inputs = dict(x=a["x"], h_prev=a["h"], c_prev=a["c"], Wx=a["Wx"], Wh=a["Wh"], b=a["b"])
    _, _, cache = given.lstm_step_forward(**inputs)
    dh, dc = _cases.randn(rng, N, H), _cases.randn(rng, N, H)
    num = numerical_gradient(lambda **k: given.lstm_step_forward(**k)[:2], inputs, [dh, dc])
    return Case(args=(dh, dc, cache), oracle={"d" + k: g for k, g in num.items()},
                sizes=_cases.spell(s))


def _sequence_case(rng) -> Case:
    s = _cases.sizes(rng, "NTDH")
    N, T, H = s["N"], s["T"], s["H"]
    a = _inputs(rng, N, s["D"], H, T=T)
    inputs = dict(x=a["x"], h0=a["h"], c0=a["c"], Wx=a["Wx"], Wh=a["Wh"], b=a["b"])
    lengths = _cases.lengths(rng, N, T)
    mask = np.arange(T)[None, :] < lengths[:, None]          # (N, T) bool, right-padded

    def forward(**k):
        hs, (hT, cT), _ = given.lstm_forward(mask=mask, **k)
        return hs, hT, cT

    _, _, cache = given.lstm_forward(mask=mask, **inputs)
    dhs, dhT, dcT = _cases.randn(rng, N, T, H), _cases.randn(rng, N, H), _cases.randn(rng, N, H)
    num = numerical_gradient(forward, inputs, [dhs, dhT, dcT])
    return Case(args=(dhs, dhT, dcT, cache), oracle={"d" + k: g for k, g in num.items()},
                sizes=f"{_cases.spell(s)}, lengths={lengths.tolist()}",
                context={"mask": mask, "b": inputs["b"]})


EXERCISES = [
    Exercise(
        name="lstm_step_forward",
        signature="lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b) -> (h, c)",
        outputs={"h": "(N, H)", "c": "(N, H)"},
        make_case=_forward_case, stub=lstm_step_forward, hints=FORWARD_HINTS, level=1, minutes=20,
        oracle="the given lstm_step_forward", tol=1e-12,
        forbidden_given=("lstm_step_forward", "lstm_forward", "decoder_step", "encode",
                         "peeky_decoder_forward")),
    Exercise(
        name="lstm_step_backward",
        signature="lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dWx, dWh, db)",
        outputs={"dx": "(N, D)", "dh_prev": "(N, H)", "dc_prev": "(N, H)",
                 "dWx": "(D, 4H)", "dWh": "(H, 4H)", "db": "(4H,)"},
        make_case=_step_case, stub=lstm_step_backward, hints=STEP_HINTS, level=2, minutes=45,
        oracle="the numerical gradient of lstm_step_forward",
        explain={"dWx": "gates", "dWh": "gates", "db": "gates"}),
    Exercise(
        name="lstm_backward",
        signature="lstm_backward(dhs, dhT, dcT, cache) -> (dx, dh0, dc0, dWx, dWh, db)",
        outputs={"dx": "(N, T, D)", "dh0": "(N, H)", "dc0": "(N, H)",
                 "dWx": "(D, 4H)", "dWh": "(H, 4H)", "db": "(4H,)"},
        make_case=_sequence_case, stub=lstm_backward, hints=BPTT_HINTS, level=3, minutes=45,
        oracle="the numerical gradient of lstm_forward (masked)",
        explain={"dx": "positions", "dWx": "gates", "dWh": "gates", "db": "gates"}),
]
