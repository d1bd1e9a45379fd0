r"""Affine layer applied to the last axis, so it works over time too.

    out = x @ W + b             x (..., D), W (D, O), b (O,) -> out (..., O)

Backward, with the leading axes flattened to M rows (x2 is x as (M, D))::

    dx = dout @ W.T,   dW = x2.T @ dout,   db = sum over rows of dout
"""
from __future__ import annotations

from ..backend import get_array_module
from ._checks import check_float, check_shape

__all__ = ["linear_forward", "linear_backward"]


def linear_forward(x, W, b):
    """x (..., D), W (D, O), b (O,) -> (out (..., O), cache)."""
    fn = "linear_forward"
    get_array_module(x=x, W=W, b=b)
    check_float(fn, "x", x)
    check_shape(fn, "W", W, (x.shape[-1], None), "(D, O)")
    check_shape(fn, "b", b, (W.shape[1],), "(O,)")
    D, O = W.shape
    x2 = x.reshape(-1, D)                       # (M, D): every position is one row
    out = x2 @ W + b
    return out.reshape(x.shape[:-1] + (O,)), (x2, x.shape, W)


def linear_backward(dout, cache):
    """dout (..., O) -> (dx (..., D), dW (D, O), db (O,))."""
    x2, x_shape, W = cache
    get_array_module(dout=dout, W=W)
    O = W.shape[1]
    check_shape("linear_backward", "dout", dout, x_shape[:-1] + (O,), "(..., O)")
    d2 = dout.reshape(-1, O)                    # (M, O)
    dx = (d2 @ W.T).reshape(x_shape)
    dW = x2.T @ d2                              # W was used at every row: a sum, one GEMM
    db = d2.sum(axis=0)
    return dx, dW, db
