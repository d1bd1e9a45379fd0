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


def directional_oracle(f, inputs: dict, dout, rng, directions: int = 4, eps: float = 1e-5) -> dict:
    """For a case too large for a numerical gradient: derivatives along random directions.

    L = sum(f(**inputs) * dout) (f may return a tuple, matched by a list dout). For each input
    x, ``directions`` random directions v and the central difference of L along each:
    {input name: (V (directions, *x.shape), D (directions,))}. A gradient g is right when
    <g, v_k> = D_k for every k -- 2 * directions forward passes per input, where a full
    numerical gradient needs 2 per element: the point of a large case is that finite
    differences cannot finish in time, while the oracle still needs no stored answer.
    """
    douts = dout if isinstance(dout, (list, tuple)) else [dout]

    def loss(**k):
        out = f(**k)
        out = out if isinstance(out, tuple) else (out,)
        return sum(float((np.asarray(o) * d).sum()) for o, d in zip(out, douts))

    oracle = {}
    for name, x in inputs.items():
        V = rng.standard_normal((directions,) + x.shape)
        D = np.array([(loss(**{**inputs, name: x + eps * v}) - loss(**{**inputs, name: x - eps * v}))
                      / (2 * eps) for v in V])
        oracle[name] = (V, D)
    return oracle
