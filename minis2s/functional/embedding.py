r"""Embedding: look up one row of W per token id.

    out[n, t] = W[ids[n, t]]            ids (N, T) int, W (V, E) -> out (N, T, E)

Backward: each row W[v] received every out[n, t] with ids[n, t] == v, so its
gradient is the *sum* of those dout rows. A plain ``dW[ids] += dout`` would keep
only one of the repeated ids; scatter-add (``xp.add.at``, which exists in NumPy
and CuPy alike) accumulates them all.
"""
from __future__ import annotations

from ..backend import get_array_module
from ._checks import check_int, check_shape

__all__ = ["embedding_forward", "embedding_backward"]


def embedding_forward(ids, W):
    """ids (...) int in [0, V), W (V, E) -> (out (..., E), cache).

    Out-of-range ids raise ValueError (CuPy would otherwise wrap them around
    silently). The check costs one device->host sync of a single bool.
    """
    fn = "embedding_forward"
    get_array_module(ids=ids, W=W)  # refuses ids and W on different backends
    check_int(fn, "ids", ids)
    check_shape(fn, "W", W, (None, None), "(V, E)")
    V = W.shape[0]
    if ids.size and bool(((ids < 0) | (ids >= V)).any()):
        lo, hi = int(ids.min()), int(ids.max())
        raise ValueError(f"{fn}: token ids must lie in [0, {V}) for a vocabulary of {V}, "
                         f"got ids from {lo} to {hi}")
    return W[ids], (ids, V)


def embedding_backward(dout, cache, out=None):
    """dout (..., E) -> dW (V, E).

    out: a C-contiguous (V, E) array to write dW into (a layer passes its
    preallocated gradient: no new array, no copy); None: a fresh array.
    """
    ids, V = cache
    xp = get_array_module(dout=dout, ids=ids, out=out)
    check_shape("embedding_backward", "dout", dout, ids.shape + (None,), "(..., E)")
    E = dout.shape[-1]
    if out is None:
        dW = xp.zeros((V, E), dtype=dout.dtype)
    else:
        check_shape("embedding_backward", "out", out, (V, E), "(V, E)")
        dW = out
        dW[...] = 0.0
    # The scatter-add by element, not by row: element (n, e) of dout goes to flat
    # position ids[n] * E + e of dW. The same sums (in the same order on NumPy; CuPy's
    # add.at uses atomics, in no fixed order), but NumPy's add.at has a fast path for one
    # flat index array: 2.6x faster for a 1280 x 256 gradient. int64 first: ids * E
    # must not wrap around in a small integer type.
    flat = (ids.reshape(-1, 1).astype(xp.int64, copy=False) * E + xp.arange(E)).reshape(-1)
    xp.add.at(dW.reshape(-1), flat, dout.reshape(-1))
    return dW
