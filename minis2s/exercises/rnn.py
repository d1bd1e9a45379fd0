r"""Exercises 3-4: the vanilla RNN -- one step backward, then backpropagation through time.

These are minis2s's own functions, :func:`minis2s.functional.rnn_step_backward` and
:func:`minis2s.functional.rnn_backward`: the stubs below have their signatures, and the
caches you receive are the engine's named tuples, made by the engine's own forward passes
(:func:`minis2s.functional.rnn_step_forward`, :func:`minis2s.functional.rnn_forward`)::

    a_x = x_t @ Wx + b                     the input projection (all steps at once)
    h_t = tanh(a_x + h_{t-1} @ Wh)         one step

A cache is a named tuple: read its fields by name (``cache.h``) or unpack it
(``h_prev, Wh, h = cache``). Check your functions with ``check("rnn_step_backward", fn)``
and ``check("rnn_backward", fn)``. Maths: docs/derivations.md, "The vanilla RNN".
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..gradcheck import numerical_gradient
from . import _cases
from .checker import Case, Exercise

__all__ = ["rnn_step_backward", "rnn_backward", "EXERCISES"]


def rnn_step_backward(dh, cache):
    """Backward of one RNN step, ``h = tanh(a_x + h_prev @ Wh)``.

    dh (N, H): the gradient flowing into the step's output h.
    cache: the step's ``RNNStepCache(h_prev (N, H), Wh (H, H), h (N, H))``.
    Returns (da (N, H): the gradient of the pre-activation, and so of a_x; dh_prev (N, H)).
    """
    raise NotImplementedError


def rnn_backward(dhs, dhT, cache):
    """Backpropagation through time over a padded batch, for ``rnn_forward``.

    dhs (N, T, H): the gradient flowing into every output h_t (from the loss at step t);
    dhT (N, H): the gradient flowing into the final state.
    cache: ``RNNCache(proj, h0, Wh, steps, hs, mask)``: proj = LinearCache(x_rows (T*N, D):
    the inputs as time-major rows (row t*N + n is x[n, t]), x_shape, W = Wx (D, H));
    h0 (N, H); Wh (H, H); steps: the T step caches (see rnn_step_backward); hs (T, N, H):
    every step's h, time-major; mask (N, T), 1 = real token, 0 = padding. A padded step
    keeps its state: ``h_t = h_cell`` where real, ``h_{t-1}`` where padded.
    Returns (dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,)).
    You may call your own rnn_step_backward.
    """
    raise NotImplementedError


STEP_HINTS = (
    """
    Two stages: back through tanh, then back through the sum a = a_x + h_prev Wh. A sum passes
    its gradient unchanged to each term; a product with a matrix sends it back through the
    transposed matrix.
    """,
    """
    da (N, H) is the gradient of the pre-activation, and so of a_x. dh_prev (N, H) is da times
    something (H, H) transposed. The weight gradients are not this function's: the sequence's
    backward forms them once, from every step's da.
    """,
    """
    First turn dh into the gradient of the pre-activation a: multiply by the derivative of tanh,
    which you can write with the output h the cache holds (no need to recompute a). a_x was added
    as it is, so its gradient is that same da. h_prev reached a through the product with Wh, so
    its gradient is da times the transpose of Wh.
    """,
)

BPTT_HINTS = (
    """
    Walk the steps backwards. h_t is used twice: by the loss at step t and by step t+1, so its
    gradient is the sum of both. A padded step copied its state, so its gradient skips the cell.
    The weights are shared by all steps, so their gradients add up.
    """,
    """
    Carry dh_next (N, H), the gradient reaching h_t from step t+1; it starts at dhT. At step t the
    step backward receives dhs[:, t] + dh_next (N, H) on the real rows (zero on the padded ones)
    and returns da_t (N, H). Stacked time-major, the da_t are (T*N, H) rows, like proj.x_rows
    (T*N, D) and the h_prev of every step (T*N, H): dWx (D, H), dWh (H, H), db (H,) are one
    product or sum each. dx is (N, T, D): mind the time-major order.
    """,
    """
    Go backwards in time with one running gradient, the one reaching h_t from step t+1 (dhT after
    the last step). At each step, add what the loss sends to h_t (that step's slice of dhs) to the
    running gradient; on real rows send it through the step backward with that step's cache, on
    padded rows pass it on to step t-1 untouched, beside what the step backward returns for
    h_prev. Keep every step's da. The weights were shared, so their gradients are sums over the
    steps: with the steps' rows stacked in time-major order, the input weight's gradient pairs the
    projection's input rows with the da rows, the recurrent weight's pairs each step's h_prev (h0,
    then the stored hs but the last) with them, and the bias sums them. dx comes from the da rows
    through the transposed input weight, put back into (N, T, D); what is left running after step
    0 is dh0.
    """,
)


def _step_case(rng) -> Case:
    s = _cases.sizes(rng, "NH")
    N, H = s["N"], s["H"]
    Wh = _cases.randn(rng, H, H, scale=0.5)
    inputs = {"a_x": _cases.randn(rng, N, H), "h_prev": _cases.randn(rng, N, H)}
    _, cache = F.rnn_step_forward(Wh=Wh, **inputs)
    dh = _cases.randn(rng, N, H)
    num = numerical_gradient(lambda **k: F.rnn_step_forward(Wh=Wh, **k)[0], inputs, dh)
    return Case(args=(dh, cache), oracle={"da": num["a_x"], "dh_prev": num["h_prev"]},
                sizes=_cases.spell(s))


def _large_step_case(rng) -> Case:
    """Realistic sizes (H in the hundreds): checked along random directions."""
    N, H = int(rng.integers(40, 56)), int(rng.integers(480, 512))
    Wh = _cases.randn(rng, H, H, scale=0.05)
    inputs = {"a_x": _cases.randn(rng, N, H), "h_prev": _cases.randn(rng, N, H)}
    _, cache = F.rnn_step_forward(Wh=Wh, **inputs)
    dh = _cases.randn(rng, N, H)
    dirs = _cases.directional_oracle(lambda **k: F.rnn_step_forward(Wh=Wh, **k)[0], inputs, dh, rng)
    return Case(args=(dh, cache), oracle={"da": None, "dh_prev": None},
                sizes=f"large: N={N}, H={H}",
                directional={"da": dirs["a_x"], "dh_prev": dirs["h_prev"]})


def _mask(rng, N, T):
    return np.arange(T)[None, :] < _cases.lengths(rng, N, T)[:, None]     # (N, T) bool


def _sequence_problem(rng, N, T, D, H, scale):
    """A padded batch, weights of ``scale`` (bias 0.5), the engine's cache, random upstream
    gradients and the forward pass they differentiate."""
    mask = _mask(rng, N, T)
    inputs = {"x": _cases.randn(rng, N, T, D), "h0": _cases.randn(rng, N, H),
              "Wx": _cases.randn(rng, D, H, scale=scale), "Wh": _cases.randn(rng, H, H, scale=scale),
              "b": _cases.randn(rng, H, scale=0.5)}
    _, _, cache = F.rnn_forward(mask=mask, **inputs)
    douts = [_cases.randn(rng, N, T, H), _cases.randn(rng, N, H)]
    return mask, inputs, cache, douts, lambda **k: F.rnn_forward(mask=mask, **k)[:2]


def _sequence_case(rng) -> Case:
    s = _cases.sizes(rng, "NTDH")
    mask, inputs, cache, douts, forward = _sequence_problem(rng, s["N"], s["T"], s["D"], s["H"], 0.5)
    num = numerical_gradient(forward, inputs, douts)
    a_x = inputs["x"] @ inputs["Wx"] + inputs["b"]                   # (N, T, H), for the stand-ins
    return Case(args=(*douts, cache), oracle={"d" + k: v for k, v in num.items()},
                sizes=f"{_cases.spell(s)}, lengths={mask.sum(axis=1).tolist()}",
                context={"mask": mask, "a_x": a_x})


def _large_sequence_case(rng) -> Case:
    """Realistic sizes (hundreds of thousands of inputs, padding included): checked along
    random directions."""
    N, T = int(rng.integers(30, 38)), int(rng.integers(30, 38))
    D, H = int(rng.integers(128, 160)), int(rng.integers(192, 224))
    mask, inputs, cache, douts, forward = _sequence_problem(rng, N, T, D, H, 0.1)
    dirs = _cases.directional_oracle(forward, inputs, douts, rng)
    return Case(args=(*douts, cache), oracle={"d" + k: None for k in inputs},
                sizes=f"large: N={N}, T={T}, D={D}, H={H}, {int((~mask).sum())} padded steps",
                directional={"d" + k: v for k, v in dirs.items()}, context={"mask": mask})


EXERCISES = [
    Exercise(
        name="rnn_step_backward",
        signature="rnn_step_backward(dh, cache) -> (da, dh_prev)",
        outputs={"da": "(N, H)", "dh_prev": "(N, H)"},
        make_case=_step_case, stub=rnn_step_backward, hints=STEP_HINTS, level=1, minutes=20,
        oracle="the numerical gradient of rnn_step_forward", make_large_case=_large_step_case),
    Exercise(
        name="rnn_backward",
        signature="rnn_backward(dhs, dhT, cache) -> (dx, dh0, dWx, dWh, db)",
        outputs={"dx": "(N, T, D)", "dh0": "(N, H)", "dWx": "(D, H)", "dWh": "(H, H)", "db": "(H,)"},
        make_case=_sequence_case, stub=rnn_backward, hints=BPTT_HINTS, level=2, minutes=35,
        oracle="the numerical gradient of rnn_forward (masked)", explain={"dx": "positions"},
        make_large_case=_large_sequence_case),
]
