r"""The attention decoder (Luong et al. 2015, global attention), with or without input feeding.

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

**Input feeding** (Luong's section 3.3, ``input_feeding=True``): step t's LSTM
also reads the previous step's attentional state, so the LSTM knows what the
decoder has already looked at::

    x_t = [e_t ; h_tilde_{t-1}]        (N, E + H),   h_tilde_{-1} = 0

Now step t's attention must finish before step t+1's LSTM can start, so the
training pass runs step by step: one LSTM step through the stack
(:meth:`~minis2s.layers.LSTM.step_forward`), then one attention step, for
t = 0 .. T-1; the backward pass walks back from t = T-1, adding to each
h_tilde_t the gradient its use as step t+1's input sends back.

Backward (both kinds): the attention returns gradients for h (into the LSTM)
and for hs (handed back to the encoder in ``Encoded.hs``, next to the final
state's).

Decoding (:meth:`AttentionDecoder.start` / :meth:`AttentionDecoder.step`) runs
the same functions with T = 1; the keys are computed once, in ``start``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import functional as F
from ..backend import get_array_module
from ..functional import attention as FA
from ..layers import LSTM, Dropout, Embedding, Linear, Module
from .attention import Attention
from .encoder import Encoded

__all__ = ["AttentionDecoder", "AttentionState"]


@dataclass
class AttentionState:
    """The attention decoder's state during a search, one row per hypothesis.

    h, c (L, M, H): the LSTM state; hs (M, S, He), keys (M, S, K), mask (M, S):
    each hypothesis' source; alpha (M, S): the last step's attention weights
    (None before the first step); h_tilde (M, H): the last attentional state,
    the next step's extra input (input feeding only, else None).
    """
    h: Any
    c: Any
    hs: Any
    keys: Any
    mask: Any
    alpha: Any = None
    h_tilde: Any = None

    def take(self, idx) -> "AttentionState":
        """Row j of the new state is row idx[j] of this one (beam search's reorder)."""
        pick = lambda a: None if a is None else a[idx]     # noqa: E731
        return AttentionState(self.h[:, idx], self.c[:, idx], self.hs[idx], self.keys[idx],
                              self.mask[idx], pick(self.alpha), pick(self.h_tilde))


class AttentionDecoder(Module):
    """LSTM -> attention over the encoder outputs -> output layer (see the module docstring).

    enc_width: the size of an encoder output (``hidden`` for the one-directional
    encoder; the bidirectional one concatenates two halves to the same size).
    input_feeding: each step's LSTM also reads the previous attentional state.
    """

    peeky = False

    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform", score: str = "dot",
                 enc_width: int | None = None, input_feeding: bool = False, output: str = "luong"):
        super().__init__()
        self.hidden, self.n_layers, self.emb_dim, self.score = hidden, n_layers, emb_dim, score
        self.input_feeding = bool(input_feeding)
        enc_width = hidden if enc_width is None else enc_width
        out_width = hidden if output == "luong" else enc_width + hidden      # h_tilde's width
        self.out_width = out_width
        lstm_in = emb_dim + (out_width if self.input_feeding else 0)
        self.embed = self.add_module("embed", Embedding(vocab_size, emb_dim, rng, init))
        self.drop = self.add_module("drop", Dropout(dropout))
        self.lstm = self.add_module("lstm", LSTM(lstm_in, hidden, rng, n_layers, dropout, init))
        self.attn = self.add_module("attn", Attention(hidden, enc_width, score, rng, init, output))
        self.drop_out = self.add_module("drop_out", Dropout(dropout))
        self.fc = self.add_module("fc", Linear(out_width, vocab_size, rng, init))

    # --- training: a whole target sequence at once -----------------------------------
    def forward_with_attention(self, y_in, enc: Encoded):
        """y_in (N, T) int, enc -> (logits (N, T, V), alpha (N, T, S))."""
        x = self.drop.forward(self.embed.forward(y_in))       # (N, T, E)
        if self.input_feeding:
            h_tilde, alpha = self._fed_forward(x, enc)
        else:
            h, _ = self.lstm.forward(x, (enc.h, enc.c))        # (N, T, H)
            h_tilde, alpha = self.attn.forward(h, enc.hs, enc.mask)
        return self.fc.forward(self.drop_out.forward(h_tilde)), alpha

    def forward(self, y_in, enc: Encoded):
        """y_in (N, T) int, enc: the encoder's output -> logits (N, T, V)."""
        return self.forward_with_attention(y_in, enc)[0]

    def backward(self, dlogits) -> Encoded:
        """dlogits (N, T, V) -> the gradient w.r.t. the encoder's output (hs and final state)."""
        dh_tilde = self.drop_out.backward(self.fc.backward(dlogits))
        if self.input_feeding:
            dx, dhs, dh0, dc0 = self._fed_backward(dh_tilde)
        else:
            dh, dhs = self.attn.backward(dh_tilde)
            dx, (dh0, dc0) = self.lstm.backward(dh)
        self.embed.backward(self.drop.backward(dx))
        return Encoded(dhs, None, dh0, dc0)

    # --- input feeding: the same functions, one step at a time ---------------------------
    def _fed_forward(self, e, enc: Encoded):
        """e (N, T, E) -> (h_tilde (N, T, H), alpha (N, T, S)), step by step."""
        xp = get_array_module(e)
        N, T, _ = e.shape
        p = self.attn.params
        keys, keys_cache = FA.attention_keys_forward(enc.hs, p, self.score)
        h, c = list(enc.h), list(enc.c)                          # per layer, (N, H) each
        h_tilde = xp.zeros((N, self.out_width), dtype=e.dtype)   # h_tilde_{-1}
        steps, h_tildes, alphas = [], [], []
        for t in range(T):
            x = xp.concatenate([e[:, t], h_tilde], axis=1)       # (N, E + H)
            h_top, h, c, lstm_cache = self.lstm.step_forward(x, h, c, t)
            h_tilde3, alpha, attn_cache = FA.attention_forward(h_top[:, None], enc.hs, keys,
                                                               enc.mask, p, self.score,
                                                               self.attn.output)
            h_tilde = h_tilde3[:, 0]
            steps.append((lstm_cache, attn_cache))
            h_tildes.append(h_tilde)
            alphas.append(alpha[:, 0])
        self.save_for_backward((steps, keys_cache, e.shape[2]))
        return xp.stack(h_tildes, axis=1), xp.stack(alphas, axis=1)

    def _fed_backward(self, dh_tilde):
        """dh_tilde (N, T, H) from the output layer -> (de (N, T, E), dhs, dh0, dc0)."""
        steps, keys_cache, E = self.saved_for_backward()
        xp = get_array_module(dh_tilde)
        N, T, W = dh_tilde.shape                                  # W: h_tilde's width
        H, L = self.hidden, self.n_layers
        dh_next = [xp.zeros((N, H), dtype=dh_tilde.dtype) for _ in range(L)]   # from step t+1
        dc_next = [xp.zeros((N, H), dtype=dh_tilde.dtype) for _ in range(L)]
        dh_tilde_fed = xp.zeros((N, W), dtype=dh_tilde.dtype)   # h_tilde_t's use at step t+1
        lstm_grads = {k: 0.0 for k in self.lstm.params}
        attn_grads, dhs, dkeys, de = {}, 0.0, 0.0, [None] * T
        for t in reversed(range(T)):
            lstm_cache, attn_cache = steps[t]
            dh_tilde_t = dh_tilde[:, t] + dh_tilde_fed
            dh3, dhs_t, dkeys_t, grads = FA.attention_backward(dh_tilde_t[:, None], attn_cache)
            dhs, dkeys = dhs + dhs_t, dkeys + dkeys_t
            for k, g in grads.items():
                attn_grads[k] = attn_grads.get(k, 0.0) + g
            dx, dh_next, dc_next, step_grads = self.lstm.step_backward(dh3[:, 0], dh_next,
                                                                       dc_next, lstm_cache)
            for k, g in step_grads.items():
                lstm_grads[k] = lstm_grads[k] + g
            de[t], dh_tilde_fed = dx[:, :E], dx[:, E:]
        dhs_from_keys, keys_grads = FA.attention_keys_backward(dkeys, keys_cache, self.score)
        for k, g in {**attn_grads, **keys_grads}.items():
            self.attn.set_grad(k, g)
        for k, g in lstm_grads.items():
            self.lstm.set_grad(k, g)
        return xp.stack(de, axis=1), dhs + dhs_from_keys, xp.stack(dh_next), xp.stack(dc_next)

    # --- decoding: one step at a time, nothing cached -------------------------------
    def start(self, enc: Encoded) -> AttentionState:
        """The state a search starts from; the attention keys are computed here, once."""
        xp = get_array_module(enc.hs)
        h_tilde = None
        if self.input_feeding:
            h_tilde = xp.zeros((enc.hs.shape[0], self.out_width), dtype=enc.hs.dtype)
        return AttentionState(enc.h, enc.c, enc.hs, self.attn.keys(enc.hs), enc.mask,
                              h_tilde=h_tilde)

    def step(self, tokens, state: AttentionState):
        """tokens (M,) int, state with M rows -> (log-probabilities (M, V), the next state).

        The next state's ``alpha`` (M, S) is this step's attention weights.
        """
        xp = get_array_module(state.hs)
        x = self.embed.params["W"][tokens]                     # (M, E): the model's own ids
        if self.input_feeding:
            x = xp.concatenate([x, state.h_tilde], axis=1)     # (M, E + H)
        h_top, (h, c) = self.lstm.step(x, (state.h, state.c))
        h_tilde, alpha = self.attn.step(h_top, state.hs, state.keys, state.mask)
        logits, _ = F.linear_forward(h_tilde, self.fc.params["W"], self.fc.params["b"])
        return F.log_softmax(logits), AttentionState(h, c, state.hs, state.keys, state.mask, alpha,
                                                     h_tilde if self.input_feeding else None)
