r"""The attention layer: its weights, around the functions of functional/attention.py.

    keys    = the score's view of the encoder outputs hs       once per source
    h_tilde, alpha = attention(h, hs, keys, mask)               every decoder step

Parameters (H the decoder's hidden size, He the width of an encoder output)::

    Wc (He + H, H)                              output="luong": h_tilde = tanh([ctx ; h] Wc)
                                                (output="concat": h_tilde = [ctx ; h], no Wc)
    Wa (H, He)                                  score="general"
    Wq (H, A), Wk (He, A), v (A,), A = H        score="additive"

The maths, and why the keys are computed once per source, are in
:mod:`minis2s.functional.attention` and docs/derivations.md ("Attention").
"""
from __future__ import annotations

from ..functional import attention as FA
from ..init import init_param
from ..layers import Module

__all__ = ["Attention"]


class Attention(Module):
    """Luong attention with a dot, general or additive score (see the module docstring)."""

    def __init__(self, hidden: int, enc_width: int, score: str, rng, init: str = "uniform",
                 output: str = "luong"):
        super().__init__()
        if score not in FA.SCORES:
            raise ValueError(f"score must be one of {', '.join(FA.SCORES)}; got {score!r}")
        if output not in FA.OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(FA.OUTPUTS)}; got {output!r}")
        if score == "dot" and enc_width != hidden:
            raise ValueError(f"the dot score compares decoder states ({hidden} units) with encoder "
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

    def keys(self, hs):
        """hs (N, S, He) -> keys (N, S, K), nothing kept: for decoding."""
        keys, _ = FA.attention_keys_forward(hs, self._params, self.score)
        return keys

    def forward(self, h, hs, mask):
        """h (N, T, H) decoder outputs, hs (N, S, He), mask (N, S) -> (h_tilde (N, T, H), alpha (N, T, S))."""
        keys, keys_cache = FA.attention_keys_forward(hs, self._params, self.score)
        h_tilde, alpha, cache = FA.attention_forward(h, hs, keys, mask, self._params, self.score,
                                                     self.output)
        self.save_for_backward((keys_cache, cache))
        return h_tilde, alpha

    def backward(self, dh_tilde):
        """dh_tilde (N, T, H) -> (dh (N, T, H), dhs (N, S, He)); writes the weight gradients."""
        keys_cache, cache = self.saved_for_backward()
        dh, dhs, dkeys, grads = FA.attention_backward(dh_tilde, cache)
        dhs_from_keys, keys_grads = FA.attention_keys_backward(dkeys, keys_cache, self.score)
        for name, grad in {**grads, **keys_grads}.items():
            self.set_grad(name, grad)
        return dh, dhs + dhs_from_keys      # hs was read twice: as values and (through) keys

    def step(self, h, hs, keys, mask):
        """One decoding step, nothing kept: h (M, H), hs (M, S, He), keys (M, S, K), mask (M, S).

        Returns (h_tilde (M, H), alpha (M, S)): the functions of :meth:`forward` with T = 1.
        """
        h_tilde, alpha, _ = FA.attention_forward(h[:, None, :], hs, keys, mask, self._params,
                                                 self.score, self.output)
        return h_tilde[:, 0], alpha[:, 0]
