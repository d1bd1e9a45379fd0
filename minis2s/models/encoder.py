"""The encoder: source tokens -> the fixed-size context (the final LSTM state).

    e   = dropout(Embedding(src))                 (N, S, E)
    _, (hT, cT) = LSTM(e, mask = src != <pad>)    hT, cT: (L, N, H)

(hT, cT) of every layer is the *context*: all the decoder ever learns about the
source passes through these 2 * L * H numbers per sentence (Sutskever et al.'s
bottleneck). Sources are right-padded and the LSTM carries the state through
padded steps, so each sentence's context is its state at its own last token.
"""
from __future__ import annotations

from ..layers import LSTM, Dropout, Embedding, Module


class Encoder(Module):
    """Embedding -> dropout -> stacked LSTM; returns the context (hT, cT)."""

    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform"):
        super().__init__()
        self.hidden, self.n_layers = hidden, n_layers
        self.embed = self.add_module("embed", Embedding(vocab_size, emb_dim, rng, init))
        self.drop = self.add_module("drop", Dropout(dropout))
        self.lstm = self.add_module("lstm", LSTM(emb_dim, hidden, rng, n_layers, dropout, init))

    def forward(self, src, mask, first_pad: int = 0):
        """src (N, S) int, mask (N, S) bool -> context (hT, cT), each (L, N, H).

        first_pad: no sentence is padded before this position (the shortest length,
        when the caller knows it on the host); it lets the LSTM skip mask arithmetic.
        """
        x = self.drop.forward(self.embed.forward(src))
        _, context = self.lstm.forward(x, None, mask, first_pad)
        return context

    def backward(self, dcontext) -> None:
        """dcontext (dhT, dcT), each (L, N, H): the decoder's gradient w.r.t. the context."""
        # Only the final state feeds the decoder: the per-step outputs get no gradient.
        dx, _ = self.lstm.backward(None, dcontext)
        self.embed.backward(self.drop.backward(dx))
