"""Stacked GRU layer. Maths in functional/gru.py; the stacking in layers/stacked.py.

The GRU beside the LSTM (:mod:`minis2s.layers.lstm`), used the same way.
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

from .. import functional as F
from ..init import init_param
from .stacked import Stacked


class GRU(Stacked):
    """``n_layers`` stacked GRUs (see :mod:`minis2s.layers.stacked` for how they are used)."""

    has_cell = False

    def _add_layer(self, l, D, H, rng, init):
        self.add_param(f"{l}.Wx", init_param(rng, (D, 3 * H), init, fan=H))
        self.add_param(f"{l}.Wh", init_param(rng, (H, 3 * H), init, fan=H))
        self.add_param(f"{l}.bx", init_param(rng, (3 * H,), init, fan=H, kind="bias"))
        self.add_param(f"{l}.bh", init_param(rng, (3 * H,), init, fan=H, kind="bias"))

    def _layer_forward(self, l, x, h0, c0, mask):
        p = self._params
        hs, hT, cache = F.gru_forward(x, h0, p[f"{l}.Wx"], p[f"{l}.Wh"], p[f"{l}.bx"],
                                      p[f"{l}.bh"], mask)
        return hs, hT, None, cache

    def _layer_backward(self, l, dhs, dhT, dcT, cache):
        dx, dh0, dWx, dWh, dbx, dbh = F.gru_backward(dhs, dhT, cache)
        self.accumulate_grad(f"{l}.Wx", dWx)
        self.accumulate_grad(f"{l}.Wh", dWh)
        self.accumulate_grad(f"{l}.bx", dbx)
        self.accumulate_grad(f"{l}.bh", dbh)
        return dx, dh0, None
