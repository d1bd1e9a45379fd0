r"""The decoder, plain and peeky: training over whole targets, and decoding step by step.

Plain decoder (Sutskever et al.): the context only starts the LSTM::

    e      = dropout(Embedding(y_in))                  (N, T, E)
    hs, _  = LSTM(e, state = (hT, cT))                 (N, T, H)
    logits = Linear(dropout(hs))                       (N, T, V)

Peeky decoder: the top layer's context vector ``ctx = hT[-1]`` (N, H) is also
shown to every step -- concatenated to the input of the LSTM and to the input
of the output layer (:mod:`minis2s.functional.peeky`)::

    x      = [e ; ctx]                                 (N, T, E + H)
    logits = Linear([dropout(hs) ; ctx])               (N, T, 2H) -> V

Cost in parameters: the first decoder layer's Wx grows by H x 4H and the output
layer's W by H x V. Backward: ``ctx`` *is* ``h0[-1]``, so the gradients that
reach it through both concatenations are added to the gradient of h0[-1].

``cell="gru"`` puts a GRU where the LSTM is (no cell state: ``c`` is None
throughout, and the peeky decoder's first layer grows by H x 3H).

Decoding (:meth:`Decoder.start`, :meth:`Decoder.step`) runs the same layers
one token at a time (a sequence of length 1), with a :class:`DecodeState` per
hypothesis.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .. import functional as F
from ..layers import Dropout, Embedding, Linear, Module, recurrent_layer
from .encoder import Encoded


@dataclass
class DecodeState:
    """The decoder's state during a search, one row per hypothesis.

    h, c (L, M, H): the recurrent state (c is None for a GRU); ctx (M, H): the context
    vector each hypothesis peeks at (the peeky decoder; the plain one ignores it).
    """
    h: Any
    c: Any
    ctx: Any

    def take(self, idx) -> "DecodeState":
        """Row j of the new state is row idx[j] of this one (beam search's reorder).

        idx (M',) int on the state's backend; M' may differ from M (e.g. each row
        copied k times when a beam search starts).
        """
        c = None if self.c is None else self.c[:, idx]
        return DecodeState(self.h[:, idx], c, self.ctx[idx])


class DecoderCache(NamedTuple):
    """One :meth:`Decoder.forward`'s, in the order of the forward pass (None where unused)."""
    embed: Any
    drop_mask: Any
    peek_in: Any
    rnn: Any
    drop_out_mask: Any
    peek_out: Any
    fc: Any


class Decoder(Module):
    """The plain decoder: the context only starts the LSTM (see the module docstring)."""

    peeky = False

    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform", cell: str = "lstm"):
        super().__init__()
        self.hidden, self.n_layers, self.emb_dim, self.cell = hidden, n_layers, emb_dim, cell
        extra = hidden if self.peeky else 0
        self.embed = self.add_module("embed", Embedding(vocab_size, emb_dim, rng, init))
        self.drop = self.add_module("drop", Dropout(dropout))
        self.rnn = self.add_module(cell, recurrent_layer(cell, emb_dim + extra, hidden, rng,
                                                         n_layers, dropout, init))
        self.drop_out = self.add_module("drop_out", Dropout(dropout))
        self.fc = self.add_module("fc", Linear(hidden + extra, vocab_size, rng, init))

    # --- training: a whole target sequence at once -----------------------------------
    def forward(self, y_in, enc: Encoded):
        """y_in (N, T) int, enc: the encoder's output -> (logits (N, T, V), cache)."""
        ctx = enc.h[-1]                                        # (N, H)
        e, embed_cache = self.embed.forward(y_in)              # (N, T, E)
        x, drop_mask = self.drop.forward(e)
        peek_in = peek_out = None
        if self.peeky:
            x, peek_in = F.peek_forward(x, ctx)                # (N, T, E + H)
        hs, _, rnn_cache = self.rnn.forward(x, (enc.h, enc.c))
        out, drop_out_mask = self.drop_out.forward(hs)
        if self.peeky:
            out, peek_out = F.peek_forward(out, ctx)           # (N, T, 2H)
        logits, fc_cache = self.fc.forward(out)
        return logits, DecoderCache(embed_cache, drop_mask, peek_in, rnn_cache, drop_out_mask,
                                    peek_out, fc_cache)

    def backward(self, dlogits, cache: DecoderCache) -> Encoded:
        """dlogits (N, T, V) -> the gradient w.r.t. the encoder's output (hs: None)."""
        # EXERCISE peeky_decoder_backward: begin
        embed_cache, drop_mask, peek_in, rnn_cache, drop_out_mask, peek_out, fc_cache = cache
        dout = self.fc.backward(dlogits, fc_cache)
        if self.peeky:
            dout, dctx_out = F.peek_backward(dout, peek_out)
        dhs = self.drop_out.backward(dout, drop_out_mask)
        dx, (dh0, dc0) = self.rnn.backward(dhs, None, rnn_cache)
        if self.peeky:
            dx, dctx_in = F.peek_backward(dx, peek_in)
            # ctx = h0[-1] was read at the input and at the output of every step
            dh0[-1] = dh0[-1] + dctx_in + dctx_out
        self.embed.backward(self.drop.backward(dx, drop_mask), embed_cache)
        return Encoded(None, None, dh0, dc0)
        # EXERCISE peeky_decoder_backward: end

    # --- decoding: one step at a time, no backward ----------------------------------
    def start(self, enc: Encoded) -> DecodeState:
        """The state a search starts from: the encoder's final state, one row per sentence."""
        return DecodeState(enc.h, enc.c, enc.h[-1])

    def step(self, tokens, state: DecodeState):
        """tokens (M,) int, state with M rows -> (log-probabilities (M, V), the next state).

        The layers of :meth:`forward` on one step (T = 1), their caches dropped: decoding
        runs in eval mode (no dropout) and has no backward pass.
        """
        x, _ = self.embed.forward(tokens[:, None])             # (M, 1, E)
        if self.peeky:
            x, _ = F.peek_forward(x, state.ctx)                # (M, 1, E + H)
        hs, (h, c), _ = self.rnn.forward(x, (state.h, state.c))
        if self.peeky:
            hs, _ = F.peek_forward(hs, state.ctx)              # (M, 1, 2H)
        logits, _ = self.fc.forward(hs[:, 0])
        return F.log_softmax(logits), DecodeState(h, c, state.ctx)


class PeekyDecoder(Decoder):
    """The decoder that peeks at the context at every step (see the module docstring)."""
    peeky = True
