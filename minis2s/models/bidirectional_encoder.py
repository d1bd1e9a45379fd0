r"""The bidirectional encoder (Bahdanau et al. 2015): every output sees the whole source.

Two stacks of the same LSTM layer, each H/2 units wide, read the source in
opposite directions; their outputs are concatenated position by position::

    e               = dropout(Embedding(src))                (N, S, E)
    hs_f, (hf, cf)  = LSTM_f(e, mask)                         reads s = 0 .. len-1
    hs_r, (hb, cb)  = LSTM_b(flip(e), mask)                   reads s = len-1 .. 0
    hs_b            = flip(hs_r)                              back to source order
    hs              = [hs_f ; hs_b]                           (N, S, H)
    h, c            = [hf ; hb], [cf ; cb]                    (L, N, H): the decoder's start

``flip`` reverses the real tokens of each row and leaves the padding where it
is (``reverse_padded``), so the backward LSTM, too, starts at a real token and
carries its state through the padding at the end. hs_b[s] summarises
x_s .. x_end and hs_f[s] summarises x_0 .. x_s: their concatenation describes
token s in its whole sentence, which is what attention reads.

**How the two final states reach the decoder.** Each direction has H/2 units,
so the concatenation of the two final states, layer by layer, is an H-wide
state: the decoder starts from h[l] = [hf[l] ; hb[l]] and c[l] = [cf[l] ; cb[l]]
with no extra weights (OpenNMT's ``brnn`` does the same). hf[l] has read the
whole sentence ending at its last token; hb[l] the whole sentence ending at its
first token. ``hidden`` must therefore be even.

``cell="gru"``: two GRU stacks instead, with no cell state (c is None).

Backward: flip is a permutation that is its own inverse, so the gradient goes
back through it by flipping again; the two directions' input gradients add up.
"""
from __future__ import annotations

from ..backend import get_array_module
from ..errors import InputError
from ..layers import Dropout, Embedding, Module, recurrent_layer
from .encoder import Encoded, reverse_padded

__all__ = ["BidirectionalEncoder"]


class BidirectionalEncoder(Module):
    """Embedding -> dropout -> a forward and a backward LSTM stack, H/2 units each."""

    bidirectional = True

    def __init__(self, vocab_size: int, emb_dim: int, hidden: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform", cell: str = "lstm"):
        super().__init__()
        self.cell = cell
        if hidden % 2:
            raise InputError(f"a bidirectional encoder splits hidden={hidden} into two halves "
                             "(one per direction): hidden must be even")
        self.hidden, self.n_layers, self.half = hidden, n_layers, hidden // 2
        self.embed = self.add_module("embed", Embedding(vocab_size, emb_dim, rng, init))
        self.drop = self.add_module("drop", Dropout(dropout))
        self.rnn_f = self.add_module(f"{cell}_f", recurrent_layer(cell, emb_dim, self.half, rng,
                                                                  n_layers, dropout, init))
        self.rnn_b = self.add_module(f"{cell}_b", recurrent_layer(cell, emb_dim, self.half, rng,
                                                                  n_layers, dropout, init))

    def forward(self, src, mask):
        """src (N, S) int, mask (N, S) bool -> (:class:`Encoded` with hs (N, S, H), h, c (L, N, H),
        cache for :meth:`backward`)."""
        xp = get_array_module(src)
        e, embed_cache = self.embed.forward(src)
        e, drop_mask = self.drop.forward(e)
        hs_f, (hf, cf), cache_f = self.rnn_f.forward(e, None, mask)
        hs_r, (hb, cb), cache_b = self.rnn_b.forward(reverse_padded(e, mask), None, mask)
        hs = xp.concatenate([hs_f, reverse_padded(hs_r, mask)], axis=2)
        c = None if cf is None else xp.concatenate([cf, cb], axis=2)     # a GRU has no c
        enc = Encoded(hs, mask, xp.concatenate([hf, hb], axis=2), c)
        return enc, (mask, embed_cache, drop_mask, cache_f, cache_b)

    def backward(self, d: Encoded, cache) -> None:
        """d: the decoder's gradient w.r.t. what :meth:`forward` returned (d.hs may be None)."""
        mask, embed_cache, drop_mask, cache_f, cache_b = cache
        k = self.half                                  # the final state splits at H/2
        dhs_f = None if d.hs is None else d.hs[..., :k]
        dhs_r = None if d.hs is None else reverse_padded(d.hs[..., k:], mask)
        dc_f, dc_b = (None, None) if d.c is None else (d.c[..., :k], d.c[..., k:])
        de_f, _ = self.rnn_f.backward(dhs_f, (d.h[..., :k], dc_f), cache_f)
        de_r, _ = self.rnn_b.backward(dhs_r, (d.h[..., k:], dc_b), cache_b)
        de = self.drop.backward(de_f + reverse_padded(de_r, mask), drop_mask)
        self.embed.backward(de, embed_cache)
