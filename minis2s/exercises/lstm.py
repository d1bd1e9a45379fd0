r"""Exercises 5-7: the LSTM -- one step forward, one step backward, masked BPTT.

These are minis2s's own functions, :func:`minis2s.functional.lstm_step_forward`,
:func:`minis2s.functional.lstm_step_backward` and :func:`minis2s.functional.lstm_backward`:
the stubs below have their signatures, and the caches you receive are the engine's named
tuples, made by the engine's own forward passes. Gate order i, f, g, o (PyTorch's)::

    a_x = x @ Wx + b                        (N, 4H)  the input projection (all steps at once)
    a   = a_x + h_prev @ Wh                 (N, 4H)  pre-activations
    i = sigmoid(a[:, 0H:1H])   f = sigmoid(a[:, 1H:2H])
    g = tanh   (a[:, 2H:3H])   o = sigmoid(a[:, 3H:4H])
    c = f * c_prev + i * g
    h = o * tanh(c)

A cache is a named tuple: read its fields by name (``cache.tanh_c``) or unpack it.
Maths: docs/derivations.md, section "LSTM".
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..gradcheck import numerical_gradient
from . import _cases, stored
from .checker import Case, Exercise

__all__ = ["lstm_step_forward", "lstm_step_backward", "lstm_backward", "EXERCISES"]


def lstm_step_forward(a_x, h_prev, c_prev, Wh):
    """One LSTM step (the equations of the module docstring).

    a_x (N, 4H): the input projection x @ Wx + b; h_prev (N, H), c_prev (N, H), Wh (H, 4H).
    Returns (h (N, H), c (N, H)). (minis2s's own also returns its LSTMStepCache; only h and
    c are checked.)
    """
    raise NotImplementedError


def lstm_step_backward(dh, dc, cache):
    """Backward of one LSTM step.

    dh, dc (N, H): the gradients flowing into the step's outputs h and c.
    cache: the step's ``LSTMStepCache(h_prev, c_prev, Wh, i, f, g, o, c, tanh_c)``:
    h_prev, c_prev (N, H), Wh (H, 4H); i, f, g, o (N, H) each: the *activated* gates (not the
    pre-activations); c (N, H): the new cell state, tanh_c (N, H): tanh(c).
    Returns (da (N, 4H): the gradient of a, and so of a_x; dh_prev (N, H); dc_prev (N, H)).
    """
    raise NotImplementedError


def lstm_backward(dhs, dhT, dcT, cache):
    """BPTT over a padded batch, for ``lstm_forward``.

    dhs (N, T, H): the gradient flowing into every output h_t.
    dhT, dcT (N, H): the gradient flowing into the final state (hT, cT).
    cache: ``LSTMCache(proj, h0, Wh, steps, hs, mask)``: proj = LinearCache(x_rows (T*N, D):
    the inputs as time-major rows (row t*N + n is x[n, t]), x_shape, W = Wx (D, 4H));
    h0 (N, H); Wh (H, 4H); steps: the T step caches (see lstm_step_backward); hs (T, N, H):
    every step's h, time-major; mask (N, T), 1 = real token, 0 = padding, or None (all real).
    A padded step keeps its state: ``h_t = h_cell`` where real, ``h_{t-1}`` where padded (the
    same for c).
    Returns (dx (N, T, D), dh0 (N, H), dc0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)).
    You may call your own lstm_step_backward.
    """
    raise NotImplementedError


FORWARD_HINTS = (
    """
    One matrix product, added to the input projection, gives all four gates' pre-activations at
    once; slice it into four blocks of H columns, apply the right nonlinearity to each, then update
    c, then h.
    """,
    """
    a is (N, 4H); each of i, f, g, o is (N, H), the blocks a[:, k*H:(k+1)*H] for k = 0..3 in the
    order i, f, g, o. c and h are (N, H).
    """,
    """
    One pre-activation for the four gates together: the input projection plus the previous h
    through Wh.
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
    nonlinearity, and the sum a = a_x + h_prev Wh as in the RNN.
    """,
    """
    dc_total (N, H) is the whole gradient reaching c. di, df, dg, do are (N, H) each; da is
    (N, 4H), the four blocks side by side in the order i, f, g, o. dh_prev (N, H) comes from da
    as in the RNN. dc_prev is (N, H). The weight gradients are the sequence's backward's.
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
    pre-activation gradient: that is da. (4) From there the sum a = a_x + h_prev Wh is exactly
    the vanilla RNN's: h_prev's gradient goes back through the transpose of Wh.
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
    (N, H), dc = dc_next; real = mask[:, t] (N,). The cell receives dh and dc on the real rows
    (zero elsewhere); on the padded rows they go straight to step t-1. Each step gives da_t
    (N, 4H); stacked time-major they are (T*N, 4H) rows, like proj.x_rows (T*N, D).
    """,
    """
    The RNN's backward walk, with two running gradients (h and c) instead of one, and the mask.
    At step t, the gradient reaching h_t is its slice of dhs plus the running h gradient; the c
    gradient is the running c gradient. Split each by the mask of step t: the masked part (real
    rows) goes through the step backward with that step's cache; the unmasked part (padded rows)
    skips the cell and is passed on to step t-1 unchanged, added to what the step backward returns
    for h_prev and c_prev. Keep every step's da. The weights were shared, so their gradients sum
    over the steps: with the da rows stacked in time-major order, the input weight's gradient
    pairs the projection's input rows with them, the recurrent weight's pairs each step's h_prev
    (h0, then the stored hs but the last) with them, the bias sums them; dx comes from them
    through the transposed input weight, put back into (N, T, D). The running gradients left
    after step 0 are dh0 and dc0; dhT and dcT are where they start.
    """,
)


def _forward_case(rng) -> Case:
    s = _cases.sizes(rng, "NH")
    N, H = s["N"], s["H"]
    args = (_cases.randn(rng, N, 4 * H), _cases.randn(rng, N, H), _cases.randn(rng, N, H),
            _cases.randn(rng, H, 4 * H, scale=0.5))
    # the oracle: the engine's own step (stored answers in a student edition, where it is a hole)
    oracle = stored.oracle("lstm_step_forward", args,
                           lambda: dict(zip(("h", "c"), F.lstm_step_forward(*args)[:2])))
    return Case(args=args, oracle=oracle, sizes=_cases.spell(s))


def _step_case(rng) -> Case:
    s = _cases.sizes(rng, "NH")
    N, H = s["N"], s["H"]
    Wh = _cases.randn(rng, H, 4 * H, scale=0.5)
    inputs = {"a_x": _cases.randn(rng, N, 4 * H), "h_prev": _cases.randn(rng, N, H),
              "c_prev": _cases.randn(rng, N, H)}
    _, _, cache = F.lstm_step_forward(Wh=Wh, **inputs)
    dh, dc = _cases.randn(rng, N, H), _cases.randn(rng, N, H)
    num = numerical_gradient(lambda **k: F.lstm_step_forward(Wh=Wh, **k)[:2], inputs, [dh, dc])
    return Case(args=(dh, dc, cache), oracle={"da": num["a_x"], "dh_prev": num["h_prev"],
                                              "dc_prev": num["c_prev"]}, sizes=_cases.spell(s))


def _large_step_case(rng) -> Case:
    """Realistic sizes (H in the hundreds): checked along random directions."""
    N, H = int(rng.integers(32, 48)), int(rng.integers(256, 288))
    Wh = _cases.randn(rng, H, 4 * H, scale=0.05)
    inputs = {"a_x": _cases.randn(rng, N, 4 * H), "h_prev": _cases.randn(rng, N, H),
              "c_prev": _cases.randn(rng, N, H)}
    _, _, cache = F.lstm_step_forward(Wh=Wh, **inputs)
    dh, dc = _cases.randn(rng, N, H), _cases.randn(rng, N, H)
    dirs = _cases.directional_oracle(lambda **k: F.lstm_step_forward(Wh=Wh, **k)[:2], inputs,
                                     [dh, dc], rng)
    return Case(args=(dh, dc, cache), oracle={"da": None, "dh_prev": None, "dc_prev": None},
                sizes=f"large: N={N}, H={H}",
                directional={"da": dirs["a_x"], "dh_prev": dirs["h_prev"], "dc_prev": dirs["c_prev"]})


def _sequence_problem(rng, N, T, D, H, scale):
    """A padded batch (mask from random lengths), weights of ``scale`` (bias 0.5), the engine's
    cache, random upstream gradients and the forward pass they differentiate."""
    mask = np.arange(T)[None, :] < _cases.lengths(rng, N, T)[:, None]     # (N, T) bool
    inputs = {"x": _cases.randn(rng, N, T, D), "h0": _cases.randn(rng, N, H),
              "c0": _cases.randn(rng, N, H), "Wx": _cases.randn(rng, D, 4 * H, scale=scale),
              "Wh": _cases.randn(rng, H, 4 * H, scale=scale), "b": _cases.randn(rng, 4 * H, scale=0.5)}
    _, _, cache = F.lstm_forward(mask=mask, **inputs)
    douts = [_cases.randn(rng, N, T, H), _cases.randn(rng, N, H), _cases.randn(rng, N, H)]

    def forward(**k):
        hs, (hT, cT), _ = F.lstm_forward(mask=mask, **k)
        return hs, hT, cT
    return mask, inputs, cache, douts, forward


def _sequence_case(rng) -> Case:
    s = _cases.sizes(rng, "NTDH")
    mask, inputs, cache, douts, forward = _sequence_problem(rng, s["N"], s["T"], s["D"], s["H"], 0.5)
    num = numerical_gradient(forward, inputs, douts)
    a_x = inputs["x"] @ inputs["Wx"] + inputs["b"]                   # (N, T, 4H), for the stand-ins
    return Case(args=(*douts, cache), oracle={"d" + k: v for k, v in num.items()},
                sizes=f"{_cases.spell(s)}, lengths={mask.sum(axis=1).tolist()}",
                context={"mask": mask, "a_x": a_x})


def _large_sequence_case(rng) -> Case:
    """Realistic sizes (hundreds of thousands of inputs, padding included): checked along
    random directions."""
    N, T = int(rng.integers(24, 32)), int(rng.integers(20, 28))
    D, H = int(rng.integers(96, 128)), int(rng.integers(128, 160))
    mask, inputs, cache, douts, forward = _sequence_problem(rng, N, T, D, H, 0.1)
    dirs = _cases.directional_oracle(forward, inputs, douts, rng)
    return Case(args=(*douts, cache), oracle={"d" + k: None for k in inputs},
                sizes=f"large: N={N}, T={T}, D={D}, H={H}, {int((~mask).sum())} padded steps",
                directional={"d" + k: v for k, v in dirs.items()}, context={"mask": mask})


def h_and_c(out):
    """(h, c) of what a lstm_step_forward returned: the exercise asks for (h, c); the engine's own
    returns (h, c, cache), as notebook 01's answer does, and that is accepted too."""
    if isinstance(out, (tuple, list)) and len(out) == 3:
        return tuple(out[:2])
    return out


EXERCISES = [
    Exercise(
        name="lstm_step_forward",
        signature="lstm_step_forward(a_x, h_prev, c_prev, Wh) -> (h, c)",
        outputs={"h": "(N, H)", "c": "(N, H)"},
        make_case=_forward_case, stub=lstm_step_forward, hints=FORWARD_HINTS, level=1, minutes=20,
        oracle="minis2s.functional.lstm_step_forward", tol=1e-12, unpack=h_and_c),
    Exercise(
        name="lstm_step_backward",
        signature="lstm_step_backward(dh, dc, cache) -> (da, dh_prev, dc_prev)",
        outputs={"da": "(N, 4H)", "dh_prev": "(N, H)", "dc_prev": "(N, H)"},
        make_case=_step_case, stub=lstm_step_backward, hints=STEP_HINTS, level=2, minutes=45,
        oracle="the numerical gradient of lstm_step_forward",
        explain={"da": "gates"}, make_large_case=_large_step_case),
    Exercise(
        name="lstm_backward",
        signature="lstm_backward(dhs, dhT, dcT, cache) -> (dx, dh0, dc0, dWx, dWh, db)",
        outputs={"dx": "(N, T, D)", "dh0": "(N, H)", "dc0": "(N, H)",
                 "dWx": "(D, 4H)", "dWh": "(H, 4H)", "db": "(4H,)"},
        make_case=_sequence_case, stub=lstm_backward, hints=BPTT_HINTS, level=3, minutes=45,
        oracle="the numerical gradient of lstm_forward (masked)",
        explain={"dx": "positions", "dWx": "gates", "dWh": "gates", "db": "gates"},
        make_large_case=_large_sequence_case),
]
