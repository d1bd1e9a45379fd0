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
# # 6. Running on a GPU with the CuPy backend
#
# CuPy is a NumPy-compatible array library for NVIDIA GPUs. minis2s's layers never ask "am I on a
# GPU?": every function asks its inputs for their array module
# (`minis2s.get_array_module(x)` gives `numpy` or `cupy`) and computes with it. So switching is
# one line, and **nothing in the model code changes**:
#
# ```python
# minis2s.use("cupy")            # or: MINIS2S_BACKEND=cupy minis2s train ...
# ```
#
# Install the GPU extra first: `pip install "minis2s[gpu]"` (brings `cupy-cuda12x`).
# This notebook runs everywhere: without a GPU it says so and shows the same code on the CPU.

# %%
import os
import time

import numpy as np

import minis2s
from minis2s.models import Seq2Seq
from minis2s.optim import Adam, clip_grad_norm

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
#
# To test GPU code without a GPU, minis2s ships a **strict device double**: a CPU array type that
# refuses what CuPy refuses. The test suite runs every layer and model under it.

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
# ## The same training step on every backend
# One step of a peeky model on the addition task's shapes; the code is identical, only
# `minis2s.use(...)` differs. On a GPU, the numbers are the same up to float rounding.

# %%
def one_step_loss(backend, steps):
    minis2s.use(backend, dtype="float32")
    model = Seq2Seq(13, 13, emb=16, hidden=128, decoder="peeky", seed=0)
    opt = Adam(model.params, lr=1e-3)
    rng = np.random.default_rng(0)
    src = rng.integers(3, 13, size=(128, 7))
    tgt = np.concatenate([np.ones((128, 1), int), rng.integers(3, 13, size=(128, 4))], axis=1)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = float(model.forward(src, tgt))
        model.backward()
        clip_grad_norm(model.grads, 5.0)
        opt.step(model.grads)
    return loss, (time.perf_counter() - t0) / steps


steps = 3 if os.environ.get("MINIS2S_FAST") == "1" else 20
for name in ["numpy", "strict"] + (["cupy"] if HAVE_GPU else []):
    loss, secs = one_step_loss(name, steps)
    print(f"{name:7s} loss after {steps} steps {loss:.6f}   {1000 * secs:7.1f} ms/step")
minis2s.use("numpy")

# %% [markdown]
# The strict double is slower than NumPy (it checks every operation); it exists to catch bugs,
# not to be fast. On a GPU, small models like this one are limited by kernel launches, not by
# arithmetic: the benefit grows with the batch and the hidden size (see `docs/benchmarks.md`).
#
# ## One kernel per formula, or one per cell
# The layer code asks for its elementwise kernels the way it asks for its array module:
# `get_kernels(array)` gives in-place NumPy ufuncs on the CPU (`minis2s/kernels/ufunc.py`, one
# pass over memory per formula) and fused CUDA kernels on CuPy (`minis2s/kernels/cuda.py`: one
# kernel computes a whole LSTM cell step, another a whole Adam update). Both have the same
# signature, so the model code has no `if gpu:`. The CUDA sources are plain strings; the tests
# compile them on the CPU and compare them with the NumPy versions, so a wrong formula shows
# up even on a machine without a GPU.

# %%
from minis2s.kernels import cuda_source, get_kernels

print(get_kernels(np.zeros(1)).__name__)          # the NumPy kernels
print(cuda_source.ELEMENTWISE["minis2s_lstm_cell_forward"][2])
#
# ## Checkpoints cross backends
# A checkpoint always stores host (NumPy) arrays, so a model trained on a GPU loads on a laptop
# and vice versa: `minis2s train --backend cupy ...` then `minis2s translate --checkpoint ...` on
# the CPU.
