"""The encoder: source tokens -> what the decoder reads (the fixed-size context, and more).

    e   = dropout(Embedding(src))                 (N, S, E)
    hs, (hT, cT) = LSTM(e, mask = src != <pad>)   hs (N, S, H); hT, cT (L, N, H)

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
from ..layers import LSTM, Dropout, Embedding, Module


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
    tokens (None in the gradient); h, c (L, N, H): the final state, the context.
    """
    hs: Any
    mask: Any
    h: Any
    c: Any


class Encoder(Module):
    """Embedding -> dropout -> stacked LSTM (see the module docstring)."""

    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform"):
        super().__init__()
        self.hidden, self.n_layers = hidden, n_layers
        self.embed = self.add_module("embed", Embedding(vocab_size, emb_dim, rng, init))
        self.drop = self.add_module("drop", Dropout(dropout))
        self.lstm = self.add_module("lstm", LSTM(emb_dim, hidden, rng, n_layers, dropout, init))

    def forward(self, src, mask):
        """src (N, S) int, mask (N, S) bool -> (:class:`Encoded`, cache for :meth:`backward`)."""
        e, embed_cache = self.embed.forward(src)
        x, drop_mask = self.drop.forward(e)
        hs, (h, c), lstm_cache = self.lstm.forward(x, None, mask)
        return Encoded(hs, mask, h, c), (embed_cache, drop_mask, lstm_cache)

    def backward(self, d: Encoded, cache) -> None:
        """d: the decoder's gradient w.r.t. what :meth:`forward` returned (d.hs may be None)."""
        embed_cache, drop_mask, lstm_cache = cache
        dx, _ = self.lstm.backward(d.hs, (d.h, d.c), lstm_cache)
        self.embed.backward(self.drop.backward(dx, drop_mask), embed_cache)
