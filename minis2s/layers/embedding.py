"""Embedding layer: token ids (..., ) -> vectors (..., E). Maths in functional/embedding.py."""
from __future__ import annotations

from .. import functional as F
from ..init import init_param
from .module import Module


class Embedding(Module):
    """W (V, E). ``forward(ids)`` -> (..., E); ``backward(dout)`` fills grads["W"]."""

    def __init__(self, vocab_size: int, dim: int, rng, init: str = "uniform"):
        super().__init__()
        self.add_param("W", init_param(rng, (vocab_size, dim), init, fan=dim,
                                          kind="embedding"))

    def forward(self, ids):
        """ids (...) int -> vectors (..., E)."""
        out, cache = F.embedding_forward(ids, self._params["W"])
        self.save_for_backward(cache)
        return out

    def backward(self, dout) -> None:
        """dout (..., E): fills grads["W"] (ids have no gradient)."""
        self.set_grad("W", F.embedding_backward(dout, self.saved_for_backward()))
