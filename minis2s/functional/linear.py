r"""Affine layer applied to the last axis, so it works over time too.

    out = x @ W + b             x (..., D), W (D, O), b (O,) -> out (..., O)

Backward, with the leading axes flattened to M rows (x_rows is x as (M, D))::

    dx = dout @ W.T,   dW = x_rows.T @ dout,   db = sum over rows of dout

W was used at every row, so dW is a sum over the rows -- which is exactly one
matrix product (a GEMM), not M small ones.
"""
from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["LinearCache", "linear_forward", "linear_backward"]


class LinearCache(NamedTuple):
    """x_rows (M, D): the input as rows; x_shape: its shape (..., D); W (D, O)."""
    x_rows: Any
    x_shape: tuple
    W: Any


def linear_forward(x, W, b):
    """x (..., D), W (D, O), b (O,) -> (out (..., O), :class:`LinearCache`)."""
    D, O = W.shape
    x_rows = x.reshape(-1, D)                   # (M, D): every position is one row
    out = x_rows @ W + b
    return out.reshape(x.shape[:-1] + (O,)), LinearCache(x_rows, x.shape, W)


def linear_backward(dout, cache: LinearCache):
    """dout (..., O) -> (dx (..., D), dW (D, O), db (O,))."""
    x_rows, x_shape, W = cache
    dout_rows = dout.reshape(-1, W.shape[1])    # (M, O)
    dx = (dout_rows @ W.T).reshape(x_shape)
    dW = x_rows.T @ dout_rows                   # a sum over the M rows, as one GEMM
    db = dout_rows.sum(axis=0)
    return dx, dW, db
