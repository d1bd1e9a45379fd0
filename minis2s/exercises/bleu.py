r"""Exercise 17: corpus BLEU (Papineni et al. 2002), no smoothing.

Checked against sacrebleu's corpus BLEU (minis2s's own :func:`minis2s.metrics.bleu_details`,
which agrees with it, where sacrebleu is not installed: :mod:`minis2s.exercises.references`). Notebook 05 works one example by hand.
"""
from __future__ import annotations

from . import stored
from .checker import Case, Exercise
from .references import BLEU, bleu_reference

__all__ = ["corpus_bleu", "EXERCISES"]


def corpus_bleu(hypotheses, references):
    """Corpus BLEU with n-grams up to 4, one reference per hypothesis, no smoothing.

    hypotheses, references: lists of S token lists (strings), hypothesis s against reference s.
    Returns (bleu, precisions, bp):
        precisions (4,): p_n = (clipped n-gram matches over the corpus) / (hypothesis n-grams)
        bp: the brevity penalty, 1 if the hypotheses' total length c >= the references' r,
            else exp(1 - r / c)
        bleu = 100 * bp * exp(mean of log p_n)   (0 when some p_n is 0)
    """
    raise NotImplementedError


HINTS = (
    """
    BLEU is a precision: how many of the hypothesis's n-grams also occur in the reference, but
    an n-gram counts at most as often as the reference has it ("clipping"). Counts are summed
    over the whole corpus before dividing. A short hypothesis would have high precision too
    easily, so the brevity penalty punishes a corpus shorter than its references.
    """,
    """
    For each n in 1..4 keep two totals over the corpus: matches[n] and total[n] (hypothesis
    n-grams). collections.Counter of tuple(tokens[i:i+n]) gives n-gram counts; c and r are the
    summed lengths. precisions is 4 numbers; bp and bleu one number each.
    """,
    """
    Accumulate over the whole corpus before dividing anything. For each n from 1 to 4 keep two
    totals: the hypothesis n-grams, and the matched ones, where an n-gram counts at most as often
    as the reference contains it (the smaller of the two counts). Also sum the hypothesis lengths
    c and the reference lengths r. Then p_n is matched over total for each n, the brevity penalty
    is 1 when c is at least r and exp(1 - r / c) otherwise, and BLEU is 100 times the penalty times
    the geometric mean of the four p_n -- 0 if any p_n is 0.
    """,
)


def _case(rng) -> Case:
    S = int(rng.integers(3, 7))
    words = [f"w{k}" for k in range(int(rng.integers(5, 9)))]
    refs, hyps = [], []
    for s in range(S):
        ref = list(rng.choice(words, size=int(rng.integers(4, 10))))
        hyp = list(ref)
        if s > 0:                                     # sentence 0 is copied: every order matches
            for _ in range(int(rng.integers(1, 3))):
                k = int(rng.integers(len(hyp)))
                if rng.random() < 0.5 and len(hyp) > 2:
                    del hyp[k]                        # shorter: the brevity penalty bites
                else:
                    hyp[k] = str(rng.choice(words))
            if rng.random() < 0.5:
                hyp.append(hyp[0])                    # a repeated word: clipping matters
        refs.append([str(w) for w in ref])
        hyps.append([str(w) for w in hyp])
    def compute():
        return dict(zip(("bleu", "precisions", "bp"), bleu_reference(hyps, refs)))
    return Case(args=(hyps, refs), oracle=stored.oracle("corpus_bleu", (hyps, refs), compute),
                sizes=f"S={S} sentences, {sum(map(len, hyps))} vs {sum(map(len, refs))} tokens")


EXERCISES = [
    Exercise(
        name="corpus_bleu",
        signature="corpus_bleu(hypotheses, references) -> (bleu, precisions, bp)",
        outputs={"bleu": "()", "precisions": "(4,)", "bp": "()"},
        make_case=_case, stub=corpus_bleu, hints=HINTS, level=2, minutes=30,
        oracle=BLEU, tol=1e-9),
]
