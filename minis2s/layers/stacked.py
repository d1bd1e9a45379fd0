"""What the two recurrent layers share: stacking, dropout between layers, the state's shape.

Layer l reads the outputs of layer l-1 (the input for l = 0); dropout, when
p > 0, sits between layers (not after the last -- as in torch.nn.LSTM and
torch.nn.GRU). States are stacked over layers like PyTorch's: a state is a pair
``(h, c)`` with h (L, N, H), and c (L, N, H) for the LSTM or None for the GRU,
which has no cell state -- so the models carry one kind of state whichever cell
they run.

Every use runs the cell's sequence function (:func:`~minis2s.functional.lstm_forward`,
:func:`~minis2s.functional.gru_forward`) on each layer and returns the caches;
``backward`` runs the sequence backward on them and *adds* the weight gradients
(:meth:`~minis2s.layers.Module.accumulate_grad`). A whole sequence is one call;
a caller that must run its own time loop -- decoding, or Luong's input feeding,
where step t's input depends on step t-1's output -- calls ``forward`` once per
step with a sequence of length 1, keeps each step's cache, and hands them back
in reverse order: the gradients added up over the calls are the sum over steps
that backpropagation through time asks for.

A subclass says what one layer is: its parameters (:meth:`Stacked._add_layer`),
and the sequence functions that run it (:meth:`Stacked._layer_forward`,
:meth:`Stacked._layer_backward`).
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import get_array_module
from ..checks import check_float, check_shape
from ..errors import InputError
from ..validate import MAX_LAYERS, bounded_int
from .dropout import Dropout
from .module import Module

__all__ = ["Stacked", "StackCache"]


class StackCache(NamedTuple):
    """One :meth:`Stacked.forward`'s: per layer l, the sequence function's cache and the
    dropout mask on layer l's input (None for layer 0, in eval mode, or with p = 0)."""
    layers: list
    dropout_masks: list


class Stacked(Module):
    """``n_layers`` stacked recurrent layers (see the module docstring)."""

    has_cell: bool           # a subclass says: the LSTM has a cell state c, a GRU none

    def __init__(self, input_size: int, hidden_size: int, rng, n_layers: int = 1,
                 dropout: float = 0.0, init: str = "uniform"):
        super().__init__()
        n_layers = bounded_int("n_layers", n_layers, low=1, high=MAX_LAYERS)
        self.input_size, self.hidden_size, self.n_layers = input_size, hidden_size, n_layers
        for l in range(n_layers):
            self._add_layer(l, input_size if l == 0 else hidden_size, hidden_size, rng, init)
        self.dropouts = [self.add_module(f"dropout{l}", Dropout(dropout)) for l in range(n_layers - 1)]

    # --- what a subclass says -------------------------------------------------------
    def _add_layer(self, l: int, D: int, H: int, rng, init: str) -> None:
        """Register layer l's parameters (input size D, hidden size H)."""
        raise NotImplementedError

    def _layer_forward(self, l: int, x, h0, c0, mask):
        """Layer l over x (N, T, D) from (h0, c0) -> (hs (N, T, H), hT, cT, cache)."""
        raise NotImplementedError

    def _layer_backward(self, l: int, dhs, dhT, dcT, cache):
        """Backward of layer l: adds its weight gradients; returns (dx, dh0, dc0)."""
        raise NotImplementedError

    # --- the stack ------------------------------------------------------------------
    def forward(self, x, state=None, mask=None):
        """x (N, T, D), state (h0, c0) each (L, N, H) (c0 None for a GRU) or None (zeros),
        mask (N, T) or None.

        Returns (hs (N, T, H) of the top layer, (hT, cT) each (L, N, H) or None, cache).
        """
        fn = f"{type(self).__name__}.forward"
        h0, c0 = (None, None) if state is None else state
        if c0 is not None and not self.has_cell:
            raise InputError(f"{fn}: a {type(self).__name__} has no cell state; pass (h0, None)")
        # one backend for all, or a TypeError naming the odd one out
        xp = get_array_module(x=x, mask=mask, h0=h0, c0=c0, weights=self._params["0.Wx"])
        check_float(fn, "x", x)
        check_shape(fn, "x", x, (None, None, self.input_size), "(N, T, D)")
        N, T, _ = x.shape
        L, H = self.n_layers, self.hidden_size
        if h0 is None:
            h0 = xp.zeros((L, N, H), dtype=x.dtype)
        if c0 is None and self.has_cell:
            c0 = xp.zeros((L, N, H), dtype=x.dtype)
        check_shape(fn, "h0", h0, (L, N, H), "(L, N, H)")
        if c0 is not None:
            check_shape(fn, "c0", c0, (L, N, H), "(L, N, H)")
        if mask is not None:
            check_shape(fn, "mask", mask, (N, T), "(N, T)")
        hTs, cTs, caches, masks = [], [], [], [None]
        for l in range(L):
            if l > 0:
                x, drop_mask = self.dropouts[l - 1].forward(x)
                masks.append(drop_mask)
            x, hT, cT, cache = self._layer_forward(l, x, h0[l], None if c0 is None else c0[l], mask)
            hTs.append(hT)
            cTs.append(cT)
            caches.append(cache)
        cT = xp.stack(cTs) if self.has_cell else None
        return x, (xp.stack(hTs), cT), StackCache(caches, masks)

    def backward(self, dhs, dstate, cache: StackCache):
        """dhs (N, T, H) for the top layer's outputs (None: no gradient there); dstate
        (dhT, dcT) each (L, N, H) or None (dcT None for a GRU), or None (not both None);
        cache: what :meth:`forward` returned.

        Adds into the weight gradients; returns dx (N, T, D) and (dh0, dc0), each (L, N, H)
        (dc0 None for a GRU).
        """
        dhT, dcT = (None, None) if dstate is None else dstate
        xp = get_array_module(dhs, dhT, dcT)
        L = self.n_layers
        dh0s, dc0s = [None] * L, [None] * L
        dx = dhs
        for l in reversed(range(L)):
            dx, dh0s[l], dc0s[l] = self._layer_backward(
                l, dx, None if dhT is None else dhT[l], None if dcT is None else dcT[l],
                cache.layers[l])
            if l > 0:
                dx = self.dropouts[l - 1].backward(dx, cache.dropout_masks[l])
        return dx, (xp.stack(dh0s), xp.stack(dc0s) if self.has_cell else None)
