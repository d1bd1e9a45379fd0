r"""The attention decoder (Luong et al. 2015, global attention, no input feeding).

The LSTM runs as in the plain decoder, from the encoder's final state; then at
every step its output h_t looks back at all encoder outputs::

    e        = dropout(Embedding(y_in))                      (N, T, E)
    h, _     = LSTM(e, state = (hT, cT))                     (N, T, H)
    h_tilde, alpha = Attention(h, enc.hs, enc.mask)          (N, T, H), (N, T, S)
    logits   = Linear(dropout(h_tilde))                      (N, T, V)

Without input feeding, h does not depend on the attention, so all T steps
attend at once: a few batched matrix products per batch, not T small ones.
The fixed-size context still starts the LSTM, but no longer has to carry the
whole sentence: the decoder reads what it needs from ``enc.hs``.

Backward: the attention returns gradients for h (into the LSTM) and for hs
(handed back to the encoder in ``Encoded.hs``, next to the final state's).

Decoding (:meth:`AttentionDecoder.start` / :meth:`AttentionDecoder.step`) runs
the same functions with T = 1; the keys are computed once, in ``start``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import functional as F
from ..layers import LSTM, Dropout, Embedding, Linear, Module
from .attention import Attention
from .encoder import Encoded

__all__ = ["AttentionDecoder", "AttentionState"]


@dataclass
class AttentionState:
    """The attention decoder's state during a search, one row per hypothesis.

    h, c (L, M, H): the LSTM state; hs (M, S, He), keys (M, S, K), mask (M, S):
    each hypothesis' source; alpha (M, S): the last step's attention weights
    (None before the first step).
    """
    h: Any
    c: Any
    hs: Any
    keys: Any
    mask: Any
    alpha: Any = None

    def take(self, idx) -> "AttentionState":
        """Row j of the new state is row idx[j] of this one (beam search's reorder)."""
        return AttentionState(self.h[:, idx], self.c[:, idx], self.hs[idx], self.keys[idx],
                              self.mask[idx], None if self.alpha is None else self.alpha[idx])


class AttentionDecoder(Module):
    """LSTM -> attention over the encoder outputs -> output layer (see the module docstring).

    enc_width: the size of an encoder output (``hidden`` for the one-directional
    encoder; the bidirectional one concatenates two halves to the same size).
    """

    peeky = False

    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform", score: str = "dot",
                 enc_width: int | None = None):
        super().__init__()
        self.hidden, self.n_layers, self.emb_dim, self.score = hidden, n_layers, emb_dim, score
        enc_width = hidden if enc_width is None else enc_width
        self.embed = self.add_module("embed", Embedding(vocab_size, emb_dim, rng, init))
        self.drop = self.add_module("drop", Dropout(dropout))
        self.lstm = self.add_module("lstm", LSTM(emb_dim, hidden, rng, n_layers, dropout, init))
        self.attn = self.add_module("attn", Attention(hidden, enc_width, score, rng, init))
        self.drop_out = self.add_module("drop_out", Dropout(dropout))
        self.fc = self.add_module("fc", Linear(hidden, vocab_size, rng, init))

    # --- training: a whole target sequence at once -----------------------------------
    def forward_with_attention(self, y_in, enc: Encoded):
        """y_in (N, T) int, enc -> (logits (N, T, V), alpha (N, T, S))."""
        x = self.drop.forward(self.embed.forward(y_in))       # (N, T, E)
        h, _ = self.lstm.forward(x, (enc.h, enc.c))            # (N, T, H)
        h_tilde, alpha = self.attn.forward(h, enc.hs, enc.mask)
        return self.fc.forward(self.drop_out.forward(h_tilde)), alpha

    def forward(self, y_in, enc: Encoded):
        """y_in (N, T) int, enc: the encoder's output -> logits (N, T, V)."""
        return self.forward_with_attention(y_in, enc)[0]

    def backward(self, dlogits) -> Encoded:
        """dlogits (N, T, V) -> the gradient w.r.t. the encoder's output (hs and final state)."""
        dh_tilde = self.drop_out.backward(self.fc.backward(dlogits))
        dh, dhs = self.attn.backward(dh_tilde)
        dx, (dh0, dc0) = self.lstm.backward(dh)
        self.embed.backward(self.drop.backward(dx))
        return Encoded(dhs, None, dh0, dc0)

    # --- decoding: one step at a time, nothing cached -------------------------------
    def start(self, enc: Encoded) -> AttentionState:
        """The state a search starts from; the attention keys are computed here, once."""
        return AttentionState(enc.h, enc.c, enc.hs, self.attn.keys(enc.hs), enc.mask)

    def step(self, tokens, state: AttentionState):
        """tokens (M,) int, state with M rows -> (log-probabilities (M, V), the next state).

        The next state's ``alpha`` (M, S) is this step's attention weights.
        """
        x = self.embed.params["W"][tokens]                     # (M, E): the model's own ids
        h_top, (h, c) = self.lstm.step(x, (state.h, state.c))
        h_tilde, alpha = self.attn.step(h_top, state.hs, state.keys, state.mask)
        logits, _ = F.linear_forward(h_tilde, self.fc.params["W"], self.fc.params["b"])
        return F.log_softmax(logits), AttentionState(h, c, state.hs, state.keys, state.mask, alpha)
