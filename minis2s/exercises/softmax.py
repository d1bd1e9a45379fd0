r"""Exercise: softmax cross-entropy over a vocabulary, with padding ignored.

The loss to implement (the "forward pass", :func:`cross_entropy_loss` below)::

    p    = softmax(z) over the last axis                 logits z (N, T, V)
    loss = -(1 / M') * sum over real rows m of log p[m, y_m]

where the real rows are those whose target is not ``ignore_index`` (the
padding id) and M' is how many there are. Write both the loss and its gradient
and check them with ``check("softmax_cross_entropy", my_fn)``: the loss is
compared with :func:`cross_entropy_loss`, the gradient with its numerical
gradient. The maths is in docs/derivations.md, section "Softmax cross-entropy".
"""
from __future__ import annotations

import numpy as np

from ..functional import log_softmax
from ..gradcheck import numerical_gradient
from .checker import Case, Exercise

__all__ = ["softmax_cross_entropy", "cross_entropy_loss", "EXERCISES"]


def softmax_cross_entropy(logits, targets, ignore_index):
    """Mean cross-entropy over the real (non-padding) tokens, and its gradient.

    logits (N, T, V) float; targets (N, T) int in [0, V); ignore_index: the id
    whose rows count for nothing (neither in the sum nor in the count M').
    Returns (loss (a float or 0-d array), dlogits (N, T, V)).
    """
    raise NotImplementedError(
        "softmax_cross_entropy is yours to write. Hint: subtract each row's max before exp "
        "(it changes nothing but overflow); on a real row the gradient is (p - onehot(y)) / M', "
        "on an ignored row it is 0, and M' counts only the real rows.")


def cross_entropy_loss(logits, targets, ignore_index):
    """The loss (given): the mean of -log p[target] over the rows not equal to ignore_index."""
    V = logits.shape[-1]
    logp = log_softmax(logits.reshape(-1, V))
    y = targets.reshape(-1)
    real = y != ignore_index
    return np.asarray(-logp[real, y[real]].sum() / max(int(real.sum()), 1))


def _case(rng) -> Case:
    N, T, V, pad = 3, 4, 6, 0
    logits = rng.standard_normal((N, T, V)) * 2.0
    targets = rng.integers(1, V, size=(N, T))      # real targets avoid the pad id ...
    lengths = rng.permutation([T, T - 1, 2])
    targets[np.arange(T)[None, :] >= lengths[:, None]] = pad   # ... and rows are right-padded
    num = numerical_gradient(lambda logits: cross_entropy_loss(logits, targets, pad),
                             {"logits": logits}, np.ones(()))
    loss = cross_entropy_loss(logits, targets, pad)
    return Case(args=(logits, targets, pad), oracle={"loss": loss, "dlogits": num["logits"]},
                sizes=f"N={N}, T={T}, V={V}, ignore_index={pad}, real tokens={int((targets != pad).sum())}")


EXERCISES = [
    Exercise(
        name="softmax_cross_entropy",
        signature="softmax_cross_entropy(logits, targets, ignore_index) -> (loss, dlogits)",
        outputs={"loss": "()", "dlogits": "(N, T, V)"},
        make_case=_case, stub=softmax_cross_entropy,
        oracle="cross_entropy_loss and its numerical gradient"),
]
