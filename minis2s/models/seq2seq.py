r"""Sequence to sequence: an encoder, a fixed-size context, a decoder.

    enc     = Encoder(reverse(src))              context (hT, cT), each (L, N, H); outputs hs
    logits  = Decoder(tgt[:, :-1], enc)          (N, T-1, V_tgt)
    loss    = CE(logits, tgt[:, 1:])  over the non-<pad> targets

``tgt`` starts with ``<sos>``; position t of the decoder input predicts
position t+1 of the target (teacher forcing). Usage::

    model = Seq2Seq(src_vocab=13, tgt_vocab=13, emb=16, hidden=128, decoder="peeky", reverse=True)
    loss = model.forward(src, tgt)     # src (N, S), tgt (N, T): int arrays, right-padded with <pad>
    model.backward()                   # fills model.grads (same keys as model.params)
    seqs, scores = model.generate(src, max_len=5, beam_size=3)

Reversed source (the paper's trick): only the real tokens of each padded row
are reversed -- ``a b c <pad>`` becomes ``c b a <pad>`` -- so the first source
words end up next to the first target words and short-term dependencies appear.
The model is the one place that reverses: give it sources in reading order.

Batches are moved to the backend of the model's parameters, and the per-step
random draws are made there too, so ``model.to("cupy")`` is all it takes.

Teacher forcing ratio r < 1: at each step and for each sentence, with
probability r the decoder reads the true previous token, otherwise its own
argmax prediction (never <pad> or <sos>, as in a search). The argmax is not
differentiable, so the backward pass is the teacher-forced backward pass on the
tokens actually fed. The model's own predictions come from a first pass of
``Decoder.step`` (no dropout in the decoder) over this step's encoder output.

Randomness (dropout masks, teacher-forcing draws) comes from a generator
re-seeded each training step from (seed, step), so a resumed run continues
with exactly the numbers an uninterrupted one would have drawn.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..backend import get_array_module, to_cpu, to_device
from ..data.vocab import EOS, PAD, SOS
from ..errors import InputError
from ..functional import softmax_cross_entropy
from ..functional.attention import OUTPUTS, SCORES
from ..init import INITS
from ..layers import CELLS, Dropout, Module
from ..validate import finite_float, one_of
from .attention_decoder import AttentionDecoder
from .bidirectional_encoder import BidirectionalEncoder
from .decoder import Decoder, PeekyDecoder
from .encoder import Encoded, Encoder, reverse_padded
from .search import beam_search, check_search_args, forbid, greedy_search

__all__ = ["Seq2Seq", "PeekySeq2Seq", "reverse_padded", "DECODERS"]

DECODERS = ("plain", "peeky", "attention")



class Seq2Seq(Module):
    """The encoder-decoder model. ``decoder="plain"`` (Sutskever et al.), ``"peeky"``, or
    ``"attention"`` (Luong et al., with ``score`` "dot", "general" or "additive").

    Arguments: vocabulary sizes; ``emb`` embedding size; ``hidden`` LSTM size;
    ``n_layers`` stacked LSTM layers in both encoder and decoder; ``dropout``
    between layers and on embeddings/outputs; ``reverse`` the source;
    ``init`` "uniform" (U(-0.08, 0.08), the paper's), "scaled" or "fan_in" (minis2s.init);
    ``teacher_forcing_ratio`` in [0, 1]; ``seed`` for weights and the per-step draws;
    ``bidirectional``: Bahdanau's encoder, two directions of hidden/2 units whose final
    states are concatenated into the decoder's start (models/bidirectional_encoder.py);
    ``input_feeding``: the attention decoder's LSTM also reads the previous step's
    attentional state (Luong's input feeding; models/attention_decoder.py);
    ``attention_output``: "luong" (tanh([ctx ; h] Wc)) or "concat" ([ctx ; h], the book's);
    ``cell``: the recurrent layer of encoder and decoder, "lstm" or "gru" (minis2s.layers.GRU).
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, emb: int = 16, hidden: int = 128,
                 n_layers: int = 1, dropout: float = 0.0, decoder: str = "peeky",
                 reverse: bool = True, init: str = "uniform", teacher_forcing_ratio: float = 1.0,
                 seed: int = 0, pad_id: int = PAD, sos_id: int = SOS, eos_id: int = EOS,
                 encoder_module: Encoder | None = None, decoder_module: Decoder | None = None,
                 score: str = "dot", bidirectional: bool = False, input_feeding: bool = False,
                 attention_output: str = "luong", cell: str = "lstm"):
        super().__init__()
        one_of("decoder", decoder, DECODERS)
        one_of("score", score, SCORES)
        one_of("attention_output", attention_output, OUTPUTS)
        one_of("init", init, INITS)
        one_of("cell", cell, CELLS)
        for name, v in (("src_vocab", src_vocab), ("tgt_vocab", tgt_vocab), ("emb", emb),
                        ("hidden", hidden), ("n_layers", n_layers)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise InputError(f"{name} must be a positive integer, got {v!r}")
        dropout = finite_float("dropout", dropout, low=0.0, high=1.0, high_open=True)
        teacher_forcing_ratio = finite_float("teacher_forcing_ratio", teacher_forcing_ratio,
                                             low=0.0, high=1.0)
        if tgt_vocab <= max(pad_id, sos_id, eos_id):
            raise InputError(f"tgt_vocab ({tgt_vocab}) must include the special ids "
                             f"pad={pad_id}, sos={sos_id}, eos={eos_id}")
        self.config = dict(src_vocab=int(src_vocab), tgt_vocab=int(tgt_vocab), emb=int(emb),
                           hidden=int(hidden), n_layers=int(n_layers), dropout=float(dropout),
                           decoder=decoder, reverse=bool(reverse), init=init,
                           teacher_forcing_ratio=float(teacher_forcing_ratio), seed=int(seed),
                           pad_id=pad_id, sos_id=sos_id, eos_id=eos_id,
                           score=score, bidirectional=bool(bidirectional),
                           input_feeding=bool(input_feeding), attention_output=attention_output,
                           cell=cell)
        self.pad_id, self.sos_id, self.eos_id = pad_id, sos_id, eos_id
        self.reverse, self.seed = reverse, seed
        self.teacher_forcing_ratio = teacher_forcing_ratio
        self.step_count = 0            # training steps taken: seeds the per-step draws

        rng = np.random.default_rng(seed)
        Dec = {"plain": Decoder, "peeky": PeekyDecoder, "attention": AttentionDecoder}[decoder]
        Enc = BidirectionalEncoder if bidirectional else Encoder
        extra = dict(score=score, input_feeding=input_feeding, output=attention_output) \
            if decoder == "attention" else {}
        enc = encoder_module or Enc(src_vocab, emb, hidden, rng, n_layers, dropout, init, cell=cell)
        dec = decoder_module or Dec(tgt_vocab, emb, hidden, rng, n_layers, dropout, init, cell=cell,
                                    **extra)
        self.check_compatible(enc, dec)
        self.config["cell"] = getattr(enc, "cell", "lstm")    # modules given ready-made decide it
        self.encoder = self.add_module("encoder", enc)
        self.decoder = self.add_module("decoder", dec)
        self._pending = None           # (dlogits, encoder cache, decoder cache) of the last forward

    @staticmethod
    def check_compatible(encoder: Encoder, decoder: Decoder) -> None:
        """The decoder starts from the encoder's final state: sizes must agree."""
        if encoder.hidden != decoder.hidden or encoder.n_layers != decoder.n_layers:
            raise InputError(
                f"encoder and decoder do not fit: the encoder's context is {encoder.n_layers} "
                f"layer(s) x {encoder.hidden} units but the decoder expects {decoder.n_layers} "
                f"layer(s) x {decoder.hidden} units")
        cells = getattr(encoder, "cell", "lstm"), getattr(decoder, "cell", "lstm")
        if cells[0] != cells[1]:
            raise InputError(f"encoder and decoder do not fit: the encoder is a {cells[0]} and "
                             f"the decoder a {cells[1]}; the decoder starts from the encoder's "
                             "state, so both need the same cell")

    # --- input checks (on the host, before the batch moves) ------------------------
    def _prepare(self, src, tgt=None):
        """Validate on the host, then move to the parameters' backend: (src, tgt or None)."""
        src = self._check_ids("src", src, self.config["src_vocab"])
        self._check_right_padded(src)
        to_model = lambda a: to_device(a, self.backend)          # noqa: E731
        if tgt is None:
            return to_model(src), None
        tgt = self._check_ids("tgt", tgt, self.config["tgt_vocab"])
        if src.shape[0] != tgt.shape[0]:
            raise InputError(f"src and tgt batch sizes differ: {src.shape[0]} vs {tgt.shape[0]}")
        if tgt.shape[1] < 2:
            raise InputError("tgt must hold <sos> and at least one more token per row, "
                             f"got shape {tgt.shape}")
        bad = np.flatnonzero(tgt[:, 0] != self.sos_id)
        if bad.size:
            raise InputError(f"every tgt row must start with <sos> (id {self.sos_id}); "
                             f"row {bad[0]} starts with {tgt[bad[0], 0]}")
        if np.any(tgt[:, 1] == self.pad_id):
            row = int(np.flatnonzero(tgt[:, 1] == self.pad_id)[0])
            raise InputError(f"tgt row {row} is empty (nothing after <sos>)")
        return to_model(src), to_model(tgt)

    def _check_right_padded(self, src) -> None:
        """Padding may only follow the real tokens: the masks, the reversal and the
        context (the state at the last real token) all rely on it."""
        real = src != self.pad_id
        # after the first <pad> of a row, everything must be <pad>
        gap = real[:, 1:] & ~real[:, :-1]
        if gap.any():
            row = int(np.flatnonzero(gap.any(axis=1))[0])
            raise InputError(f"src row {row} has <pad> (id {self.pad_id}) between real tokens: "
                             f"{src[row].tolist()}; sources must be right-padded "
                             "(all padding after the last real token)")

    def _check_ids(self, name, ids, vocab):
        ids = to_cpu(ids)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"{name} must be an integer array of token ids, got dtype {ids.dtype}")
        if ids.ndim != 2 or ids.shape[0] == 0 or ids.shape[1] == 0:
            raise InputError(f"{name} must have shape (N, length) with N, length >= 1, got {ids.shape}")
        if ids.min() < 0 or ids.max() >= vocab:
            raise InputError(f"{name} token ids must lie in [0, {vocab}), got ids from "
                             f"{ids.min()} to {ids.max()}")
        if name == "src" and np.any(ids[:, 0] == self.pad_id):
            row = int(np.flatnonzero(ids[:, 0] == self.pad_id)[0])
            raise InputError(f"src row {row} is empty (it starts with <pad>)")
        return ids.astype(np.int64, copy=False)

    # --- training -------------------------------------------------------------------
    def _encode(self, src):
        """src (N, S) ids on the model's backend, in reading order -> (Encoded, encoder cache)."""
        mask = src != self.pad_id
        if self.reverse:
            src = reverse_padded(src, mask)
        return self.encoder.forward(src, mask)

    def encode(self, src) -> Encoded:
        """src (N, S) ids on the model's backend, in reading order -> the encoder's output
        (for decoding and analysis: nothing is kept for a backward pass)."""
        return self._encode(src)[0]

    def forward(self, src, tgt):
        """Mean cross-entropy (a 0-d array) of predicting tgt[:, 1:] from src and tgt[:, :-1].

        Keeps what :meth:`backward` needs (replacing what an earlier forward kept).
        """
        src, tgt = self._prepare(src, tgt)
        self._pending = None
        if self.training:
            self._reseed()
        enc, enc_cache = self._encode(src)
        y_in, y_out = tgt[:, :-1], tgt[:, 1:]
        if self.training and self.teacher_forcing_ratio < 1.0:
            y_in = self._scheduled_inputs(y_in, enc)
        logits, dec_cache = self.decoder.forward(y_in, enc)
        loss, dlogits = softmax_cross_entropy(logits, y_out, ignore_index=self.pad_id)
        self._pending = (dlogits, enc_cache, dec_cache)
        return loss

    def backward(self) -> None:
        """Write ``self.grads`` for the last ``forward``: the gradients are zeroed, then
        the decoder and the encoder add theirs. Once per forward."""
        if self._pending is None:
            raise RuntimeError("Seq2Seq.backward: there is no forward pass to differentiate "
                               "(call forward first; each forward allows one backward)")
        (dlogits, enc_cache, dec_cache), self._pending = self._pending, None
        self.zero_grad()
        self.encoder.backward(self.decoder.backward(dlogits, dec_cache), enc_cache)

    def _reseed(self) -> None:
        """A generator for this step's draws, from (seed, step): resumable and reproducible."""
        seed = int(np.random.SeedSequence([self.seed, self.step_count]).generate_state(1)[0])
        self._rng = self.backend.random_generator(seed)
        for m in self.modules():
            if isinstance(m, Dropout):
                m.rng = self._rng
        self.step_count += 1

    def _scheduled_inputs(self, y_in, enc: Encoded):
        """Decoder inputs under teacher forcing with ratio r (see the module docstring)."""
        xp = get_array_module(y_in)
        N, T = y_in.shape
        use_truth = self._rng.random((N, T)) < self.teacher_forcing_ratio
        fed = [y_in[:, 0]]
        state = self.decoder.start(enc)
        self.decoder.eval()                    # the model's own choices, as a search makes them
        try:
            for t in range(T - 1):
                logp, state = self.decoder.step(fed[t], state)
                # never <pad> or <sos>, as in a search
                own = forbid(logp, [self.pad_id, self.sos_id]).argmax(axis=1)
                fed.append(xp.where(use_truth[:, t + 1], y_in[:, t + 1], own))
        finally:
            self.decoder.train()
        return xp.stack(fed, axis=1)

    # --- decoding -------------------------------------------------------------------
    def generate(self, src, max_len: int, beam_size: int = 1, n_best: int = 1, alpha: float = 0.0):
        """Decode each source sentence.

        beam_size 1 is greedy search. Returns (sequences, scores): with n_best = 1,
        sequences[n] is the id list of sentence n (no <sos>/<eos>/<pad>) and
        scores[n] its log-probability (length-normalised when alpha > 0); with
        n_best > 1, sequences[n] and scores[n] are lists of the n_best best.
        """
        check_search_args(max_len, beam_size, n_best, alpha)     # before encoding anything
        src, _ = self._prepare(src)
        was_training = self.training
        self.eval()
        try:
            enc = self.encode(src)
            ids = (self.sos_id, self.eos_id, self.pad_id)
            if beam_size == 1 and n_best == 1 and alpha == 0.0:
                seqs, scores = greedy_search(self.decoder, enc, max_len, *ids)
                return seqs, [float(s) for s in scores]
            hyps, scores = beam_search(self.decoder, enc, max_len, beam_size, *ids,
                                       n_best=n_best, alpha=float(alpha))
        finally:
            self.train(was_training)
        short = [n for n, h in enumerate(hyps) if len(h) < n_best]
        if short:
            warnings.warn(f"generate: only {len(hyps[short[0]])} distinct hypothesis(es) exist for "
                          f"source {short[0]} (n_best={n_best}; the vocabulary allows fewer "
                          f"complete outputs than that); {len(short)} source(s) got fewer", stacklevel=2)
        if n_best == 1:
            return [h[0] for h in hyps], [s[0] for s in scores]
        return hyps, scores


def PeekySeq2Seq(*args, **kwargs) -> Seq2Seq:
    """``Seq2Seq(..., decoder="peeky")``."""
    return Seq2Seq(*args, decoder="peeky", **kwargs)
