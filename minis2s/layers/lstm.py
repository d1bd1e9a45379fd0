"""Stacked LSTM layer. Maths in functional/lstm.py; the stacking in layers/stacked.py.

Parameters per layer l, gate order i, f, g, o (PyTorch's)::

    l.Wx (D_l, 4H)   l.Wh (H, 4H)   l.b (4H,)        D_0 = input size, D_l = H after

States are (h, c), each (L, N, H).
"""
from __future__ import annotations

from .. import functional as F
from ..init import init_param
from .stacked import Stacked


class LSTM(Stacked):
    """``n_layers`` stacked LSTMs (see :mod:`minis2s.layers.stacked` for how they are used)."""

    has_cell = True

    def _add_layer(self, l, D, H, rng, init):
        self.add_param(f"{l}.Wx", init_param(rng, (D, 4 * H), init, fan=H))
        self.add_param(f"{l}.Wh", init_param(rng, (H, 4 * H), init, fan=H))
        self.add_param(f"{l}.b", init_param(rng, (4 * H,), init, fan=H, kind="bias"))

    def _layer_forward(self, l, x, h0, c0, mask):
        p = self._params
        hs, (hT, cT), cache = F.lstm_forward(x, h0, c0, p[f"{l}.Wx"], p[f"{l}.Wh"], p[f"{l}.b"],
                                             mask)
        return hs, hT, cT, cache

    def _layer_backward(self, l, dhs, dhT, dcT, cache):
        dx, dh0, dc0, dWx, dWh, db = F.lstm_backward(dhs, dhT, dcT, cache)
        self.accumulate_grad(f"{l}.Wx", dWx)
        self.accumulate_grad(f"{l}.Wh", dWh)
        self.accumulate_grad(f"{l}.b", db)
        return dx, dh0, dc0
