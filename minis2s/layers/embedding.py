"""Embedding layer: token ids (..., ) -> vectors (..., E). Maths in functional/embedding.py."""
from __future__ import annotations

from .. import functional as F
from ..init import init_param
from .module import Module


class Embedding(Module):
    """W (V, E). ``forward(ids)`` -> (..., E); ``backward(dout)`` fills grads["W"]."""

    def __init__(self, vocab_size: int, dim: int, rng, init: str = "uniform"):
        super().__init__()
        self.add_param("W", init_param(rng, (vocab_size, dim), init, fan=dim))
        self._cache = None

    def forward(self, ids):
        """ids (...) int -> vectors (..., E)."""
        out, self._cache = F.embedding_forward(ids, self._params["W"])
        return out

    def backward(self, dout) -> None:
        """dout (..., E): fills grads["W"] (ids have no gradient)."""
        F.embedding_backward(dout, self._cache, out=self._grads["W"])   # in place
