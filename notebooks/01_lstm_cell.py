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
# # 1. The LSTM cell by hand
#
# **Learning goals.** After this lab you can
# - write one LSTM step forward from its equations, with the four gates in one matrix product;
# - derive and write its backward pass, one gate at a time, reading everything from the cache;
# - check a backward pass against a numerical gradient, and read the report of a wrong one.
#
# *Lab: one 50-minute session. Exercises: `lstm_step_forward`, `lstm_step_backward`
# (`docs/exercises.md`).*
#
# An LSTM step maps an input $x$ and the previous state $(h_{prev}, c_{prev})$ to a new state.
# All four gates come out of **one** matrix product, laid out in PyTorch's order **i, f, g, o**:
#
# $$a = x W_x + h_{prev} W_h + b \qquad (N, 4H)$$
# $$i = \sigma(a_i),\; f = \sigma(a_f),\; g = \tanh(a_g),\; o = \sigma(a_o)$$
# $$c = f \odot c_{prev} + i \odot g, \qquad h = o \odot \tanh(c)$$
#
# The library's versions are `minis2s.functional.lstm_step_forward` / `lstm_step_backward`; the
# derivation is in `docs/derivations.md`, section "LSTM". The library's step takes the input part
# $a_x = x W_x + b$ already computed, because a sequence computes it for all its steps in one
# matrix product before its loop; so below we hand it `x @ Wx + b`.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minis2s
import minis2s.functional as F
from minis2s.exercises import check, hint
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
# Write the step. Keep in the cache everything the backward pass will need, by name: the
# inputs, the weights, the four *activated* gates, the new cell state and its tanh. (This is the
# cache layout of the exercises, so the backward you write below also goes to `check`.)
# The sigmoid is written as $\sigma(z) = \tfrac12(1 + \tanh(z/2))$, which never overflows.

# %%
def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def my_lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """Returns (h, c, cache), cache = {x, h_prev, c_prev, Wx, Wh, i, f, g, o, c, tanh_c}."""
    H = h_prev.shape[1]
    ### BEGIN SOLUTION
    a = x @ Wx + h_prev @ Wh + b
    i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
    g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    ### END SOLUTION
    cache = dict(x=x, h_prev=h_prev, c_prev=c_prev, Wx=Wx, Wh=Wh,
                 i=i, f=f, g=g, o=o, c=c, tanh_c=tanh_c)
    return h, c, cache


h, c, cache = my_lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
h_lib, c_lib, _ = F.lstm_step_forward(x @ Wx + b, h_prev, c_prev, Wh)
print("h against the library: rel. error", rel_error(h, h_lib))
print("c against the library: rel. error", rel_error(c, c_lib))

# %% [markdown]
# ## Backward, one gate at a time
# Two gradients arrive: $dh$ (from the layer above / the loss) and $dc$ (from the next time step).
# $c$ influences the loss directly (through $dc$) and through $h = o\tanh(c)$, so the total
# reaching $c$ is the sum of both paths. From there every gate is a product rule, then each goes
# back through its own nonlinearity, then through the affine map $a = xW_x + h_{prev}W_h + b$.
#
# Stuck? `hint("lstm_step_backward")` says what each of its three hint levels reveals; ask for
# one at a time. The backward reads **everything** from the cache -- including `Wx` and `Wh`.

# %%
def my_lstm_step_backward(dh, dc, cache):
    """Returns (dx, dh_prev, dc_prev, dWx, dWh, db)."""
    x, h_prev, c_prev, Wx, Wh = (cache[k] for k in ("x", "h_prev", "c_prev", "Wx", "Wh"))
    i, f, g, o, tanh_c = (cache[k] for k in ("i", "f", "g", "o", "tanh_c"))
    ### BEGIN SOLUTION
    dc_total = dc + dh * o * (1 - tanh_c ** 2)
    da_i = dc_total * g * i * (1 - i)
    da_f = dc_total * c_prev * f * (1 - f)
    da_g = dc_total * i * (1 - g ** 2)
    da_o = dh * tanh_c * o * (1 - o)
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)      # back to the i, f, g, o layout
    dx, dh_prev, dc_prev = da @ Wx.T, da @ Wh.T, dc_total * f
    dWx, dWh, db = x.T @ da, h_prev.T @ da, da.sum(axis=0)
    ### END SOLUTION
    return dx, dh_prev, dc_prev, dWx, dWh, db


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
# The exercise checker does the same on fresh random problems (other sizes, other seeds). Its
# result is truthy only when every output is right, so it also works in an `assert`:

# %%
assert check("lstm_step_backward", my_lstm_step_backward, seed=1)

# %% [markdown]
# ## What a bug looks like
# Forget the $dc$ flowing in from the next step (a classic) and the checker names the victims:

# %%
wrong = dict(zip(names, my_lstm_step_backward(dh, np.zeros_like(dc), cache)))
print(check_gradients(lambda **a: my_lstm_step_forward(**a)[:2], inputs, [dh, dc], wrong))

# %% [markdown]
# ## Which gate is open?
# The forget gate decides how much of $c_{prev}$ survives. Its average value is a quick health
# check of a trained model (values near 1 mean long memory); here the weights are random, so
# every gate sits around 0.5 (and $g$, a tanh, around 0).

# %%
gates = [cache[k].ravel() for k in "ifgo"]
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.boxplot(gates)
ax.set_xticks([1, 2, 3, 4])
ax.set_xticklabels(["i", "f", "g", "o"])          # works on matplotlib 3.5 and later
ax.set_title("gate activations for a random step")
plt.show()

# %% [markdown]
# ## Questions
# 1. Why is $dc_{total}$ a *sum* of two terms? Which computation graph edge does each come from?
# 2. `dWh` uses `h_prev`, not `h`. What does the checker report if you use `h`, and why only for
#    `dWh`?
# 3. $dc_{prev} = dc_{total} \odot f$. What happens to the gradient of $c$ over many steps when
#    $f \approx 1$? When $f \approx 0.5$?
# 4. Why are N, D and H all different in the test problem? Which bug would $D = H$ hide?
# 5. Task: write `lstm_step_forward` again *without* a cache (`check("lstm_step_forward", fn)`
#    expects `(h, c)`), then time it against the library's for N = 64, H = 256.
