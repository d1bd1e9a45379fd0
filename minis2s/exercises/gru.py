r"""Exercise 18: the GRU -- one step backward.

This is minis2s's own function, :func:`minis2s.functional.gru_step_backward`: the stub below has
its signature, and the cache you receive is the engine's named tuple, made by the engine's own
forward pass (:func:`minis2s.functional.gru_step_forward`). PyTorch's form, gate order r, z, n::

    a_x = x @ Wx + bx                       (N, 3H)  the input projection (all steps at once)
    a_h = h_prev @ Wh + bh                  (N, 3H)  the hidden projection
    r = sigmoid(a_x[:, 0H:1H] + a_h[:, 0H:1H])      reset gate
    z = sigmoid(a_x[:, 1H:2H] + a_h[:, 1H:2H])      update gate
    a_hn = a_h[:, 2H:3H]
    n = tanh   (a_x[:, 2H:3H] + r * a_hn)           candidate state
    h = (1 - z) * n + z * h_prev

A cache is a named tuple: read its fields by name (``cache.a_hn``) or unpack it
(``h_prev, Wh, r, z, n, a_hn = cache``). Check your function with
``check("gru_step_backward", fn)``. Maths: docs/derivations.md, section "GRU".
"""
from __future__ import annotations

from .. import functional as F
from ..gradcheck import numerical_gradient
from . import _cases
from .checker import Case, Exercise

__all__ = ["gru_step_backward", "EXERCISES"]


def gru_step_backward(dh, cache):
    """Backward of one GRU step (the equations of the module docstring).

    dh (N, H): the gradient flowing into the step's output h.
    cache: the step's ``GRUStepCache(h_prev, Wh, r, z, n, a_hn)``: h_prev (N, H), Wh (H, 3H);
    r, z, n (N, H): the *activated* gates and candidate (not the pre-activations); a_hn (N, H):
    the n block of the hidden projection, ``h_prev @ Wh[:, 2H:3H] + bh[2H:3H]``.
    Returns (da_x (N, 3H): the gradient of a_x; dh_prev (N, H); da_h (N, 3H): the gradient of
    a_h = h_prev @ Wh + bh, from which the sequence's backward forms dWh and dbh).
    """
    raise NotImplementedError


STEP_HINTS = (
    """
    h is a blend of the candidate n and the old state h_prev, weighted by the update gate z: a
    product rule gives the gradients of n and z. Then back through each nonlinearity, as in the
    LSTM. The reset gate multiplies only the hidden part of the candidate, so the two projections
    a_x and a_h get the same gradient in the r and z blocks but not in the n block. h_prev reaches
    h twice: directly through the blend, and through a_h.
    """,
    """
    The gradients of n and z are (N, H) each; so are those of their pre-activations and of r.
    da_x and da_h are (N, 3H): three blocks of H columns side by side, in the order r, z, n.
    dh_prev (N, H) adds the direct path to the path through a_h and the transpose of Wh (3H, H).
    The weight gradients are not this function's: the sequence's backward forms them.
    """,
    """
    Work backwards in four stages. (1) The blend: the gradient of the candidate is dh times the
    share the blend gives it (one minus the update gate); the gradient of the update gate is dh
    times the difference between the old state and the candidate. (2) Back through the
    candidate's tanh, written with the activated candidate the cache holds (one minus its
    square): that is the gradient of the candidate's whole pre-activation, the n block of da_x.
    Inside that pre-activation the reset gate multiplies a_hn, so the reset gate's gradient is
    the n block's gradient times a_hn, and the n block of da_h is the n block's gradient times
    the reset gate. (3) Back through the two sigmoids (s times one minus s, with the activated
    gates): those are the r and z blocks, the same in da_x and in da_h. (4) h_prev: the direct
    path gives dh times the update gate; the hidden projection gives da_h through the transpose
    of Wh. Add the two.
    """,
)


def _forward(Wh):
    # bh is given one row per example, (N, 3H): the gradient of that per-row bias is exactly
    # the gradient of a_h = h_prev @ Wh + bh, row by row -- from the engine's own forward pass.
    return lambda **k: F.gru_step_forward(Wh=Wh, **k)[0]


def _step_case(rng) -> Case:
    s = _cases.sizes(rng, "NH")
    N, H = s["N"], s["H"]
    Wh = _cases.randn(rng, H, 3 * H, scale=0.5)
    inputs = {"a_x": _cases.randn(rng, N, 3 * H), "h_prev": _cases.randn(rng, N, H),
              "bh": _cases.randn(rng, N, 3 * H, scale=0.5)}
    _, cache = F.gru_step_forward(Wh=Wh, **inputs)
    dh = _cases.randn(rng, N, H)
    num = numerical_gradient(_forward(Wh), inputs, dh)
    return Case(args=(dh, cache), oracle={"da_x": num["a_x"], "dh_prev": num["h_prev"],
                                          "da_h": num["bh"]}, sizes=_cases.spell(s))


def _large_step_case(rng) -> Case:
    """Realistic sizes (H in the hundreds): checked along random directions."""
    N, H = int(rng.integers(32, 48)), int(rng.integers(256, 288))
    Wh = _cases.randn(rng, H, 3 * H, scale=0.05)
    inputs = {"a_x": _cases.randn(rng, N, 3 * H), "h_prev": _cases.randn(rng, N, H),
              "bh": _cases.randn(rng, N, 3 * H, scale=0.5)}
    _, cache = F.gru_step_forward(Wh=Wh, **inputs)
    dh = _cases.randn(rng, N, H)
    dirs = _cases.directional_oracle(_forward(Wh), inputs, dh, rng)
    return Case(args=(dh, cache), oracle={"da_x": None, "dh_prev": None, "da_h": None},
                sizes=f"large: N={N}, H={H}",
                directional={"da_x": dirs["a_x"], "dh_prev": dirs["h_prev"], "da_h": dirs["bh"]})


EXERCISES = [
    Exercise(
        name="gru_step_backward",
        signature="gru_step_backward(dh, cache) -> (da_x, dh_prev, da_h)",
        outputs={"da_x": "(N, 3H)", "dh_prev": "(N, H)", "da_h": "(N, 3H)"},
        make_case=_step_case, stub=gru_step_backward, hints=STEP_HINTS, level=2, minutes=35,
        oracle="the numerical gradient of gru_step_forward", make_large_case=_large_step_case),
]
