"""The sequence-to-sequence models: encoder, plain and peeky decoders, decoding."""
from .decoder import Decoder, PeekyDecoder
from .encoder import Encoder
from .search import beam_search, greedy_search
from .seq2seq import PeekySeq2Seq, Seq2Seq, reverse_padded
from .stepper import Stepper

__all__ = ["Encoder", "Decoder", "PeekyDecoder", "Seq2Seq", "PeekySeq2Seq", "reverse_padded",
           "greedy_search", "beam_search", "Stepper"]
