r"""Inverted dropout.

In training each unit is kept with probability 1 - p and scaled by 1 / (1 - p),
so the expected activation is unchanged and evaluation needs no rescaling::

    mask = (u >= p) / (1 - p),  u ~ U[0, 1)        out = x * mask
    dx = dout * mask

The random numbers come from a generator the caller owns (seeded, so runs
reproduce); a fixed ``mask`` can be passed instead, which gradient checks use.
"""
from __future__ import annotations

from ..backend import get_array_module

__all__ = ["dropout_forward", "dropout_backward"]


def dropout_forward(x, p, rng=None, mask=None):
    """x (...), p in [0, 1) -> (out, mask).

    ``rng`` is a backend generator (``minis2s.current().random_generator(seed)``)
    with a ``random(shape)`` method; ``mask`` (same shape as x) overrides it.
    p = 0 returns x itself and mask None.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout_forward: p must be in [0, 1), got {p}")
    get_array_module(x=x, mask=mask)  # refuses a host mask on device activations
    if mask is None:
        if p == 0.0:
            return x, None
        if rng is None:
            raise ValueError("dropout_forward: pass a seeded rng (or a fixed mask) when p > 0")
        mask = (rng.random(x.shape) >= p).astype(x.dtype) * (1.0 / (1.0 - p))
    elif mask.shape != x.shape:
        raise ValueError(f"dropout_forward: mask must have the shape of x {x.shape}, got {mask.shape}")
    return x * mask, mask


def dropout_backward(dout, mask):
    """dout (...) -> dx: the same mask, the same scale."""
    return dout if mask is None else dout * mask
