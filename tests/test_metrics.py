"""Metrics: BLEU against sacrebleu as the oracle, plus hand-worked values."""
import math

import numpy as np
import pytest

import minis2s
from minis2s.metrics import (bleu_details, corpus_bleu, perplexity, sequence_accuracy,
                             token_accuracy)

SMOOTHS = ["none", "floor", "add-k", "exp"]


def sacre(hyps, refs, smooth, max_n=4):
    """sacrebleu's corpus BLEU on the same tokens (space-joined, no re-tokenisation)."""
    sacrebleu = pytest.importorskip("sacrebleu")
    from sacrebleu.metrics import BLEU
    metric = BLEU(tokenize="none", smooth_method=smooth, max_ngram_order=max_n)
    return metric.corpus_score([" ".join(h) for h in hyps], [[" ".join(r) for r in refs]])


def random_corpus(rng, kind):
    """A random corpus; ``kind`` steers it into the interesting corners."""
    vocab = [f"w{i}" for i in range(6 if kind != "sparse" else 40)]
    hyps, refs = [], []
    for _ in range(int(rng.integers(1, 8))):
        ref = list(rng.choice(vocab, size=int(rng.integers(1, 12))))
        if kind == "short":  # hypotheses shorter than the references: BP < 1
            hyp = ref[:max(1, len(ref) // 2)]
        elif kind == "tiny":  # at most 2 tokens: no 3- or 4-grams at all
            hyp = list(rng.choice(vocab, size=int(rng.integers(0, 3))))
        elif kind == "shuffled":  # unigrams match, higher orders rarely do
            hyp = list(rng.permutation(ref))
        else:  # an edited copy of the reference
            hyp = [t if rng.random() < 0.7 else str(rng.choice(vocab)) for t in ref]
            hyp += list(rng.choice(vocab, size=int(rng.integers(0, 4))))
        hyps.append(hyp)
        refs.append(ref)
    return hyps, refs


@pytest.mark.parametrize("smooth", SMOOTHS)
def test_bleu_matches_sacrebleu_on_random_corpora(smooth):
    rng = np.random.default_rng(2024)
    seen = {"bp<1": 0, "zero order": 0, "positive": 0}
    worst = 0.0
    for trial in range(150):
        kind = ["edit", "short", "tiny", "shuffled", "sparse"][trial % 5]
        max_n = 4 if trial % 3 else int(rng.integers(1, 5))
        hyps, refs = random_corpus(rng, kind)
        mine = bleu_details(hyps, refs, max_n=max_n, smooth=smooth)
        want = sacre(hyps, refs, smooth, max_n)
        worst = max(worst, abs(mine.score - want.score))
        assert mine.score == pytest.approx(want.score, abs=1e-9), (hyps, refs, max_n)
        assert mine.brevity_penalty == pytest.approx(want.bp, abs=1e-12)
        assert (mine.hyp_len, mine.ref_len) == (want.sys_len, want.ref_len)
        seen["bp<1"] += mine.brevity_penalty < 1
        seen["zero order"] += 0 in mine.matches
        seen["positive"] += mine.score > 0
    # The generator really did reach the corners the test is about.
    assert min(seen.values()) >= 10, seen
    assert worst < 1e-9


def test_bleu_precisions_and_counts_match_sacrebleu():
    rng = np.random.default_rng(7)
    for _ in range(20):
        hyps, refs = random_corpus(rng, "edit")
        mine = bleu_details(hyps, refs, smooth="exp")
        want = sacre(hyps, refs, "exp")
        assert mine.matches == want.counts and mine.totals == want.totals
        assert np.allclose([100 * p for p in mine.precisions], want.precisions, atol=1e-9)


# Hand-worked: hyp "the cat sat on the mat", ref "the cat is on the mat".
#   1-grams: the x2, cat, on, mat match; sat does not       -> 5/6
#   2-grams: "the cat", "on the", "the mat"                 -> 3/5
#   3-grams: "on the mat"                                   -> 1/4
#   4-grams: none                                           -> 0/3
#   c = r = 6, so BP = 1.
HYP = ["the cat sat on the mat".split()]
REF = ["the cat is on the mat".split()]


def test_bleu_hand_worked_example():
    d = bleu_details(HYP, REF)
    assert d.matches == [5, 3, 1, 0] and d.totals == [6, 5, 4, 3]
    assert d.brevity_penalty == 1.0 and (d.hyp_len, d.ref_len) == (6, 6)
    assert d.score == 0.0  # no smoothing: the zero 4-gram precision zeroes BLEU
    # exp: p4 = 1 / (2 * 3); product 5/6 * 3/5 * 1/4 * 1/6 = 1/48
    assert corpus_bleu(HYP, REF, smooth="exp") == pytest.approx(100 * 48 ** -0.25, rel=1e-14)
    # floor: p4 = 0.1 / 3; product 1/240
    assert corpus_bleu(HYP, REF, smooth="floor") == pytest.approx(100 * 240 ** -0.25, rel=1e-14)
    # add-k (k=1, n >= 2): 5/6 * 4/6 * 2/5 * 1/4 = 1/18
    assert corpus_bleu(HYP, REF, smooth="add-k") == pytest.approx(100 * 18 ** -0.25, rel=1e-14)
    # Orders 1..3 only: (5/6 * 3/5 * 1/4)^(1/3) = (1/8)^(1/3) = 1/2
    assert corpus_bleu(HYP, REF, max_n=3) == pytest.approx(50.0, rel=1e-14)


def test_bleu_brevity_penalty_and_perfect_match():
    ref = "the cat sat on the mat".split()
    # c = 2, r = 6: BP = exp(1 - 3); both bigram-level precisions are 1.
    assert corpus_bleu([["the", "cat"]], [ref], max_n=2) == pytest.approx(100 * math.exp(-2))
    assert corpus_bleu([ref], [ref]) == pytest.approx(100.0)
    # Longer than the reference: no penalty.
    assert bleu_details([ref + ["today"]], [ref]).brevity_penalty == 1.0
    # Token ids work as well as strings.
    assert corpus_bleu([[1, 2, 3, 4]], [[1, 2, 3, 4]]) == pytest.approx(100.0)


def test_bleu_rejects_bad_input():
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        corpus_bleu([["a"], ["b"]], [["a"]])
    with pytest.raises(ValueError, match="smooth"):
        corpus_bleu(HYP, REF, smooth="laplace")
    with pytest.raises(TypeError, match="string"):
        corpus_bleu(["the cat"], [["the", "cat"]])


def test_token_accuracy_ignores_padding():
    pad = 0
    tgt = np.array([[5, 6, 7, 0], [8, 9, 0, 0]])
    pred = np.array([[5, 1, 7, 3], [8, 9, 4, 0]])
    # 5 real positions, 4 right; the predictions at padded positions do not count.
    assert token_accuracy(pred, tgt, pad) == pytest.approx(4 / 5)
    assert token_accuracy(pred.tolist(), tgt.tolist(), pad) == pytest.approx(4 / 5)
    with pytest.raises(ValueError, match="shape"):
        token_accuracy(pred[:, :3], tgt, pad)
    with pytest.raises(ValueError, match="padding"):
        token_accuracy(pred, np.zeros_like(tgt), pad)


def test_token_accuracy_takes_device_arrays(backend):
    tgt = minis2s.to_device(np.array([[1, 2], [3, 0]]))
    pred = minis2s.to_device(np.array([[1, 0], [3, 3]]))
    assert token_accuracy(pred, tgt, pad_id=0) == pytest.approx(2 / 3)


def test_sequence_accuracy():
    assert sequence_accuracy([[1, 2], [3], [4, 5]], [[1, 2], [3, 9], [4, 5]]) == pytest.approx(2 / 3)
    assert sequence_accuracy([np.array([1, 2])], [[1, 2]]) == 1.0
    assert sequence_accuracy([[1, 2, 3]], [[1, 2]]) == 0.0  # a prefix is not a match
    with pytest.raises(ValueError):
        sequence_accuracy([[1]], [[1], [2]])


def test_perplexity():
    assert perplexity(0.0) == 1.0
    assert perplexity(math.log(50.0)) == pytest.approx(50.0)
    assert perplexity(np.float64(math.log(7.0))) == pytest.approx(7.0)
    assert perplexity(1e6) == math.inf
