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
# The functions you write here **are** minis2s's own `minis2s.functional.lstm_step_forward` and
# `lstm_step_backward`: the same signatures, the same cache (the engine's `LSTMStepCache`). In a
# student edition their bodies are holes in the package, and what you
# write below is what you paste there -- the model then trains on your backward (notebook 3).
# The derivation is in `docs/derivations.md`, section "LSTM". The step takes the input part
# $a_x = x W_x + b$ already computed, because a sequence computes it for all its steps in one
# matrix product before its loop; so below we hand it `x @ Wx + b`.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minis2s
import minis2s.functional as F
import minis2s.functional.lstm as lstm_module
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
a_x = x @ Wx + b                        # the input projection, (N, 4H)

# %% [markdown]
# ## Forward
# Write the step. Keep in the cache everything the backward pass will need, by name: the
# previous state, the recurrent weight, the four *activated* gates, the new cell state and its
# tanh -- the engine's `LSTMStepCache`, so the backward you write below also goes to `check`.
# The sigmoid is written as $\sigma(z) = \tfrac12(1 + \tanh(z/2))$, which never overflows.

# %%
def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def my_lstm_step_forward(a_x, h_prev, c_prev, Wh):
    """Returns (h, c, LSTMStepCache(h_prev, c_prev, Wh, i, f, g, o, c, tanh_c))."""
    H = h_prev.shape[1]
    ### BEGIN SOLUTION
    a = a_x + h_prev @ Wh
    i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
    g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    ### END SOLUTION
    return h, c, F.LSTMStepCache(h_prev, c_prev, Wh, i, f, g, o, c, tanh_c)


h, c, cache = my_lstm_step_forward(a_x, h_prev, c_prev, Wh)
h_lib, c_lib, _ = F.lstm_step_forward(a_x, h_prev, c_prev, Wh)
print("h against the library: rel. error", rel_error(h, h_lib))
print("c against the library: rel. error", rel_error(c, c_lib))

# %% [markdown]
# ## Backward, one gate at a time
# Two gradients arrive: $dh$ (from the layer above / the loss) and $dc$ (from the next time step).
# $c$ influences the loss directly (through $dc$) and through $h = o\tanh(c)$, so the total
# reaching $c$ is the sum of both paths. From there every gate is a product rule, then each goes
# back through its own nonlinearity, then through the sum $a = a_x + h_{prev}W_h$. The step
# returns $da$, the gradient of $a$ (and so of $a_x$): the weight gradients $dW_x, dW_h, db$ are
# sums over the steps, which `lstm_backward` forms once for the whole sequence.
#
# Stuck? `hint("lstm_step_backward")` says what each of its three hint levels reveals; ask for
# one at a time. The backward reads **everything** from the cache -- including `Wh`.

# %%
def my_lstm_step_backward(dh, dc, cache):
    """Returns (da (N, 4H), dh_prev (N, H), dc_prev (N, H))."""
    h_prev, c_prev, Wh, i, f, g, o, c, tanh_c = cache
    ### BEGIN SOLUTION
    dc_total = dc + dh * o * (1 - tanh_c ** 2)
    da_i = dc_total * g * i * (1 - i)
    da_f = dc_total * c_prev * f * (1 - f)
    da_g = dc_total * i * (1 - g ** 2)
    da_o = dh * tanh_c * o * (1 - o)
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)      # back to the i, f, g, o layout
    dh_prev, dc_prev = da @ Wh.T, dc_total * f
    ### END SOLUTION
    return da, dh_prev, dc_prev


dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))
names = ["a_x", "h_prev", "c_prev"]
grads = dict(zip(names, my_lstm_step_backward(dh, dc, cache)))
inputs = dict(zip(names, (a_x, h_prev, c_prev)))

# %% [markdown]
# ## Gradient check
# The checker perturbs every input element by $\pm 10^{-5}$, recomputes
# $L = \sum h \odot dh + \sum c \odot dc$, and compares the central difference with our analytic
# gradient. Correct code scores around $10^{-9}$ or better; a bug scores around $10^{-1}$.

# %%
report = check_gradients(lambda **a: my_lstm_step_forward(Wh=Wh, **a)[:2], inputs, [dh, dc], grads)
print(report)

# %% [markdown]
# The exercise checker does the same on fresh random problems (other sizes, other seeds). Its
# result is truthy only when every output is right, so it also works in an `assert`:

# %%
assert check("lstm_step_backward", my_lstm_step_backward, seed=1)

# %% [markdown]
# ## Your step inside the engine
# `lstm_backward`, the engine's backpropagation through time, calls `lstm_step_backward` at every
# step. Put yours in its place and the whole sequence's gradients are the same -- which is what
# the student edition does for real: your body *is* the engine's step.

# %%
T = 6
xs = rng.standard_normal((N, T, D))
hs, _, seq_cache = F.lstm_forward(xs, h_prev, c_prev, Wx, Wh, b)
upstream = rng.standard_normal(hs.shape), rng.standard_normal((N, H)), rng.standard_normal((N, H))
engine_grads = F.lstm_backward(*upstream, seq_cache)
engine_step = lstm_module.lstm_step_backward
lstm_module.lstm_step_backward = my_lstm_step_backward   # the name lstm_backward calls
try:
    my_grads = F.lstm_backward(*upstream, seq_cache)
finally:
    lstm_module.lstm_step_backward = engine_step
for name, mine, theirs in zip(["dx", "dh0", "dc0", "dWx", "dWh", "db"], my_grads, engine_grads):
    print(f"{name:4s} with your step: rel. error {rel_error(mine, theirs):.1e}")

# %% [markdown]
# ## What a bug looks like
# Forget the $dc$ flowing in from the next step (a classic) and the checker names the victims:

# %%
wrong = dict(zip(names, my_lstm_step_backward(dh, np.zeros_like(dc), cache)))
print(check_gradients(lambda **a: my_lstm_step_forward(Wh=Wh, **a)[:2], inputs, [dh, dc], wrong))

# %% [markdown]
# ## Which gate is open?
# The forget gate decides how much of $c_{prev}$ survives. Its average value is a quick health
# check of a trained model (values near 1 mean long memory); here the weights are random, so
# every gate sits around 0.5 (and $g$, a tanh, around 0).

# %%
gates = [getattr(cache, k).ravel() for k in "ifgo"]
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.boxplot(gates)
ax.set_xticks([1, 2, 3, 4])
ax.set_xticklabels(["i", "f", "g", "o"])          # works on matplotlib 3.5 and later
ax.set_title("gate activations for a random step")
plt.show()

# %% [markdown]
# ## Questions
# 1. Why is $dc_{total}$ a *sum* of two terms? Which computation graph edge does each come from?
# 2. In `lstm_backward`, `dWh` pairs each step's `da` with its `h_prev`, not its `h`. What does
#    `check("lstm_backward", fn)` report if you use `h`, and why only for `dWh`?
# 3. $dc_{prev} = dc_{total} \odot f$. What happens to the gradient of $c$ over many steps when
#    $f \approx 1$? When $f \approx 0.5$?
# 4. Why are N, D and H all different in the test problem? Which bug would $D = H$ hide?
# 5. Task: write `lstm_step_forward` again returning only `(h, c)` (`check("lstm_step_forward",
#    fn)` expects that), then time it against the library's for N = 64, H = 256.
