"""Linear (affine) layer over the last axis: (..., D) -> (..., O). Maths in functional/linear.py."""
from __future__ import annotations

from .. import functional as F
from ..init import init_param
from .module import Module


class Linear(Module):
    """W (D, O), b (O,). Note W is (in, out) here; torch.nn.Linear stores its transpose."""

    def __init__(self, in_dim: int, out_dim: int, rng, init: str = "uniform"):
        super().__init__()
        self.add_param("W", init_param(rng, (in_dim, out_dim), init, fan=in_dim))
        self.add_param("b", init_param(rng, (out_dim,), init, fan=in_dim, kind="bias"))

    def forward(self, x):
        """x (..., D) -> (..., O)."""
        out, cache = F.linear_forward(x, self._params["W"], self._params["b"])
        self.save_for_backward(cache)
        return out

    def backward(self, dout):
        """dout (..., O) -> dx (..., D); fills grads["W"], grads["b"]."""
        dx, dW, db = F.linear_backward(dout, self.saved_for_backward())
        self.set_grad("W", dW)
        self.set_grad("b", db)
        return dx
