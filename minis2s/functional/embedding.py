r"""Embedding: look up one row of W per token id.

    out[n, t] = W[ids[n, t]]            ids (N, T) int, W (V, E) -> out (N, T, E)

Backward: each row W[v] received every out[n, t] with ids[n, t] == v, so its
gradient is the *sum* of those dout rows. A plain ``dW[ids] += dout`` would keep
only one of the repeated ids; scatter-add (``xp.add.at``, which exists in NumPy
and CuPy alike) accumulates them all.
"""
from __future__ import annotations

from ..backend import get_array_module
from ._checks import check_float, check_int, check_shape

__all__ = ["embedding_forward", "embedding_backward"]


def embedding_forward(ids, W):
    """ids (...) int in [0, V), W (V, E) -> (out (..., E), cache).

    Out-of-range ids raise ValueError (CuPy would otherwise wrap them around
    silently). The check costs one device->host sync of a single bool.
    """
    fn = "embedding_forward"
    get_array_module(ids=ids, W=W)  # refuses ids and W on different backends
    check_int(fn, "ids", ids)
    check_float(fn, "W", W)
    check_shape(fn, "W", W, (None, None), "(V, E)")
    V = W.shape[0]
    if ids.size and bool(((ids < 0) | (ids >= V)).any()):
        lo, hi = int(ids.min()), int(ids.max())
        raise ValueError(f"{fn}: token ids must lie in [0, {V}) for a vocabulary of {V}, "
                         f"got ids from {lo} to {hi}")
    return W[ids], (ids, V)


def embedding_backward(dout, cache):
    """dout (..., E) -> dW (V, E)."""
    ids, V = cache
    xp = get_array_module(dout=dout, ids=ids)
    check_shape("embedding_backward", "dout", dout, ids.shape + (None,), "(..., E)")
    E = dout.shape[-1]
    dW = xp.zeros((V, E), dtype=dout.dtype)
    xp.add.at(dW, ids.reshape(-1), dout.reshape(-1, E))   # dW[ids[m]] += dout[m], repeats summed
    return dW
