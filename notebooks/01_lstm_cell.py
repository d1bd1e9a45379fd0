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
# # 1. The LSTM cell by hand
#
# An LSTM step maps an input $x$ and the previous state $(h_{prev}, c_{prev})$ to a new state.
# All four gates come out of **one** matrix product, laid out in PyTorch's order **i, f, g, o**:
#
# $$a = x W_x + h_{prev} W_h + b \qquad (N, 4H)$$
# $$i = \sigma(a_i),\; f = \sigma(a_f),\; g = \tanh(a_g),\; o = \sigma(a_o)$$
# $$c = f \odot c_{prev} + i \odot g, \qquad h = o \odot \tanh(c)$$
#
# In this notebook we write the forward pass, then the backward pass one gate at a time, and check
# every gradient against a numerical one. The library's versions are
# `minis2s.functional.lstm_step_forward` / `lstm_step_backward`; the derivation is in
# `docs/derivations.md`.

# %%
import numpy as np

import minis2s
import minis2s.functional as F
from minis2s.gradcheck import check_gradients, rel_error

minis2s.use("numpy", dtype="float64")   # gradient checks need float64
rng = np.random.default_rng(0)
N, D, H = 3, 4, 5                       # batch, input size, hidden size: all different on purpose
x = rng.standard_normal((N, D))
h_prev, c_prev = rng.standard_normal((N, H)), rng.standard_normal((N, H))
Wx = rng.standard_normal((D, 4 * H)) * 0.5
Wh = rng.standard_normal((H, 4 * H)) * 0.5
b = rng.standard_normal(4 * H)          # non-zero biases: a bias bug cannot hide behind zeros

# %% [markdown]
# ## Forward
# The sigmoid is written as $\sigma(z) = \tfrac12(1 + \tanh(z/2))$, which never overflows.

# %%
def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def my_lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    a = x @ Wx + h_prev @ Wh + b
    i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
    g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, i, f, g, o, c)


h, c, cache = my_lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
h_lib, c_lib, _ = F.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
print("h matches the library:", rel_error(h, h_lib))
print("c matches the library:", rel_error(c, c_lib))

# %% [markdown]
# ## Backward, one gate at a time
# Two gradients arrive: $dh$ (from the layer above / the loss) and $dc$ (from the next time step).
# $c$ influences the loss directly (through $dc$) and through $h = o\tanh(c)$, so the total is
#
# $$dc_{total} = dc + dh \odot o \odot (1 - \tanh^2 c)$$
#
# From there every gate is a product rule: $do = dh \odot \tanh c$, $di = dc_{total} \odot g$,
# $dg = dc_{total} \odot i$, $df = dc_{total} \odot c_{prev}$, then each goes through its own
# nonlinearity ($\sigma' = \sigma(1-\sigma)$, $\tanh' = 1 - \tanh^2$).

# %%
def my_lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, i, f, g, o, c = cache
    tc = np.tanh(c)
    dc_total = dc + dh * o * (1 - tc ** 2)
    da_i = dc_total * g * i * (1 - i)
    da_f = dc_total * c_prev * f * (1 - f)
    da_g = dc_total * i * (1 - g ** 2)
    da_o = dh * tc * o * (1 - o)
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)      # back to the i, f, g, o layout
    return (da @ Wx.T, da @ Wh.T, dc_total * f,               # dx, dh_prev, dc_prev
            x.T @ da, h_prev.T @ da, da.sum(axis=0))          # dWx, dWh, db


dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))
names = ["x", "h_prev", "c_prev", "Wx", "Wh", "b"]
grads = dict(zip(names, my_lstm_step_backward(dh, dc, cache)))
inputs = dict(zip(names, (x, h_prev, c_prev, Wx, Wh, b)))

# %% [markdown]
# ## Gradient check
# The checker perturbs every input element by $\pm 10^{-5}$, recomputes
# $L = \sum h \odot dh + \sum c \odot dc$, and compares the central difference with our analytic
# gradient. Correct code scores around $10^{-9}$ or better; a bug scores around $10^{-1}$.

# %%
report = check_gradients(lambda **a: my_lstm_step_forward(**a)[:2], inputs, [dh, dc], grads)
print(report)

# %% [markdown]
# ## What a bug looks like
# Forget the $dc$ flowing in from the next step (a classic) and the checker names the victims:

# %%
wrong = dict(zip(names, my_lstm_step_backward(dh, np.zeros_like(dc), cache)))
print(check_gradients(lambda **a: my_lstm_step_forward(**a)[:2], inputs, [dh, dc], wrong))

# %% [markdown]
# ## Which gate matters when?
# The forget gate decides how much of $c_{prev}$ survives. Its average value across the batch is
# a quick health check of a trained model (values near 1 mean long memory).

# %%
import matplotlib.pyplot as plt

_, _, (_, _, _, i, f, g, o, _) = my_lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.boxplot([i.ravel(), f.ravel(), g.ravel(), o.ravel()], tick_labels=["i", "f", "g", "o"])
ax.set_title("gate activations for a random step")
plt.show()

# %% [markdown]
# **Exercise.** Write your own `lstm_step_backward` and check it with
# `minis2s.exercises.check("lstm_step_backward", your_fn)` — see `docs/exercises.md`.
