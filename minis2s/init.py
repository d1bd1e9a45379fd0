"""Parameter initialisation, drawn on the host and moved to the backend once.

Drawing from a NumPy generator (not the device's) means the same seed gives
the same initial weights on the CPU and on a GPU.

* ``uniform``: U(-0.08, 0.08) for every parameter, biases included -- the
  choice of Sutskever, Vinyals & Le (2014).
* ``scaled``: U(-1/sqrt(H), 1/sqrt(H)) with H the layer's width (``torch.nn.LSTM``'s
  default); better for wide layers, where 0.08 is large relative to 1/sqrt(H).
"""
from __future__ import annotations

import numpy as np

from .backend import float_dtype, to_device

__all__ = ["INITS", "init_param"]

INITS = ("uniform", "scaled")


def init_param(rng: np.random.Generator, shape: tuple, init: str = "uniform",
               fan: int | None = None, scale: float = 0.08):
    """A new parameter array on the current backend, in the current float dtype.

    rng: the model's NumPy generator. fan: the width used by ``"scaled"``.
    """
    if init == "uniform":
        bound = scale
    elif init == "scaled":
        if not fan:
            raise ValueError("init_param: 'scaled' needs the layer width (fan)")
        bound = 1.0 / np.sqrt(fan)
    else:
        raise ValueError(f"unknown init {init!r}: expected one of {INITS}")
    return to_device(rng.uniform(-bound, bound, size=shape).astype(float_dtype()))
