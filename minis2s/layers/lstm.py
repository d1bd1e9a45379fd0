"""Stacked LSTM layer. Maths in functional/lstm.py.

Every use runs :func:`~minis2s.functional.lstm_forward` on each layer and
returns the caches; :meth:`LSTM.backward` runs
:func:`~minis2s.functional.lstm_backward` on them. A whole sequence is one
call; a caller that must run its own time loop -- decoding, or Luong's input
feeding, where step t's input depends on step t-1's output -- calls
``forward`` once per step with a sequence of length 1, keeps each step's cache,
and hands them back in reverse order. Weight gradients *add up* over the calls
(:meth:`~minis2s.layers.Module.accumulate_grad`), which is the sum over steps
that backpropagation through time asks for.

Layer l reads the outputs of layer l-1 (the input for l = 0); dropout, when
p > 0, sits between layers (not after the last -- as in torch.nn.LSTM).
Parameters per layer l, gate order i, f, g, o::

    l.Wx (D_l, 4H)   l.Wh (H, 4H)   l.b (4H,)        D_0 = input size, D_l = H after

States are stacked over layers like PyTorch's: h0, c0, hT, cT are (L, N, H).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .. import functional as F
from ..backend import get_array_module
from ..checks import check_float, check_shape
from ..init import init_param
from ..validate import MAX_LAYERS, bounded_int
from .dropout import Dropout
from .module import Module


class StackCache(NamedTuple):
    """One :meth:`LSTM.forward`'s: per layer l, lstm_forward's cache and the dropout mask
    on layer l's input (None for layer 0, in eval mode, or with p = 0)."""
    layers: list
    dropout_masks: list


class LSTM(Module):
    """``n_layers`` stacked LSTMs (see the module docstring)."""

    def __init__(self, input_size: int, hidden_size: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform"):
        super().__init__()
        n_layers = bounded_int("n_layers", n_layers, low=1, high=MAX_LAYERS)
        self.input_size, self.hidden_size, self.n_layers = input_size, hidden_size, n_layers
        H = hidden_size
        for l in range(n_layers):
            D = input_size if l == 0 else H
            self.add_param(f"{l}.Wx", init_param(rng, (D, 4 * H), init, fan=H))
            self.add_param(f"{l}.Wh", init_param(rng, (H, 4 * H), init, fan=H))
            self.add_param(f"{l}.b", init_param(rng, (4 * H,), init, fan=H, kind="bias"))
        self.dropouts = [self.add_module(f"dropout{l}", Dropout(dropout)) for l in range(n_layers - 1)]

    def _weights(self, l: int):
        p = self._params
        return p[f"{l}.Wx"], p[f"{l}.Wh"], p[f"{l}.b"]

    def forward(self, x, state=None, mask=None):
        """x (N, T, D), state (h0, c0) each (L, N, H) or None (zeros), mask (N, T) or None.

        Returns (hs (N, T, H) of the top layer, (hT, cT) each (L, N, H), cache).
        """
        # one backend for all, or a TypeError naming the odd one out
        xp = get_array_module(x=x, mask=mask, weights=self._params["0.Wx"],
                              **({} if state is None else {"h0": state[0], "c0": state[1]}))
        fn = "LSTM.forward"
        check_float(fn, "x", x)
        check_shape(fn, "x", x, (None, None, self.input_size), "(N, T, D)")
        N, T, _ = x.shape
        L, H = self.n_layers, self.hidden_size
        if state is None:
            h0 = c0 = xp.zeros((L, N, H), dtype=x.dtype)
        else:
            h0, c0 = state
            check_shape(fn, "h0", h0, (L, N, H), "(L, N, H)")
            check_shape(fn, "c0", c0, (L, N, H), "(L, N, H)")
        if mask is not None:
            check_shape(fn, "mask", mask, (N, T), "(N, T)")
        hTs, cTs, caches, masks = [], [], [], [None]
        for l in range(L):
            if l > 0:
                x, drop_mask = self.dropouts[l - 1].forward(x)
                masks.append(drop_mask)
            x, (hT, cT), cache = F.lstm_forward(x, h0[l], c0[l], *self._weights(l), mask)
            hTs.append(hT)
            cTs.append(cT)
            caches.append(cache)
        return x, (xp.stack(hTs), xp.stack(cTs)), StackCache(caches, masks)

    def backward(self, dhs, dstate, cache: StackCache):
        """dhs (N, T, H) for the top layer's outputs (None: no gradient there); dstate (dhT, dcT)
        each (L, N, H) or None (not both None); cache: what :meth:`forward` returned.

        Adds into the weight gradients; returns dx (N, T, D) and (dh0, dc0), each (L, N, H).
        """
        xp = get_array_module(dhs, *(dstate or ()))
        L = self.n_layers
        dh0s, dc0s = [None] * L, [None] * L
        dx = dhs
        for l in reversed(range(L)):
            dhT, dcT = (None, None) if dstate is None else (dstate[0][l], dstate[1][l])
            dx, dh0s[l], dc0s[l], dWx, dWh, db = F.lstm_backward(dx, dhT, dcT, cache.layers[l])
            self.accumulate_grad(f"{l}.Wx", dWx)
            self.accumulate_grad(f"{l}.Wh", dWh)
            self.accumulate_grad(f"{l}.b", db)
            if l > 0:
                dx = self.dropouts[l - 1].backward(dx, cache.dropout_masks[l])
        return dx, (xp.stack(dh0s), xp.stack(dc0s))
