r"""Benchmark: one minis2s training step (and decoding) against PyTorch on the CPU.

A benchmark, not a test: it prints numbers and judges nothing by exit code.

    python benchmarks/bench_step.py --quick          # config A, 2 rounds, ~30 s: does it all work?
    python benchmarks/bench_step.py                  # everything (see docs/benchmarks.md), ~5 min idle
    python benchmarks/bench_step.py --config B --repeats 3
    python benchmarks/bench_step.py --only-profile   # just the where-does-the-time-go table (B)
    python benchmarks/bench_step.py --json out.json  # keep the raw numbers ...
    python benchmarks/bench_step.py --report-from out.json   # ... and print the tables again

What is timed
-------------
One training step, the same on both sides::

    loss = model(src, tgt)            # forward, mean cross-entropy over non-<pad> targets
    backward                          # full BPTT through decoder and encoder
    clip global grad norm at 5.0
    Adam update (lr 1e-3)
    float(loss)                       # read the loss, as a training loop would

minis2s: ``Seq2Seq(decoder="plain", reverse=True)``, ``clip_grad_norm``, ``Adam``.
PyTorch: embedding -> nn.LSTM encoder (source reversed in its real tokens and
packed with ``pack_padded_sequence``, so padded rows end in the state of their
last real token, as minis2s's masked encoder does) -> final (h, c) -> embedding ->
nn.LSTM decoder -> nn.Linear -> ``F.cross_entropy(ignore_index=0)``, autograd,
``clip_grad_norm_``, ``torch.optim.Adam``. float32, ``torch.set_num_threads(2)``.
The torch model is loaded with the minis2s model's weights (seed 0), so both sides
compute the same numbers; an equivalence check (loss, every gradient, greedy and
beam outputs, in one process) runs first in every benchmark and is printed.

Decoding (config A): ``model.generate(src, max_len, beam_size=1|3)`` against a
step-by-step greedy / batched beam decode written below in PyTorch (same batch,
same max_len, same early stop when every row has emitted <eos>, same output:
id lists per sentence).

Side by side in one run
-----------------------
The two sides never share a process: each measurement is a child process running
this script with ``--worker minis2s|torch``; it prints one JSON line. The parent
alternates minis2s and torch (the order flips every round), pauses between
children, repeats for several rounds, and reports per config the median and the
min-max range of the per-round ratio minis2s/torch (< 1: minis2s is faster). The
machine has 2 cores shared with other work, so single timings are noisy: the
ratio of neighbouring runs is the number to read.

Children run with OMP/OPENBLAS/MKL_NUM_THREADS=2 and *without* OPENBLAS_CORETYPE
and OPENBLAS_L2_SIZE (set on some of these machines for old OpenBLAS builds;
they slow a current NumPy). That change is made in the children's environment only.

FLOP count (matmul FLOPs of one step, 2*m*n*k per GEMM)
-------------------------------------------------------
N batch, S source length, T_d = target length - 1 decoder steps (the target array
includes <sos>), E embedding, H hidden, L layers, V target vocabulary;
D_l = E for layer 0, H above. Forward::

    encoder, per layer:  2*N*S*D_l*4H  (input GEMM)  +  2*N*S*H*4H  (recurrent GEMMs)
    decoder, per layer:  2*N*T_d*D_l*4H              +  2*N*T_d*H*4H
    output layer:        2*N*T_d*H*V

Backward: every forward GEMM has two of the same size (the input gradient dX and
the weight gradient dW), so a step is 3x the forward count. Counted over the
whole padded tensors, which is what minis2s computes (torch's packed encoder skips
padded steps, so it does slightly fewer). Everything else (gates, softmax, Adam,
embedding gather/scatter) is not counted: GFLOP/s here is "useful matmul work per
second", compared with the machine's measured float32 GEMM rate.

Profile (``--profile``, run on config B in the full benchmark)
---------------------------------------------------------------
cProfile of a few minis2s steps gives the time per function. Matrix products
(``@``) are not calls cProfile can see: their time is inside the self-time of
the function that runs them (lstm_forward_fast/backward_fast, linear_forward/backward). So
the GEMMs of a step are replayed alone with the same shapes and layouts (transposed
views included) and their time is moved from those functions to a "GEMM" row.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PAD, SOS, EOS = 0, 1, 2
THREADS = 2

# name: vocab (src = tgt), emb, hidden, layers, batch, src length, tgt length (incl. <sos>)
CONFIGS = {
    "A": dict(V=13, E=16, H=128, L=1, N=128, S=7, T=5),      # the addition task
    "B": dict(V=4000, E=256, H=512, L=1, N=64, S=20, T=20),
    "C": dict(V=4000, E=256, H=256, L=2, N=64, S=20, T=20),
}
# Scaling sweep on B: lengths x1, x2, x4 and batch x2.
SCALING = {
    "B": dict(CONFIGS["B"]),
    "B-2T": dict(CONFIGS["B"], S=40, T=40),
    "B-4T": dict(CONFIGS["B"], S=80, T=80),
    "B-2N": dict(CONFIGS["B"], N=128),
}
ALL_SHAPES = {**CONFIGS, **SCALING}
DECODE_MAX_LEN = 5
BEAM = 3


# --- the FLOP count ------------------------------------------------------------------

def step_flops(c: dict) -> float:
    """Matmul FLOPs of one training step (see the module docstring)."""
    N, S, Td, E, H, L, V = c["N"], c["S"], c["T"] - 1, c["E"], c["H"], c["L"], c["V"]
    fwd = 0.0
    for steps in (S, Td):                       # encoder, decoder
        for layer in range(L):
            D = E if layer == 0 else H
            fwd += 2.0 * N * steps * D * 4 * H + 2.0 * N * steps * H * 4 * H
    fwd += 2.0 * N * Td * H * V
    return 3.0 * fwd                            # forward + (dX, dW) for every GEMM


# --- data ----------------------------------------------------------------------------

def make_batch(c: dict, seed: int = 0):
    """Random ids; a quarter of the rows right-padded with <pad>=0; targets start with <sos>=1."""
    rng = np.random.default_rng(seed)
    N, S, T, V = c["N"], c["S"], c["T"], c["V"]
    src = rng.integers(3, V, size=(N, S), dtype=np.int64)
    tgt = rng.integers(3, V, size=(N, T), dtype=np.int64)
    tgt[:, 0] = SOS
    for n in range(0, N, 4):                    # every 4th row is shorter
        ls = int(rng.integers(max(1, S - max(1, S // 4)), S + 1))
        lt = int(rng.integers(max(2, T - max(1, T // 4)), T + 1))
        src[n, ls:] = PAD
        tgt[n, lt - 1] = EOS if lt < T else tgt[n, lt - 1]
        tgt[n, lt:] = PAD
    return src, tgt


# --- environment: BLAS and threads ---------------------------------------------------

def child_env() -> dict:
    """The environment of every worker: 2 threads everywhere, no OpenBLAS core override."""
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(THREADS)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _openblas_lib():
    """The OpenBLAS shared library this process has loaded (NumPy's), via ctypes."""
    np.ones((4, 4)) @ np.ones((4, 4))           # make sure it is loaded
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    for path in sorted(paths):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def blas_info() -> dict:
    """Which BLAS NumPy uses and which kernel (core) and thread count it runs with."""
    info = {"numpy": np.__version__, "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE")}
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{cfg.get('name')} {cfg.get('version')}"
    except Exception:  # older NumPy: no dict mode
        info["blas"] = "unknown (see numpy.show_config())"
    try:
        import threadpoolctl
        for p in threadpoolctl.threadpool_info():
            if p.get("user_api") == "blas":
                info["core"] = p.get("architecture")
                info["threads"] = p.get("num_threads")
                info["via"] = "threadpoolctl"
                return info
    except ImportError:
        pass
    lib = _openblas_lib()
    if lib is not None:
        for prefix, suffix in (("openblas_", ""), ("scipy_openblas_", "64_"), ("scipy_openblas_", "")):
            try:
                get_core = getattr(lib, f"{prefix}get_corename{suffix}")
                get_threads = getattr(lib, f"{prefix}get_num_threads{suffix}")
            except AttributeError:
                continue
            get_core.restype = ctypes.c_char_p
            info["core"] = get_core().decode()
            info["threads"] = int(get_threads())
            info["via"] = "ctypes (threadpoolctl not installed)"
            break
    return info


def torch_info() -> dict | None:
    try:
        import torch
    except ImportError:
        return None
    cfg = torch.__config__.show()
    blas = [s.strip() for s in cfg.replace(",", "\n").splitlines() if "BLAS_INFO" in s]
    cap = [s.strip() for s in cfg.splitlines() if "CPU capability" in s]
    torch.set_num_threads(THREADS)
    return {"torch": torch.__version__, "blas": blas[0] if blas else "?",
            "cpu_capability": cap[0] if cap else "?", "threads": torch.get_num_threads()}


def machine_info() -> dict:
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def max_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (ru_maxrss is in kB on Linux).

    ru_maxrss survives fork + exec, so a child starts from its parent's RSS: the
    parent of the benchmark keeps itself small (it never imports torch).
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def vm_hwm_mb() -> float:
    """Peak RSS of this process image from /proc/self/status (VmHWM), MB; a cross-check."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


# --- minis2s side --------------------------------------------------------------------

def build_minis2s(c: dict):
    import minis2s
    from minis2s.models.seq2seq import Seq2Seq
    minis2s.use("numpy", dtype="float32")
    return Seq2Seq(c["V"], c["V"], emb=c["E"], hidden=c["H"], n_layers=c["L"],
                   decoder="plain", reverse=True, seed=0)


def minis2s_trainer(c: dict):
    from minis2s.optim import Adam, clip_grad_norm
    model = build_minis2s(c)
    opt = Adam(model.params, lr=1e-3)
    src, tgt = make_batch(c)

    def step():
        loss = model.forward(src, tgt)
        model.backward()
        grads = model.grads
        clip_grad_norm(grads, 5.0)
        opt.step(grads)
        return float(loss)
    return step, model, (src, tgt)


# --- torch side ----------------------------------------------------------------------

def build_torch(c: dict, copy_from=None):
    """The PyTorch twin of Seq2Seq(decoder="plain", reverse=True), optionally with its weights."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.utils.rnn import pack_padded_sequence

    class TorchSeq2Seq(nn.Module):
        def __init__(self, V, E, H, L):
            super().__init__()
            self.V = V
            self.enc_emb = nn.Embedding(V, E)
            self.enc = nn.LSTM(E, H, L, batch_first=True)
            self.dec_emb = nn.Embedding(V, E)
            self.dec = nn.LSTM(E, H, L, batch_first=True)
            self.fc = nn.Linear(H, V)

        def encode(self, src):
            mask = src != PAD
            lengths = mask.sum(dim=1)
            j = torch.arange(src.shape[1])[None, :]
            idx = torch.where(j < lengths[:, None], lengths[:, None] - 1 - j, j)
            src = torch.gather(src, 1, idx)                 # reverse the real tokens
            packed = pack_padded_sequence(self.enc_emb(src), lengths, batch_first=True,
                                          enforce_sorted=False)
            _, (h, c) = self.enc(packed)
            return h, c

        def forward(self, src, tgt):
            h, c = self.encode(src)
            out, _ = self.dec(self.dec_emb(tgt[:, :-1]), (h, c))
            logits = self.fc(out)
            return F.cross_entropy(logits.reshape(-1, self.V), tgt[:, 1:].reshape(-1),
                                   ignore_index=PAD)

        def step(self, tokens, state):
            """One decoding step: tokens (N,) -> log-probabilities (N, V), new state."""
            out, state = self.dec(self.dec_emb(tokens)[:, None, :], state)
            return F.log_softmax(self.fc(out[:, 0]), dim=-1), state

    torch.manual_seed(0)
    model = TorchSeq2Seq(c["V"], c["E"], c["H"], c["L"])
    if copy_from is not None:
        p = {k: torch.from_numpy(np.ascontiguousarray(np.asarray(v, dtype=np.float32)))
             for k, v in copy_from.params.items()}
        with torch.no_grad():
            for side, emb, lstm in (("encoder", model.enc_emb, model.enc),
                                    ("decoder", model.dec_emb, model.dec)):
                emb.weight.copy_(p[f"{side}.embed.W"])
                for layer in range(c["L"]):
                    getattr(lstm, f"weight_ih_l{layer}").copy_(p[f"{side}.lstm.{layer}.Wx"].T)
                    getattr(lstm, f"weight_hh_l{layer}").copy_(p[f"{side}.lstm.{layer}.Wh"].T)
                    getattr(lstm, f"bias_ih_l{layer}").copy_(p[f"{side}.lstm.{layer}.b"])
                    getattr(lstm, f"bias_hh_l{layer}").zero_()
            model.fc.weight.copy_(p["decoder.fc.W"].T)
            model.fc.bias.copy_(p["decoder.fc.b"])
    return model


def torch_trainer(c: dict):
    import torch
    torch.set_num_threads(THREADS)
    model = build_torch(c, copy_from=build_minis2s(c))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    src, tgt = (torch.from_numpy(a) for a in make_batch(c))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(src, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        return loss.item()
    return step, model, (src, tgt)


def _strip(row):
    return row[:row.index(EOS)] if EOS in row else row


def torch_greedy(model, src, max_len):
    """Greedy decode in PyTorch, step by step, mirroring minis2s.models.search.greedy_search."""
    import torch
    with torch.inference_mode():
        state = model.encode(src)
        N = src.shape[0]
        tokens = torch.full((N,), SOS, dtype=torch.int64)
        finished = torch.zeros(N, dtype=torch.bool)
        scores = torch.zeros(N)
        out = torch.full((N, max_len), PAD, dtype=torch.int64)
        for t in range(max_len):
            logp, state = model.step(tokens, state)
            logp[:, PAD] = -math.inf
            logp[:, SOS] = -math.inf
            tokens = logp.argmax(dim=1)
            scores += torch.where(finished, 0.0, logp.gather(1, tokens[:, None])[:, 0])
            tokens = torch.where(finished, PAD, tokens)
            out[:, t] = tokens
            finished |= tokens == EOS
            if bool(finished.all()):
                break
        return [_strip(r) for r in out.tolist()], scores.tolist()


def torch_beam(model, src, max_len, k):
    """Batched beam search in PyTorch (N*k rows at once), the same algorithm as minis2s's."""
    import torch
    with torch.inference_mode():
        h, c = model.encode(src)
        N = src.shape[0]
        rep = torch.arange(N).repeat_interleave(k)
        state = (h[:, rep], c[:, rep])
        scores = torch.zeros(N, k)
        scores[:, 1:] = -math.inf
        finished = torch.zeros(N, k, dtype=torch.bool)
        tokens = torch.full((N * k,), SOS, dtype=torch.int64)
        base = (torch.arange(N) * k)[:, None]
        history = []
        for t in range(max_len):
            logp, (nh, nc) = model.step(tokens, state)
            V = logp.shape[1]
            logp[:, PAD] = -math.inf
            logp[:, SOS] = -math.inf
            logp = logp.reshape(N, k, V)
            frozen = torch.full((V,), -math.inf)
            frozen[PAD] = 0.0
            logp = torch.where(finished[:, :, None], frozen, logp)
            cand = (scores[:, :, None] + logp).reshape(N, k * V)
            scores, top = cand.topk(k, dim=1)
            parent, tok = top // V, top % V
            finished = torch.gather(finished, 1, parent) | (tok == EOS)
            history.append((tok, parent))
            flat = (base + parent).reshape(-1)
            state = (nh[:, flat], nc[:, flat])
            tokens = tok.reshape(-1)
            if bool(finished.all()):
                break
        toks = [t.numpy() for t, _ in history]
        parents = [p.numpy() for _, p in history]
        best = scores.argmax(dim=1).tolist()
        seqs = []
        for n in range(N):                    # backtrack the best beam of each sentence
            seq, b = [], best[n]
            for t in reversed(range(len(toks))):
                seq.append(int(toks[t][n, b]))
                b = parents[t][n, b]
            seqs.append(_strip([s for s in reversed(seq) if s != PAD]))
        return seqs, scores.max(dim=1).values.tolist()


# --- workers (child processes) -------------------------------------------------------

def _time_calls(fn, warmup: int, reps: int) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def worker(side: str, shape: str, tasks: list[str], steps: int, warmup: int, reps: int) -> dict:
    c = ALL_SHAPES[shape]
    res = {"side": side, "shape": shape}
    if side == "torch":
        import torch
        torch.set_num_threads(THREADS)
    res["rss_start_mb"] = max_rss_mb()
    if "step" in tasks:
        step, model, batch = (minis2s_trainer if side == "minis2s" else torch_trainer)(c)
        res["rss_setup_mb"] = max_rss_mb()
        times = _time_calls(step, warmup, steps)
        res["rss_peak_mb"] = max_rss_mb()
        res["vmhwm_peak_mb"] = vm_hwm_mb()
        res["step_s"] = times
        res["step_median_s"] = statistics.median(times)
    if "decode" in tasks:
        src = make_batch(c)[0]
        if side == "minis2s":
            model = build_minis2s(c)
            greedy = lambda: model.generate(src, DECODE_MAX_LEN)                     # noqa: E731
            beam = lambda: model.generate(src, DECODE_MAX_LEN, beam_size=BEAM)       # noqa: E731
        else:
            tmodel = build_torch(c, copy_from=build_minis2s(c)).eval()
            tsrc = __import__("torch").from_numpy(src)
            greedy = lambda: torch_greedy(tmodel, tsrc, DECODE_MAX_LEN)              # noqa: E731
            beam = lambda: torch_beam(tmodel, tsrc, DECODE_MAX_LEN, BEAM)            # noqa: E731
        res["greedy_median_s"] = statistics.median(_time_calls(greedy, 2, reps))
        res["beam_median_s"] = statistics.median(_time_calls(beam, 2, reps))
    if "gemm" in tasks:
        res.update(gemm_peak(side))
    if "info" in tasks:
        res["blas"] = blas_info()
        if side == "torch":
            res["torch"] = torch_info()
    return res


def gemm_peak(side: str, n: int = 2048, reps: int = 5) -> dict:
    """float32 n x n @ n x n: best and median GFLOP/s over reps (after one warm-up)."""
    flops = 2.0 * n ** 3
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    if side == "torch":
        import torch
        a, b = torch.from_numpy(a), torch.from_numpy(b)
        mm = lambda: torch.mm(a, b)       # noqa: E731
    else:
        mm = lambda: a @ b                # noqa: E731
    times = _time_calls(mm, 1, reps)
    return {"gemm_n": n, "gemm_best_gflops": flops / min(times) / 1e9,
            "gemm_median_gflops": flops / statistics.median(times) / 1e9}


def check_equivalence(shape: str = "A") -> dict:
    """One process, both models with the same weights and batch: do they compute the same?"""
    import torch
    torch.set_num_threads(THREADS)
    c = ALL_SHAPES[shape]
    m = build_minis2s(c)
    t = build_torch(c, copy_from=m)
    src, tgt = make_batch(c)
    loss_m = float(m.forward(src, tgt))
    m.backward()
    tsrc, ttgt = torch.from_numpy(src), torch.from_numpy(tgt)
    loss_t = t(tsrc, ttgt)
    loss_t.backward()
    tg = {"encoder.embed.W": t.enc_emb.weight.grad, "decoder.embed.W": t.dec_emb.weight.grad,
          "decoder.fc.W": t.fc.weight.grad.T, "decoder.fc.b": t.fc.bias.grad}
    for side, lstm in (("encoder", t.enc), ("decoder", t.dec)):
        for layer in range(c["L"]):
            tg[f"{side}.lstm.{layer}.Wx"] = getattr(lstm, f"weight_ih_l{layer}").grad.T
            tg[f"{side}.lstm.{layer}.Wh"] = getattr(lstm, f"weight_hh_l{layer}").grad.T
            tg[f"{side}.lstm.{layer}.b"] = getattr(lstm, f"bias_ih_l{layer}").grad
    worst = 0.0
    for k, g in m.grads.items():
        ref = tg[k].numpy()
        worst = max(worst, float(np.abs(np.asarray(g) - ref).max() / (np.abs(ref).max() + 1e-12)))
    t.eval()
    gm, _ = m.generate(src, DECODE_MAX_LEN)
    gt, _ = torch_greedy(t, tsrc, DECODE_MAX_LEN)
    bm, _ = m.generate(src, DECODE_MAX_LEN, beam_size=BEAM)
    bt, _ = torch_beam(t, tsrc, DECODE_MAX_LEN, BEAM)
    return {"shape": shape, "loss_minis2s": loss_m, "loss_torch": float(loss_t),
            "max_rel_grad_diff": worst,
            "greedy_agree": sum(a == b for a, b in zip(gm, gt)) / len(gm),
            "beam_agree": sum(a == b for a, b in zip(bm, bt)) / len(bm)}


# --- profile -------------------------------------------------------------------------

def _replay_gemms(c: dict, reps: int = 3) -> dict:
    """Time the step's matrix products alone, same shapes and layouts, grouped by function."""
    rng = np.random.default_rng(0)
    f32 = np.float32
    N, S, Td, E, H, L, V = c["N"], c["S"], c["T"] - 1, c["E"], c["H"], c["L"], c["V"]
    r = lambda *s: rng.standard_normal(s, dtype=f32)     # noqa: E731

    # the layouts of minis2s/functional/lstm_fast.py (feature-major, bias row in the input GEMM)
    def lstm_fwd(T, D):
        X, Wb, Wh, Hs, G = r(D + 1, T * N), r(D + 1, 4 * H), r(H, 4 * H), r(T, H, N), r(T, 4 * H, N)
        P = np.empty((4 * H, T * N), f32)

        def run():
            np.matmul(Wb.T, X, out=P)
            for t in range(T):
                np.matmul(Wh.T, Hs[t], out=G[t])
        return run

    def lstm_bwd(T, D):
        X, Wx, Wh, H_prev = r(D + 1, T * N), r(D, 4 * H), r(H, 4 * H), r(H, T * N)
        dA, dA2, dh = r(T, 4 * H, N), r(4 * H, T * N), np.empty((H, N), f32)

        def run():
            for t in range(T):
                np.matmul(Wh, dA[t], out=dh)
            X @ dA2.T
            H_prev @ dA2.T
            Wx @ dA2
        return run

    M = N * Td
    hs, W, dl = r(M, H), r(H, V), r(M, V)
    groups = {"lstm_forward": [], "lstm_backward": [],
              "linear_forward": [lambda: hs @ W],
              "linear_backward": [lambda: (dl @ W.T, hs.T @ dl)]}
    for T in (S, Td):
        for layer in range(L):
            D = E if layer == 0 else H
            groups["lstm_forward"].append(lstm_fwd(T, D))
            groups["lstm_backward"].append(lstm_bwd(T, D))
    out = {}
    for name, fns in groups.items():
        run = lambda fns=fns: [f() for f in fns]          # noqa: E731
        out[name] = min(_time_calls(run, 1, reps))
    return out


def profile_minis2s(shape: str, steps: int) -> dict:
    """Where a minis2s step's time goes: cProfile by function, GEMMs split out by replay."""
    import cProfile
    import pstats
    c = ALL_SHAPES[shape]
    step, _, _ = minis2s_trainer(c)
    step()
    step()
    plain = _time_calls(step, 0, steps)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    st = pstats.Stats(prof).stats     # (file, line, func) -> (cc, nc, tottime, cumtime, callers)
    self_time, cum_time = {}, {}
    for (fname, _, func), (_, _, tt, ct, _) in st.items():
        if "minis2s" + os.sep in fname:            # minis2s/optim/adam.py:step
            key = fname[fname.rindex("minis2s" + os.sep):] + ":" + func
        else:
            key = f"{func} [{os.path.basename(fname)}]"
        self_time[key] = self_time.get(key, 0.0) + tt / steps
        cum_time[key] = cum_time.get(key, 0.0) + ct / steps
    return {"shape": shape, "steps": steps, "step_median_s": statistics.median(plain),
            "profiled_step_s": sum(self_time.values()), "self_time_s": self_time,
            "cum_time_s": cum_time, "gemm_replay_s": _replay_gemms(c)}


# Breakdown categories: whole call subtrees (cumulative time) of minis2s functions that
# run no GEMM, matched by the end of "file:function". They do not nest in one another.
CATEGORIES = [
    ("LSTM gate/cell elementwise (kernels lstm_cell_forward/backward)",
     ["kernels/ufunc.py:lstm_cell_forward", "kernels/ufunc.py:lstm_cell_backward"]),
    ("softmax + cross-entropy (forward and gradient)",
     ["functional/softmax_cross_entropy.py:softmax_cross_entropy"]),
    ("Adam update", ["optim/adam.py:step"]),
    ("grad-norm clipping", ["optim/clip.py:clip_grad_norm"]),
    ("embedding gather + scatter-add (add.at)",
     ["functional/embedding.py:embedding_forward", "functional/embedding.py:embedding_backward"]),
]
# Functions that run GEMMs: their subtree minus the replayed GEMMs minus nested categories.
GEMM_FUNCS = {"lstm": ["functional/lstm_fast.py:lstm_forward_fast",
                       "functional/lstm_fast.py:lstm_backward_fast"],
              "linear": ["functional/linear.py:linear_forward", "functional/linear.py:linear_backward"]}


def _cum(p: dict, suffix: str) -> float:
    return sum(v for k, v in p["cum_time_s"].items() if k.endswith(suffix))


def summarize_profile(p: dict) -> list[tuple[str, float]]:
    """[(label, seconds per step)], adding up to the profiled step time."""
    total = p["profiled_step_s"]
    g = p["gemm_replay_s"]
    rows = [("GEMMs (all matmuls of the step, replayed alone)", sum(g.values()))]
    cats = [(label, sum(_cum(p, k) for k in keys)) for label, keys in CATEGORIES]
    cell = cats[0][1]
    lstm = sum(_cum(p, k) for k in GEMM_FUNCS["lstm"]) - g["lstm_forward"] - g["lstm_backward"] - cell
    lin = sum(_cum(p, k) for k in GEMM_FUNCS["linear"]) - g["linear_forward"] - g["linear_backward"]
    rows += cats
    rows.append(("LSTM loops minus GEMMs and cell (masking, transposing copies)", lstm))
    rows.append(("linear minus GEMMs (bias add, bias grad, reshapes)", lin))
    rows.append(("everything else (Seq2Seq glue, input checks, reversal, loss read)",
                 total - sum(v for _, v in rows)))
    return rows


# --- the parent: orchestration and report -------------------------------------------

def _cpu_snapshot():
    """(idle seconds, total seconds) summed over all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [float(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return (v[3] + v[4]) / hz, sum(v) / hz      # idle + iowait, everything


def cpu_idle(interval: float = 0.5) -> float:
    """Fraction of all cores idle over ``interval`` seconds; 1.0 if unknown."""
    try:
        i0, t0 = _cpu_snapshot()
        time.sleep(interval)
        i1, t1 = _cpu_snapshot()
        return (i1 - i0) / max(t1 - t0, 1e-9)
    except OSError:
        return 1.0


# The machine is shared: before each child, wait (up to max_s) for the cores to be
# mostly idle; after it, measure how much CPU *other* processes used while it ran
# (all busy CPU minus the child's own) and run the child again (up to `attempts`
# times) when that exceeds max_other of the machine. Everything seen is reported.
# Waiting and reruns stop once budget_s seconds of waiting have been spent in all.
WAIT = {"max_s": 60.0, "budget_s": 300.0, "min_idle": 0.8, "max_other": 0.10, "attempts": 3,
        "waited_s": 0.0, "other": [], "retried": 0, "kept_busy": 0}


def wait_for_idle() -> float:
    t0 = time.time()
    idle = cpu_idle()
    limit = min(WAIT["max_s"], max(0.0, WAIT["budget_s"] - WAIT["waited_s"]))
    while idle < WAIT["min_idle"] and time.time() - t0 < limit:
        time.sleep(1.0)
        idle = cpu_idle()
    WAIT["waited_s"] += time.time() - t0
    return idle


def run_worker(args: list[str], env: dict) -> dict:
    """Run this script as a child with ``args``; return its JSON result (with ``other_load``)."""
    cmd = [sys.executable, os.path.abspath(__file__)] + args
    for attempt in range(WAIT["attempts"]):
        wait_for_idle()
        i0, t0 = _cpu_snapshot()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        i1, t1 = _cpu_snapshot()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise RuntimeError(f"worker failed: {' '.join(args)}")
        res = json.loads(lines[-1][len("RESULT "):])
        busy = (t1 - t0) - (i1 - i0)
        own = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        res["other_load"] = max(0.0, busy - own) / max(t1 - t0, 1e-9)   # fraction of all cores
        if res["other_load"] <= WAIT["max_other"]:
            break
        if attempt < WAIT["attempts"] - 1 and WAIT["waited_s"] < WAIT["budget_s"]:
            WAIT["retried"] += 1
            print(f"  (other processes used {100 * res['other_load']:.0f}% of the CPU during "
                  f"{' '.join(args[:4])}: running it again)", flush=True)
        else:
            WAIT["kept_busy"] += 1
            break
    WAIT["other"].append(res["other_load"])
    return res


def _ms(x):
    return f"{1e3 * x:8.2f}"


def _ratio_cell(rs):
    return f"{statistics.median(rs):.2f}x [{min(rs):.2f}-{max(rs):.2f}]"


def _clean(res: dict, max_other: float) -> bool:
    return res.get("other_load", 0.0) <= max_other


# --- collecting ------------------------------------------------------------------

def collect(a) -> dict:
    """Run every child process; return the raw results (what --json writes)."""
    quick = a.quick
    configs = ["A"] if quick else (list(CONFIGS) if a.config == "all" else [a.config])
    rounds = a.repeats or (2 if quick else 5)
    pause = a.pause if a.pause is not None else (0.3 if quick else 1.0)
    # steps per worker: (warmup, timed); decode repetitions
    plan = {"A": (5, 20) if quick else (10, 60), "B": (2, 10), "C": (2, 12),
            "B-2T": (1, 5), "B-4T": (1, 3), "B-2N": (1, 5)}
    dec_reps = 5 if quick else 15
    WAIT["max_s"] = a.max_wait if a.max_wait is not None else (10.0 if quick else 60.0)
    WAIT["budget_s"] = a.wait_budget if a.wait_budget is not None else (30.0 if quick else 300.0)
    env = child_env()
    # Not imported here: a child's ru_maxrss starts from its parent's RSS at fork time.
    import importlib.util
    have_torch = importlib.util.find_spec("torch") is not None
    raw = {"command": " ".join(["python", "benchmarks/bench_step.py"] + sys.argv[1:]),
           "quick": quick, "configs": configs, "rounds_asked": rounds, "have_torch": have_torch,
           "threads": THREADS, "wait": {k: v for k, v in WAIT.items() if k != "other"}}
    t_start = time.time()

    raw["machine"], raw["blas_parent"] = machine_info(), blas_info()
    raw["idle_at_start"], raw["loadavg_at_start"] = cpu_idle(), os.getloadavg()[0]
    print(f"collecting (machine {100 * raw['idle_at_start']:.0f}% idle) ...", flush=True)
    if not a.only_profile:
        raw["numpy_gemm"] = run_worker(["--worker", "minis2s", "--tasks", "info,gemm"], env)
        if have_torch:
            raw["torch_gemm"] = run_worker(["--worker", "torch", "--tasks", "info,gemm"], env)
            raw["check"] = run_worker(["--worker", "check", "--shape", "A"], env)

        sides = ["minis2s", "torch"] if have_torch else ["minis2s"]
        results = {cfg: {s: [] for s in sides} for cfg in configs}
        for r in range(rounds):
            order = sides if r % 2 == 0 else sides[::-1]
            for cfg in configs:
                w, n = plan[cfg]
                tasks = "step,decode" if cfg == "A" else "step"
                for side in order:
                    res = run_worker(["--worker", side, "--shape", cfg, "--tasks", tasks,
                                      "--steps", str(n), "--warmup", str(w),
                                      "--reps", str(dec_reps)], env)
                    results[cfg][side].append(res)
                    time.sleep(pause)
            print(f"round {r + 1}/{rounds} done ({time.time() - t_start:.0f} s)", flush=True)
        raw["rounds"] = results

        if not quick and not a.no_scaling and a.config in ("all", "B"):
            sc = {k: [] for k in SCALING}
            for r in range(2):
                names = list(SCALING) if r == 0 else list(SCALING)[::-1]
                for name in names:
                    w, n = plan[name]
                    sc[name].append(run_worker(["--worker", "minis2s", "--shape", name,
                                                "--steps", str(n), "--warmup", str(w)], env))
                    time.sleep(pause)
            print(f"scaling sweep done ({time.time() - t_start:.0f} s)", flush=True)
            raw["scaling"] = sc

    if not a.no_profile:
        pshape = "A" if quick else ("B" if "B" in configs else configs[0])
        raw["profile"] = run_worker(["--worker", "profile", "--shape", pshape,
                                     "--steps", "3" if pshape != "A" else "20"], env)
    raw["other_load"] = WAIT["other"]
    raw["retried"], raw["kept_busy"], raw["waited_s"] = (WAIT["retried"], WAIT["kept_busy"],
                                                         WAIT["waited_s"])
    raw["wall_s"] = time.time() - t_start
    return raw


# --- reporting -------------------------------------------------------------------

def report(raw: dict) -> None:
    """Print every table from the raw results (also works on a saved --json file)."""
    max_other = raw["wait"]["max_other"]
    have_torch = raw["have_torch"]
    configs = raw["configs"]
    mi, here = raw["machine"], raw["blas_parent"]
    print("=" * 78)
    print("minis2s training-step benchmark vs PyTorch (CPU)")
    print("=" * 78)
    print(f"command: {raw['command']}")
    print(f"machine: {mi['cpu']}, {mi['cores']} cores visible, Python {mi['python']}")
    print(f"NumPy {here['numpy']}, BLAS: {here['blas']}")
    print(f"parent's environment: OPENBLAS_CORETYPE={here['OPENBLAS_CORETYPE'] or '(unset)'}, "
          f"OPENBLAS_L2_SIZE={here['OPENBLAS_L2_SIZE'] or '(unset)'} -> OpenBLAS core "
          f"{here.get('core', '?')}, {here.get('threads', '?')} threads ({here.get('via', '?')})")
    print(f"workers: separate processes with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, "
          f"OMP/OPENBLAS/MKL_NUM_THREADS={raw['threads']}, torch.set_num_threads({raw['threads']})")
    peak = None
    if "numpy_gemm" in raw:
        im = raw["numpy_gemm"]
        peak = im["gemm_best_gflops"]
        print(f"  minis2s worker: OpenBLAS core {im['blas'].get('core', '?')}, "
              f"{im['blas'].get('threads', '?')} threads; float32 GEMM {im['gemm_n']}^3: "
              f"best {im['gemm_best_gflops']:.1f} GFLOP/s, median {im['gemm_median_gflops']:.1f}")
    if "torch_gemm" in raw:
        it = raw["torch_gemm"]
        ti = it["torch"]
        print(f"  torch worker:   torch {ti['torch']}, {ti['blas']}, {ti['cpu_capability']}, "
              f"{ti['threads']} threads; float32 GEMM: best {it['gemm_best_gflops']:.1f} "
              f"GFLOP/s, median {it['gemm_median_gflops']:.1f}")
    if "check" in raw:
        chk = raw["check"]
        print(f"  equivalence (config A, same weights): loss {chk['loss_minis2s']:.6f} vs "
              f"{chk['loss_torch']:.6f}, max relative grad diff {chk['max_rel_grad_diff']:.1e}, "
              f"greedy outputs agree {100 * chk['greedy_agree']:.0f}%, "
              f"beam-{BEAM} agree {100 * chk['beam_agree']:.0f}%")
    if not have_torch:
        print("  torch is not installed: the PyTorch side is skipped (pip install torch==2.13.0); "
              "only minis2s times are reported.")
    print("GPU: not measured (no GPU on this machine).")
    summary = {}
    unreliable = set()
    results = raw.get("rounds")
    if results:
        sides = list(next(iter(results.values())))
        n_rounds = len(next(iter(results.values()))["minis2s"])
        print()
        print(f"Training step (forward + BPTT + clip 5.0 + Adam), {n_rounds} rounds; ratio = "
              f"minis2s / torch within a round (< 1: minis2s faster). Rounds where another "
              f"process used > {100 * max_other:.0f}% of the CPU during either child are dropped.")
        hdr = (f"{'cfg':4} {'shape':34} {'ratio median [min-max]':>24} {'rounds':>6} "
               f"{'minis2s ms':>10} {'torch ms':>9}")
        print(hdr)
        print("-" * len(hdr))

        unreliable = set()

        def pairs(cfg):
            """Indices of the rounds to use: both children clean (all rounds if none is)."""
            idx = [i for i in range(n_rounds)
                   if all(_clean(results[cfg][s][i], max_other) for s in sides)]
            if not idx:
                unreliable.add(cfg)
            return idx or list(range(n_rounds))

        for cfg in configs:
            c = CONFIGS[cfg]
            idx = pairs(cfg)
            mt = [results[cfg]["minis2s"][i]["step_median_s"] for i in idx]
            shape = f"V{c['V']} E{c['E']} H{c['H']} L{c['L']} N{c['N']} S{c['S']}/T{c['T']}"
            row = {"minis2s_ms": 1e3 * statistics.median(mt), "rounds_used": len(idx)}
            flag = "  UNRELIABLE (no quiet round)" if cfg in unreliable else ""
            if have_torch:
                tt = [results[cfg]["torch"][i]["step_median_s"] for i in idx]
                ratios = [m / t for m, t in zip(mt, tt)]
                row.update(torch_ms=1e3 * statistics.median(tt), ratios=ratios)
                print(f"{cfg:4} {shape:34} {_ratio_cell(ratios):>24} {len(idx):>3}/{n_rounds:<2} "
                      f"{_ms(statistics.median(mt)):>10} {_ms(statistics.median(tt)):>9}{flag}")
            else:
                print(f"{cfg:4} {shape:34} {'(no torch)':>24} {len(idx):>3}/{n_rounds:<2} "
                      f"{_ms(statistics.median(mt)):>10}")
            summary[cfg] = row

        if "A" in configs:
            idx = pairs("A")
            print()
            print(f"Decoding, config A (batch {CONFIGS['A']['N']}, max_len {DECODE_MAX_LEN}, encoder "
                  f"included), ratio = minis2s / torch within a round ({len(idx)}/{n_rounds} rounds)")
            for kind in ("greedy", "beam"):
                mt = [results["A"]["minis2s"][i][f"{kind}_median_s"] for i in idx]
                label = "greedy" if kind == "greedy" else f"beam {BEAM}"
                summary["A"][f"{kind}_minis2s_ms"] = 1e3 * statistics.median(mt)
                if have_torch:
                    tt = [results["A"]["torch"][i][f"{kind}_median_s"] for i in idx]
                    ratios = [m / t for m, t in zip(mt, tt)]
                    summary["A"][f"{kind}_ratios"] = ratios
                    summary["A"][f"{kind}_torch_ms"] = 1e3 * statistics.median(tt)
                    print(f"  {label:8} {_ratio_cell(ratios):>24}   minis2s "
                          f"{_ms(statistics.median(mt))} ms   torch {_ms(statistics.median(tt))} ms")
                else:
                    print(f"  {label:8} minis2s {_ms(statistics.median(mt))} ms")

        print()
        print(f"Matmul throughput (FLOPs counted analytically, see the script's docstring); "
              f"peak = NumPy float32 GEMM {peak:.1f} GFLOP/s")
        hdr = (f"{'cfg':4} {'GFLOP/step':>10} {'minis2s GFLOP/s':>16} {'% of peak':>9} "
               f"{'torch GFLOP/s':>14} {'% of peak':>9}")
        print(hdr)
        print("-" * len(hdr))
        for cfg in configs:
            fl = step_flops(CONFIGS[cfg])
            gm = fl / (summary[cfg]["minis2s_ms"] / 1e3) / 1e9
            summary[cfg].update(gflop=fl / 1e9, minis2s_gflops=gm, minis2s_pct=100 * gm / peak)
            line = f"{cfg:4} {fl / 1e9:10.3f} {gm:16.1f} {100 * gm / peak:8.1f}%"
            if have_torch:
                gt = fl / (summary[cfg]["torch_ms"] / 1e3) / 1e9
                summary[cfg].update(torch_gflops=gt, torch_pct=100 * gt / peak)
                line += f" {gt:14.1f} {100 * gt / peak:8.1f}%"
            print(line)

        print()
        print("Peak RSS of a worker (ru_maxrss, MB, median over rounds): after building "
              "model + optimiser + batch, and after the timed steps")
        for cfg in configs:
            for side in sides:
                xs = results[cfg][side]
                setup = statistics.median(x["rss_setup_mb"] for x in xs)
                peak_rss = statistics.median(x["rss_peak_mb"] for x in xs)
                summary[cfg][f"{side}_rss"] = (setup, peak_rss)
                print(f"  {cfg} {side:8} setup {setup:7.0f}  peak {peak_rss:7.0f}  "
                      f"(steps add {peak_rss - setup:6.0f})")

    if raw.get("scaling"):
        sc = raw["scaling"]
        print()
        print("Scaling sweep on B (minis2s only, 2 rounds in flipped order; per variant the "
              "faster of the clean rounds' medians): step time relative to B")
        hdr = (f"{'variant':7} {'N':>4} {'S/T':>6} {'ms/step':>9} {'x base':>7} {'x FLOPs':>8} "
               f"{'ideal':>6} {'in 20%':>7} {'peak RSS MB':>11} {'steps add MB':>12}")
        print(hdr)
        print("-" * len(hdr))
        best = {}
        for name, xs in sc.items():
            ok = [x for x in xs if _clean(x, max_other)] or xs
            best[name] = min(x["step_median_s"] for x in ok)
        base, base_fl = best["B"], step_flops(SCALING["B"])
        ideal = {"B": 1, "B-2T": 2, "B-4T": 4, "B-2N": 2}
        summary["scaling"] = {}
        for name, xs in sc.items():
            c = SCALING[name]
            rel, flr = best[name] / base, step_flops(c) / base_fl
            ok = abs(rel / flr - 1) <= 0.2
            rss = max(x["rss_peak_mb"] for x in xs)
            add = max(x["rss_peak_mb"] - x["rss_setup_mb"] for x in xs)
            summary["scaling"][name] = dict(ms=1e3 * best[name], rel=rel, flop_rel=flr, ok=ok,
                                            rss=rss, rss_add=add)
            print(f"{name:7} {c['N']:4} {c['S']:>3}/{c['T']:<2} {_ms(best[name]):>9} {rel:7.2f} "
                  f"{flr:8.2f} {ideal[name]:6} {'yes' if ok else 'NO':>7} {rss:11.0f} {add:12.0f}")

    if raw.get("profile"):
        p = raw["profile"]
        rows = summarize_profile(p)
        total = p["profiled_step_s"]
        busy = "" if _clean(p, max_other) else (
            f"  UNRELIABLE: other processes used {100 * p['other_load']:.0f}% of the CPU meanwhile")
        print()
        print(f"Where a minis2s step goes, config {p['shape']} (cProfile over {p['steps']} steps; "
              f"GEMMs timed alone with the step's shapes and moved out of the functions that run "
              f"them). Step: {1e3 * p['step_median_s']:.1f} ms unprofiled, "
              f"{1e3 * total:.1f} ms profiled{busy}")
        for label, v in rows:
            print(f"  {label:66} {1e3 * v:8.1f} ms  {100 * v / total:5.1f}%")
        g = p["gemm_replay_s"]
        print("  GEMMs by place: " + ", ".join(f"{k} {1e3 * v:.1f} ms" for k, v in g.items()))
        fl = step_flops(ALL_SHAPES[p["shape"]])
        print(f"  GEMMs alone run at {fl / sum(g.values()) / 1e9:.1f} GFLOP/s"
              + (f" ({100 * fl / sum(g.values()) / 1e9 / peak:.0f}% of the 2048^3 peak)" if peak else ""))
        top = sorted(p["self_time_s"].items(), key=lambda kv: -kv[1])[:12]
        print("  top self-times (GEMMs still inside their functions):")
        for k, v in top:
            print(f"    {k:60} {1e3 * v:8.1f} ms")
        summary["profile_rows"] = rows

    if have_torch and results:
        print()
        print("Targets")
        tg = []
        for cfg, lim in (("A", 1.1), ("B", 1.0), ("C", 1.0)):
            if cfg in summary:
                m = statistics.median(summary[cfg]["ratios"])
                tg.append((f"train step {cfg} <= {lim}x torch", f"{m:.2f}x", m <= lim))
        if "B" in summary:
            pct = summary["B"]["minis2s_pct"]
            tg.append(("B >= 70% of GEMM peak", f"{pct:.0f}%", pct >= 70))
        if "A" in summary:
            for kind in ("greedy", "beam"):
                m = statistics.median(summary["A"][f"{kind}_ratios"])
                tg.append((f"decode {kind} A <= 1.2x torch", f"{m:.2f}x", m <= 1.2))
        if "scaling" in summary:
            ok = all(v["ok"] for v in summary["scaling"].values())
            tg.append(("linear scaling (+-20% of FLOP ratio)",
                       ", ".join(f"{k} {v['rel']:.2f}" for k, v in summary["scaling"].items()), ok))
        for name, val, ok in tg:
            print(f"  {name:40} {val:>32}  {'met' if ok else 'NOT met'}")
        if unreliable:
            print(f"  (configs {', '.join(sorted(unreliable))} had no quiet round: their "
                  f"numbers are unreliable)")
        summary["targets"] = tg

    other = raw.get("other_load") or [0.0]
    print(f"\nOther processes' CPU use while children ran (fraction of all {mi['cores']} cores): "
          f"median {100 * statistics.median(other):.1f}%, max {100 * max(other):.1f}%; "
          f"{raw['retried']} children rerun for > {100 * max_other:.0f}%, {raw['kept_busy']} kept "
          f"despite it (tries or waiting budget used up); {raw['waited_s']:.0f} s spent waiting "
          f"for an idle machine; total wall time {raw['wall_s']:.0f} s")
    if results and unreliable:
        print("WARNING: no quiet round at all for config(s) " + ", ".join(sorted(unreliable))
              + ": their ratios come from a loaded machine and mean little. Rerun when it is idle.")
    elif raw["kept_busy"]:
        print("NOTE: timings taken while other processes used the CPU are left out of the "
              "ratios above (their rounds are dropped); with 2 cores, 2-thread BLAS/OpenMP "
              "workers slow down erratically under load.")
    raw["summary"] = summary


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="all", choices=["A", "B", "C", "all"])
    ap.add_argument("--quick", action="store_true", help="config A, 2 rounds, few steps (~30 s)")
    ap.add_argument("--repeats", type=int, default=None, help="rounds (default 5, quick 2)")
    ap.add_argument("--pause", type=float, default=None, help="seconds between child processes")
    ap.add_argument("--no-scaling", action="store_true", help="skip the scaling sweep on B")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile breakdown")
    ap.add_argument("--only-profile", action="store_true",
                    help="only the cProfile breakdown (config B, or A with --quick)")
    ap.add_argument("--max-wait", type=float, default=None,
                    help="seconds to wait for the machine to go idle before each child "
                         "(default 60, quick 10; 0: never wait)")
    ap.add_argument("--wait-budget", type=float, default=None,
                    help="total seconds of waiting for idle in the whole run (default 300, quick 30)")
    ap.add_argument("--json", default=None, help="also write all raw results to this file")
    ap.add_argument("--report-from", default=None, metavar="JSON",
                    help="print the report of a saved --json file; run nothing")
    # internal: the child processes
    ap.add_argument("--worker", choices=["minis2s", "torch", "check", "profile"],
                    help=argparse.SUPPRESS)
    ap.add_argument("--shape", default="A", help=argparse.SUPPRESS)
    ap.add_argument("--tasks", default="step", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=10, help=argparse.SUPPRESS)
    ap.add_argument("--warmup", type=int, default=2, help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, default=10, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.worker:
        if a.worker == "check":
            res = check_equivalence(a.shape)
        elif a.worker == "profile":
            res = profile_minis2s(a.shape, a.steps)
        else:
            res = worker(a.worker, a.shape, a.tasks.split(","), a.steps, a.warmup, a.reps)
        print("RESULT " + json.dumps(res))
        return
    if a.report_from:
        with open(a.report_from) as f:
            report(json.load(f))
        return
    raw = collect(a)
    report(raw)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(raw, f, indent=1, default=str)


if __name__ == "__main__":
    main()
