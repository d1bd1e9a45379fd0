"""Evaluation metrics, written out by hand: BLEU, accuracies, perplexity.

These run on the host, on plain Python lists or NumPy arrays (device arrays are
accepted and moved with :func:`minis2s.to_cpu`). They are evaluation-time code:
clarity matters more than speed.

BLEU (Papineni et al., 2002)
----------------------------
For a corpus of hypotheses ``h_1..h_S`` with one reference ``r_s`` each:

*Clipped n-gram matches.* An n-gram of ``h_s`` counts as matched at most as
many times as it occurs in ``r_s`` (so "the the the" cannot score on one
"the"). Summed over the *whole corpus* -- not averaged per sentence:

    p_n = sum_s sum_{g in ngrams_n(h_s)} min(count_h_s(g), count_r_s(g))
          ---------------------------------------------------------------
                     sum_s (number of n-grams in h_s)

*Brevity penalty.* Precision alone rewards saying little, so with the corpus
hypothesis length ``c`` and reference length ``r``:

    BP = 1                  if c >= r
       = exp(1 - r / c)     if 0 < c < r      (BP = 0 when c = 0)

*Score.* The geometric mean of ``p_1..p_N`` (``N = max_n``, 4 by default):

    BLEU = 100 * BP * exp( (1/N) * sum_n log p_n )

Without smoothing, one zero ``p_n`` makes BLEU 0. Smoothing, following
sacrebleu's ``smooth_method`` (Chen & Cherry, 2014) so scores agree with it:

* ``"none"``  -- no smoothing: any ``p_n = 0`` gives BLEU = 0.
* ``"floor"`` -- a zero match count is replaced by ``smooth_value`` (0.1):
  ``p_n = 0.1 / total_n``.
* ``"add-k"`` -- for n >= 2, ``k = smooth_value`` (1) is added to both the
  match count and the total: ``p_n = (m_n + k) / (total_n + k)``.
* ``"exp"``   -- the NIST (mteval-v13a) method: the i-th order with no match
  gets ``p_n = 1 / (2^i * total_n)``; sacrebleu's default.

Two corner cases also follow sacrebleu: a corpus with no matching unigram at
all scores 0 under every method, and so does one with no n-grams of some order
to count (every hypothesis shorter than n; ``total_n = 0``), since ``p_n`` is
then undefined.

This is BLEU on *given tokens*: tokens may be strings or integer ids, and no
tokenisation or lower-casing happens here -- the same as sacrebleu with
``tokenize="none"`` on space-joined tokens.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .backend import to_cpu
from .errors import InputError

__all__ = ["BLEUDetails", "bleu_details", "corpus_bleu", "token_accuracy",
           "sequence_accuracy", "perplexity"]

# smooth_method -> default smooth_value (None: the method has no value), as in sacrebleu.
SMOOTH_DEFAULTS = {"none": None, "floor": 0.1, "add-k": 1.0, "exp": None}


@dataclass(frozen=True)
class BLEUDetails:
    """Everything that goes into a corpus BLEU score.

    ``matches[n-1]`` and ``totals[n-1]`` are the clipped matches and the number
    of hypothesis n-grams summed over the corpus (*before* smoothing);
    ``precisions[n-1]`` is ``p_n`` in [0, 1] *after* smoothing (0.0 where it
    is zero or undefined); ``score`` is BLEU in [0, 100].
    """
    score: float
    precisions: list
    matches: list
    totals: list
    brevity_penalty: float
    hyp_len: int
    ref_len: int


def _ngrams(tokens, n: int) -> Counter:
    """How often each n-gram (a tuple of n tokens) occurs in ``tokens``."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _check_tokenized(seqs, what: str) -> None:
    for i, s in enumerate(seqs):
        if isinstance(s, str):
            # Iterating a str would silently compute character-level BLEU.
            raise TypeError(f"{what}[{i}] is a string; pass token lists (e.g. sentence.split())")


def bleu_details(hypotheses: list, references: list, max_n: int = 4,
                 smooth: str = "none", smooth_value: float | None = None) -> BLEUDetails:
    """Corpus BLEU with its parts: precisions, match counts, brevity penalty, lengths.

    Parameters
    ----------
    hypotheses : list of token lists, length S
        The system outputs, already tokenised (strings or ids).
    references : list of token lists, length S
        One reference per hypothesis, tokenised the same way.
    max_n : int
        The highest n-gram order N.
    smooth : {"none", "floor", "add-k", "exp"}
        Smoothing method (module docs); ``smooth_value`` overrides the default
        value of ``"floor"`` (0.1) and ``"add-k"`` (1).
    """
    if len(hypotheses) != len(references):
        raise InputError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if smooth not in SMOOTH_DEFAULTS:
        raise InputError(f"unknown smooth {smooth!r}: expected one of {list(SMOOTH_DEFAULTS)}")
    if max_n < 1:
        raise InputError(f"max_n must be >= 1, got {max_n!r}")
    _check_tokenized(hypotheses, "hypotheses")
    _check_tokenized(references, "references")
    k = SMOOTH_DEFAULTS[smooth] if smooth_value is None else float(smooth_value)

    # EXERCISE corpus_bleu: begin
    # 1. Corpus-level sufficient statistics: clipped matches and totals per order.
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references):
        hyp, ref = list(hyp), list(ref)
        hyp_len += len(hyp)
        ref_len += len(ref)
        for n in range(1, max_n + 1):
            hyp_counts = _ngrams(hyp, n)
            # Counter & Counter keeps each n-gram with the *smaller* count: the clipping.
            matches[n - 1] += sum((hyp_counts & _ngrams(ref, n)).values())
            totals[n - 1] += sum(hyp_counts.values())

    # 2. Brevity penalty.
    if hyp_len >= ref_len:
        bp = 1.0
    else:
        bp = math.exp(1.0 - ref_len / hyp_len) if hyp_len > 0 else 0.0
    # EXERCISE corpus_bleu: end

    def result(score, precisions):
        return BLEUDetails(score, precisions, matches, totals, bp, hyp_len, ref_len)

    # 3. Precisions, smoothed.
    precisions = [0.0] * max_n
    if matches[0] == 0:  # no unigram matches means no matches of any order
        return result(0.0, precisions)
    zero_orders = 0      # for "exp": how many orders so far had no match
    for n in range(1, max_n + 1):
        m, t = matches[n - 1], totals[n - 1]
        if smooth == "add-k" and n > 1:
            m, t = m + k, t + k
        if t == 0:       # no n-grams of this order at all: p_n undefined
            return result(0.0, precisions)
        if m > 0:
            precisions[n - 1] = m / t
        elif smooth == "exp":
            zero_orders += 1
            precisions[n - 1] = 1.0 / (2 ** zero_orders * t)
        elif smooth == "floor":
            precisions[n - 1] = k / t
        else:            # "none": one zero precision and the geometric mean is 0
            return result(0.0, precisions)

    # 4. Geometric mean times brevity penalty, in percent.
    log_mean = sum(math.log(p) for p in precisions) / max_n
    return result(100.0 * bp * math.exp(log_mean), precisions)


def corpus_bleu(hypotheses: list, references: list, max_n: int = 4,
                smooth: str = "none", smooth_value: float | None = None) -> float:
    """Corpus BLEU in [0, 100] (formula and smoothing methods in the module docs).

    ``hypotheses[s]`` and ``references[s]`` are token lists; one reference per
    hypothesis. Agrees with ``sacrebleu.corpus_bleu([" ".join(h) ...],
    [[" ".join(r) ...]], tokenize="none", smooth_method=smooth)``.
    """
    return bleu_details(hypotheses, references, max_n, smooth, smooth_value).score


def token_accuracy(pred_ids, tgt_ids, pad_id: int) -> float:
    """Fraction of non-padding target positions where the prediction is right.

    ``pred_ids`` and ``tgt_ids`` have the same shape, e.g. (B, T) token ids;
    positions where ``tgt_ids == pad_id`` are not counted.
    """
    pred, tgt = np.asarray(to_cpu(pred_ids)), np.asarray(to_cpu(tgt_ids))
    if pred.shape != tgt.shape:
        raise InputError(f"pred_ids has shape {pred.shape} but tgt_ids has shape {tgt.shape}")
    real = tgt != pad_id
    n_real = int(real.sum())
    if n_real == 0:
        raise InputError("token_accuracy: every target position is padding")
    return int((pred[real] == tgt[real]).sum()) / n_real


def sequence_accuracy(pred_seqs, tgt_seqs) -> float:
    """Fraction of sequences predicted exactly: same length, same token at every position.

    Sequences are lists (or 1-D arrays) of tokens and may differ in length;
    strip padding and end-of-sequence markers first, as the comparison is exact.
    """
    if len(pred_seqs) != len(tgt_seqs):
        raise InputError(f"{len(pred_seqs)} predictions but {len(tgt_seqs)} targets")
    if len(tgt_seqs) == 0:
        raise InputError("sequence_accuracy of no sequences is undefined")
    correct = sum(list(p) == list(t) for p, t in zip(pred_seqs, tgt_seqs))
    return correct / len(tgt_seqs)


def perplexity(mean_loss: float) -> float:
    """``exp(mean_loss)``: the perplexity for a mean cross-entropy in nats per token.

    A model with perplexity P is, on average, as unsure as a uniform choice
    among P tokens. Returns ``inf`` where the exponential overflows.
    """
    try:
        return math.exp(float(mean_loss))
    except OverflowError:
        return math.inf
