r"""Exercise 1: softmax cross-entropy over a vocabulary, with padding ignored.

The loss to implement (minis2s's own :func:`minis2s.functional.softmax_cross_entropy`)::

    p    = softmax(z) over the last axis                 logits z (N, T, V)
    loss = -(1 / M') * sum over real positions m of log p[m, y_m]

where the real positions are those whose target is not ``ignore_index`` (the
padding id) and M' is how many there are. Write the loss and its gradient and
check them with ``check("softmax_cross_entropy", my_fn)``. The oracle,
:func:`cross_entropy_loss` below, takes the log-probabilities from the engine's
:func:`minis2s.functional.log_softmax` (not an exercise, so no hole in a student edition).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..gradcheck import numerical_gradient
from . import _cases
from .checker import Case, Exercise

__all__ = ["softmax_cross_entropy", "cross_entropy_loss", "EXERCISES"]


def softmax_cross_entropy(logits, targets, ignore_index):
    """Mean cross-entropy over the real (non-padding) tokens, and its gradient.

    logits (N, T, V) float; targets (N, T) int in [0, V); ignore_index: the id
    whose positions count for nothing (neither in the sum nor in the count M').
    Returns (loss (a float or 0-d array), dlogits (N, T, V)).
    """
    raise NotImplementedError


def cross_entropy_loss(logits, targets, ignore_index):
    """The oracle's loss: the mean of -log p[target] over the positions whose target is not
    ``ignore_index``, from the engine's log_softmax. logits (N, T, V), targets (N, T) int.

    Returns a 0-d array. Its numerical gradient is the oracle of dlogits (and, in the grader,
    of the peeky decoder's loss, :mod:`minis2s.exercises.standins`).
    """
    counted = targets != ignore_index                            # (N, T) bool
    logp = F.log_softmax(logits)[counted]                        # (M', V)
    picked = logp[np.arange(logp.shape[0]), targets[counted]]    # (M',): log p[target]
    return np.asarray(-picked.sum() / max(int(counted.sum()), 1))


HINTS = (
    """
    The loss is an average of -log p[target] over the real positions only. Softmax and log
    combine into a gradient with a famously simple form; padding positions get no gradient,
    and the average divides by the number of real positions, not by N*T.
    """,
    """
    Flatten to rows: z (N*T, V), y (N*T,). p = softmax(z) is (N*T, V); the boolean
    real = y != ignore_index is (N*T,); M' = real.sum() is a number. dlogits has the shape of
    logits, (N, T, V): reshape back at the end. Subtract each row's max before exp.
    """,
    """
    Three stages, in this order. (1) Flatten the positions into rows and make each row's softmax
    safe: shifting a row by a constant leaves its softmax unchanged, so shift it so that its
    largest entry is zero before exponentiating -- the test cases have rows shifted by 600 to 1000.
    (2) The loss averages minus the log-probability of the target over the real rows only; M',
    the number of real rows, is both the divisor of the loss and of the gradient. (3) The gradient
    of one real row is the row's probabilities with 1 taken off at the target's column, divided by
    M'; a padding row contributes nothing at all, neither to the loss nor to M', and its gradient
    is zero. Reshape the gradient back to (N, T, V).
    """,
)


def _case(rng) -> Case:
    s = _cases.sizes(rng, "NTV", 2, 9)
    N, T, V = s["N"], s["T"], s["V"]
    pad = 0
    logits = rng.standard_normal((N, T, V)) * 2.0
    targets = rng.integers(1, V, size=(N, T))                  # real targets avoid the pad id ...
    lengths = _cases.lengths(rng, N, T)
    real = np.arange(T)[None, :] < lengths[:, None]
    targets[~real] = pad                                       # ... and rows are right-padded
    num = numerical_gradient(lambda logits: cross_entropy_loss(logits, targets, pad),
                             {"logits": logits}, np.ones(()))
    loss = cross_entropy_loss(logits, targets, pad)
    # Large logits: about half the positions (the first real one always) are shifted by a
    # constant of 600 to 1000. A softmax does not change when its row is shifted, so the
    # oracle, taken on the unshifted logits, is the answer -- but exp(700) overflows: only
    # a softmax that subtracts each row's maximum first gets these rows right.
    shift = np.where(rng.random((N, T, 1)) < 0.5, rng.uniform(600.0, 1000.0, (N, T, 1)), 0.0)
    first = np.argwhere(real)[0]
    shift[first[0], first[1], 0] = 900.0
    return Case(args=(logits + shift, targets, pad), oracle={"loss": loss, "dlogits": num["logits"]},
                sizes=f"{_cases.spell(s)}, ignore_index={pad}, real tokens={int(real.sum())}, "
                      f"{int((shift > 0).sum())} positions with logits shifted by 600-1000",
                context={"mask": real})


def _large_case(rng) -> Case:
    """Realistic sizes (about a million logits): checked along random directions."""
    N, T, V = int(rng.integers(28, 36)), int(rng.integers(18, 24)), int(rng.integers(1400, 1600))
    pad = 0
    logits = rng.standard_normal((N, T, V)) * 2.0
    targets = rng.integers(1, V, size=(N, T))
    real = np.arange(T)[None, :] < _cases.lengths(rng, N, T)[:, None]
    targets[~real] = pad
    loss = cross_entropy_loss(logits, targets, pad)
    dirs = _cases.directional_oracle(lambda logits: cross_entropy_loss(logits, targets, pad),
                                     {"logits": logits}, np.ones(()), rng)
    shift = np.where(rng.random((N, T, 1)) < 0.5, rng.uniform(600.0, 1000.0, (N, T, 1)), 0.0)
    return Case(args=(logits + shift, targets, pad), oracle={"loss": loss, "dlogits": None},
                sizes=f"large: N={N}, T={T}, V={V}, ignore_index={pad}, real tokens={int(real.sum())}",
                directional={"dlogits": dirs["logits"]}, context={"mask": real})


EXERCISES = [
    Exercise(
        name="softmax_cross_entropy",
        signature="softmax_cross_entropy(logits, targets, ignore_index) -> (loss, dlogits)",
        outputs={"loss": "()", "dlogits": "(N, T, V)"},
        make_case=_case, stub=softmax_cross_entropy, hints=HINTS, level=1, minutes=20,
        oracle="cross_entropy_loss and its numerical gradient", explain={"dlogits": "positions"},
        make_large_case=_large_case),
]
