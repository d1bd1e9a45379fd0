r"""The decoder, plain and peeky.

Plain decoder (Sutskever et al.): the context only starts the LSTM::

    e      = dropout(Embedding(y_in))                  (N, T, E)
    hs, _  = LSTM(e, state = (hT, cT))                 (N, T, H)
    logits = Linear(dropout(hs))                       (N, T, V)

Peeky decoder: the top layer's context vector ``ctx = hT[-1]`` (N, H) is also
concatenated to the input of every step and to the input of the output layer,
so the decoder never has to carry it through its own state::

    x      = [e ; ctx]                                 (N, T, E + H)
    logits = Linear([dropout(hs) ; ctx])               (N, T, 2H) -> V

Cost in parameters: the first decoder layer's Wx grows by H x 4H and the output
layer's W by H x V. Backward: the concatenations split their gradient, and the
pieces belonging to ``ctx`` are summed over the T steps (ctx was used T times)
and added to the gradient of hT[-1] -- see :meth:`Decoder.backward`.
"""
from __future__ import annotations

from ..backend import get_array_module
from ..functional import linear_forward, log_softmax
from ..layers import LSTM, Dropout, Embedding, Linear, Module


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

    # --- the peeky concatenation: identity for the plain decoder ------------------
    def _join(self, a, ctx):
        """[a ; ctx] along the last axis, ctx broadcast over time. a (N, T, K) or (N, K)."""
        if not self.peeky:
            return a
        xp = get_array_module(a, ctx)
        if a.ndim == 3:
            ctx = xp.broadcast_to(ctx[:, None, :], a.shape[:2] + ctx.shape[-1:])
        return xp.concatenate([a, ctx], axis=-1)

    def _split(self, d, k: int):
        """Inverse of _join for gradients: (d_a, d_ctx summed over time), or (d, None)."""
        if not self.peeky:
            return d, None
        return d[..., :k], d[..., k:].sum(axis=1)

    # --- training: a whole target sequence at once ------------------------------
    def forward(self, y_in, state):
        """y_in (N, T) int, state (h0, c0) each (L, N, H) -> logits (N, T, V)."""
        ctx = state[0][-1]
        e = self.drop.forward(self.embed.forward(y_in))
        hs, _ = self.lstm.forward(self._join(e, ctx), state)
        return self.fc.forward(self._join(self.drop_out.forward(hs), ctx))

    def backward(self, dlogits):
        """dlogits (N, T, V) -> gradient w.r.t. the initial state (dh0, dc0), each (L, N, H)."""
        d_hs, d_ctx_out = self._split(self.fc.backward(dlogits), self.hidden)
        dx, (dh0, dc0) = self.lstm.backward(self.drop_out.backward(d_hs))
        de, d_ctx_in = self._split(dx, self.emb_dim)
        self.embed.backward(self.drop.backward(de))
        if self.peeky:  # ctx = h0[-1] was read T times at the input and T times at the output
            dh0[-1] += d_ctx_out + d_ctx_in
        return dh0, dc0

    # --- decoding: one step at a time, no caches ---------------------------------
    def step(self, tokens, state, ctx):
        """tokens (N,) int, state (h, c) each (L, N, H), ctx (N, H).

        Returns (log-probabilities (N, V), new state). No dropout, nothing cached.
        """
        # A plain lookup, not embedding_forward: the tokens are the model's own
        # choices, always in range, and its range check would cost a sync per step.
        e = self.embed.params["W"][tokens]
        h, state = self.lstm.step(self._join(e, ctx), state)
        logits, _ = linear_forward(self._join(h, ctx), self.fc.params["W"], self.fc.params["b"])
        return log_softmax(logits), state


class PeekyDecoder(Decoder):
    """The decoder that peeks at the context at every step (see the module docstring)."""
    peeky = True
