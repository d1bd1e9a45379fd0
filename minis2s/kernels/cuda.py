"""Elementwise kernels fused for the GPU: the functions of :mod:`minis2s.kernels.ufunc`, on CuPy.

Same names, same signatures, same in-place contract. Where the NumPy version
makes a dozen passes over an array, one ufunc per formula, each function here
launches one CUDA kernel (``cupy.ElementwiseKernel``) that computes every
formula for one element in registers and touches memory once: an LSTM cell
forward is one kernel instead of 14, its backward one instead of 22, an Adam
step one per parameter instead of 13. The CUDA sources are in
:mod:`minis2s.kernels.cuda_source`.

Nothing here leaves the device: no function returns a host value or syncs.
The float arrays given to one call must share one dtype (``T`` in the sources):
unlike NumPy, CuPy's kernels refuse, say, float64 gradients for float32 parameters.
Imported only when the CuPy backend asks for its kernels (``get_kernels``).
"""
from __future__ import annotations

import cupy

from .cuda_source import ELEMENTWISE, REDUCTION
from .ufunc import gate_blocks

__all__ = ["gate_blocks", "lstm_cell_forward", "lstm_cell_backward", "adam_update",
           "sum_of_squares", "softmax_cross_entropy_rows"]

_ELEMENTWISE = {name: cupy.ElementwiseKernel(*spec, name=name) for name, spec in ELEMENTWISE.items()}
_REDUCTION = {name: cupy.ReductionKernel(*spec, name=name) for name, spec in REDUCTION.items()}


def lstm_cell_forward(a, c_prev, c, tanh_c, h, gate_axis: int) -> None:
    """See :func:`minis2s.kernels.ufunc.lstm_cell_forward`: one kernel, ``a`` activated in place."""
    _ELEMENTWISE["minis2s_lstm_cell_forward"](c_prev, *gate_blocks(a, gate_axis), c, tanh_c, h)


def lstm_cell_backward(dh, dc, gates, c_prev, tanh_c, da, dc_prev, gate_axis: int) -> None:
    """See :func:`minis2s.kernels.ufunc.lstm_cell_backward`: one kernel."""
    _ELEMENTWISE["minis2s_lstm_cell_backward"](dh, dc, *gate_blocks(gates, gate_axis), c_prev,
                                                tanh_c, *gate_blocks(da, gate_axis), dc_prev)


def adam_update(p, g, m, v, scratch, beta1: float, beta2: float, eps_hat: float,
                step_hat: float) -> None:
    """See :func:`minis2s.kernels.ufunc.adam_update`: one kernel; ``scratch`` is not needed."""
    _ELEMENTWISE["minis2s_adam_update"](g, float(beta1), float(beta2), float(eps_hat),
                                         float(step_hat), p, m, v)


def sum_of_squares(g):
    """sum(g ** 2) as a 0-d float64 device array: one reduction kernel, accumulated in double."""
    return _REDUCTION["minis2s_sum_of_squares"](g)


def softmax_cross_entropy_rows(z, y, scale, dz):
    """See :func:`minis2s.kernels.ufunc.softmax_cross_entropy_rows`: three kernels over all
    rows (row max, row sum of exp, the gradient) and a small one for the loss."""
    V = z.shape[1]
    m = z.max(axis=1, keepdims=True)                                    # (M, 1)
    s = _REDUCTION["minis2s_sum_exp"](z, m, axis=1, keepdims=True)      # (M, 1)
    y = y.astype(cupy.int64, copy=False)          # the kernel's y is int64: CuPy does not cast
    _ELEMENTWISE["minis2s_softmax_xent_grad"](z, m, s, y[:, None], scale[:, None], V, dz)
    picked = z[cupy.arange(z.shape[0]), y]                              # target logits (M,)
    return ((cupy.log(s[:, 0]) - (picked - m[:, 0])) * scale).sum()
