"""The sequence-to-sequence models: encoders, plain, peeky and attention decoders, decoding."""
from .attention import Attention
from .attention_decoder import AttentionDecoder, AttentionState
from .bidirectional_encoder import BidirectionalEncoder
from .decoder import DecodeState, Decoder, PeekyDecoder
from .encoder import Encoded, Encoder
from .search import MAX_DECODE_LEN, NonFiniteDecodingError, beam_search, greedy_search
from .seq2seq import PeekySeq2Seq, Seq2Seq, reverse_padded

__all__ = ["Encoder", "Encoded", "Decoder", "PeekyDecoder", "DecodeState", "Seq2Seq",
           "PeekySeq2Seq", "reverse_padded", "greedy_search", "beam_search",
           "NonFiniteDecodingError", "MAX_DECODE_LEN", "Attention", "AttentionDecoder",
           "AttentionState", "BidirectionalEncoder"]
