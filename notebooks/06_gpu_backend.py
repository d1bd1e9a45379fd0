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
# # 6. (Optional) CPU against GPU: when does a GPU pay?
#
# **Learning goals.** After this lab you can
# - run the same model code on NumPy and on CuPy by changing one line, and say why nothing else
#   changes;
# - time a training step correctly on a GPU (its work is asynchronous);
# - measure how the time of a step grows with the batch size and the hidden size on each
#   device, and explain where the GPU starts to pay.
#
# *Optional lab 9 (docs/teaching.md). Needs a machine with an NVIDIA GPU and CuPy for the GPU
# half; without one, every cell still runs and times the CPU.*
#
# CuPy is a NumPy-compatible array library for NVIDIA GPUs. minis2s's layers never ask "am I on a
# GPU?": every function asks its inputs for their array module
# (`minis2s.get_array_module(x)` gives `numpy` or `cupy`) and computes with it. So switching is
# one line, and **nothing in the model code changes**:
#
# ```python
# minis2s.use("cupy")            # or: minis2s train --backend cupy ...
# ```
#
# Install CuPy for your CUDA version first (e.g. `pip install cupy-cuda12x`).
#
# **On Google Colab** (a free GPU; this route is untested so far, see the README's "Notebooks"):
# choose a GPU runtime (Runtime → Change runtime type → GPU), set `MINIS2S_GIT` in the next cell
# to minis2s's repository and run it first: it installs minis2s there. Anywhere else it does
# nothing.

# %%
import sys

if "google.colab" in sys.modules:                 # only on Colab
    import subprocess
    MINIS2S_GIT = "git+https://github.com/OWNER/minis2s.git"      # minis2s's repository: edit OWNER
    if "OWNER" in MINIS2S_GIT:
        raise RuntimeError("set MINIS2S_GIT in this cell to the URL of minis2s's repository")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", MINIS2S_GIT], check=True)
    # Colab's GPU runtimes come with CuPy; if `import cupy` fails: pip install cupy-cuda12x

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np

import minis2s
import minis2s.testing                             # registers the "strict" device double
from minis2s.models import Seq2Seq
from minis2s.optim import Adam, clip_grad_norm

FAST = os.environ.get("MINIS2S_FAST") == "1"      # the test suite runs notebooks in a fast setting
print("backends usable here:", minis2s.available_backends())
try:
    minis2s.use("cupy")
    HAVE_GPU = True
except minis2s.BackendError as err:
    HAVE_GPU = False
    print("No GPU backend here -- the error you get says why and what to do:\n ", err)
minis2s.use("numpy")

# %% [markdown]
# ## Where the data lives
# Host (NumPy) and device (CuPy) arrays never mix silently: CuPy refuses `np.asarray(gpu_array)`
# and arithmetic between the two. minis2s moves data in exactly one place,
# `minis2s.to_device` / `minis2s.to_cpu`, and a model moves its batch once per step.
# To test GPU code without a GPU, minis2s has a **strict device double** (`minis2s.testing`): a
# CPU array type that refuses what CuPy refuses. The test suite runs every layer and model under it.

# %%
minis2s.use("strict")
a = minis2s.to_device(np.arange(6.0))
print(type(a).__name__, "->", minis2s.to_cpu(a))
try:
    a + np.ones(6)                  # the bug that breaks a first GPU run
except TypeError as err:
    print("TypeError:", err)
minis2s.use("numpy")

# %% [markdown]
# ## Timing a step honestly
# A GPU works asynchronously: a CuPy call returns as soon as the work is *queued*. A timer around
# queued work measures nothing. A step here ends with a number read on the host --
# `clip_grad_norm` returns the gradient norm as a Python float -- and reading it waits for all
# the work before it, so the timer stops when the step is really done. The first steps also pay
# one-off costs (memory pools, compiling kernels), so we run two untimed warm-up steps first.
# Of the timed steps we report the *fastest*: other programs running on the same machine can
# only slow a step down, never speed it up, so the minimum is the best estimate of the step's own
# cost (the same reason Python's `timeit` reports a minimum).

# %%
def step_time(backend, batch, hidden, steps, T=20, vocab=1000):
    """Seconds of one training step (forward, backward, clipping, Adam) on ``backend``: the fastest of ``steps``."""
    minis2s.use(backend, dtype="float32")
    model = Seq2Seq(vocab, vocab, emb=64, hidden=hidden, decoder="peeky", seed=0)
    opt = Adam(model.params, lr=1e-3)
    rng = np.random.default_rng(0)
    src = rng.integers(4, vocab, size=(batch, T))
    tgt = np.concatenate([np.ones((batch, 1), int), rng.integers(4, vocab, size=(batch, T))], axis=1)
    times = []
    for k in range(steps + 2):
        t0 = time.perf_counter()
        model.forward(src, tgt)
        model.backward()
        clip_grad_norm(model.grads, 5.0)         # returns a float: waits for the device
        opt.step(model.grads)
        if k >= 2:                                # two warm-up steps
            times.append(time.perf_counter() - t0)
    minis2s.use("numpy")
    return float(np.min(times))                   # the least disturbed by other programs


BATCHES = [8, 32] if FAST else [8, 32, 128, 512]
HIDDENS = [32] if FAST else [64, 256] + ([1024] if HAVE_GPU else [])   # H = 1024 takes minutes on a CPU
STEPS = 1 if FAST else 5
backends = ["numpy"] + (["cupy"] if HAVE_GPU else [])
results = {(b, B, H): step_time(b, B, H, STEPS) for b in backends for B in BATCHES for H in HIDDENS}
print(f"{'backend':<8}{'batch':>7}{'hidden':>8}{'ms/step':>10}{'sentences/s':>13}")
for (b, B, H), s in results.items():
    print(f"{b:<8}{B:>7}{H:>8}{1000 * s:>10.1f}{B / s:>13.0f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for b, style in zip(backends, ["-", "--"]):
    for H in HIDDENS:
        axes[0].loglog(BATCHES, [1000 * results[b, B, H] for B in BATCHES], style, marker="o",
                       ms=3, label=f"{b}, H = {H}")
axes[0].set(xlabel="batch size", ylabel="ms per training step", title="time of one step")
if HAVE_GPU:
    for H in HIDDENS:
        axes[1].semilogx(BATCHES, [results["numpy", B, H] / results["cupy", B, H] for B in BATCHES],
                         marker="o", ms=3, label=f"H = {H}")
    axes[1].axhline(1.0, color="0.5", lw=0.8)
    axes[1].set(xlabel="batch size", ylabel="CPU time / GPU time", title="GPU speed-up")
else:
    for H in HIDDENS:
        axes[1].semilogx(BATCHES, [B / results["numpy", B, H] for B in BATCHES], marker="o", ms=3,
                         label=f"H = {H}")
    axes[1].set(xlabel="batch size", ylabel="sentences per second", title="CPU throughput (no GPU here)")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# How to read it. On the CPU the time of a step grows roughly in proportion to the work,
# $B \cdot T \cdot H^2$ for the LSTM (and $B \cdot T \cdot H \cdot V$ for the output layer), once
# the batch is large enough to keep the cores busy; so sentences per second level off. A GPU has a
# fixed cost per kernel launch (a few microseconds, thousands of launches per step): for small
# batches and hidden sizes that cost dominates, the GPU is no faster than the CPU or even slower,
# and its time hardly grows with the batch. As B and H grow, the arithmetic takes over and the
# GPU's speed-up climbs -- into the tens for large layers. Where exactly the curves cross depends
# on the machine: measure it, as above, before buying GPU time.
#
# ## Checkpoints cross backends
# A checkpoint always stores host (NumPy) arrays, so a model trained on a GPU loads on a laptop
# and vice versa: `minis2s train --backend cupy ...`, then `minis2s translate --checkpoint ...` on
# the CPU.
#
# ## Questions
# 1. Why would timing `model.forward(src, tgt)` alone, without reading the loss, measure almost
#    nothing on a GPU?
# 2. At which batch size does the GPU overtake the CPU for H = 64 on your machine? For H = 256?
#    Why do the two differ?
# 3. The step's work grows like $B \cdot T \cdot H^2$. Check the CPU curves against that: what
#    happens to the time when you double H?
# 4. Task: add `T` (the sentence length) to the grid. Does the GPU's speed-up depend on it?
#    (Hint: the steps of the recurrence run one after the other on either device.)
