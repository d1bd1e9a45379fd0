"""The encoder: source tokens -> what the decoder reads (the fixed-size context, and more).

    e   = dropout(Embedding(src))                 (N, S, E)
    hs, (hT, cT) = LSTM(e, mask = src != <pad>)   hs (N, S, H); hT, cT (L, N, H)

(or a GRU, ``cell="gru"``: the same, with no cell state -- cT is None.)

(hT, cT) of every layer is the *context*: all the plain and peeky decoders
ever learn about the source passes through these 2 * L * H numbers per sentence
(Sutskever et al.'s bottleneck). Sources are right-padded and the LSTM carries
the state through padded steps, so each sentence's context is its state at its
own last token. The per-step outputs ``hs`` are handed on too, for decoders that
look back at every source position (attention); the others ignore them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..backend import get_array_module
from ..layers import Dropout, Embedding, Module, recurrent_layer


def reverse_padded(x, mask):
    """Reverse the real positions of each right-padded row along axis 1; padding stays at the end.

    x (N, S, ...) any array (token ids, or vectors per position), mask (N, S) bool
    -> (N, S, ...): ``a b c <pad>`` becomes ``c b a <pad>``. Its own inverse. The
    model's reversed source (Sutskever et al.'s trick) and the bidirectional
    encoder's backward direction both use it.
    """
    xp = get_array_module(x, mask)
    N, S = mask.shape
    lengths = mask.sum(axis=1, keepdims=True)                 # (N, 1)
    j = xp.arange(S)[None, :]
    idx = xp.where(j < lengths, lengths - 1 - j, j)           # position j reads position idx
    return x[xp.arange(N)[:, None], idx]


@dataclass
class Encoded:
    """What the encoder hands the decoder -- and, in the backward pass, its gradient.

    hs (N, S, H): the top layer's output at every source position (in the
    gradient: None when no loss reads them); mask (N, S) bool: real source
    tokens (None in the gradient); h, c (L, N, H): the final state, the context
    (c is None for a GRU, which has no cell state).
    """
    hs: Any
    mask: Any
    h: Any
    c: Any


class Encoder(Module):
    """Embedding -> dropout -> stacked LSTM or GRU (see the module docstring).

    cell: "lstm" or "gru"; the layer is registered under that name (``encoder.gru.0.Wx``).
    """

    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform", cell: str = "lstm"):
        super().__init__()
        self.hidden, self.n_layers, self.cell = hidden, n_layers, cell
        self.embed = self.add_module("embed", Embedding(vocab_size, emb_dim, rng, init))
        self.drop = self.add_module("drop", Dropout(dropout))
        self.rnn = self.add_module(cell, recurrent_layer(cell, emb_dim, hidden, rng, n_layers,
                                                         dropout, init))

    def forward(self, src, mask):
        """src (N, S) int, mask (N, S) bool -> (:class:`Encoded`, cache for :meth:`backward`)."""
        e, embed_cache = self.embed.forward(src)
        x, drop_mask = self.drop.forward(e)
        hs, (h, c), rnn_cache = self.rnn.forward(x, None, mask)
        return Encoded(hs, mask, h, c), (embed_cache, drop_mask, rnn_cache)

    def backward(self, d: Encoded, cache) -> None:
        """d: the decoder's gradient w.r.t. what :meth:`forward` returned (d.hs may be None)."""
        embed_cache, drop_mask, rnn_cache = cache
        dx, _ = self.rnn.backward(d.hs, (d.h, d.c), rnn_cache)
        self.embed.backward(self.drop.backward(dx, drop_mask), embed_cache)
