"""Array checks at the engine's boundary: layers, models and the exercise checker.

The bodies of :mod:`minis2s.functional` hold the maths only; the public entry
points that hand arrays to them check shapes and dtypes here, once. The checks
only read shapes and dtypes, so they cost nothing on a GPU (no device->host
sync). Messages name the function, the argument and the expected shape,
because the usual student bug is a transposed or mis-sized array.

A wrong shape raises :class:`~minis2s.errors.InputError` (a ``ValueError``); a
value that is not an array of the right kind raises ``TypeError`` -- the same
vocabulary as :mod:`minis2s.validate` for single numbers.
"""
from __future__ import annotations

from .errors import InputError

__all__ = ["check_shape", "check_float", "check_int"]


def check_shape(fn: str, name: str, a, expected: tuple, meaning: str) -> None:
    """Raise InputError unless ``a.shape`` matches ``expected`` (None = any size).

    ``meaning`` spells the expected shape in symbols, e.g. ``"(N, T, D)"``.
    """
    shape = getattr(a, "shape", None)
    if shape is None:
        raise TypeError(f"{fn}: {name} must be an array of shape {meaning}, got {type(a).__name__}")
    ok = len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected))
    if not ok:
        raise InputError(f"{fn}: {name} must have shape {meaning} = "
                         f"{_fmt(expected)}, got {tuple(shape)}")


def check_float(fn: str, name: str, a) -> None:
    """Raise TypeError unless ``a`` is a float32 or float64 array.

    float16 is refused too: its 3 significant digits are too few for these
    recurrences (and for a gradient check), and silently computing in it would
    hide that.
    """
    dtype = getattr(a, "dtype", None)
    if dtype is None or dtype.kind != "f" or dtype.itemsize not in (4, 8):
        raise TypeError(f"{fn}: {name} must be a float32 or float64 array, "
                        f"got {'dtype ' + str(dtype) if dtype is not None else type(a).__name__}")


def check_int(fn: str, name: str, a) -> None:
    """Raise TypeError unless ``a`` is an integer array (token ids)."""
    if getattr(a, "dtype", None) is None or a.dtype.kind not in "iu":
        raise TypeError(f"{fn}: {name} must be an integer array of token ids, "
                        f"got dtype {getattr(a, 'dtype', type(a).__name__)}")


def _fmt(expected: tuple) -> str:
    return "(" + ", ".join("?" if e is None else str(e) for e in expected) + ")"
