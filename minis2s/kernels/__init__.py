"""Elementwise kernels: the pointwise work of the LSTM cell, one implementation per backend.

Layer code asks for the kernels that go with its arrays, exactly as it asks for
the array module, and never for the name of the device::

    k = get_kernels(a)
    k.lstm_cell_forward(a, c_prev, c, tanh_c, h, gate_axis=0)

* NumPy and the strict double get :mod:`minis2s.kernels.ufunc`: in-place NumPy
  ufuncs, one line per formula -- the version to read.
* CuPy gets :mod:`minis2s.kernels.cuda`: the same formulas, each function one
  fused CUDA kernel (``cupy.ElementwiseKernel``), so the cell's dozen
  elementwise passes over GPU memory become one.

Both modules export the same functions with the same signatures and the same
in-place contract; the tests hold them to the same gradient checks.
"""
from __future__ import annotations

from ..backend import get_kernels

__all__ = ["get_kernels"]
