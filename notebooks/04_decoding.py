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
# # 4. Decoding: teacher forcing and greedy search (lab A), beam search (lab B)
#
# This notebook is two 50-minute labs (docs/teaching.md, labs 6 and 7). Lab B starts at
# "Lab B" below; if you start there in a fresh kernel, first run every cell of lab A up to and
# including the training (Run > Run All Above).
#
# **Learning goals, lab A.** You can
# - explain teacher forcing, exposure bias, and what a teacher-forcing ratio below 1 changes;
# - train with a *scheduled* ratio (scheduled sampling) and compare it with fixed ratios;
# - write greedy search over a decoder's `step` and check it against minis2s's own search.
#
# **Learning goals, lab B.** You can
# - run beam search by hand on one sentence and draw its tree of hypotheses;
# - say when beam search changes the answer and when it cannot;
# - read n-best lists, and explain length normalisation and when it matters.
#
# *Exercises: `greedy_search` (lab A), `beam_search` (lab B).*
#
# A seq2seq decoder is used in two different ways:
#
# * **in training** it is *teacher forced*: at step $t$ it reads the true previous token
#   $y_{t-1}$, whatever it would have predicted itself. All $T$ steps run in one go and the loss
#   is $-\sum_t \log p(y_t \mid y_{<t}, x)$;
# * **at test time** there is no true previous token: the decoder reads its *own* previous
#   output. One early mistake puts it in a state it never saw in training (*exposure bias*).
#
# The **teacher forcing ratio** $r$ mixes the two in training: for each sentence and step, with
# probability $r$ the decoder reads the true token, otherwise its own argmax prediction. $r = 1$
# is plain teacher forcing. The argmax is not differentiable, so the gradient flows only through
# the tokens actually fed (`Seq2Seq(teacher_forcing_ratio=r)`, `minis2s train --teacher-forcing r`;
# docs/derivations.md, "Teacher forcing below 1"). A *fixed* $r$ is not yet scheduled sampling:
# **scheduled sampling** (Bengio et al. 2015) lets $r$ *decay* during training, from pure teacher
# forcing towards the model's own outputs, linearly, exponentially or along an inverse sigmoid
# (`minis2s.teacher_forcing`, `minis2s train --teacher-forcing-schedule`).
#
# Then, decoding. The model defines $p(y \mid x) = \prod_t p(y_t \mid y_{<t}, x)$; we want the
# most probable $y$, and there are $V^T$ candidates.
#
# * **Greedy search** takes the most probable token at every step. Fast, and short-sighted: a
#   token that looks best now may force a poor continuation.
# * **Beam search** keeps the $k$ best partial sequences (by summed log-probability) at every
#   step, extends each by every token, and keeps the $k$ best of the $k \cdot V$ extensions. A
#   sequence that emits `<eos>` is finished and competes with the live ones with its score frozen.
#   $k = 1$ is greedy search.
#
# We use the **dates** task: `"Tuesday, September 27, 1994"` → `"1994-09-27"` in 15 surface
# formats. It is hard enough that a small model is unsure about some digits, which is where the
# search matters.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np

import minis2s
from minis2s.data import (BatchIterator, Vocab, char_tokenize, encode_pairs, make_task, pad_batch,
                          split)
from minis2s.exercises import check
from minis2s.models import Seq2Seq, beam_search, greedy_search
from minis2s.optim import Adam
from minis2s.teacher_forcing import parse_schedule
from minis2s.app.trainer import Trainer

minis2s.use("numpy")
FAST = os.environ.get("MINIS2S_FAST") == "1"      # the test suite runs notebooks in a fast setting
N_TRAIN, N_VAL = (1500, 200) if FAST else (10000, 1000)
EPOCHS = 2 if FAST else 8
HIDDEN = 48 if FAST else 128
EMB, BATCH, LR = 16, 128, 0.01

pairs = make_task("dates", N_TRAIN + N_VAL, seed=0)
train, val, _ = split(pairs, N_VAL, seed=0)
src_vocab = Vocab.build(char_tokenize(s) for s, _ in train)
tgt_vocab = Vocab.build(char_tokenize(t) for _, t in train)
src_ids, tgt_ids = encode_pairs(train, src_vocab, tgt_vocab, "char", "char")
val_data = encode_pairs(val, src_vocab, tgt_vocab, "char", "char")
for s, t in train[:6]:
    print(f"{s:>30}  ->  {t}")
print(f"{len(train)} training / {len(val)} validation pairs; vocabularies {len(src_vocab)} -> {len(tgt_vocab)}")

# %% [markdown]
# ## Lab A: teacher forcing ratio 1.0, 0.5, and a schedule
# Three peeky, reversed models with the same weights at the start, the same batches and the same
# settings; only the ratio differs: 1.0, a fixed 0.5, and a linear schedule from 1.0 down to 0.5
# over the run (`linear:c=...,min=0.5`). We train one epoch at a time (`trainer.fit(epoch)` trains
# *until* that many epochs are done) so that, for the ratio-1.0 model, we can also measure beam
# search after every epoch.

# %%
MAX_LEN = max(len(t) for t in val_data[1]) - 1          # the 10 characters and <eos>
val_src = pad_batch(val_data[0])
references = [t[1:-1].tolist() for t in val_data[1]]    # without <sos> and <eos>


def exact_match(seqs):
    return 100.0 * np.mean([s == r for s, r in zip(seqs, references)])


STEPS = EPOCHS * -(-len(src_ids) // BATCH)              # training steps in the whole run
SCHEDULE = parse_schedule(f"linear:k=1,c={0.5 / STEPS:.3g},min=0.5")   # 1.0 -> 0.5 over the run


def make_trainer(ratio):
    scheduled = ratio == "scheduled"
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), emb=EMB, hidden=HIDDEN, decoder="peeky",
                    reverse=True, teacher_forcing_ratio=1.0 if scheduled else ratio, seed=0)
    batches = BatchIterator(src_ids, tgt_ids, BATCH, seed=0, bucket=False)
    return Trainer(model, Adam(model.params, lr=LR), batches, val_data, src_vocab, tgt_vocab,
                   progress=False, samples=0, teacher_forcing=SCHEDULE if scheduled else None)


print("schedule:", SCHEDULE.spec)
trainers = {1.0: make_trainer(1.0), 0.5: make_trainer(0.5), "scheduled": make_trainer("scheduled")}
beam_curves = {3: [], 5: []}            # exact match of the ratio-1.0 model, per epoch
for ratio, trainer in trainers.items():
    print(f"teacher forcing ratio {ratio}")
    start = time.perf_counter()
    for epoch in range(1, EPOCHS + 1):
        trainer.fit(epoch)
        if ratio == 1.0:
            for k in beam_curves:
                beam_curves[k].append(exact_match(trainer.model.generate(val_src, MAX_LEN, beam_size=k)[0]))
    print(f"-> {time.perf_counter() - start:.0f} s\n")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
for ratio, trainer in trainers.items():
    h = trainer.history
    epochs = [r["epoch"] for r in h]
    axes[0].plot(epochs, [r["train_loss"] for r in h], marker="o", ms=3, label=f"ratio {ratio}")
    axes[1].plot(epochs, [r["val_loss"] for r in h], marker="o", ms=3, label=f"ratio {ratio}")
    axes[2].plot(epochs, [r["val_exact_match"] for r in h], marker="o", ms=3, label=f"ratio {ratio}")
axes[0].set(title="training loss (on the inputs fed)", xlabel="epoch", ylabel="nats / token")
axes[1].set(title="validation loss (teacher forced)", xlabel="epoch", ylabel="nats / token")
axes[2].set(title="validation exact match (greedy)", xlabel="epoch", ylabel="%", ylim=(0, 100))
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
for ratio, trainer in trainers.items():
    last = trainer.history[-1]
    print(f"ratio {ratio}: exact match {last['val_exact_match']:.1f} %, token accuracy "
          f"{last['val_token_accuracy']:.1f} %, validation loss {last['val_loss']:.4f}")

# %% [markdown]
# How to read this:
#
# * The two **training losses** are not measured on the same thing: with ratio 0.5 about half of
#   the inputs are the model's own guesses, early in training often wrong, so its training loss
#   is on a harder problem. Compare the validation curves instead.
# * The **validation exact match** is measured the way the model is used: on its own outputs.
#   A model trained on its own mistakes may have learned to recover from some of them -- but the
#   self-fed inputs are also noise, which slows the start of training, and which way the balance
#   falls depends on the task and the number of epochs: read the numbers printed above, not a
#   rule. The schedule starts as teacher forcing (fast early learning) and feeds more of the
#   model's own outputs as those get better. Every step with a ratio below 1 also costs an
#   extra pass through the decoder, one token at a time.
#
# ### Task A1: greedy search, by hand
# Write greedy search over a decoder step (exercise `greedy_search`, docs/exercises.md): start
# every sentence from `<sos>`, feed back the most probable token, stop a sentence at `<eos>`. The
# checker hands you a `step` -- a table of next-token log-probabilities stands in for a trained
# decoder: a search does not care what scores the tokens -- and compares your tokens and scores
# with minis2s's own greedy search (the one `Seq2Seq.generate` runs) on the same `step`.

# %%
def my_greedy_search(step, state, sos_id, eos_id, max_len):
    N = state[0].shape[0]
    ### BEGIN SOLUTION
    tokens, finished, scores = np.full(N, sos_id), np.zeros(N, dtype=bool), np.zeros(N)
    out = [[] for _ in range(N)]
    for _ in range(max_len):
        logp, state = step(tokens, state)
        tokens = logp.argmax(axis=1)
        scores += np.where(finished, 0.0, logp[np.arange(N), tokens])
        for n in np.flatnonzero(~finished & (tokens != eos_id)):
            out[n].append(int(tokens[n]))
        finished |= tokens == eos_id
        if finished.all():
            break
    ### END SOLUTION
    return out, scores


assert check("greedy_search", my_greedy_search, seed=0)

# %% [markdown]
# ### Questions, lab A
# 1. Why is the training loss of a model trained with ratio 0.5 not comparable with the training
#    loss of the ratio-1.0 model?
# 2. Where does the gradient go for a step whose input was the model's own prediction? (Hint:
#    docs/derivations.md, "Teacher forcing below 1".)
# 3. Task: train once more with `teacher_forcing_ratio=0.0` (the model always reads its own
#    outputs). What happens to the validation loss in the first epochs, and why?
# 4. Task: replace the linear schedule by `inverse-sigmoid:k=...` with a `k` that reaches 0.5
#    halfway through the run. Plot the ratio against the step for both schedules.
#
# ## Lab B: beam search
#
# ### Beam search with k = 1 is greedy search
# Both search functions take the decoder, the encoder's output and the token ids. With one beam,
# beam search keeps exactly the token greedy search picks, so the outputs *and* their
# log-probabilities agree:

# %%
model = trainers[1.0].model.eval()
enc = model.encode(minis2s.to_device(val_src))               # the encoder's output, N sentences
ids = (model.sos_id, model.eos_id, model.pad_id)
g_seqs, g_scores = greedy_search(model.decoder, enc, MAX_LEN, *ids)
b_seqs, b_scores = beam_search(model.decoder, enc, MAX_LEN, 1, *ids)
print("same outputs:", all(g == b[0] for g, b in zip(g_seqs, b_seqs)))
print("largest score difference:", max(abs(float(g) - b[0]) for g, b in zip(g_scores, b_scores)))

# %% [markdown]
# ### Greedy against beam search, k = 1, 3, 5
# `model.generate(src, max_len, beam_size=k)` is the entry point; it returns the sequences and
# their scores (log-probabilities, `<eos>` included).

# %%
decoded = {}
print(f"{'':<16}" + "".join(f"{'k = ' + str(k):>22}" for k in (1, 3, 5)))
for ratio, trainer in trainers.items():
    row = f"ratio {ratio:<10}"
    for k in (1, 3, 5):
        start = time.perf_counter()
        seqs, scores = trainer.model.generate(val_src, MAX_LEN, beam_size=k)
        seconds = time.perf_counter() - start
        if ratio == 1.0:
            decoded[k] = (seqs, scores)
        row += f"{exact_match(seqs):>10.1f} % ({seconds:4.2f} s)"
    print(row)

epochs = range(1, EPOCHS + 1)
fig, ax = plt.subplots(figsize=(6.5, 3.8))
ax.plot(epochs, [r["val_exact_match"] for r in trainers[1.0].history], marker="o", ms=3, label="greedy")
for k, curve in beam_curves.items():
    ax.plot(epochs, curve, marker="o", ms=3, ls="--", label=f"beam, k = {k}")
ax.set(xlabel="epoch", ylabel="validation exact match (%)", ylim=(0, 100),
       title="teacher forcing 1.0: greedy vs beam search during training")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Beam search gains the most while the model is unsure (the middle epochs) and little once it is
# confident: when one token has almost all the probability at every step, every beam search is
# greedy search. The cost grows about linearly with $k$ (the decoder runs on $N \cdot k$ rows).
#
# ### Where beam search changes the answer

# %%
def show(i):
    return "".join(tgt_vocab.decode(i))


(greedy, greedy_scores), (beam5, beam5_scores) = decoded[1], decoded[5]
fixed = [i for i, r in enumerate(references) if greedy[i] != r and beam5[i] == r]
broken = [i for i, r in enumerate(references) if greedy[i] == r and beam5[i] != r]
print(f"beam 5 fixes {len(fixed)} greedy errors and breaks {len(broken)} greedy answers "
      f"(of {len(references)})\n")
for i in (fixed + broken)[:6]:
    print(f"{val[i][0]:>30}   reference {val[i][1]}")
    print(f"{'':>30}   greedy    {show(greedy[i]):<10}  log p = {greedy_scores[i]:7.3f}")
    print(f"{'':>30}   beam 5    {show(beam5[i]):<10}  log p = {beam5_scores[i]:7.3f}\n")

# %% [markdown]
# Beam search found sequences with a *higher* total log-probability than greedy search: greedy
# took a locally best character and paid for it later. (When beam search breaks a right greedy
# answer, the model itself prefers the wrong one: a modelling error, not a search error.)
#
# ### n-best lists
# `n_best=n` returns the $n$ best finished hypotheses of the beam, best first. Here are the two
# validation dates the model is least sure of (lowest greedy score), with $p = e^{\text{score}}$:

# %%
for i in np.argsort(greedy_scores)[:2]:
    hyps, scores = model.generate(val_src[i:i + 1], MAX_LEN, beam_size=5, n_best=5)
    print(f"{val[i][0]!r}  (reference {val[i][1]})")
    for rank, (hyp, score) in enumerate(zip(hyps[0], scores[0]), start=1):
        mark = "  <- reference" if hyp == references[i] else ""
        print(f"   {rank}. {show(hyp):<12} log p = {score:8.3f}   p = {np.exp(score):.3f}{mark}")
    print(f"   the 5 hypotheses cover {np.exp(scores[0]).sum():.1%} of the probability\n")

# %% [markdown]
# ### Length normalisation
# A score is a sum of negative terms, one per token, so a longer sequence has a lower score even
# when every token is likely: raw log-probability favours short outputs. GNMT (Wu et al. 2016)
# ranks finished hypotheses by
#
# $$\frac{\log p(y \mid x)}{lp(|y|)}, \qquad lp(|y|) = \left(\frac{5 + |y|}{6}\right)^{\alpha}$$
#
# with $|y|$ counting `<eos>`. $\alpha = 0$ is no normalisation; $\alpha$ around 0.6 to 1 is
# usual for translation. `model.generate(..., alpha=a)` applies it and returns normalised scores.

# %%
print(f"{'alpha':>6}{'exact match':>14}{'mean length':>14}")
for alpha in (0.0, 0.6, 1.0, 2.0):
    seqs, _ = model.generate(val_src, MAX_LEN, beam_size=5, alpha=alpha)
    print(f"{alpha:>6}{exact_match(seqs):>12.1f} %{np.mean([len(s) for s in seqs]):>14.2f}")

i = int(np.argsort(greedy_scores)[0])                        # the least sure date again
hyps, raw = model.generate(val_src[i:i + 1], MAX_LEN, beam_size=5, n_best=3)             # alpha 0
_, normalised = model.generate(val_src[i:i + 1], MAX_LEN, beam_size=5, n_best=3, alpha=1.0)
print(f"\n{val[i][0]!r}, alpha 1:")
for h, s in zip(hyps[0], raw[0]):
    n = min(len(h) + 1, MAX_LEN)       # |y| counts <eos>; one cut off at MAX_LEN has none
    lp = (5 + n) / 6
    print(f"   {show(h):<12} |y| = {n:2d}   log p = {s:8.3f}   lp = {lp:.3f}   log p / lp = {s / lp:7.3f}")
print("   generate(..., alpha=1.0) returns, best first:", ", ".join(f"{x:.3f}" for x in normalised[0]))

# %% [markdown]
# Once the model is trained nothing changes here, and that is the lesson: every date has exactly
# 10 characters, so every hypothesis is divided by the same $lp(11)$ and the ranking stays. (An
# untrained model, as in the fast test setting, still emits dates of the wrong length, and there
# a large $\alpha$ does pick longer ones.) Length normalisation matters
# when the candidates differ in length, as in translation: try `alpha` in notebook 5, or on the
# addition model of notebook 3, whose answers have 1 to 4 digits.

# %% [markdown]
# ### The tree of one beam search
# Beam search for one sentence, step by step, with $k = 3$, written out over `model.decoder.step`
# so that every candidate can be drawn. At each step every live hypothesis is extended by its
# three best tokens (no other extension can make the top 3); the three best candidates overall
# are kept (dark), the others pruned (grey). Finished hypotheses keep their place with their
# score frozen. The red path is the answer.

# %%
def traced_beam_search(model, src_row, k, max_len):
    """Beam search for one source; returns the steps: per step, its candidates as dicts."""
    enc = model.encode(minis2s.to_device(src_row[None, :]))
    state, rows = model.decoder.start(enc), [0]
    beams = [{"tokens": (), "score": 0.0, "done": False, "id": 0}]
    steps, next_id = [], 1
    for _ in range(max_len):
        live = [b for b in beams if not b["done"]]
        if not live:
            break
        tokens = np.array([b["tokens"][-1] if b["tokens"] else model.sos_id for b in live])
        idx = minis2s.to_device(np.array([rows[beams.index(b)] for b in live]))
        logp, new_state = model.decoder.step(minis2s.to_device(tokens), state.take(idx))
        logp = minis2s.to_cpu(logp).astype(np.float64)
        logp[:, [model.pad_id, model.sos_id]] = -np.inf
        cands = [dict(b, parent=b["id"], row=None, new=False) for b in beams if b["done"]]
        for r, b in enumerate(live):
            for v in np.argsort(-logp[r])[:k]:
                cands.append({"tokens": b["tokens"] + (int(v),), "score": b["score"] + logp[r, v],
                              "done": int(v) == model.eos_id, "parent": b["id"], "row": r,
                              "new": True, "id": next_id})
                next_id += 1
        cands.sort(key=lambda c: -c["score"])
        for c in cands:
            c["kept"] = c in cands[:k]
        steps.append(cands)
        beams = cands[:k]
        rows = [c["row"] if c["row"] is not None else 0 for c in beams]
        state = new_state
    return steps


i = int(np.argsort(greedy_scores)[0])                        # the date the model is least sure of
steps = traced_beam_search(model, val_src[i], 3, MAX_LEN)
best = max(steps[-1][:3], key=lambda c: c["score"])
path, pos = set(), {0: (0, 0.0)}
node = best
by_id = {c["id"]: c for cands in steps for c in cands if c["new"]}
while node is not None:                                     # the answer's nodes, back to <sos>
    path.add(node["id"])
    node = by_id.get(node["parent"])
fig, ax = plt.subplots(figsize=(12, 4.5))
ax.scatter([0], [0], color="black", s=20)
ax.annotate("<sos>", (0, 0), textcoords="offset points", xytext=(-8, 6), fontsize=8)
for t, cands in enumerate(steps, start=1):
    new = [c for c in cands if c["new"]]
    for y, c in enumerate(new):
        pos[c["id"]] = (t, -y)
    for c in new:
        (x0, y0), (x1, y1) = pos[c["parent"]], pos[c["id"]]
        on_path = c["id"] in path
        color = "red" if on_path else ("black" if c["kept"] else "0.8")
        ax.plot([x0, x1], [y0, y1], color=color, lw=2 if on_path else 0.8, zorder=1)
        ax.scatter([x1], [y1], color=color, s=14, zorder=2)
        label = "<eos>" if c["done"] else "".join(tgt_vocab.decode([c["tokens"][-1]]))
        ax.annotate(f"{label!r} {c['score']:.1f}" if not c["done"] else f"{label} {c['score']:.1f}",
                    (x1, y1), textcoords="offset points",
                    xytext=(3, 3), fontsize=7, color="0.3" if not c["kept"] else "black")
ax.set(xlabel="step", yticks=[], title=f"beam search, k = 3, for {val[i][0]!r}: kept (black), "
       "pruned (grey), the answer (red); numbers are log p so far")
plt.show()
print("answer:", "".join(tgt_vocab.decode(list(best["tokens"]))), f"(log p = {best['score']:.3f});",
      "generate says:", show(model.generate(val_src[i:i + 1], MAX_LEN, beam_size=3)[0][0]))

# %% [markdown]
# ### Task B1: beam search, by hand
# Write beam search (exercise `beam_search`): the function above without the drawing, for N
# sentences, returning the best hypothesis of each and its score. Check it with
# `check("beam_search", my_beam_search)`; it is compared with minis2s's own beam search (what
# `Seq2Seq.generate(..., beam_size=k)` runs) on the same `step`.
#
# ### Questions, lab B
# 1. In the tree, find a step where a hypothesis that was *not* the best at that step ends up
#    being the answer. What did greedy search do there?
# 2. Why is it enough to extend each live hypothesis by its k best tokens only?
# 3. When can beam search with any k not change greedy search's answer? (Look at the
#    "Where beam search changes the answer" numbers.)
# 4. Why does length normalisation change nothing on the dates task, and what would it change on
#    the addition task of notebook 3?
