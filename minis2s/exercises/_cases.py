"""Helpers for building random exercise cases: distinct odd sizes, padded lengths."""
from __future__ import annotations

import numpy as np


def sizes(rng, names: str, low: int = 2, high: int = 8) -> dict:
    """Distinct sizes in [low, high] for the letters of ``names``, e.g. sizes(rng, "NDH").

    All different from each other, so that a transposed product is a shape error.
    """
    values = rng.choice(np.arange(low, high + 1), size=len(names), replace=False)
    return {k: int(v) for k, v in zip(names, values)}


def randn(rng, *shape, scale=1.0):
    return rng.standard_normal(shape) * scale


def lengths(rng, N: int, T: int):
    """N lengths in [1, T], one row full and one of length 1 (when N >= 2), shuffled."""
    out = rng.integers(1, T + 1, size=N)
    out[0] = T
    if N > 1:
        out[1] = 1
    return rng.permutation(out)


def spell(d: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items())
