"""Linear (affine) layer over the last axis: (..., D) -> (..., O). Maths in functional/linear.py."""
from __future__ import annotations

from .. import functional as F
from ..checks import check_float, check_shape
from ..init import init_param
from .module import Module


class Linear(Module):
    """W (D, O), b (O,). Note W is (in, out) here; torch.nn.Linear stores its transpose."""

    def __init__(self, in_dim: int, out_dim: int, rng, init: str = "uniform"):
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        self.add_param("W", init_param(rng, (in_dim, out_dim), init, fan=in_dim))
        self.add_param("b", init_param(rng, (out_dim,), init, fan=in_dim, kind="bias"))

    def forward(self, x):
        """x (..., D) -> (out (..., O), cache for :meth:`backward`)."""
        check_float("Linear.forward", "x", x)
        check_shape("Linear.forward", "x", x, (None,) * (x.ndim - 1) + (self.in_dim,), "(..., D)")
        return F.linear_forward(x, self._params["W"], self._params["b"])

    def backward(self, dout, cache):
        """dout (..., O) -> dx (..., D); adds into grads["W"], grads["b"]."""
        dx, dW, db = F.linear_backward(dout, cache)
        self.accumulate_grad("W", dW)
        self.accumulate_grad("b", db)
        return dx
