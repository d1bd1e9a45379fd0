r"""Exercise 13: gradient clipping by global norm.

Exploding gradients (docs/derivations.md, "Vanishing and exploding gradients")
are tamed by rescaling *all* gradients together when their joint L2 norm is too
large -- the direction of the step is kept, only its length is capped. Checked
against ``torch.nn.utils.clip_grad_norm_`` (minis2s's own :func:`minis2s.optim.clip_grad_norm`
where torch is not installed: :mod:`minis2s.exercises.references`), to a relative error of 1e-12.
"""
from __future__ import annotations

import math

from . import _cases, stored
from .checker import Case, Exercise
from .references import CLIP, clip_reference

__all__ = ["clip_gradients", "EXERCISES"]


def clip_gradients(dWx, dWh, db, max_norm):
    """Clip three gradient arrays together by their global norm.

    dWx, dWh, db: arrays of any shapes; max_norm > 0.
    norm = sqrt(sum of the squares of every element of all three arrays).
    When norm > max_norm, each array is multiplied by max_norm / (norm + 1e-6)
    (the 1e-6, as in minis2s and PyTorch, guards against dividing by ~0);
    otherwise they are returned unchanged.
    Returns (dWx, dWh, db, norm), norm being the norm *before* clipping.
    """
    raise NotImplementedError


HINTS = (
    """
    Treat the three arrays as one long vector: compute its length, and if it is too long,
    shrink every element by the same factor, so the direction stays and the length becomes
    max_norm.
    """,
    """
    norm is one number (a float). The scale is one number too. The returned arrays have the
    shapes of the arrays given; only their values change, and only when norm > max_norm.
    """,
    """
    First the norm: the square root of the sum of the squares of every element of all three arrays
    together (not three norms). Then decide once: only if that norm exceeds max_norm, every array
    is multiplied by the same factor, max_norm divided by (norm plus the small 1e-6); otherwise
    the arrays come back as they are. Return the norm measured before any scaling.
    """,
)


def _case(rng) -> Case:
    s = _cases.sizes(rng, "DH", 2, 7)
    D, H = s["D"], s["H"]
    grads = {"dWx": _cases.randn(rng, D, 4 * H), "dWh": _cases.randn(rng, H, 4 * H),
             "db": _cases.randn(rng, 4 * H)}
    norm0 = math.sqrt(sum(float((g ** 2).sum()) for g in grads.values()))
    max_norm = float(norm0 * rng.choice([0.3, 0.7, 1.5]))       # some seeds clip, some do not
    args = (grads["dWx"], grads["dWh"], grads["db"], max_norm)

    def compute():
        clipped, norm = clip_reference(grads, max_norm)
        return {**clipped, "norm": norm}
    oracle = stored.oracle("clip_gradients", args, compute)   # stored in a student edition
    return Case(args=args, oracle=oracle,
                sizes=f"{_cases.spell(s)}, max_norm={max_norm:.3g} "
                      f"({'clips' if oracle['norm'] > max_norm else 'does not clip'})")


EXERCISES = [
    Exercise(
        name="clip_gradients",
        signature="clip_gradients(dWx, dWh, db, max_norm) -> (dWx, dWh, db, norm)",
        outputs={"dWx": "dWx.shape", "dWh": "dWh.shape", "db": "db.shape", "norm": "()"},
        make_case=_case, stub=clip_gradients, hints=HINTS, level=1, minutes=10,
        oracle=CLIP, tol=1e-12),
]
