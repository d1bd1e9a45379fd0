"""minis2s: sequence-to-sequence learning written by hand in NumPy/CuPy."""
from .backend import (BackendError, available_backends, current, float_dtype,
                      get_array_module, to_cpu, to_device, use)

__version__ = "0.1.0"
