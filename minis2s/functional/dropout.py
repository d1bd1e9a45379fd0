r"""Inverted dropout.

In training each unit is kept with probability 1 - p and scaled by 1 / (1 - p),
so the expected activation is unchanged and evaluation needs no rescaling::

    mask = (u >= p) / (1 - p),  u ~ U[0, 1)        out = x * mask
    dx = dout * mask

The random numbers come from a generator the caller owns (seeded, so runs
reproduce, and so a gradient check that re-seeds it draws the same mask in
every pass).
"""
from __future__ import annotations

__all__ = ["dropout_forward", "dropout_backward"]


def dropout_forward(x, p, rng):
    """x (...), p in [0, 1), rng: a backend generator with ``random(shape)`` -> (out, mask).

    p = 0 returns x itself and mask None (nothing drawn).
    """
    if p == 0.0:
        return x, None
    mask = (rng.random(x.shape) >= p).astype(x.dtype) * (1.0 / (1.0 - p))
    return x * mask, mask


def dropout_backward(dout, mask):
    """dout (...) -> dx: the same mask, the same scale."""
    return dout if mask is None else dout * mask
