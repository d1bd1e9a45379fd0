r"""Embedding: look up one row of W per token id.

    out[n, t] = W[ids[n, t]]            ids (N, T) int, W (V, E) -> out (N, T, E)

Backward: each row W[v] received every out[n, t] with ids[n, t] == v, so its
gradient is the *sum* of those dout rows. A plain ``dW[ids] += dout`` would keep
only one of the repeated ids; scatter-add (``xp.add.at``, which exists in NumPy
and CuPy alike) accumulates them all.

The ids must lie in [0, V): the models check that once, on the host, where the
ids enter (NumPy would raise an IndexError, but CuPy wraps an out-of-range id
around without a word).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..backend import get_array_module

__all__ = ["EmbeddingCache", "embedding_forward", "embedding_backward"]


class EmbeddingCache(NamedTuple):
    """ids (...) int: which rows were read; V: the number of rows of W."""
    ids: Any
    V: int


def embedding_forward(ids, W):
    """ids (...) int in [0, V), W (V, E) -> (out (..., E), :class:`EmbeddingCache`)."""
    return W[ids], EmbeddingCache(ids, W.shape[0])


def embedding_backward(dout, cache: EmbeddingCache):
    """dout (..., E) -> dW (V, E)."""
    # EXERCISE embedding_backward: begin
    ids, V = cache
    xp = get_array_module(dout)
    E = dout.shape[-1]
    dW = xp.zeros((V, E), dtype=dout.dtype)
    xp.add.at(dW, ids.reshape(-1), dout.reshape(-1, E))   # dW[ids[m]] += dout[m], repeats summed
    return dW
    # EXERCISE embedding_backward: end
