"""Checks on single numbers, shared by the API, the command line and the checkpoint loader.

A learning rate of ``nan`` compares false with everything, so a check written
``if lr < 0: raise`` lets it through, and the first step turns every weight
into ``nan``. The checks here are written the other way round -- *accept* only
what is inside the range -- so ``nan`` fails them all::

    lr = finite_float("lr", lr, low=0.0, low_open=True)          # 0 < lr < inf
    p = finite_float("dropout", p, low=0.0, high=1.0, high_open=True)
    n = bounded_int("hidden", n, low=1, high=MAX_SIZE)

Each raises ``TypeError`` (not a number at all: a string, None, an array, a
bool) or :class:`~minis2s.errors.InputError` (a ``ValueError``: a number
outside the range, nan, inf), with a one-line message that starts with the
``name`` it was given -- the argument, option or checkpoint field to fix.
"""
from __future__ import annotations

import math
import numbers

from .errors import InputError

__all__ = ["finite_float", "bounded_int", "one_of", "describe_range", "MAX_SIZE", "MAX_WIDTH", "MAX_LAYERS",
           "MAX_DECODE_LEN", "MAX_SEED"]

# Bounds on numbers that set an allocation or a loop. Far above anything a
# from-scratch NumPy seq2seq trains, low enough that a typo (an extra 000) is
# refused with a message instead of a MemoryError traceback minutes later.
MAX_SIZE = 1 << 20          # vocabulary size, batch size
MAX_WIDTH = 1 << 16         # embedding / hidden size (an LSTM's Wh alone is 4 H^2 numbers)
MAX_LAYERS = 64             # stacked LSTM layers
MAX_DECODE_LEN = 10_000     # tokens decoded per sentence (--max-len)
MAX_SEED = (1 << 32) - 1    # seeds are 32-bit unsigned, as in most tools


def describe_range(low=None, high=None, low_open=False, high_open=False) -> str:
    """``"in (0, 1]"``, ``">= 0"``, ``"a finite number"`` -- for messages."""
    def show(v):
        return str(v) if isinstance(v, int) else f"{v:g}"
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{show(low)}, {show(high)}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {show(low)}"
    if high is not None:
        return f"{'<' if high_open else '<='} {show(high)}"
    return "a finite number"


def finite_float(name: str, value, low=None, high=None, *, low_open: bool = False,
                 high_open: bool = False) -> float:
    """``float(value)`` if it is a finite real number within the range; otherwise an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    x = float(value)
    inside = math.isfinite(x)
    if inside and low is not None:
        inside = x > low if low_open else x >= low
    if inside and high is not None:
        inside = x < high if high_open else x <= high
    if not inside:
        what = "finite" if low is None and high is None else "finite and " + describe_range(
            low, high, low_open, high_open)
        raise InputError(f"{name} must be {what}, got {value!r}")
    return x


def bounded_int(name: str, value, low: int = 0, high: int | None = None) -> int:
    """``int(value)`` if it is an integer (not a bool, not a float) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    n = int(value)
    if n < low or (high is not None and n > high):
        raise InputError(f"{name} must be an integer {describe_range(low, high)}, got {n}")
    return n


def one_of(name: str, value, options) -> str:
    """``value`` if it is one of ``options`` (strings); otherwise an error naming ``name``."""
    if not isinstance(value, str) or value not in options:
        raise InputError(f"{name} must be one of {', '.join(options)}, got {value!r}")
    return value
