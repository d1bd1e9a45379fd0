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

    x_t = [e_t ; h_tilde_{t-1}]        (N, E + W),   h_tilde_{-1} = 0

where W, the width of h_tilde, is H (Luong's output) or He + H (output="concat").

Now step t's attention must finish before step t+1's LSTM can start, so the
training pass runs step by step: the decoder's own LSTM on a sequence of length
1, then its own attention on that one query, for t = 0 .. T-1, keeping each
step's caches; the backward pass walks back from t = T-1, adding to each
h_tilde_t the gradient its use as step t+1's input sends back. The layers add
up their weight gradients over the steps, and the keys' gradient, summed over
the steps, goes back through the keys once.

Backward (both kinds): the attention returns gradients for h (into the LSTM)
and for hs (handed back to the encoder in ``Encoded.hs``, next to the final
state's).

``cell="gru"`` puts a GRU where the LSTM is (no cell state: ``c`` is None throughout).

Decoding (:meth:`AttentionDecoder.start` / :meth:`AttentionDecoder.step`) runs
the same layers with T = 1; the keys are computed once, in ``start``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .. import functional as F
from ..backend import get_array_module
from ..layers import Dropout, Embedding, Linear, Module, recurrent_layer
from .attention import Attention
from .encoder import Encoded

__all__ = ["AttentionDecoder", "AttentionState"]


@dataclass
class AttentionState:
    """The attention decoder's state during a search, one row per hypothesis.

    h, c (L, M, H): the recurrent state (c is None for a GRU); hs (M, S, He), keys (M, S, K),
    mask (M, S): each hypothesis' source; alpha (M, S): the last step's attention weights
    (None before the first step); h_tilde (M, W): the last attentional state,
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
        c = None if self.c is None else self.c[:, idx]
        return AttentionState(self.h[:, idx], c, self.hs[idx], self.keys[idx],
                              self.mask[idx], pick(self.alpha), pick(self.h_tilde))


class AttentionDecoderCache(NamedTuple):
    """One :meth:`AttentionDecoder.forward`'s, in the order of the forward pass.

    core: without input feeding (lstm cache, attention cache); with it, the fed
    loop's (keys cache, [(lstm cache, attention cache) per step], E).
    """
    embed: Any
    drop_mask: Any
    core: Any
    drop_out_mask: Any
    fc: Any


class AttentionDecoder(Module):
    """LSTM -> attention over the encoder outputs -> output layer (see the module docstring).

    enc_width: the size of an encoder output (``hidden`` for the one-directional
    encoder; the bidirectional one concatenates two halves to the same size).
    input_feeding: each step's LSTM also reads the previous attentional state.
    """

    peeky = False

    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform", score: str = "dot",
                 enc_width: int | None = None, input_feeding: bool = False, output: str = "luong",
                 cell: str = "lstm"):
        super().__init__()
        self.cell = cell
        self.hidden, self.n_layers, self.emb_dim, self.score = hidden, n_layers, emb_dim, score
        self.input_feeding = bool(input_feeding)
        enc_width = hidden if enc_width is None else enc_width
        out_width = hidden if output == "luong" else enc_width + hidden      # h_tilde's width
        self.out_width = out_width
        lstm_in = emb_dim + (out_width if self.input_feeding else 0)
        self.embed = self.add_module("embed", Embedding(vocab_size, emb_dim, rng, init))
        self.drop = self.add_module("drop", Dropout(dropout))
        self.rnn = self.add_module(cell, recurrent_layer(cell, lstm_in, hidden, rng, n_layers,
                                                         dropout, init))
        self.attn = self.add_module("attn", Attention(hidden, enc_width, score, rng, init, output))
        self.drop_out = self.add_module("drop_out", Dropout(dropout))
        self.fc = self.add_module("fc", Linear(out_width, vocab_size, rng, init))

    # --- training: a whole target sequence at once -----------------------------------
    def forward(self, y_in, enc: Encoded):
        """y_in (N, T) int, enc -> (logits (N, T, V), cache); :meth:`forward_with_attention`
        also returns the attention weights."""
        logits, _, cache = self.forward_with_attention(y_in, enc)
        return logits, cache

    def forward_with_attention(self, y_in, enc: Encoded):
        """y_in (N, T) int, enc -> (logits (N, T, V), alpha (N, T, S), cache)."""
        e, embed_cache = self.embed.forward(y_in)              # (N, T, E)
        e, drop_mask = self.drop.forward(e)
        if self.input_feeding:
            h_tilde, alpha, core = self._fed_forward(e, enc)
        else:
            h, _, rnn_cache = self.rnn.forward(e, (enc.h, enc.c))        # (N, T, H)
            h_tilde, alpha, attn_cache = self.attn.forward(h, enc.hs, enc.mask)
            core = (rnn_cache, attn_cache)
        out, drop_out_mask = self.drop_out.forward(h_tilde)
        logits, fc_cache = self.fc.forward(out)
        return logits, alpha, AttentionDecoderCache(embed_cache, drop_mask, core, drop_out_mask,
                                                    fc_cache)

    def backward(self, dlogits, cache: AttentionDecoderCache) -> Encoded:
        """dlogits (N, T, V) -> the gradient w.r.t. the encoder's output (hs and final state)."""
        dh_tilde = self.drop_out.backward(self.fc.backward(dlogits, cache.fc), cache.drop_out_mask)
        if self.input_feeding:
            de, dhs, dh0, dc0 = self._fed_backward(dh_tilde, cache.core)
        else:
            rnn_cache, attn_cache = cache.core
            dh, dhs = self.attn.backward(dh_tilde, attn_cache)
            de, (dh0, dc0) = self.rnn.backward(dh, None, rnn_cache)
        self.embed.backward(self.drop.backward(de, cache.drop_mask), cache.embed)
        return Encoded(dhs, None, dh0, dc0)

    # --- input feeding: the same layers, one step at a time ------------------------------
    def _fed_forward(self, e, enc: Encoded):
        """e (N, T, E) -> (h_tilde (N, T, W), alpha (N, T, S), cache), step by step."""
        xp = get_array_module(e)
        N, T, E = e.shape
        keys, keys_cache = self.attn.keys_forward(enc.hs)       # once per source
        state = (enc.h, enc.c)                                   # (L, N, H) each
        h_tilde = xp.zeros((N, 1, self.out_width), dtype=e.dtype)   # h_tilde_{-1}
        steps, h_tildes, alphas = [], [], []
        for t in range(T):
            x = xp.concatenate([e[:, t:t + 1], h_tilde], axis=2)   # (N, 1, E + W)
            h, state, rnn_cache = self.rnn.forward(x, state)
            h_tilde, alpha, attn_cache = self.attn.attend_forward(h, enc.hs, keys, enc.mask)
            steps.append((rnn_cache, attn_cache))
            h_tildes.append(h_tilde)
            alphas.append(alpha)
        cache = (keys_cache, steps, E)
        return xp.concatenate(h_tildes, axis=1), xp.concatenate(alphas, axis=1), cache

    def _fed_backward(self, dh_tilde, cache):
        """dh_tilde (N, T, W) from the output layer -> (de (N, T, E), dhs, dh0, dc0)."""
        keys_cache, steps, E = cache
        xp = get_array_module(dh_tilde)
        N, T, W = dh_tilde.shape
        dstate = None                                  # the gradient from step t+1's LSTM
        dh_tilde_fed = xp.zeros((N, 1, W), dtype=dh_tilde.dtype)   # h_tilde_t's use at step t+1
        dhs, dkeys, de = 0.0, 0.0, [None] * T
        for t in reversed(range(T)):
            rnn_cache, attn_cache = steps[t]
            dh, dhs_t, dkeys_t = self.attn.attend_backward(dh_tilde[:, t:t + 1] + dh_tilde_fed,
                                                           attn_cache)
            dhs, dkeys = dhs + dhs_t, dkeys + dkeys_t  # hs and the keys were read at every step
            dx, dstate = self.rnn.backward(dh, dstate, rnn_cache)
            de[t], dh_tilde_fed = dx[:, :, :E], dx[:, :, E:]
        dhs = dhs + self.attn.keys_backward(dkeys, keys_cache)
        dh0, dc0 = dstate
        return xp.concatenate(de, axis=1), dhs, dh0, dc0

    # --- decoding: one step at a time, no backward ----------------------------------
    def start(self, enc: Encoded) -> AttentionState:
        """The state a search starts from; the attention keys are computed here, once."""
        xp = get_array_module(enc.hs)
        h_tilde = None
        if self.input_feeding:
            h_tilde = xp.zeros((enc.hs.shape[0], self.out_width), dtype=enc.hs.dtype)
        keys, _ = self.attn.keys_forward(enc.hs)
        return AttentionState(enc.h, enc.c, enc.hs, keys, enc.mask, h_tilde=h_tilde)

    def step(self, tokens, state: AttentionState):
        """tokens (M,) int, state with M rows -> (log-probabilities (M, V), the next state).

        The layers of :meth:`forward` on one step (T = 1), caches dropped (eval mode,
        no backward). The next state's ``alpha`` (M, S) is this step's attention weights.
        """
        xp = get_array_module(state.hs)
        x, _ = self.embed.forward(tokens[:, None])             # (M, 1, E)
        if self.input_feeding:
            x = xp.concatenate([x, state.h_tilde[:, None]], axis=2)    # (M, 1, E + W)
        h, (h_state, c_state), _ = self.rnn.forward(x, (state.h, state.c))
        h_tilde, alpha, _ = self.attn.attend_forward(h, state.hs, state.keys, state.mask)
        logits, _ = self.fc.forward(h_tilde[:, 0])
        return F.log_softmax(logits), AttentionState(
            h_state, c_state, state.hs, state.keys, state.mask, alpha[:, 0],
            h_tilde[:, 0] if self.input_feeding else None)
