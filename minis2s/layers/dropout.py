"""Dropout layer: active in training mode only. Maths in functional/dropout.py.

Random numbers come from ``self.rng``, a backend generator its owner sets (the
models re-seed it every training step from (seed, step), so a resumed run draws
the same masks -- and a gradient check, which does not advance the step, draws
the same mask in every pass).
"""
from __future__ import annotations

from .. import functional as F
from ..validate import finite_float
from .module import Module


class Dropout(Module):
    """Inverted dropout with probability ``p``; identity in eval mode."""

    def __init__(self, p: float):
        super().__init__()
        self.p = finite_float("dropout", p, low=0.0, high=1.0, high_open=True)
        self.rng = None

    def forward(self, x):
        """x -> (x * mask, mask) in training, (x, None) in eval mode or with p = 0."""
        if not self.training or self.p == 0.0:
            return x, None
        if self.rng is None:
            raise RuntimeError("Dropout.forward: no random generator set (dropout.rng); a model "
                               "sets it before each training step")
        return F.dropout_forward(x, self.p, self.rng)

    def backward(self, dout, mask):
        """dout -> dout * the same mask (the ``mask`` its forward returned)."""
        return F.dropout_backward(dout, mask)
