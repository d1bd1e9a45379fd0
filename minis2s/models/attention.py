r"""The attention layer: its weights, around the functions of functional/attention.py.

    keys    = the score's view of the encoder outputs hs       once per source      keys_forward
    h_tilde, alpha = attention(h, hs, keys, mask)               every decoder step   attend_forward

:meth:`Attention.forward` does both for T queries at once; a decoder that runs
step by step (input feeding, decoding) computes the keys once and attends once
per step. Each forward returns its cache; each backward adds the weight
gradients (so the per-step uses of Wc sum up, as the chain rule asks).

Parameters (H the decoder's hidden size, He the width of an encoder output)::

    Wc (He + H, H)                              output="luong": h_tilde = tanh([ctx ; h] Wc)
                                                (output="concat": h_tilde = [ctx ; h], no Wc)
    Wa (H, He)                                  score="general"
    Wq (H, A), Wk (He, A), v (A,), A = H        score="additive"

The maths, and why the keys are computed once per source, are in
:mod:`minis2s.functional.attention` and docs/derivations.md ("Attention").
"""
from __future__ import annotations

from ..checks import check_float, check_shape
from ..errors import InputError
from ..functional import attention as FA
from ..init import init_param
from ..validate import one_of
from ..layers import Module

__all__ = ["Attention"]


class Attention(Module):
    """Luong attention with a dot, general or additive score (see the module docstring)."""

    def __init__(self, hidden: int, enc_width: int, score: str, rng, init: str = "uniform",
                 output: str = "luong"):
        super().__init__()
        one_of("score", score, FA.SCORES)
        one_of("attention_output", output, FA.OUTPUTS)
        if score == "dot" and enc_width != hidden:
            raise InputError(f"the dot score compares decoder states ({hidden} units) with encoder "
                             f"outputs ({enc_width} units) directly: the sizes must agree "
                             "(use score='general' or 'additive')")
        self.score, self.hidden, self.enc_width, self.output = score, hidden, enc_width, output
        H, He = hidden, enc_width
        self.out_width = H if output == "luong" else He + H      # the width of h_tilde
        if output == "luong":
            self.add_param("Wc", init_param(rng, (He + H, H), init, fan=He + H))
        if score == "general":
            self.add_param("Wa", init_param(rng, (H, He), init, fan=H))
        if score == "additive":
            self.add_param("Wq", init_param(rng, (H, H), init, fan=H))
            self.add_param("Wk", init_param(rng, (He, H), init, fan=He))
            self.add_param("v", init_param(rng, (H,), init, fan=H))

    def keys_forward(self, hs):
        """hs (N, S, He) -> (keys (N, S, K), cache): the score's view of the source, once per source."""
        check_float("Attention.keys_forward", "hs", hs)
        check_shape("Attention.keys_forward", "hs", hs, (None, None, self.enc_width), "(N, S, He)")
        return FA.attention_keys_forward(hs, self._params, self.score)

    def keys_backward(self, dkeys, cache):
        """dkeys (N, S, K) -> dhs (N, S, He) through the keys; adds into grads["Wk"] (additive)."""
        dhs, grads = FA.attention_keys_backward(dkeys, cache, self.score)
        for name, grad in grads.items():
            self.accumulate_grad(name, grad)
        return dhs

    def attend_forward(self, h, hs, keys, mask):
        """h (N, T, H) queries, hs (N, S, He), keys from :meth:`keys_forward`, mask (N, S).

        Returns (h_tilde (N, T, out_width), alpha (N, T, S), cache).
        """
        check_shape("Attention.attend_forward", "h", h, (hs.shape[0], None, self.hidden),
                    "(N, T, H)")
        check_shape("Attention.attend_forward", "mask", mask, hs.shape[:2], "(N, S)")
        return FA.attention_forward(h, hs, keys, mask, self._params, self.score, self.output)

    def attend_backward(self, dh_tilde, cache):
        """dh_tilde (N, T, out_width) -> (dh (N, T, H), dhs (N, S, He) as values, dkeys (N, S, K));
        adds into the weight gradients."""
        dh, dhs, dkeys, grads = FA.attention_backward(dh_tilde, cache)
        for name, grad in grads.items():
            self.accumulate_grad(name, grad)
        return dh, dhs, dkeys

    def forward(self, h, hs, mask):
        """h (N, T, H) decoder outputs, hs (N, S, He), mask (N, S)
        -> (h_tilde (N, T, out_width), alpha (N, T, S), cache)."""
        keys, keys_cache = self.keys_forward(hs)
        h_tilde, alpha, cache = self.attend_forward(h, hs, keys, mask)
        return h_tilde, alpha, (keys_cache, cache)

    def backward(self, dh_tilde, cache):
        """dh_tilde (N, T, out_width) -> (dh (N, T, H), dhs (N, S, He)); adds into the weight gradients."""
        keys_cache, attend_cache = cache
        dh, dhs, dkeys = self.attend_backward(dh_tilde, attend_cache)
        return dh, dhs + self.keys_backward(dkeys, keys_cache)   # hs was read as values and as keys
