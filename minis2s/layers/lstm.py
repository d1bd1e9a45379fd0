"""Stacked LSTM layer over whole sequences. Maths in functional/lstm.py.

Training runs :func:`~minis2s.functional.lstm_forward` and
:func:`~minis2s.functional.lstm_backward` on every layer. A caller that must run
its own time loop -- Luong's input feeding, where step t's input depends on step
t-1's output -- runs :meth:`LSTM.step_forward` / :meth:`LSTM.step_backward`, one
step through every layer with its cache. Decoding runs
:func:`~minis2s.functional.lstm_step_forward` one step at a time, nothing kept
(:meth:`LSTM.step`).

Layer l reads the outputs of layer l-1 (the input for l = 0); dropout, when
p > 0, sits between layers (not after the last -- as in torch.nn.LSTM).
Parameters per layer l, gate order i, f, g, o::

    l.Wx (D_l, 4H)   l.Wh (H, 4H)   l.b (4H,)        D_0 = input size, D_l = H after

States are stacked over layers like PyTorch's: h0, c0, hT, cT are (L, N, H).
"""
from __future__ import annotations

from .. import functional as F
from ..backend import get_array_module
from ..functional._checks import check_shape
from ..init import init_param
from .dropout import Dropout
from .module import Module


class LSTM(Module):
    """``n_layers`` stacked LSTMs over whole sequences (see the module docstring)."""

    def __init__(self, input_size: int, hidden_size: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform"):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"LSTM: n_layers must be >= 1, got {n_layers}")
        self.input_size, self.hidden_size, self.n_layers = input_size, hidden_size, n_layers
        H = hidden_size
        for l in range(n_layers):
            D = input_size if l == 0 else H
            self.add_param(f"{l}.Wx", init_param(rng, (D, 4 * H), init, fan=H))
            self.add_param(f"{l}.Wh", init_param(rng, (H, 4 * H), init, fan=H))
            self.add_param(f"{l}.b", init_param(rng, (4 * H,), init, fan=H, kind="bias"))
        self.dropouts = [self.add_module(f"dropout{l}", Dropout(dropout)) for l in range(n_layers - 1)]
        self._step_masks = {}    # step_forward's dropout masks, by (t, l)

    def _weights(self, l: int):
        p = self._params
        return p[f"{l}.Wx"], p[f"{l}.Wh"], p[f"{l}.b"]

    def forward(self, x, state=None, mask=None):
        """x (N, T, D), state (h0, c0) each (L, N, H) or None (zeros), mask (N, T) or None.

        Returns hs (N, T, H) of the top layer and (hT, cT), each (L, N, H).
        """
        xp = get_array_module(x)
        N, L, H = x.shape[0], self.n_layers, self.hidden_size
        if state is None:
            h0 = c0 = xp.zeros((L, N, H), dtype=x.dtype)
        else:
            h0, c0 = state
            check_shape("LSTM.forward", "h0", h0, (L, N, H), "(L, N, H)")
            check_shape("LSTM.forward", "c0", c0, (L, N, H), "(L, N, H)")
        hTs, cTs, caches = [], [], []
        for l in range(L):
            if l > 0:
                x = self.dropouts[l - 1].forward(x)
            x, (hT, cT), cache = F.lstm_forward(x, h0[l], c0[l], *self._weights(l), mask)
            hTs.append(hT)
            cTs.append(cT)
            caches.append(cache)
        self.save_for_backward(caches)
        return x, (xp.stack(hTs), xp.stack(cTs))

    def backward(self, dhs, dstate=None):
        """dhs (N, T, H) for the top layer's outputs (None: no gradient there); dstate (dhT, dcT)
        each (L, N, H) or None (not both None).

        Writes the weight gradients; returns dx (N, T, D) and (dh0, dc0), each (L, N, H).
        """
        caches = self.saved_for_backward()
        xp = get_array_module(dhs, *(dstate or ()))
        dh0s, dc0s = [None] * self.n_layers, [None] * self.n_layers
        dx = dhs
        for l in reversed(range(self.n_layers)):
            dhT, dcT = (None, None) if dstate is None else (dstate[0][l], dstate[1][l])
            dx, dh0s[l], dc0s[l], dWx, dWh, db = F.lstm_backward(dx, dhT, dcT, caches[l])
            self.set_grad(f"{l}.Wx", dWx)
            self.set_grad(f"{l}.Wh", dWh)
            self.set_grad(f"{l}.b", db)
            if l > 0:
                dx = self.dropouts[l - 1].backward(dx)
        return dx, (xp.stack(dh0s), xp.stack(dc0s))

    # --- one step through every layer, for a caller that runs its own time loop ---------
    def step_forward(self, x, h, c, t: int):
        """One training step through the stack, cache kept (Luong's input feeding needs it:
        step t's input depends on step t-1's attention, so the whole-sequence pass cannot run).

        x (N, D); h, c: lists of L arrays (N, H), the state after step t-1; t: the step,
        which keys the dropout masks between layers. Returns (h_top (N, H), h, c: the
        lists after step t, cache for :meth:`step_backward`).
        """
        h, c, caches, masks = list(h), list(c), [], []
        for l in range(self.n_layers):
            mask = None
            if l > 0:   # dropout between layers, as forward() applies it
                x, mask = self._step_dropout(x, l, t)
            h[l], c[l], cache = F.lstm_step_forward(x, h[l], c[l], *self._weights(l))
            caches.append(cache)
            masks.append(mask)
            x = h[l]
        return x, h, c, (caches, masks)

    def step_backward(self, dh_top, dh_next, dc_next, cache):
        """Backward of one :meth:`step_forward`.

        dh_top (N, H): the gradient into the top layer's output from outside (the attention);
        dh_next, dc_next: lists of L arrays (N, H), the gradients from step t+1.
        Returns (dx (N, D), dh_prev, dc_prev: lists of L arrays (N, H), {name: this step's
        weight gradient}); the caller sums the weight gradients over the steps.
        """
        caches, masks = cache
        dh_prev, dc_prev, grads = list(dh_next), list(dc_next), {}
        dh = dh_top + dh_next[-1]
        for l in reversed(range(self.n_layers)):
            dx, dh_prev[l], dc_prev[l], dWx, dWh, db = F.lstm_step_backward(dh, dc_next[l],
                                                                            caches[l])
            grads[f"{l}.Wx"], grads[f"{l}.Wh"], grads[f"{l}.b"] = dWx, dWh, db
            if l > 0:
                if masks[l] is not None:
                    dx = F.dropout_backward(dx, masks[l])
                dh = dx + dh_next[l - 1]
        return dx, dh_prev, dc_prev, grads

    def _step_dropout(self, x, l: int, t: int):
        """Dropout between layers l-1 and l at step t, with the layer's own Dropout settings:
        a fresh mask each pass, or, when ``frozen`` (gradient checks), step t's last one."""
        drop = self.dropouts[l - 1]
        if not self.training or drop.p == 0.0:
            return x, None
        kept = self._step_masks.get((t, l))
        if drop.frozen and kept is not None and kept.shape == x.shape:
            return F.dropout_forward(x, drop.p, mask=kept)
        x, self._step_masks[(t, l)] = F.dropout_forward(x, drop.p, rng=drop.rng)
        return x, self._step_masks[(t, l)]

    def step(self, x, state):
        """One time step for decoding, no cache kept: x (N, D), state (h, c) each (L, N, H).

        Returns (h_top (N, H), (h, c) each (L, N, H)). Dropout is not applied (eval).
        """
        xp = get_array_module(x)
        h, c = state
        hs, cs = [], []
        for l in range(self.n_layers):
            x, c_l, _ = F.lstm_step_forward(x, h[l], c[l], *self._weights(l))
            hs.append(x)
            cs.append(c_l)
        return x, (xp.stack(hs), xp.stack(cs))
