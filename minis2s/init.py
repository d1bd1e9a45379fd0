"""Parameter initialisation, drawn on the host and moved to the backend once.

Drawing from a NumPy generator (not the device's) means the same seed gives
the same initial weights on the CPU and on a GPU.

* ``uniform``: U(-0.08, 0.08) for every parameter, biases included -- the
  choice of Sutskever, Vinyals & Le (2014).
* ``scaled``: U(-1/sqrt(H), 1/sqrt(H)) with H the layer's width (``torch.nn.LSTM``'s
  default); better for wide layers, where 0.08 is large relative to 1/sqrt(H).
* ``fan_in``: every weight matrix W (fan_in, fan_out) drawn from N(0, 1/fan_in)
  (LeCun's scale, and the book code's, which calls it Xavier), biases 0, and
  embedding rows from N(0, 1) (``torch.nn.Embedding``'s default). Each layer then
  passes its input on with about unit variance: an embedded token moves the
  LSTM's gates from the first step. With embeddings 100 times smaller (the book's
  ``randn / 100``) or with U(-0.08, 0.08), a token's embedding shifts a gate's
  pre-activation by about 0.01, the encoder's outputs are nearly the same at every
  source position, and attention, which must tell positions apart, waits on a
  loss plateau until the embeddings have grown (docs/results.md, "date.txt").

Every weight in minis2s is stored (inputs, outputs), so a weight's fan-in is its
first dimension.
"""
from __future__ import annotations

import numpy as np

from .backend import float_dtype, to_device
from .errors import InputError

__all__ = ["INITS", "KINDS", "init_param"]

INITS = ("uniform", "scaled", "fan_in")
KINDS = ("weight", "bias", "embedding")     # what a parameter is, for "fan_in"


def init_param(rng: np.random.Generator, shape: tuple, init: str = "uniform",
               fan: int | None = None, scale: float = 0.08, kind: str = "weight"):
    """A new parameter array on the current backend, in the current float dtype.

    rng: the model's NumPy generator. fan: the width used by ``"scaled"``.
    kind: "weight" (fan-in = shape[0]), "bias" or "embedding" -- used by ``"fan_in"``.
    """
    if kind not in KINDS:
        raise InputError(f"unknown parameter kind {kind!r}: expected one of {KINDS}")
    if init == "uniform":
        values = rng.uniform(-scale, scale, size=shape)
    elif init == "scaled":
        if not fan:
            raise ValueError("init_param: 'scaled' needs the layer width (fan)")
        values = rng.uniform(-1.0 / np.sqrt(fan), 1.0 / np.sqrt(fan), size=shape)
    elif init == "fan_in":
        if kind == "bias":
            values = np.zeros(shape)
        elif kind == "embedding":
            values = rng.standard_normal(shape)
        else:
            values = rng.standard_normal(shape) / np.sqrt(shape[0])
    else:
        raise InputError(f"unknown init {init!r}: expected one of {INITS}")
    return to_device(values.astype(float_dtype()))
