r"""Exercise: the peeky decoder's concatenation, and why its gradient is a sum.

The peeky decoder (:class:`minis2s.models.decoder.PeekyDecoder`) feeds the
context vector ``ctx`` -- the encoder's final top-layer h -- to *every* time step
by concatenating it to each step's input. The forward pass is given,
:func:`peeky_concat_forward`::

    out[:, t] = [e[:, t] ; ctx]        e (N, T, E), ctx (N, H) -> out (N, T, E + H)

Write the backward and check it with ``check("peeky_concat", my_fn)``. The
maths is in docs/derivations.md, section "The peeky decoder".
"""
from __future__ import annotations

import numpy as np

from ..gradcheck import numerical_gradient
from .checker import Case, Exercise

__all__ = ["peeky_concat_forward", "peeky_concat_backward", "EXERCISES"]


def peeky_concat_forward(e, ctx):
    """[e ; ctx] along the last axis, ctx repeated at every step: (N, T, E), (N, H) -> (N, T, E + H)."""
    N, T, _ = e.shape
    return np.concatenate([e, np.broadcast_to(ctx[:, None, :], (N, T, ctx.shape[1]))], axis=-1)


def peeky_concat_backward(dout, E):
    """Backward of :func:`peeky_concat_forward`.

    dout (N, T, E + H): the gradient flowing into the concatenation.
    E: the width of the embedding part (the first E columns).
    Returns (de (N, T, E), dctx (N, H)).
    """
    raise NotImplementedError(
        "peeky_concat_backward is yours to write. Hint: a concatenation's backward splits the "
        "gradient at column E; ctx was used at all T steps, so its gradient has one "
        "contribution per step -- and dctx must have the shape of ctx, (N, H).")


def _case(rng) -> Case:
    N, T, E, H = 3, 4, 5, 2
    inputs = {"e": rng.standard_normal((N, T, E)), "ctx": rng.standard_normal((N, H))}
    dout = rng.standard_normal((N, T, E + H))
    num = numerical_gradient(peeky_concat_forward, inputs, dout)
    return Case(args=(dout, E), oracle={"de": num["e"], "dctx": num["ctx"]},
                sizes=f"N={N}, T={T}, E={E}, H={H}")


EXERCISES = [
    Exercise(
        name="peeky_concat",
        signature="peeky_concat_backward(dout, E) -> (de, dctx)",
        outputs={"de": "(N, T, E)", "dctx": "(N, H)"},
        make_case=_case, stub=peeky_concat_backward,
        oracle="the numerical gradient of peeky_concat_forward"),
]
