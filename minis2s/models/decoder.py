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

Decoding (:meth:`Decoder.start`, :meth:`Decoder.step`) runs the same functions
one token at a time, with a :class:`DecodeState` per hypothesis.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import functional as F
from ..layers import LSTM, Dropout, Embedding, Linear, Module
from .encoder import Encoded


@dataclass
class DecodeState:
    """The decoder's state during a search, one row per hypothesis.

    h, c (L, M, H): the LSTM state; ctx (M, H): the context vector each
    hypothesis peeks at (the peeky decoder; the plain one ignores it).
    """
    h: Any
    c: Any
    ctx: Any

    def take(self, idx) -> "DecodeState":
        """Row j of the new state is row idx[j] of this one (beam search's reorder).

        idx (M',) int on the state's backend; M' may differ from M (e.g. each row
        copied k times when a beam search starts).
        """
        return DecodeState(self.h[:, idx], self.c[:, idx], self.ctx[idx])


class Decoder(Module):
    """The plain decoder: the context only starts the LSTM (see the module docstring)."""

    peeky = False

    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform"):
        super().__init__()
        self.hidden, self.n_layers, self.emb_dim = hidden, n_layers, emb_dim
        extra = hidden if self.peeky else 0
        self.embed = self.add_module("embed", Embedding(vocab_size, emb_dim, rng, init))
        self.drop = self.add_module("drop", Dropout(dropout))
        self.lstm = self.add_module("lstm", LSTM(emb_dim + extra, hidden, rng, n_layers, dropout, init))
        self.drop_out = self.add_module("drop_out", Dropout(dropout))
        self.fc = self.add_module("fc", Linear(hidden + extra, vocab_size, rng, init))

    # --- training: a whole target sequence at once -----------------------------------
    def forward(self, y_in, enc: Encoded):
        """y_in (N, T) int, enc: the encoder's output -> logits (N, T, V)."""
        ctx = enc.h[-1]                                        # (N, H)
        x = self.drop.forward(self.embed.forward(y_in))        # (N, T, E)
        peeks = []                                             # the peek caches, for backward
        if self.peeky:
            x, peek_in = F.peek_forward(x, ctx)                # (N, T, E + H)
            peeks.append(peek_in)
        hs, _ = self.lstm.forward(x, (enc.h, enc.c))
        out = self.drop_out.forward(hs)
        if self.peeky:
            out, peek_out = F.peek_forward(out, ctx)           # (N, T, 2H)
            peeks.append(peek_out)
        self.save_for_backward(peeks)
        return self.fc.forward(out)

    def backward(self, dlogits) -> Encoded:
        """dlogits (N, T, V) -> the gradient w.r.t. the encoder's output (hs: None)."""
        peeks = self.saved_for_backward()
        dout = self.fc.backward(dlogits)
        if self.peeky:
            dout, dctx_out = F.peek_backward(dout, peeks[1])
        dx, (dh0, dc0) = self.lstm.backward(self.drop_out.backward(dout))
        if self.peeky:
            dx, dctx_in = F.peek_backward(dx, peeks[0])
            # ctx = h0[-1] was read at the input and at the output of every step
            dh0[-1] = dh0[-1] + dctx_in + dctx_out
        self.embed.backward(self.drop.backward(dx))
        return Encoded(None, None, dh0, dc0)

    # --- decoding: one step at a time, nothing cached -------------------------------
    def start(self, enc: Encoded) -> DecodeState:
        """The state a search starts from: the encoder's final state, one row per sentence."""
        return DecodeState(enc.h, enc.c, enc.h[-1])

    def step(self, tokens, state: DecodeState):
        """tokens (M,) int, state with M rows -> (log-probabilities (M, V), the next state).

        The functions of :meth:`forward` on one step (T = 1); no dropout (decoding is
        evaluation), nothing kept for a backward pass.
        """
        # A plain lookup, not embedding_forward: the tokens are the model's own
        # choices, always in range, and its range check would cost a sync per step.
        x = self.embed.params["W"][tokens]                     # (M, E)
        if self.peeky:
            x, _ = F.peek_forward(x, state.ctx)                # (M, E + H)
        h_top, (h, c) = self.lstm.step(x, (state.h, state.c))
        if self.peeky:
            h_top, _ = F.peek_forward(h_top, state.ctx)        # (M, 2H)
        logits, _ = F.linear_forward(h_top, self.fc.params["W"], self.fc.params["b"])
        return F.log_softmax(logits), DecodeState(h, c, state.ctx)


class PeekyDecoder(Decoder):
    """The decoder that peeks at the context at every step (see the module docstring)."""
    peeky = True
