r"""Affine layer applied to the last axis, so it works over time too.

    out = x @ W + b             x (..., D), W (D, O), b (O,) -> out (..., O)

Backward, with the leading axes flattened to M rows::

    dx = dout @ W.T,   dW = x.T @ dout,   db = sum over rows of dout
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
    x2 = x.reshape(-1, D)                       # (M, D); a copy if x is a non-contiguous view
    out = x2 @ W
    out += b                                    # in place: no second (M, O) array
    return out.reshape(x.shape[:-1] + (O,)), (x2, x.shape, W)   # x2: the backward reuses it


def linear_backward(dout, cache, out=None):
    """dout (..., O) -> (dx (..., D), dW (D, O), db (O,)).

    out: (dW, db) arrays to write the weight gradients into (a layer passes its
    preallocated gradients: no new arrays, no copies); None: fresh arrays.
    """
    x2, x_shape, W = cache
    O = W.shape[1]
    check_shape("linear_backward", "dout", dout, x_shape[:-1] + (O,), "(..., O)")
    d2 = dout.reshape(-1, O)
    xp = get_array_module(dout=dout, W=W)
    if out is None:
        out = (xp.empty(W.shape, dtype=dout.dtype), xp.empty((O,), dtype=dout.dtype))
    dW, db = out
    get_array_module(dout=dout, dW=dW, db=db)             # out on the same backend, or a named error
    check_shape("linear_backward", "out[0] (dW)", dW, W.shape, "(D, O)")
    check_shape("linear_backward", "out[1] (db)", db, (O,), "(O,)")
    dx = (d2 @ W.T).reshape(x_shape)
    xp.matmul(x2.T, d2, out=dW)
    d2.sum(axis=0, out=db)
    return dx, dW, db
