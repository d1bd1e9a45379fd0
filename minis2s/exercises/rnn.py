r"""Exercises 3-4: the vanilla RNN -- one step backward, then backpropagation through time.

The forward passes are given, :func:`minis2s.exercises.given.rnn_step_forward`
and :func:`minis2s.exercises.given.rnn_forward`::

    h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)

Check your functions with ``check("rnn_step_backward", fn)`` and
``check("rnn_backward", fn)``. Maths: docs/derivations.md, "The vanilla RNN".
"""
from __future__ import annotations

import numpy as np

from ..gradcheck import numerical_gradient
from . import _cases, given
from .checker import Case, Exercise

__all__ = ["rnn_step_backward", "rnn_backward", "EXERCISES"]


def rnn_step_backward(dh, cache):
    """Backward of one RNN step, :func:`minis2s.exercises.given.rnn_step_forward`.

    dh (N, H): the gradient flowing into the step's output h.
    cache: the dict the forward made, {"x" (N, D), "h_prev" (N, H), "Wx" (D, H),
    "Wh" (H, H), "h" (N, H)}.
    Returns (dx (N, D), dh_prev (N, H), dWx (D, H), dWh (H, H), db (H,)).
    """
    raise NotImplementedError


def rnn_backward(dhs, cache):
    """Backpropagation through time for :func:`minis2s.exercises.given.rnn_forward`.

    dhs (N, T, H): the gradient flowing into every output h_t (from the loss at step t).
    cache: {"steps": [the step cache of t = 0 .. T-1]} (see rnn_step_backward).
    Returns (dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,)).
    You may call your own rnn_step_backward.
    """
    raise NotImplementedError


STEP_HINTS = (
    """
    Two stages: back through tanh, then back through the affine map a = x Wx + h_prev Wh + b.
    An affine map's backward is matrix products with the transposed factors; the bias was
    added to every row of the batch.
    """,
    """
    da (N, H) is the gradient of the pre-activation. dx = da times something (D, H) transposed;
    dWx (D, H) is something (N, D) transposed times da; db (H,) sums over the batch axis.
    """,
    """
    First turn dh into the gradient of the pre-activation a: multiply by the derivative of tanh,
    which you can write with the output h the cache holds (no need to recompute a). Then a = x Wx
    + h_prev Wh + b is three affine pieces sharing that one gradient: the gradient of an input is
    da times the transpose of its weight; the gradient of a weight is the transpose of its input
    times da; b was added to every row, so its gradient sums da over the batch.
    """,
)

BPTT_HINTS = (
    """
    Walk the steps backwards. h_t is used twice: by the loss at step t and by step t+1, so its
    gradient is the sum of both. The weights are shared by all steps, so their gradients add up.
    """,
    """
    Carry dh_next (N, H), the gradient reaching h_t from step t+1; it starts at zero after the
    last step. At step t the step backward receives dhs[:, t] + dh_next (N, H). dx[:, t] is
    (N, D). dWx, dWh, db accumulate over t; dh0 is the dh_prev of step 0.
    """,
    """
    Go backwards in time with one running gradient, the one reaching h_t from step t+1 (zero after
    the last step). At each step the step backward receives the sum of what the loss sends to h_t
    (that step's slice of dhs) and that running gradient; what the step backward returns for h_prev
    becomes the running gradient for the step before. The weight gradients of all steps are summed;
    dx is filled in step by step; what is left running after step 0 is dh0.
    """,
)


def _weights(rng, D, H):
    return dict(Wx=_cases.randn(rng, D, H, scale=0.5), Wh=_cases.randn(rng, H, H, scale=0.5),
                b=_cases.randn(rng, H, scale=0.5))


def _step_case(rng) -> Case:
    s = _cases.sizes(rng, "NDH")
    N, D, H = s["N"], s["D"], s["H"]
    inputs = dict(x=_cases.randn(rng, N, D), h_prev=_cases.randn(rng, N, H), **_weights(rng, D, H))
    _, cache = given.rnn_step_forward(**inputs)
    dh = _cases.randn(rng, N, H)
    num = numerical_gradient(lambda **a: given.rnn_step_forward(**a)[0], inputs, dh)
    return Case(args=(dh, cache), oracle={"d" + k: g for k, g in num.items()}, sizes=_cases.spell(s))


def _large_step_case(rng) -> Case:
    """Realistic sizes (H in the hundreds): checked along random directions."""
    N, D, H = int(rng.integers(40, 56)), int(rng.integers(192, 224)), int(rng.integers(320, 352))
    inputs = dict(x=_cases.randn(rng, N, D), h_prev=_cases.randn(rng, N, H),
                  Wx=_cases.randn(rng, D, H, scale=0.1), Wh=_cases.randn(rng, H, H, scale=0.1),
                  b=_cases.randn(rng, H, scale=0.5))
    _, cache = given.rnn_step_forward(**inputs)
    dh = _cases.randn(rng, N, H)
    dirs = _cases.directional_oracle(lambda **a: given.rnn_step_forward(**a)[0], inputs, dh, rng)
    return Case(args=(dh, cache), oracle={"d" + k: None for k in inputs},
                sizes=f"large: N={N}, D={D}, H={H}", directional={"d" + k: v for k, v in dirs.items()})


def _sequence_case(rng) -> Case:
    s = _cases.sizes(rng, "NTDH")
    N, T, D, H = s["N"], s["T"], s["D"], s["H"]
    inputs = dict(x=_cases.randn(rng, N, T, D), h0=_cases.randn(rng, N, H), **_weights(rng, D, H))
    _, cache = given.rnn_forward(**inputs)
    dhs = _cases.randn(rng, N, T, H)
    num = numerical_gradient(lambda **a: given.rnn_forward(**a)[0], inputs, dhs)
    return Case(args=(dhs, cache), oracle={"d" + k: g for k, g in num.items()}, sizes=_cases.spell(s),
                context={"b": inputs["b"]})


EXERCISES = [
    Exercise(
        name="rnn_step_backward",
        signature="rnn_step_backward(dh, cache) -> (dx, dh_prev, dWx, dWh, db)",
        outputs={"dx": "(N, D)", "dh_prev": "(N, H)", "dWx": "(D, H)", "dWh": "(H, H)", "db": "(H,)"},
        make_case=_step_case, stub=rnn_step_backward, hints=STEP_HINTS, level=1, minutes=20,
        oracle="the numerical gradient of rnn_step_forward", make_large_case=_large_step_case),
    Exercise(
        name="rnn_backward",
        signature="rnn_backward(dhs, cache) -> (dx, dh0, dWx, dWh, db)",
        outputs={"dx": "(N, T, D)", "dh0": "(N, H)", "dWx": "(D, H)", "dWh": "(H, H)", "db": "(H,)"},
        make_case=_sequence_case, stub=rnn_backward, hints=BPTT_HINTS, level=2, minutes=35,
        oracle="the numerical gradient of rnn_forward"),
]
