"""minis2s: sequence-to-sequence learning written by hand in NumPy/CuPy.

``minis2s.use("numpy" | "cupy")`` picks the backend for new objects (``with
minis2s.using(...)`` for a block); a model owns its arrays, and its batches follow
them. ``minis2s.to_device`` and
``minis2s.to_cpu`` are the only ways across the host/device boundary. The rest
lives in subpackages: ``functional``, ``layers``, ``models``, ``optim``, ``data``,
``gradcheck``, ``exercises``.
"""
from .backend import (BackendError, available_backends, current, float_dtype,
                      get_array_module, to_cpu, to_device, use, using)

__version__ = "0.1.0"

__all__ = ["use", "using", "current", "float_dtype", "get_array_module", "to_device", "to_cpu",
           "available_backends", "BackendError", "__version__"]
