r"""Decoding one token at a time, fast: what :meth:`Decoder.step` computes, prepared once.

:meth:`Decoder.step` is the readable version of one decoding step -- embed the
tokens, one LSTM step per layer, the output layer, log-softmax -- in the
batch-first layout of training. A search calls it up to ``max_len`` times on
the same context, and much of each call does not depend on the step. A
:class:`Stepper` does that part once, when decoding starts, and keeps the state
feature-major ((H, M): one column per hypothesis) like the fast training path
(functional/lstm_fast.py), so the cell works on contiguous gate blocks:

* The first layer's input part is ``[E[y] ; ctx] Wx + b = E[y] Wx_e + (ctx Wx_c + b)``
  (the ctx block exists only in the peeky decoder). The bracket is the same at
  every step: computed once.
* A layer's two products, ``x_t Wx`` and ``h_{t-1} Wh``, are one GEMM with the
  weights stacked, ``[Wx; Wh]^T [x_t; h_{t-1}]`` (stacked once per decode).
* The output layer is ``[h ; ctx] W + b = h W_h + (ctx W_c + b)``: the bracket again once.
* Per-step scratch arrays live in a workspace; matrix products write into them (``out=``).

The maths is unchanged, and a test holds a Stepper to ``Decoder.step`` on
every backend. Dropout is off: decoding is evaluation.
"""
from __future__ import annotations

from ..backend import get_array_module, get_kernels
from ..functional import log_softmax
from ..workspace import Workspace

__all__ = ["Stepper"]


class Stepper:
    """Run ``decoder`` step by step from ``state`` (h, c) each (L, M, H) and ``ctx`` (M, H).

    Call ``stepper(tokens)`` with tokens (M,) int to get log-probabilities (M, V)
    and advance the state; ``reorder(idx)`` makes row j the old row idx[j] (beam
    search); ``state`` gives (h, c) back in the batch-first (L, M, H) layout.
    The weights are read (and stacked) when the Stepper is made: make a new one
    after the parameters change.
    """

    def __init__(self, decoder, state, ctx):
        xp = get_array_module(state[0], ctx)
        self.xp, self.ws = xp, Workspace()
        self.cell = get_kernels(ctx).lstm_cell_forward
        lstm, p = decoder.lstm, decoder.lstm.params
        self.L, self.H = lstm.n_layers, lstm.hidden_size
        self.E_W = decoder.embed.params["W"]                 # (V_in, E)
        E = self.E_W.shape[1]
        self.dt, self.peeky = ctx.dtype, decoder.peeky

        # Each layer's step is one GEMM, A_t = [Wx; Wh]^T [x_t; h_{t-1}] + const: the two
        # products of the step share their output, so stacking them costs one call, not
        # two plus an add. Layer 0's x_t is the embedding only (the ctx part of its Wx
        # goes into const, once); its const = (ctx Wx_c + b)^T, the other layers' = b.
        self.W_cat, self.const = [], []
        for l in range(self.L):
            Wx, Wh, b = p[f"{l}.Wx"], p[f"{l}.Wh"], p[f"{l}.b"]
            D = E if l == 0 else self.H
            self.W_cat.append(xp.concatenate([Wx[:D], Wh], axis=0))     # (D + H, 4H)
            const = b[:, None]                                           # (4H, 1): broadcast
            if l == 0 and decoder.peeky:
                const = Wx[E:].T @ ctx.T + const                         # (4H, M)
            self.const.append(const)

        # output layer: logits = h^T W_h + out_const, out_const = ctx W_c + b
        W, b = decoder.fc.params["W"], decoder.fc.params["b"]
        self.W_h = W[:self.H]
        self.out_const = b[None, :]                                      # (1, V): broadcast
        if decoder.peeky:
            self.out_const = ctx @ W[self.H:] + self.out_const           # (M, V)

        # the state, feature-major: (L, H, M), C-contiguous
        self.h = xp.ascontiguousarray(state[0].transpose(0, 2, 1))
        self.c = xp.ascontiguousarray(state[1].transpose(0, 2, 1))

    @property
    def state(self):
        """(h, c), each (L, M, H), as Decoder.step takes and returns them."""
        return self.h.transpose(0, 2, 1), self.c.transpose(0, 2, 1)

    def reorder(self, idx) -> None:
        """Row j becomes old row idx[j] (idx (M',) int on the state's backend; M' may differ
        from M, e.g. to copy each row k times at the start of a beam search): the state and,
        for the peeky decoder, the context terms (beam search keeps each hypothesis with
        its own sentence, so those are unchanged there, but nothing here relies on it)."""
        # take, not h[:, :, idx]: NumPy's fancy indexing on the last axis returns a
        # non-contiguous result here, and the cell would then run on strided blocks
        self.h = self.xp.take(self.h, idx, axis=2)
        self.c = self.xp.take(self.c, idx, axis=2)
        if self.peeky:
            self.const[0] = self.xp.take(self.const[0], idx, axis=1)
            self.out_const = self.out_const[idx]

    def __call__(self, tokens):
        """tokens (M,) int -> log-probabilities (M, V) of the next token; advances the state."""
        xp, ws, H, dt = self.xp, self.ws, self.H, self.dt
        M = self.h.shape[2]
        h_new = xp.empty_like(self.h)                        # fresh: `state` hands out views
        c_new = xp.empty_like(self.c)
        a = ws.empty("a", (4 * H, M), dt, xp)
        tanh_c = ws.empty("tanh_c", (H, M), dt, xp)
        x = self.E_W[tokens].T                               # (E, M): layer 0's input
        for l in range(self.L):
            D = x.shape[0]
            xh = ws.empty(f"xh{l}", (D + H, M), dt, xp)      # [x_t; h_{t-1}]
            xh[:D], xh[D:] = x, self.h[l]
            xp.matmul(self.W_cat[l].T, xh, out=a)
            a += self.const[l]
            self.cell(a, self.c[l], c_new[l], tanh_c, h_new[l], gate_axis=0)
            x = h_new[l]
        self.h, self.c = h_new, c_new
        logits = x.T @ self.W_h                              # (M, V): batch-first for the search
        logits += self.out_const
        return log_softmax(logits)
