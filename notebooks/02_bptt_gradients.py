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
# # 2. Backpropagation through time; vanishing and exploding gradients
#
# **Learning goals.** After this lab you can
# - explain BPTT as a product of per-step Jacobians, and predict when it vanishes or explodes;
# - measure how much gradient reaches each time step, for a linear RNN, a tanh RNN, an LSTM and
#   a GRU;
# - show what gradient clipping changes in a training run, and what it does not;
# - read a trained LSTM's forget gates and say what they mean for its memory.
#
# *Labs 2 and 4 of the unit (docs/teaching.md). Exercises: `rnn_step_backward`,
# `rnn_backward`, `lstm_backward`, `clip_gradients`.*
#
# A sequence model applies the same step $T$ times. Backpropagation through time (BPTT) walks the
# steps in reverse, carrying $dh$ (and, for the LSTM, $dc$) from step $t$ to step $t-1$, and sums
# the weight gradients of every step. For an RNN one step back multiplies the gradient by the
# Jacobian $\mathrm{diag}(1-h_t^2)\,W_h^\top$, so the gradient reaching step $k$ from step $t$ is
# a product of $t-k$ such matrices (docs/derivations.md, "Vanishing and exploding gradients").

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import minis2s
import minis2s.functional as F
from minis2s.gradcheck import check_gradients
from minis2s.optim import clip_grad_norm

minis2s.use("numpy", dtype="float64")
FAST = os.environ.get("MINIS2S_FAST") == "1"      # the test suite runs notebooks in a fast setting
T = 40
N, D, H = 8, 10, 32
rng = np.random.default_rng(0)

# %% [markdown]
# First, trust the code: a gradient check of the whole LSTM BPTT on a short, padded batch.

# %%
mask = np.arange(5)[None, :] < np.array([5, 3, 1])[:, None]      # three lengths, right-padded
xs, Wx_, Wh_, b_ = rng.standard_normal((3, 5, 4)), rng.standard_normal((4, 4 * 6)), \
    rng.standard_normal((6, 4 * 6)), rng.standard_normal(4 * 6)
h0_, c0_ = rng.standard_normal((3, 6)), rng.standard_normal((3, 6))
hs, (hT, cT), cache = F.lstm_forward(xs, h0_, c0_, Wx_, Wh_, b_, mask)
dhs, dhT, dcT = rng.standard_normal(hs.shape), rng.standard_normal(hT.shape), rng.standard_normal(cT.shape)
names = ["x", "h0", "c0", "Wx", "Wh", "b"]
grads = dict(zip(names, F.lstm_backward(dhs, dhT, dcT, cache)))
print(check_gradients(lambda **a: (lambda r: (r[0], *r[1]))(F.lstm_forward(mask=mask, **a)),
                      dict(zip(names, (xs, h0_, c0_, Wx_, Wh_, b_))), [dhs, dhT, dcT], grads))

# %% [markdown]
# And the same for the GRU's BPTT (`F.gru_forward` / `F.gru_backward`: one state h, two biases
# `bx` and `bh`, docs/derivations.md "GRU"). It draws from its own generator, `g_rng`, so that
# the RNN and LSTM numbers below stay those of the text.

# %%
g_rng = np.random.default_rng(1)
xs, Wx_, Wh_ = g_rng.standard_normal((3, 5, 4)), g_rng.standard_normal((4, 3 * 6)), \
    g_rng.standard_normal((6, 3 * 6))
bx_, bh_, h0_ = g_rng.standard_normal(3 * 6), g_rng.standard_normal(3 * 6), g_rng.standard_normal((3, 6))
hs, hT, cache = F.gru_forward(xs, h0_, Wx_, Wh_, bx_, bh_, mask)
dhs, dhT = g_rng.standard_normal(hs.shape), g_rng.standard_normal(hT.shape)
names = ["x", "h0", "Wx", "Wh", "bx", "bh"]
grads = dict(zip(names, F.gru_backward(dhs, dhT, cache)))
print(check_gradients(lambda **a: F.gru_forward(mask=mask, **a)[:2],
                      dict(zip(names, (xs, h0_, Wx_, Wh_, bx_, bh_))), [dhs, dhT], grads))

# %% [markdown]
# ## 1. The linear RNN: Jacobian products, exactly
# Drop the tanh: $h_t = h_{t-1} W_h + x_t W_x$. Then $\partial h_t/\partial h_{t-1} = W_h$ at
# every step and the gradient from step $T$ back to step $k$ is $dh_T\,(W_h^\top)^{T-k}$. Take
# $W_h = \rho\,Q$ with $Q$ orthogonal: every direction is scaled by exactly $\rho$ per step, so
# $\|dh_k\| = \rho^{T-k}\,\|dh_T\|$ -- a straight line on a log scale, down for $\rho < 1$
# (vanishing), flat for $\rho = 1$, up for $\rho > 1$ (exploding).

# %%
Q, _ = np.linalg.qr(rng.standard_normal((H, H)))
dh_T = rng.standard_normal((N, H))


def linear_rnn_grad_norms(rho):
    """||dL/dh_k|| for k = T-1 .. 0, with the loss's gradient dh_T at the last step."""
    Wh = rho * Q
    dh, norms = dh_T, []
    for _ in range(T):
        norms.append(np.linalg.norm(dh))
        dh = dh @ Wh.T                                   # one step back: the Jacobian product
    return np.array(norms[::-1])                         # index = time step k


fig, ax = plt.subplots(figsize=(7, 3.5))
for rho in (0.8, 0.95, 1.0, 1.05, 1.2):
    ax.semilogy(linear_rnn_grad_norms(rho), label=f"linear RNN, $\\rho$ = {rho}")
ax.set(xlabel="time step k (the loss is at the last step)", ylabel="||dL/dh_k||",
       title="Linear RNN: the gradient scales by rho per step back")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Read from right to left (backwards in time): 40 steps back, $\rho = 0.8$ has lost a factor
# $0.8^{39} \approx 10^{-4}$ and $\rho = 1.2$ has gained $1.2^{39} \approx 10^{3}$. Nothing in
# between is stable except $\rho = 1$ exactly.
#
# ## 2. tanh RNN, LSTM and GRU: how much gradient reaches each input
# Now the real cells, with a loss on the **last** output only. We measure $\|dL/dx_t\|$, the
# gradient that reaches the input at step $t$, for a tanh RNN with $W_h = \rho Q$, for an
# LSTM with random weights and forget-gate bias 0 or 3, and for a GRU with random weights and
# update-gate bias 0 or 3.

# %%
x = rng.standard_normal((N, T, D))
h0 = np.zeros((N, H))


def rnn_grad_per_step(rho):
    Wx = rng.standard_normal((D, H)) / np.sqrt(D)
    hs, hT, cache = F.rnn_forward(x, h0, Wx, rho * Q, np.zeros(H))
    dhs = np.zeros_like(hs)
    dhs[:, -1] = 1.0                                        # loss on the last step only
    dx, *_ = F.rnn_backward(dhs, None, cache)
    return np.linalg.norm(dx, axis=(0, 2))


def lstm_grad_per_step(forget_bias):
    Wx = rng.standard_normal((D, 4 * H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, 4 * H)) / np.sqrt(H)
    b = np.zeros(4 * H)
    b[H:2 * H] = forget_bias                                # f = sigmoid(a_f): keep more of c
    hs, _, cache = F.lstm_forward(x, h0, h0, Wx, Wh, b)
    dhs = np.zeros_like(hs)
    dhs[:, -1] = 1.0
    dx, *_ = F.lstm_backward(dhs, None, None, cache)
    return np.linalg.norm(dx, axis=(0, 2))


def gru_grad_per_step(update_bias):
    Wx = g_rng.standard_normal((D, 3 * H)) / np.sqrt(D)      # g_rng: the LSTM's draws stay as they were
    Wh = g_rng.standard_normal((H, 3 * H)) / np.sqrt(H)
    bx = np.zeros(3 * H)
    bx[H:2 * H] = update_bias                               # z = sigmoid(a_z): keep more of h_prev
    hs, _, cache = F.gru_forward(x, h0, Wx, Wh, bx, np.zeros(3 * H))
    dhs = np.zeros_like(hs)
    dhs[:, -1] = 1.0
    dx, *_ = F.gru_backward(dhs, None, cache)
    return np.linalg.norm(dx, axis=(0, 2))


curves = {f"tanh RNN, $\\rho$ = {r}": rnn_grad_per_step(r) for r in (0.5, 1.0, 3.0)}
curves.update({f"LSTM, forget bias {fb}": lstm_grad_per_step(fb) for fb in (0.0, 3.0)})
curves.update({f"GRU, update bias {ub}": gru_grad_per_step(ub) for ub in (0.0, 3.0)})
fig, ax = plt.subplots(figsize=(7, 3.5))
for (label, g), style in zip(curves.items(), ["-", "-", "-", "--", "--", ":", ":"]):
    ax.semilogy(g / g[-1], style, label=label)              # relative to the last step
ax.set(xlabel="time step t (the loss is at the last step)", ylabel="||dL/dx_t|| / ||dL/dx_T||",
       title="How much gradient reaches each input")
ax.legend(fontsize=8)
plt.show()
ratio = {label: g[0] / g[-1] for label, g in curves.items()}
for label, r in ratio.items():
    print(f"{label:<26} gradient at t=0 relative to t=T-1: {r:.1e}")

# %% [markdown]
# What the figure shows (the printed ratios are the left end of each curve):
#
# * the tanh RNN with small $W_h$ ($\rho = 0.5$) loses about an order of magnitude per step: its
#   gradient **vanishes** within a few steps. Even $\rho = 1$, which is stable for the linear RNN,
#   vanishes here (about $10^{-7}$ over 40 steps): every factor $1 - h_t^2$ is below 1;
# * a large $W_h$ ($\rho = 3$) makes the gradient **explode**: it *grows* going back in time, by
#   about five orders of magnitude over 40 steps. That is far less than a linear RNN with
#   $\rho = 3$ would give ($3^{39} \approx 10^{18}$): the tanh units are partly saturated, and
#   each factor $1 - h_t^2 < 1$ pulls the product down. Saturation bounds the forward pass, not
#   the backward one;
# * the LSTM with forget bias 0 ($f \approx 0.5$) also vanishes: its cell path halves the gradient
#   at every step. The cell state **mitigates** vanishing, it does not cure it;
# * with forget bias 3 ($f \approx 0.95$) the LSTM keeps a usable gradient across all 40 steps --
#   which is why LSTMs are usually initialised with a positive forget bias;
# * the GRU (dotted) behaves like the LSTM, and for the same reason. It has no cell state, but its
#   update is a weighted average, $h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$: besides the
#   paths through the gates and the candidate $n_t$ (each a product with $W_h$ and a squashing
#   derivative, as in the RNN), $h_{t-1}$ reaches $h_t$ *additively*, through
#   $z_t \odot h_{t-1}$. On that path one step back multiplies the gradient by $z_t$,
#   elementwise, with no matrix and no $1 - \tanh^2$ (docs/derivations.md, "GRU") -- the LSTM's
#   $dc_{t-1} = dc_t \odot f_t$ with the update gate in the place of the forget gate (and
#   $1 - z_t$ in the place of the input gate: the GRU ties the two). So the update gate's bias
#   plays the forget bias's part: with bias 0 ($z \approx 0.5$) the gradient halves per step and
#   vanishes as the LSTM's does; with bias 3 ($z \approx 0.95$) about a tenth of it still
#   reaches the first input, 40 steps back.
#
# ## 3. A short training run, with and without clipping
# A tanh RNN of 32 units must output the sum of its first five inputs after reading 40 of them
# (a long dependency), trained with plain SGD at a learning rate that is slightly too large. The
# same run, the same batches, once with the gradients clipped to a global norm of 1
# (`minis2s.optim.clip_grad_norm`) and once without.

# %%
def train_rnn(clip, steps, lr=0.2, T=40, H=32, D=2, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((H, H)))
    p = {"Wx": rng.standard_normal((D, H)) / np.sqrt(D), "Wh": 1.5 * Q, "b": np.zeros(H),
         "Wo": rng.standard_normal((H, 1)) / np.sqrt(H)}
    losses, norms = [], []
    for _ in range(steps):
        x = rng.standard_normal((32, T, D)) * 0.5
        y = x[:, :5, 0].sum(axis=1, keepdims=True)       # the sum of the first five inputs
        hs, hT, cache = F.rnn_forward(x, np.zeros((32, H)), p["Wx"], p["Wh"], p["b"])
        pred = hT @ p["Wo"]
        loss = float(((pred - y) ** 2).mean())
        if not np.isfinite(loss) or loss > 1e6:          # diverged: stop this run
            break
        dpred = 2 * (pred - y) / len(y)
        _, _, dWx, dWh, db = F.rnn_backward(np.zeros_like(hs), dpred @ p["Wo"].T, cache)
        g = {"Wx": dWx, "Wh": dWh, "b": db, "Wo": hT.T @ dpred}
        norm = clip_grad_norm(g, clip) if clip else float(np.sqrt(sum((v ** 2).sum() for v in g.values())))
        for k in p:
            p[k] = p[k] - lr * g[k]
        losses.append(loss)
        norms.append(norm)
    return np.array(losses), np.array(norms)


STEPS = 40 if FAST else 150
runs = {"no clipping": train_rnn(None, STEPS), "clipped at 1.0": train_rnn(1.0, STEPS)}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for label, (losses, norms) in runs.items():
    axes[0].semilogy(losses, label=label)
    axes[1].semilogy(norms, label=label)
axes[0].set(xlabel="training step", ylabel="loss (MSE)", title="Loss")
axes[1].set(xlabel="training step", ylabel="global gradient norm (before clipping)",
            title="Gradient norm")
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()
for label, (losses, norms) in runs.items():
    print(f"{label:<15} ran {len(losses)} steps; largest gradient norm {norms.max():.3g}; "
          f"last loss {losses[-1]:.3g}")

# %% [markdown]
# Without clipping, a few steps with a large gradient throw the weights where the gradients are
# larger still; the loss climbs by orders of magnitude and the run is stopped as diverged. With
# clipping, each step is at most `lr * 1.0` long, whatever the gradient says: the run survives
# its large gradients (their norms are still logged, *before* clipping) and the loss stays
# bounded. Clipping cures *exploding* gradients only; it does nothing for vanishing ones. (The
# task itself is hard for a tanh RNN: 35 steps separate the inputs from the answer.)
#
# Clipping keeps the direction of the step: all gradients are scaled by one factor.

# %%
Wx = rng.standard_normal((D, H)) / np.sqrt(D)
hs, hT, cache = F.rnn_forward(x, h0, Wx, 3.0 * Q, np.zeros(H))
dx, dh0, dWx, dWh, db = F.rnn_backward(np.ones_like(hs), None, cache)
grads = {"Wx": dWx, "Wh": dWh, "b": db}
before = {k: v.copy() for k, v in grads.items()}
norm = clip_grad_norm(grads, max_norm=5.0)
after = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
cos = (before["Wh"] * grads["Wh"]).sum() / np.linalg.norm(before["Wh"]) / np.linalg.norm(grads["Wh"])
print(f"global norm before clipping {norm:.1f}, after {after:.3f}; cosine(before, after) = {cos:.6f}")

# %% [markdown]
# ## 4. A trained model's forget gates
# What does a trained LSTM do with its forget gates? Train a small encoder-decoder on the
# addition task, then run its encoder over a few questions and record $f_t$, the forget gate, at
# every step (computed from the model's weights with the step equations of notebook 1).

# %%
from minis2s.data import BatchIterator, Vocab, char_tokenize, encode_pairs, make_task, split
from minis2s.models import Seq2Seq
from minis2s.optim import Adam
from minis2s.app.trainer import Trainer

minis2s.use("numpy", dtype="float32")
pairs = make_task("addition", 2200 if FAST else 8200, seed=0)
train, val, _ = split(pairs, 200, seed=0)
sv = Vocab.build(char_tokenize(s) for s, _ in train)
tv = Vocab.build(char_tokenize(t) for _, t in train)
(src, tgt), val_data = encode_pairs(train, sv, tv), encode_pairs(val, sv, tv)
model = Seq2Seq(len(sv), len(tv), emb=16, hidden=32 if FAST else 64, seed=0)
trainer = Trainer(model, Adam(model.params, lr=0.01), BatchIterator(src, tgt, 64, seed=0), val_data,
                  sv, tv, progress=False, samples=0)
history = trainer.fit(1 if FAST else 5)

# %%
def forget_gates(model, src_ids):
    """f_t of the encoder's first layer, (T, H), for one unpadded source (read reversed, as the model does)."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in model.state_dict().items()}
    Wx, Wh, b = w["encoder.lstm.0.Wx"], w["encoder.lstm.0.Wh"], w["encoder.lstm.0.b"]
    Hm = Wh.shape[0]
    h = c = np.zeros((1, Hm))
    fs = []
    for token in src_ids[::-1]:
        x_t = w["encoder.embed.W"][[token]]
        h, c, step = F.lstm_step_forward(x_t @ Wx + b, h, c, Wh)
        fs.append(step.f[0])                  # the step's cache names its gates: i, f, g, o
    return np.array(fs)


examples = [s for s, _ in val if len(s) == 7][:3]
fig, axes = plt.subplots(1, len(examples), figsize=(4 * len(examples), 3.5), squeeze=False,
                         constrained_layout=True)
for ax, sentence in zip(axes[0], examples):
    ids = [sv.id(t) for t in char_tokenize(sentence)]
    f = forget_gates(model, np.array(ids))
    im = ax.imshow(f.T, aspect="auto", vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
    ax.set_xticks(range(len(ids)))
    ax.set_xticklabels(list(sentence[::-1]))
    ax.set(xlabel="source as read (reversed)", ylabel="unit", title=f"forget gates, {sentence!r}")
fig.colorbar(im, ax=axes[0].tolist(), label="f")
plt.show()
all_f = np.concatenate([forget_gates(model, np.array([sv.id(t) for t in char_tokenize(s)]))
                        for s, _ in val[:50]])
print(f"forget gates over 50 questions: mean {all_f.mean():.2f}; "
      f"{(all_f > 0.9).mean():.0%} above 0.9, {(all_f < 0.1).mean():.0%} below 0.1")

# %% [markdown]
# Each column is one step of the encoder, each row one unit. The gates are not a fixed decay
# rate: the same unit is open (bright, $f$ near 1: keep the cell state) at some characters and
# closed (dark: forget) at others, and many units switch together at the `+`, where one number
# ends and the next begins. Some units stay bright across most of the question: those carry
# information from its first characters to the decoder. The gradient through $c$ is multiplied
# by exactly these numbers on its way back (section 2), so a unit with $f \approx 1$ is a path
# along which the gradient does not vanish. (This model trained for a few epochs only; with
# more training the pattern sharpens.)
#
# ## Questions
# 1. In section 1, after how many steps back has the gradient of a linear RNN with $\rho = 0.9$
#    lost a factor of 100? With $\rho = 0.99$?
# 2. The tanh RNN with $\rho = 3$ explodes far more slowly than a linear one with $\rho = 3$.
#    Which factor of the Jacobian makes the difference? Scale the inputs `x` by 10: what happens
#    to the curve, and why?
# 3. Section 2 shows an LSTM whose gradient vanishes. Which single number in the forward pass
#    decides how fast, and what did we change to fix it? Which number plays that part in the GRU,
#    and what does a GRU with $z \approx 1$ everywhere do to its state in the forward pass?
# 4. Clipping at 1.0 changed the unclipped run's fate in section 3. Would clipping at 1.0 help a
#    run whose gradients vanish? Why not?
# 5. Task: find a unit in section 4's figure that switches at `+`. Train longer (more epochs)
#    and check whether it still does, and whether the mean forget gate changes.
