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
    One pre-activation for the four gates together, from the input, the previous h and the bias.
    Cut it into four equal blocks of H columns, in the order i, f, g, o. i, f and o are sigmoids
    of their blocks (they are gates: between 0 and 1), g is a tanh (a candidate value). The new
    cell keeps the forget-gated old cell and adds the input-gated candidate; the new h is the
    output gate applied to the squashed new cell.
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
    Work backwards through the step in four stages. (1) The cell state c reaches the loss twice:
    directly, through dc from the next step, and through h = o tanh(c); the second path carries
    dh times o times the derivative of tanh at c (write it with tanh_c). Add the two: that total
    is the gradient of c for everything below. (2) c = f c_prev + i g and h = o tanh(c) are
    products: the gradient of one factor is the upstream gradient times the other factor -- that
    gives the gradients of i, f, g, o, and of c_prev through the forget gate. (3) Back through each
    gate's nonlinearity, written with the activated gate the cache holds (sigmoid: s(1 - s); tanh:
    1 - t squared), and put the four results side by side in the order i, f, g, o: the (N, 4H)
    pre-activation gradient. (4) From there the affine map is exactly the vanilla RNN's.
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
    The RNN's backward walk, with two running gradients (h and c) instead of one, and the mask.
    At step t, the gradient reaching h_t is its slice of dhs plus the running h gradient; the c
    gradient is the running c gradient. Split each by the mask of step t: the masked part (real
    rows) goes through the step backward with that step's cache; the unmasked part (padded rows)
    skips the cell and is passed on to step t-1 unchanged, added to what the step backward returns
    for h_prev and c_prev. Sum the weight gradients over the steps, fill dx step by step, and the
    running gradients left after step 0 are dh0 and dc0. dhT and dcT are where the running
    gradients start.
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


def _large_step_case(rng) -> Case:
    """Realistic sizes (H in the hundreds): checked along random directions."""
    N, D, H = int(rng.integers(32, 48)), int(rng.integers(144, 176)), int(rng.integers(144, 176))
    inputs = dict(x=_cases.randn(rng, N, D), h_prev=_cases.randn(rng, N, H),
                  c_prev=_cases.randn(rng, N, H), Wx=_cases.randn(rng, D, 4 * H, scale=0.1),
                  Wh=_cases.randn(rng, H, 4 * H, scale=0.1), b=_cases.randn(rng, 4 * H, scale=0.5))
    _, _, cache = given.lstm_step_forward(**inputs)
    dh, dc = _cases.randn(rng, N, H), _cases.randn(rng, N, H)
    dirs = _cases.directional_oracle(lambda **k: given.lstm_step_forward(**k)[:2], inputs,
                                     [dh, dc], rng)
    return Case(args=(dh, dc, cache), oracle={"d" + k: None for k in inputs},
                sizes=f"large: N={N}, D={D}, H={H}", directional={"d" + k: v for k, v in dirs.items()})


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
        explain={"dWx": "gates", "dWh": "gates", "db": "gates"}, make_large_case=_large_step_case),
    Exercise(
        name="lstm_backward",
        signature="lstm_backward(dhs, dhT, dcT, cache) -> (dx, dh0, dc0, dWx, dWh, db)",
        outputs={"dx": "(N, T, D)", "dh0": "(N, H)", "dc0": "(N, H)",
                 "dWx": "(D, 4H)", "dWh": "(H, 4H)", "db": "(4H,)"},
        make_case=_sequence_case, stub=lstm_backward, hints=BPTT_HINTS, level=3, minutes=45,
        oracle="the numerical gradient of lstm_forward (masked)",
        explain={"dx": "positions", "dWx": "gates", "dWh": "gates", "db": "gates"}),
]
