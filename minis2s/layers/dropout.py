"""Dropout layer: active in training mode only. Maths in functional/dropout.py.

Random numbers come from ``self.rng``, a backend generator its owner sets (the
models re-seed it every step from (seed, step) so a resumed run draws the same
masks). ``frozen = True`` reuses the last mask: gradient checks need every
forward pass to compute the same function.
"""
from __future__ import annotations

from .. import functional as F
from .module import Module


class Dropout(Module):
    """Inverted dropout with probability ``p``; identity in eval mode."""

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.rng = None
        self.frozen = False
        self._mask = None

    def forward(self, x):
        """x -> x * mask (training) or x (eval)."""
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        if self.frozen and self._mask is not None and self._mask.shape == x.shape:
            return x * self._mask
        out, self._mask = F.dropout_forward(x, self.p, rng=self.rng)
        return out

    def backward(self, dout):
        """dout -> dout * the same mask."""
        return F.dropout_backward(dout, self._mask)
