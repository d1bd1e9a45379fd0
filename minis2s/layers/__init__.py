"""Layer objects on top of the functional core: named parameters and gradients."""
from .dropout import Dropout
from .embedding import Embedding
from .gru import GRU
from .linear import Linear
from .lstm import LSTM
from .module import Module
from .recurrent import CELLS, recurrent_layer
from .stacked import StackCache, Stacked

__all__ = ["Module", "Embedding", "Linear", "Dropout", "Stacked", "StackCache", "LSTM", "GRU", "CELLS",
           "recurrent_layer"]
