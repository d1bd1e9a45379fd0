"""The functional core: every forward and backward pass, written by hand.

cs231n-style functions: ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache) -> grads``; batch first; shapes in each docstring.
A cache is a NamedTuple whose fields carry the derivation's names
(``cache.f`` is the forget gate). The bodies hold the maths only: shapes and
dtypes are checked where arrays enter the engine (layers, models, the
exercise checker; :mod:`minis2s.checks`).
They are plain array expressions that allocate their results, with the names
of the derivations in docs/derivations.md, and they are what the models run,
on NumPy and CuPy alike (the array module comes from the inputs).
"""
from .attention import (AttentionCache, additive_keys_backward, additive_keys_forward, additive_score_backward,
                        additive_score_forward, attention_backward, attention_forward,
                        attention_keys_backward, attention_keys_forward, attention_output_backward,
                        attention_output_forward, context_backward, context_forward,
                        dot_score_backward, dot_score_forward, general_score_backward,
                        general_score_forward, masked_softmax_backward, masked_softmax_forward)
from .dropout import dropout_backward, dropout_forward
from .embedding import EmbeddingCache, embedding_backward, embedding_forward
from .gru import GRUCache, GRUStepCache, gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .linear import LinearCache, linear_backward, linear_forward
from .lstm import (LSTMCache, LSTMStepCache, lstm_backward, lstm_forward, lstm_step_backward,
                   lstm_step_forward, sigmoid)
from .peeky import peek_backward, peek_forward
from .rnn import RNNCache, RNNStepCache, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from .softmax_cross_entropy import log_softmax, softmax_cross_entropy

__all__ = [
    "LSTMStepCache", "LSTMCache", "RNNStepCache", "RNNCache", "LinearCache", "EmbeddingCache",
    "AttentionCache", "GRUStepCache", "GRUCache",
    "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward", "sigmoid",
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "embedding_forward", "embedding_backward", "linear_forward", "linear_backward",
    "dropout_forward", "dropout_backward", "peek_forward", "peek_backward",
    "softmax_cross_entropy", "log_softmax",
    "dot_score_forward", "dot_score_backward", "general_score_forward", "general_score_backward",
    "additive_keys_forward", "additive_keys_backward", "additive_score_forward",
    "additive_score_backward", "masked_softmax_forward", "masked_softmax_backward",
    "context_forward", "context_backward", "attention_output_forward", "attention_output_backward",
    "attention_keys_forward", "attention_keys_backward", "attention_forward", "attention_backward",
]
