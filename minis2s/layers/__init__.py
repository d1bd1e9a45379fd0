"""Layer objects on top of the functional core: named parameters and gradients."""
from .dropout import Dropout
from .embedding import Embedding
from .linear import Linear
from .lstm import LSTM
from .module import Module

__all__ = ["Module", "Embedding", "Linear", "Dropout", "LSTM"]
