# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Backpropagation through time; vanishing and exploding gradients
#
# A sequence model applies the same step $T$ times. Backpropagation through time (BPTT) walks the
# steps in reverse, carrying $dh$ (and, for the LSTM, $dc$) from step $t$ to step $t-1$, and sums
# the weight gradients of every step. `minis2s.functional.lstm_backward` is that loop, written out.
#
# Here we put a loss on the **last** output only and ask: how much gradient reaches the input at
# step $t$? For a vanilla RNN, $dh_{t-1} = (dh_t \odot (1-h_t^2))\,W_h^T$: a product of $T-t$
# Jacobians that shrinks (or grows) geometrically. The LSTM's cell path $dc_{t-1} = dc_t \odot f$
# is additive and gated, so the gradient can survive.

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
T = 30 if FAST else 60
N, D, H = 8, 10, 32
rng = np.random.default_rng(0)
x = rng.standard_normal((N, T, D))
h0 = np.zeros((N, H))

# %% [markdown]
# First, trust the code: a gradient check of the whole BPTT on a short sequence with padding.

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
# ## Gradient norm per time step

# %%
def rnn_grad_per_step(scale):
    Wx = rng.standard_normal((D, H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, H)) * scale / np.sqrt(H)   # spectral radius ~ scale
    hs, hT, cache = F.rnn_forward(x, h0, Wx, Wh, np.zeros(H))
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


fig, ax = plt.subplots(figsize=(7, 4))
for scale in (0.5, 1.0, 2.0):
    ax.semilogy(rnn_grad_per_step(scale), label=f"tanh RNN, |W_h| ~ {scale}")
for fb in (0.0, 2.0):
    ax.semilogy(lstm_grad_per_step(fb), "--", label=f"LSTM, forget bias {fb}")
ax.set(xlabel="time step t (loss at the last step)", ylabel="||dL/dx_t||",
       title="How much gradient reaches each step")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Reading the plot from right to left (backwards in time): the RNN with a small $W_h$ loses
# orders of magnitude per step (**vanishing**), a large $W_h$ can blow up (**exploding**), and the
# LSTM — especially with a positive forget-gate bias — keeps a usable gradient much further back.
#
# ## Clipping
# Exploding gradients are handled bluntly: if the global norm of all gradients exceeds a
# threshold, scale them all down by the same factor (`minis2s.optim.clip_grad_norm`). The
# direction of the step is kept; only its length is capped.

# %%
Wx = rng.standard_normal((D, H)) / np.sqrt(D)
Wh = rng.standard_normal((H, H)) * 3.0 / np.sqrt(H)
hs, hT, cache = F.rnn_forward(x, h0, Wx, Wh, np.zeros(H))
dx, dh0, dWx, dWh, db = F.rnn_backward(np.ones_like(hs), None, cache)
grads = {"Wx": dWx, "Wh": dWh, "b": db}
before = {k: v.copy() for k, v in grads.items()}
norm = clip_grad_norm(grads, max_norm=5.0)
after = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
print(f"global norm before clipping {norm:.1f}, after {after:.3f}")
cos = (before["Wh"] * grads["Wh"]).sum() / np.linalg.norm(before["Wh"]) / np.linalg.norm(grads["Wh"])
print(f"direction kept: cosine(before, after) = {cos:.6f}")
