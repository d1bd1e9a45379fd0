"""Which recurrent layer a model runs: ``cell="lstm"`` (the paper's) or ``cell="gru"``.

Both take the same arguments and have the same ``forward``/``backward``, with a
state of the same form ``(h, c)`` (a GRU's c is None), so the models build
either one through :func:`recurrent_layer` and run it without asking which.
"""
from __future__ import annotations

from ..validate import one_of
from .gru import GRU
from .lstm import LSTM

__all__ = ["CELLS", "recurrent_layer"]

CELLS = {"lstm": LSTM, "gru": GRU}


def recurrent_layer(cell: str, input_size: int, hidden_size: int, rng, n_layers: int = 1,
                    dropout: float = 0.0, init: str = "uniform"):
    """A new :class:`~minis2s.layers.LSTM` or :class:`~minis2s.layers.GRU` (``cell``)."""
    return CELLS[one_of("cell", cell, tuple(CELLS))](input_size, hidden_size, rng, n_layers, dropout, init)
