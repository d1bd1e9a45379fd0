"""Embedding layer: token ids (..., ) -> vectors (..., E). Maths in functional/embedding.py."""
from __future__ import annotations

from .. import functional as F
from ..checks import check_int
from ..init import init_param
from .module import Module


class Embedding(Module):
    """W (V, E). ``forward(ids)`` -> (vectors (..., E), cache); ``backward(dout, cache)`` adds into grads["W"].

    The ids must lie in [0, V): the models check the ids they are given once, on the
    host, where they enter (:meth:`minis2s.models.Seq2Seq.forward`); the ids a model
    chooses itself while decoding are in range by construction.
    """

    def __init__(self, vocab_size: int, dim: int, rng, init: str = "uniform"):
        super().__init__()
        self.add_param("W", init_param(rng, (vocab_size, dim), init, fan=dim,
                                          kind="embedding"))

    def forward(self, ids):
        """ids (...) int -> (vectors (..., E), cache)."""
        check_int("Embedding.forward", "ids", ids)
        return F.embedding_forward(ids, self._params["W"])

    def backward(self, dout, cache) -> None:
        """dout (..., E): adds into grads["W"] (ids have no gradient)."""
        self.accumulate_grad("W", F.embedding_backward(dout, cache))
