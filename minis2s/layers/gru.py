"""Stacked GRU layer. Maths in functional/gru.py.

The GRU beside the LSTM (:mod:`minis2s.layers.lstm`), used the same way: every
use runs :func:`~minis2s.functional.gru_forward` on each layer and returns the
caches; :meth:`GRU.backward` runs :func:`~minis2s.functional.gru_backward` on
them and *adds* the weight gradients (:meth:`~minis2s.layers.Module.accumulate_grad`),
so a caller that runs its own time loop (decoding, input feeding) calls
``forward`` once per step with a sequence of length 1.

Layer l reads the outputs of layer l-1 (the input for l = 0); dropout, when
p > 0, sits between layers (not after the last -- as in torch.nn.GRU).
Parameters per layer l, gate order r, z, n (PyTorch's)::

    l.Wx (D_l, 3H)   l.Wh (H, 3H)   l.bx (3H,)   l.bh (3H,)     D_0 = input size, D_l = H after

Two biases, where the LSTM has one: the reset gate multiplies the hidden part of
the candidate with its bias, so ``bh`` cannot be folded into ``bx``
(docs/derivations.md, "GRU").

**The state has the LSTM's form**, a pair ``(h, c)`` with h (L, N, H), so that
the models carry one kind of state whichever cell they run: a GRU has no cell
state, and its ``c`` is always None -- ``forward`` returns ``(hT, None)``,
accepts ``(h0, None)`` and ``backward`` returns ``(dh0, None)``.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .. import functional as F
from ..backend import get_array_module
from ..checks import check_float, check_shape
from ..errors import InputError
from ..init import init_param
from ..validate import MAX_LAYERS, bounded_int
from .dropout import Dropout
from .module import Module


class GRUStackCache(NamedTuple):
    """One :meth:`GRU.forward`'s: per layer l, gru_forward's cache and the dropout mask
    on layer l's input (None for layer 0, in eval mode, or with p = 0)."""
    layers: list
    dropout_masks: list


class GRU(Module):
    """``n_layers`` stacked GRUs (see the module docstring)."""

    def __init__(self, input_size: int, hidden_size: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform"):
        super().__init__()
        n_layers = bounded_int("n_layers", n_layers, low=1, high=MAX_LAYERS)
        self.input_size, self.hidden_size, self.n_layers = input_size, hidden_size, n_layers
        H = hidden_size
        for l in range(n_layers):
            D = input_size if l == 0 else H
            self.add_param(f"{l}.Wx", init_param(rng, (D, 3 * H), init, fan=H))
            self.add_param(f"{l}.Wh", init_param(rng, (H, 3 * H), init, fan=H))
            self.add_param(f"{l}.bx", init_param(rng, (3 * H,), init, fan=H, kind="bias"))
            self.add_param(f"{l}.bh", init_param(rng, (3 * H,), init, fan=H, kind="bias"))
        self.dropouts = [self.add_module(f"dropout{l}", Dropout(dropout)) for l in range(n_layers - 1)]

    def _weights(self, l: int):
        p = self._params
        return p[f"{l}.Wx"], p[f"{l}.Wh"], p[f"{l}.bx"], p[f"{l}.bh"]

    def forward(self, x, state=None, mask=None):
        """x (N, T, D), state (h0, None) with h0 (L, N, H), or None (zeros); mask (N, T) or None.

        Returns (hs (N, T, H) of the top layer, (hT (L, N, H), None), cache).
        """
        h0 = None if state is None else state[0]
        if state is not None and state[1] is not None:
            raise InputError("GRU.forward: a GRU has no cell state; pass state=(h0, None)")
        # one backend for all, or a TypeError naming the odd one out
        xp = get_array_module(x=x, mask=mask, weights=self._params["0.Wx"],
                              **({} if h0 is None else {"h0": h0}))
        fn = "GRU.forward"
        check_float(fn, "x", x)
        check_shape(fn, "x", x, (None, None, self.input_size), "(N, T, D)")
        N, T, _ = x.shape
        L, H = self.n_layers, self.hidden_size
        if h0 is None:
            h0 = xp.zeros((L, N, H), dtype=x.dtype)
        check_shape(fn, "h0", h0, (L, N, H), "(L, N, H)")
        if mask is not None:
            check_shape(fn, "mask", mask, (N, T), "(N, T)")
        hTs, caches, masks = [], [], [None]
        for l in range(L):
            if l > 0:
                x, drop_mask = self.dropouts[l - 1].forward(x)
                masks.append(drop_mask)
            x, hT, cache = F.gru_forward(x, h0[l], *self._weights(l), mask)
            hTs.append(hT)
            caches.append(cache)
        return x, (xp.stack(hTs), None), GRUStackCache(caches, masks)

    def backward(self, dhs, dstate, cache: GRUStackCache):
        """dhs (N, T, H) for the top layer's outputs (None: no gradient there); dstate
        (dhT (L, N, H), anything) or None (not both None); cache: what :meth:`forward` returned.

        Adds into the weight gradients; returns dx (N, T, D) and (dh0 (L, N, H), None).
        """
        dhT = None if dstate is None else dstate[0]
        xp = get_array_module(*(a for a in (dhs, dhT) if a is not None))
        L = self.n_layers
        dh0s = [None] * L
        dx = dhs
        for l in reversed(range(L)):
            dx, dh0s[l], dWx, dWh, dbx, dbh = F.gru_backward(
                dx, None if dhT is None else dhT[l], cache.layers[l])
            self.accumulate_grad(f"{l}.Wx", dWx)
            self.accumulate_grad(f"{l}.Wh", dWh)
            self.accumulate_grad(f"{l}.bx", dbx)
            self.accumulate_grad(f"{l}.bh", dbh)
            if l > 0:
                dx = self.dropouts[l - 1].backward(dx, cache.dropout_masks[l])
        return dx, (xp.stack(dh0s), None)
