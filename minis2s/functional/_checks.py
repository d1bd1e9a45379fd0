"""Argument checks shared by the functional ops.

They only read shapes and dtypes, so they cost nothing on a GPU (no
device->host sync). Messages name the function, the argument and the expected
shape, because the usual student bug is a transposed or mis-sized array.
"""
from __future__ import annotations


def check_shape(fn: str, name: str, a, expected: tuple, meaning: str) -> None:
    """Raise ValueError unless ``a.shape`` matches ``expected`` (None = any size).

    ``meaning`` spells the expected shape in symbols, e.g. ``"(N, T, D)"``.
    """
    shape = getattr(a, "shape", None)
    if shape is None:
        raise TypeError(f"{fn}: {name} must be an array of shape {meaning}, got {type(a).__name__}")
    ok = len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected))
    if not ok:
        raise ValueError(f"{fn}: {name} must have shape {meaning} = "
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
    if getattr(a, "dtype", None) is None or a.dtype.kind not in "iu":
        raise TypeError(f"{fn}: {name} must be an integer array of token ids, "
                        f"got dtype {getattr(a, 'dtype', type(a).__name__)}")


def _fmt(expected: tuple) -> str:
    return "(" + ", ".join("?" if e is None else str(e) for e in expected) + ")"
