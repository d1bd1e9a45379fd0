# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. A small real corpus: words, vocabularies, BLEU
#
# **Learning goals.** After this lab you can
# - load a tab-separated parallel corpus, tokenize it into words and build vocabularies with a
#   frequency cut-off;
# - recognise overfitting in the curves of a small corpus, and show what dropout changes;
# - compute BLEU by hand -- clipped n-gram counts, precisions, brevity penalty -- and check it
#   against the library.
#
# *Lab 8 of the unit (docs/teaching.md). Exercise: `corpus_bleu`.*
#
# Real parallel data usually comes as a tab-separated file, one sentence pair a line (the
# Tatoeba / manythings.org exports look like this):
#
# ```
# Go.<TAB>가.<TAB>CC-BY 2.0 (France) Attribution: tatoeba.org #2877272 ...
# ```
#
# Column 1 is the source, column 2 the target, anything after is ignored. Compared with the
# generated tasks, three things change:
#
# * **word tokens** instead of characters: `"I'm here."` → `I ' m here .` Sequences get
#   shorter, vocabularies much larger;
# * **a vocabulary cut-off**: words seen fewer than `min_freq` times in training get no embedding
#   of their own and are read (and written) as `<unk>`. Rare words are most of the *types* but
#   few of the *tokens*, so a small cut-off shrinks the model a lot and costs little;
# * **BLEU** instead of exact match: there are many right translations, so we count how many of
#   the output's 1- to 4-grams also occur in the reference (clipped, over the whole corpus),
#   take their geometric mean and penalise outputs shorter than the references
#   (`minis2s.metrics`, the same numbers as sacrebleu with `tokenize="none"`).
#
# By default this notebook **generates** a corpus — `minis2s.data.toy_translation`, English into a
# made-up language with subject-object-verb order, particles and suffixes — writes it as a TSV file
# and from there on treats it like any downloaded corpus. To train on a real one, set `DATA_PATH`:
# to a file, or to the name of a corpus that ships with minis2s, `"tatoeba-kor-eng"` (3,723
# English-Korean pairs from Tatoeba; `minis2s data` lists the corpora, `minis2s data fetch fra-eng`
# downloads other language pairs).

# %%
import os
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minis2s
from minis2s.data import (UNK, BatchIterator, Vocab, detokenize, encode_pairs, load_pairs,
                          pad_batch, split, toy_translation, word_tokenize, write_tsv)
from minis2s.data.corpora import resolve
from minis2s.metrics import bleu_details, corpus_bleu
from minis2s.models import Seq2Seq
from minis2s.optim import Adam
from minis2s.app.trainer import Trainer, evaluate

minis2s.use("numpy")
FAST = os.environ.get("MINIS2S_FAST") == "1"      # the test suite runs notebooks in a fast setting

DATA_PATH = None      # a "source<TAB>target" file or a corpus name; None generates a toy corpus
MIN_FREQ = 2          # words seen fewer times in training become <unk>
N_TOY = 2000 if FAST else 4000                   # sentence pairs generated when DATA_PATH is None
EPOCHS = 5 if FAST else 8
EMB, HIDDEN = (16, 64) if FAST else (32, 128)
BATCH, LR, DROPOUT = 64, 0.01, 0.0
SWAP = False          # True: translate from column 2 to column 1
# For DATA_PATH = "tatoeba-kor-eng" (3,723 English-Korean pairs, shipped with minis2s) try
# EPOCHS, EMB, HIDDEN, LR, DROPOUT = 12, 64, 256, 0.005, 0.2: about 5 s an epoch on a 2-core
# CPU; English -> Korean reaches a validation BLEU of only about 7 (greedy): see
# docs/results.md for the full-size run in both directions.

REAL = "tatoeba-kor-eng"      # the real corpus that ships with minis2s (minis2s/data/corpora/)
TOY = DATA_PATH is None
if TOY:
    folder = Path(os.environ.get("MINIS2S_RUNS") or tempfile.mkdtemp(prefix="minis2s-"))
    DATA_PATH = write_tsv(toy_translation(N_TOY, seed=0), folder / "toy-translation.tsv")
    if not FAST:
        print(f"A real English-Korean corpus ships with minis2s: set DATA_PATH = {REAL!r} "
              "at the top of this cell (and see the settings suggested there).")
print("data file:", resolve(DATA_PATH))       # a corpus name -> its file
with open(resolve(DATA_PATH), encoding="utf-8") as f:
    for _ in range(3):
        print("   ", repr(f.readline()))

# %% [markdown]
# ## Loading, splitting, tokenizing
# `load_pairs` reads the file (and says which line is wrong if one is). `split` shuffles with a
# seed and cuts off a validation set.

# %%
pairs = load_pairs(DATA_PATH)
if SWAP:
    pairs = [(t, s) for s, t in pairs]
VAL_SIZE = min(500, len(pairs) // 10)
train, val, _ = split(pairs, VAL_SIZE, seed=0)
print(f"{len(pairs)} pairs: {len(train)} for training, {len(val)} for validation")
for s, t in train[:3]:
    print(f"   {word_tokenize(s)}\n      -> {word_tokenize(t)}")

src_lens = [len(word_tokenize(s)) for s, _ in train]
tgt_lens = [len(word_tokenize(t)) for _, t in train]
fig, ax = plt.subplots(figsize=(6, 3))
bins = np.arange(0, max(src_lens + tgt_lens) + 2) - 0.5
ax.hist([src_lens, tgt_lens], bins=bins, label=["source", "target"])
ax.set(xlabel="sentence length (word tokens)", ylabel="pairs", title="training sentence lengths")
ax.legend()
plt.show()

# %% [markdown]
# ## Vocabularies and `<unk>`
# The vocabulary is built on the **training** split only, as it would be for unseen data.

# %%
src_vocab = Vocab.build((word_tokenize(s) for s, _ in train), min_freq=MIN_FREQ)
tgt_vocab = Vocab.build((word_tokenize(t) for _, t in train), min_freq=MIN_FREQ)
src_ids, tgt_ids = encode_pairs(train, src_vocab, tgt_vocab, "word", "word")
val_data = encode_pairs(val, src_vocab, tgt_vocab, "word", "word")

for side, vocab, k in (("source", src_vocab, 0), ("target", tgt_vocab, 1)):
    types = {w for p in train for w in word_tokenize(p[k])}
    ids = np.concatenate(val_data[k])
    print(f"{side}: {len(types)} word types in training, {len(vocab)} in the vocabulary with "
          f"min_freq {MIN_FREQ} (4 special tokens included); {100 * np.mean(ids == UNK):.1f} % of "
          "the validation tokens are <unk>")

# %% [markdown]
# ## Bucketed batches
# Word-level sentences vary in length; a batch is padded to its longest sentence. Sorting by
# length inside large chunks (then shuffling the order of the batches) saves most of the padding:

# %%
batches = BatchIterator(src_ids, tgt_ids, BATCH, seed=0, bucket=True)
uniform = BatchIterator(src_ids, tgt_ids, BATCH, seed=0, bucket=False)
print(f"padding: {100 * uniform.padding_fraction(0):.1f} % of the batch cells shuffled uniformly, "
      f"{100 * batches.padding_fraction(0):.1f} % bucketed")

# %% [markdown]
# ## Training
# The same pieces as `minis2s train --data FILE`: a peeky model with reversed input, Adam, and
# the `Trainer` with `bleu=True`, which decodes the validation set greedily after each epoch and
# prints two examples.

# %%
model = Seq2Seq(len(src_vocab), len(tgt_vocab), emb=EMB, hidden=HIDDEN, dropout=DROPOUT,
                decoder="peeky", reverse=True, seed=0)
trainer = Trainer(model, Adam(model.params, lr=LR), batches, val_data, src_vocab, tgt_vocab,
                  src_tokenizer="word", tgt_tokenizer="word", bleu=True, progress=False, samples=2)
start = time.perf_counter()
history = trainer.fit(EPOCHS)
print(f"trained {EPOCHS} epochs in {time.perf_counter() - start:.0f} s "
      f"({model.num_params():,} parameters)")

# %%
epochs = [r["epoch"] for r in history]
fig, (ax_loss, ax_score) = plt.subplots(1, 2, figsize=(11, 3.8))
ax_loss.plot(epochs, [r["train_loss"] for r in history], marker="o", ms=3, label="training")
ax_loss.plot(epochs, [r["val_loss"] for r in history], marker="o", ms=3, label="validation")
ax_loss.set(xlabel="epoch", ylabel="cross-entropy (nats / token)", title="loss")
ax_score.plot(epochs, [r["val_bleu"] for r in history], marker="o", ms=3, label="BLEU-4 (greedy)")
ax_score.plot(epochs, [r["val_exact_match"] for r in history], marker="o", ms=3,
              label="exact match (%)")
ax_score.set(xlabel="epoch", ylim=(0, 100), title="validation")
for ax in (ax_loss, ax_score):
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## BLEU, greedy against beam search
# Decode the validation set ourselves and score it with `corpus_bleu`. Hypotheses and references
# are token lists; the references are the *original* words, so when the model writes `<unk>` for a
# word it does not know, it earns nothing (the trainer's `evaluate` follows the same rule).
# `bleu_details` shows the parts: the four n-gram precisions and the brevity penalty.

# %%
MAX_LEN = max(len(t) for t in val_data[1]) + 5          # some room beyond the longest reference
val_src = pad_batch(val_data[0])
references = [word_tokenize(t) for _, t in val]
outputs = {}
print(f"{'decoding':<22}{'BLEU':>7}{'1-4-gram precisions (%)':>30}{'BP':>7}{'len ratio':>11}")
for name, k, alpha in (("greedy", 1, 0.0), ("beam 3", 3, 0.0), ("beam 3, alpha 1.0", 3, 1.0)):
    seqs, _ = model.generate(val_src, MAX_LEN, beam_size=k, alpha=alpha)
    outputs[name] = hyps = [tgt_vocab.decode(s) for s in seqs]
    d = bleu_details(hyps, references)
    assert abs(d.score - corpus_bleu(hyps, references)) < 1e-9
    precisions = " ".join(f"{100 * p:5.1f}" for p in d.precisions)
    print(f"{name:<22}{d.score:>7.2f}{precisions:>30}{d.brevity_penalty:>7.3f}"
          f"{d.hyp_len / d.ref_len:>11.3f}")
metrics, _ = evaluate(model, *val_data, MAX_LEN, tgt_vocab=tgt_vocab, bleu=True)
print(f"(the trainer's evaluate() agrees: greedy BLEU {metrics['bleu']:.2f}; exact match "
      f"{metrics['exact_match']:.1f} %)")

# %% [markdown]
# ## Overfitting on a small corpus, and dropout
# A real corpus of a thousand sentence pairs is tiny for a model with a few hundred thousand
# weights: it can memorise the training pairs. Train the same model twice on 1,200 pairs of the
# real English-Korean corpus, without and with dropout (p = 0.4 on the embeddings and the LSTM
# outputs), and watch the **validation** loss. (The corpus ships with minis2s, so this section
# uses it even when the rest of the notebook runs on the generated toy corpus, whose regular
# grammar is hard to overfit in so few epochs.)

# %%
OVERFIT_PATH = REAL
small_train, small_val, _ = split(load_pairs(OVERFIT_PATH), 300, seed=0)
small_train = small_train[:300 if FAST else 1200]
o_src_vocab = Vocab.build((word_tokenize(s) for s, _ in small_train), min_freq=2)
o_tgt_vocab = Vocab.build((word_tokenize(t) for _, t in small_train), min_freq=2)
o_train = encode_pairs(small_train, o_src_vocab, o_tgt_vocab, "word", "word")
o_val = encode_pairs(small_val, o_src_vocab, o_tgt_vocab, "word", "word")
curves = {}
for p in (0.0, 0.4):
    m = Seq2Seq(len(o_src_vocab), len(o_tgt_vocab), emb=64, hidden=128, dropout=p, seed=0)
    t = Trainer(m, Adam(m.params, lr=0.01), BatchIterator(*o_train, 64, seed=0, bucket=True), o_val,
                o_src_vocab, o_tgt_vocab, src_tokenizer="word", tgt_tokenizer="word",
                progress=False, samples=0, log=lambda line: None)
    curves[p] = t.fit(2 if FAST else 8)
print(f"corpus: {OVERFIT_PATH}, {len(small_train)} training pairs")
fig, ax = plt.subplots(figsize=(7, 3.8))
for (p, h), colour in zip(curves.items(), ["tab:red", "tab:blue"]):
    epochs = [r["epoch"] for r in h]
    ax.plot(epochs, [r["train_loss"] for r in h], "--", color=colour, label=f"training, dropout {p}")
    ax.plot(epochs, [r["val_loss"] for r in h], "-", marker="o", ms=3, color=colour,
            label=f"validation, dropout {p}")
    best = min(h, key=lambda r: r["val_loss"])
    print(f"dropout {p}: lowest validation loss {best['val_loss']:.3f} at epoch {best['epoch']}, "
          f"{h[-1]['val_loss']:.3f} at the end; training loss at the end {h[-1]['train_loss']:.3f}")
ax.set(xlabel="epoch", ylabel="cross-entropy (nats / token)", title="overfitting a small corpus")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Without dropout the training loss keeps falling while the validation loss stops falling after a
# few epochs and then **rises**: from there on the model learns the training pairs by heart, and
# what it learns no longer transfers. With dropout every step trains a random sub-network, no unit
# can rely on a particular other one, and memorising gets harder: the training loss falls more
# slowly, and the validation loss rises less, or later (compare the printed numbers). Dropout
# does not add data; it trades training fit for generalisation. The other remedies are the ones
# you would expect: more data, a smaller model, and stopping at the epoch with the lowest
# validation loss (the trainer saves every epoch's checkpoint, so you can).
#
# ## BLEU by hand, on one sentence
# BLEU compares n-grams (runs of n tokens). Take one reference and a hypothesis that repeats a
# word and is shorter:
#
# * for each n = 1..4, count the hypothesis's n-grams, and **clip** each count at the number of
#   times that n-gram occurs in the reference (saying "the" four times earns at most as many
#   matches as the reference has "the"s);
# * the precision $p_n$ is the clipped matches over the number of hypothesis n-grams;
# * the **brevity penalty** is $BP = 1$ if the hypothesis length $c$ is at least the reference
#   length $r$, else $e^{1 - r/c}$ (precision alone would reward saying very little);
# * $\mathrm{BLEU} = 100 \cdot BP \cdot \exp\big(\tfrac14 \sum_n \log p_n\big)$.
#
# Over a corpus, matches, n-gram totals and lengths are summed over all sentences *first*, then
# divided: corpus BLEU is not the mean of sentence BLEUs.

# %%
from collections import Counter

reference = "the cat sat on the mat near the door of the house".split()
hypothesis = "the the the the the the cat sat on the mat".split()


def ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


logs = []
for n in range(1, 5):
    hyp, ref = ngrams(hypothesis, n), ngrams(reference, n)
    clipped = {g: min(c, ref[g]) for g, c in hyp.items()}
    matches, total = sum(clipped.values()), sum(hyp.values())
    logs.append(np.log(matches / total))
    if n <= 2:
        for g, c in hyp.items():
            print(f"   {' '.join(g):<12} in hypothesis {c}, in reference {ref[g]} -> counts {clipped[g]}")
    print(f"p_{n} = {matches}/{total} = {matches / total:.3f}")
c, r = len(hypothesis), len(reference)
bp = 1.0 if c >= r else np.exp(1 - r / c)
bleu = 100 * bp * np.exp(np.mean(logs))
print(f"c = {c}, r = {r}: BP = exp(1 - {r}/{c}) = {bp:.3f};  BLEU = {bleu:.2f}")
d = bleu_details([hypothesis], [reference])
print(f"minis2s.metrics.bleu_details: BLEU = {d.score:.2f}, precisions = "
      f"{[round(p, 3) for p in d.precisions]}, BP = {d.brevity_penalty:.3f}")
assert abs(d.score - bleu) < 1e-9

# %% [markdown]
# "the" appears seven times in the hypothesis but four times in the reference, so only four of
# its seven unigrams count ($p_1 = 8/11$ instead of $11/11$): without clipping, a hypothesis of
# twelve "the"s would score $p_1 = 1$. The bigram "the the" is not in the reference at all. And
# the brevity penalty (11 tokens against 12) pulls the score down further.
#
# ## Sample translations
# The first three validation sentences, then (up to) three that greedy decoding gets wrong.

# %%
wrong = [i for i, ref in enumerate(references) if outputs["greedy"][i] != ref]
print(f"greedy decoding gets {len(val) - len(wrong)} of {len(val)} validation sentences exactly right\n")
for i in list(range(3)) + [i for i in wrong if i >= 3][:3]:
    print(f"source     {val[i][0]}")
    print(f"reference  {detokenize(references[i], 'word')}")
    for name in ("greedy", "beam 3"):
        out = detokenize(outputs[name][i], "word")
        print(f"{name:<10} {out}{'   (exact)' if outputs[name][i] == references[i] else ''}")
    print()

# %% [markdown]
# ## Your own sentences
# Tokenize, encode with the source vocabulary (unknown words become `<unk>`), decode.

# %%
def translate(sentences, beam_size=3):
    tokens = [word_tokenize(s) for s in sentences]
    for s, t in zip(sentences, tokens):
        unknown = src_vocab.unknown(t)
        if unknown:
            print(f"note: {unknown} unknown to the model in {s!r}, read as <unk>")
    src = pad_batch([src_vocab.encode(t) for t in tokens])
    seqs, scores = model.generate(src, MAX_LEN, beam_size=beam_size)
    for s, seq, score in zip(sentences, seqs, scores):
        print(f"{s}  ->  {detokenize(tgt_vocab.decode(seq), 'word')}    (log p = {score:.2f})")


if TOY and not SWAP:
    translate(["the old king carried the small apples .", "a happy dog follows the birds .",
               "children like a red ball ."])
else:
    translate([s for s, _ in val[:3]])

# %% [markdown]
# The toy language follows fixed rules, so a small model learns it almost perfectly and
# generalises to sentences it never saw (most validation sentences are new combinations). A real
# corpus of a few thousand pairs is another matter: expect a BLEU in single digits or the low
# teens, many `<unk>`, and a model that memorises the training set long before it generalises -- which is where dropout, more
# data and attention (notebook 7) come in.
#
# ## Questions
# 1. Why is the vocabulary built on the training split only? What would go wrong otherwise?
# 2. In the overfitting figure, at which epoch would you stop training without dropout, and why
#    that one?
# 3. In the BLEU example, what would $p_1$ be without clipping? Which part of BLEU stops a
#    system from answering every sentence with the single word "the"?
# 4. Corpus BLEU sums counts over all sentences before dividing. Construct two sentences where
#    the mean of their sentence BLEUs differs from their corpus BLEU.
# 5. Task: train the full-size model of "Training" with `DROPOUT = 0.3` on the real corpus
#    (`DATA_PATH = "tatoeba-kor-eng"`) and compare the validation BLEU with dropout 0.
