r"""Benchmark: a minis2s training step, and decoding, side by side with PyTorch.

A benchmark, not a test: it prints numbers and judges nothing by its exit code.

    python benchmarks/bench_step.py --quick                # config A, 2 rounds: does it all work?
    python benchmarks/bench_step.py                        # configs A, B, C, D, G and decoding, 5 rounds
    python benchmarks/bench_step.py --json out.json        # keep the raw numbers ...
    python benchmarks/bench_step.py --report-from out.json # ... and print the tables again
    python benchmarks/bench_step.py --device cuda          # minis2s on CuPy, torch on CUDA/cuDNN
    git worktree add /tmp/before 109d87d                   # another checkout's minis2s ...
    python benchmarks/bench_step.py --root /tmp/before --root .   # ... timed in the same rounds

What is timed
-------------
One training step, the same on both sides: forward (mean cross-entropy over the
non-<pad> targets), backpropagation through time, clipping the global gradient
norm at 5.0, an Adam update (lr 1e-3), and reading the loss as a Python float.

* minis2s: ``Seq2Seq(decoder="plain", reverse=True)``, ``clip_grad_norm``, ``Adam``;
  config D: ``Seq2Seq(decoder="attention", score="dot", reverse=True)`` (Luong's
  global attention with his tanh output layer, the library's default).
* PyTorch: its twin (``TorchSeq2Seq`` below): the source's real tokens reversed and
  packed with ``pack_padded_sequence`` (so a padded row ends in the state of its last
  real token, as minis2s's masked encoder does), ``nn.LSTM`` encoder and decoder,
  ``nn.Linear``, ``F.cross_entropy(ignore_index=0)``, autograd, ``clip_grad_norm_``,
  ``torch.optim.Adam``. It is loaded with the minis2s model's weights. For D it also
  attends, in the usual PyTorch way: ``bmm`` scores, ``masked_fill`` of the padding with
  -inf, ``softmax``, ``bmm`` context, ``tanh(Linear([ctx ; h], bias=False))``.
  Config G is config A with ``cell="gru"``: ``nn.GRU`` on the torch side (same gate
  order r, z, n and the same two biases, so the weights move over by transposes only).

Decoding (configs A and G, batch 128, max_len 5, the encoder included): ``model.generate``
greedy and with beam 3, against a step-by-step greedy and a batched beam search
written below in PyTorch (same early stop, same output: one id list per sentence).
float32 everywhere; on CUDA, TF32 is switched off in torch (CuPy does not use it).

How
---
1. An equivalence check, in one process per minis2s checkout: the loss, every
   gradient, and the greedy and beam-3 outputs of both models on the same batch.
2. Rounds. In each round every side (torch, and each ``--root``'s minis2s) runs each
   config in its *own child process* (a warm-up, then N timed steps; the child's
   median is its time); the order of the sides flips every round. The number to read
   is the ratio minis2s / torch *within a round*, reported as median [min-max] over
   the rounds: neighbouring runs share the machine's load, so their ratio is steadier
   than either time.
3. Children run with 2 BLAS/OpenMP threads (``--threads``) and without
   OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (set on some machines for old OpenBLAS
   builds; they slow a current NumPy). Only the children's environment is changed.

Memory: on the CPU, a child's peak resident set (``ru_maxrss``); on CUDA, CuPy's
memory pool size after the steps (the pool keeps what it has taken, so this is its
high-water mark) against torch's ``max_memory_reserved`` (and ``max_memory_allocated``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # this checkout
PAD, SOS, EOS = 0, 1, 2
DECODE_MAX_LEN, BEAM = 5, 3

# vocabulary (source = target), embedding, hidden, layers, batch, source length,
# target length (with <sos>), and per child: warm-up steps, timed steps
CONFIGS = {
    "A": dict(V=13, E=16, H=128, L=1, N=128, S=7, T=5, warmup=5, steps=40),   # the addition task
    "B": dict(V=4000, E=256, H=512, L=1, N=64, S=20, T=20, warmup=2, steps=8),
    "C": dict(V=4000, E=256, H=256, L=2, N=64, S=20, T=20, warmup=2, steps=10),
    # the book's chapter-8 date task (issue 14): Luong attention, dot score, tanh output layer
    "D": dict(V=60, E=16, H=256, L=1, N=128, S=29, T=11, warmup=2, steps=10, attention=True),
    # config A with the GRU (issue 23) in encoder and decoder, against torch.nn.GRU
    "G": dict(V=13, E=16, H=128, L=1, N=128, S=7, T=5, warmup=5, steps=40, cell="gru"),
    "tiny": dict(V=13, E=8, H=16, L=1, N=8, S=5, T=4, warmup=1, steps=3),     # for dry runs
}
DECODED = ("A", "G", "tiny")    # the configs whose decoding is timed too (plain decoder only)
DEVICES = {   # --device: (minis2s backend, torch device)
    "cpu": ("numpy", "cpu"),
    "cuda": ("cupy", "cuda"),
    "strict": ("strict", "cpu"),   # a CPU dress rehearsal of "cuda" (benchmarks/gpu_check.sh)
}


def make_batch(c: dict, seed: int = 0):
    """Random ids; every 4th row right-padded with <pad>; targets start with <sos>."""
    rng = np.random.default_rng(seed)
    N, S, T, V = c["N"], c["S"], c["T"], c["V"]
    src = rng.integers(3, V, size=(N, S), dtype=np.int64)
    tgt = rng.integers(3, V, size=(N, T), dtype=np.int64)
    tgt[:, 0] = SOS
    for n in range(0, N, 4):
        ls, lt = S - 1 - n % max(1, S // 4), T - 1 - n % max(1, (T - 1) // 4)
        src[n, ls:] = PAD
        tgt[n, lt - 1], tgt[n, lt:] = EOS, PAD
    return src, tgt


# --- the minis2s side ----------------------------------------------------------------

def build_minis2s(c: dict, device: str):
    import minis2s
    from minis2s.models.seq2seq import Seq2Seq
    if device == "strict":
        import minis2s.testing  # noqa: F401  registers the "strict" backend
    try:    # what the command line does first (where it lives depends on the checkout's age)
        from minis2s.app.memory import keep_freed_memory
    except ImportError:
        try:
            from minis2s.memory import keep_freed_memory
        except ImportError:
            keep_freed_memory = None
    if keep_freed_memory is not None:
        keep_freed_memory()
    minis2s.use(DEVICES[device][0], dtype="float32")
    model = dict(decoder="attention", score="dot") if c.get("attention") else dict(decoder="plain")
    if "cell" in c:     # only then: a checkout from before the GRU has no `cell`
        model["cell"] = c["cell"]
    return Seq2Seq(c["V"], c["V"], emb=c["E"], hidden=c["H"], n_layers=c["L"],
                   reverse=True, seed=0, **model)


def minis2s_side(c: dict, device: str):
    """(train step, greedy, beam) as functions of nothing, and the model."""
    from minis2s.optim import Adam, clip_grad_norm
    model = build_minis2s(c, device)
    opt = Adam(model.params, lr=1e-3)
    src, tgt = make_batch(c)      # host arrays: Seq2Seq checks them and moves them over

    def step():
        loss = model.forward(src, tgt)
        model.backward()
        clip_grad_norm(model.grads, 5.0)
        opt.step(model.grads)
        return float(loss)
    greedy = lambda: model.generate(src, DECODE_MAX_LEN)                    # noqa: E731
    beam = lambda: model.generate(src, DECODE_MAX_LEN, beam_size=BEAM)      # noqa: E731
    return step, greedy, beam, model


# --- the PyTorch side ----------------------------------------------------------------

def build_torch(c: dict, weights: dict, device: str):
    """The PyTorch twin of Seq2Seq(decoder="plain" or "attention", reverse=True, cell="lstm" or "gru"),
    with minis2s's weights. Its state is what the torch cell carries: (h, c) for nn.LSTM, h for nn.GRU."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class TorchSeq2Seq(nn.Module):
        def __init__(self, V, E, H, L, attention, cell):
            super().__init__()
            self.V, self.attention = V, attention
            Cell = nn.GRU if cell == "gru" else nn.LSTM
            self.enc_emb, self.enc = nn.Embedding(V, E), Cell(E, H, L, batch_first=True)
            self.dec_emb, self.dec = nn.Embedding(V, E), Cell(E, H, L, batch_first=True)
            self.Wc = nn.Linear(2 * H, H, bias=False) if attention else None
            self.fc = nn.Linear(H, V)

        def encode(self, src, outputs=False):
            lengths = (src != PAD).sum(dim=1)
            j = torch.arange(src.shape[1], device=src.device)[None, :]
            idx = torch.where(j < lengths[:, None], lengths[:, None] - 1 - j, j)
            packed = pack_padded_sequence(self.enc_emb(torch.gather(src, 1, idx)),
                                          lengths.cpu(), batch_first=True, enforce_sorted=False)
            hs, state = self.enc(packed)
            if not outputs:
                return state
            hs, _ = pad_packed_sequence(hs, batch_first=True, total_length=src.shape[1])
            return hs, j < lengths[:, None], state

        def attend(self, out, hs, mask):
            """Luong's dot attention: out (N, T, H), hs (N, S, H), mask (N, S) -> h_tilde."""
            scores = torch.bmm(out, hs.transpose(1, 2)).masked_fill(~mask[:, None, :], -math.inf)
            ctx = torch.bmm(torch.softmax(scores, dim=2), hs)
            return torch.tanh(self.Wc(torch.cat([ctx, out], dim=2)))

        def forward(self, src, tgt):
            if self.attention:
                hs, mask, state = self.encode(src, outputs=True)
                out, _ = self.dec(self.dec_emb(tgt[:, :-1]), state)
                out = self.attend(out, hs, mask)
            else:
                out, _ = self.dec(self.dec_emb(tgt[:, :-1]), self.encode(src))
            logits = self.fc(out)
            return F.cross_entropy(logits.reshape(-1, self.V), tgt[:, 1:].reshape(-1),
                                   ignore_index=PAD)

        def step(self, tokens, state):
            """One decoding step: tokens (N,) -> log-probabilities (N, V), the new state."""
            out, state = self.dec(self.dec_emb(tokens)[:, None, :], state)
            return F.log_softmax(self.fc(out[:, 0]), dim=-1), state

    torch.backends.cudnn.allow_tf32 = False          # plain float32, as CuPy computes
    torch.backends.cuda.matmul.allow_tf32 = False
    cell = c.get("cell", "lstm")
    model = TorchSeq2Seq(c["V"], c["E"], c["H"], c["L"], bool(c.get("attention")), cell)
    p = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in weights.items()}
    with torch.no_grad():
        for side, emb, rnn in (("encoder", model.enc_emb, model.enc),
                               ("decoder", model.dec_emb, model.dec)):
            emb.weight.copy_(p[f"{side}.embed.W"])
            for layer in range(c["L"]):
                q = f"{side}.{cell}.{layer}."       # same gate order on both sides: transposes only
                getattr(rnn, f"weight_ih_l{layer}").copy_(p[q + "Wx"].T)
                getattr(rnn, f"weight_hh_l{layer}").copy_(p[q + "Wh"].T)
                if cell == "gru":                   # two biases on both sides (r multiplies bh's part)
                    getattr(rnn, f"bias_ih_l{layer}").copy_(p[q + "bx"])
                    getattr(rnn, f"bias_hh_l{layer}").copy_(p[q + "bh"])
                else:
                    getattr(rnn, f"bias_ih_l{layer}").copy_(p[q + "b"])
                    getattr(rnn, f"bias_hh_l{layer}").zero_()      # minis2s's LSTM has one bias
        model.fc.weight.copy_(p["decoder.fc.W"].T)
        model.fc.bias.copy_(p["decoder.fc.b"])
        if model.Wc is not None:
            model.Wc.weight.copy_(p["decoder.attn.Wc"].T)
    return model.to(device)


def _take(state, rows):
    """The state's batch rows ``rows`` (dimension 1): (h, c) for an LSTM, h for a GRU."""
    return tuple(s[:, rows] for s in state) if isinstance(state, tuple) else state[:, rows]


def _strip(row):
    return row[:row.index(EOS)] if EOS in row else row


def torch_greedy(model, src, max_len):
    """Greedy decoding, mirroring minis2s.models.search.greedy_search."""
    import torch
    with torch.inference_mode():
        state = model.encode(src)
        N, dev = src.shape[0], src.device
        tokens = torch.full((N,), SOS, dtype=torch.int64, device=dev)
        finished = torch.zeros(N, dtype=torch.bool, device=dev)
        out = torch.full((N, max_len), PAD, dtype=torch.int64, device=dev)
        for t in range(max_len):
            logp, state = model.step(tokens, state)
            logp[:, [PAD, SOS]] = -math.inf
            tokens = torch.where(finished, PAD, logp.argmax(dim=1))
            out[:, t] = tokens
            finished |= tokens == EOS
            if bool(finished.all()):
                break
        return [_strip(r) for r in out.tolist()]


def torch_beam(model, src, max_len, k):
    """Batched beam search (N*k rows at once), the algorithm of minis2s's beam_search."""
    import torch
    with torch.inference_mode():
        state = model.encode(src)
        N, dev = src.shape[0], src.device
        state = _take(state, torch.arange(N, device=dev).repeat_interleave(k))
        scores = torch.zeros(N, k, device=dev)
        scores[:, 1:] = -math.inf                      # k copies of one start: keep one
        finished = torch.zeros(N, k, dtype=torch.bool, device=dev)
        tokens = torch.full((N * k,), SOS, dtype=torch.int64, device=dev)
        base = (torch.arange(N, device=dev) * k)[:, None]
        history = []
        for t in range(max_len):
            logp, state = model.step(tokens, state)
            V = logp.shape[1]
            logp[:, [PAD, SOS]] = -math.inf
            frozen = torch.full((V,), -math.inf, device=dev)
            frozen[PAD] = 0.0                          # a finished beam only extends by <pad>
            logp = torch.where(finished[:, :, None], frozen, logp.reshape(N, k, V))
            scores, top = (scores[:, :, None] + logp).reshape(N, k * V).topk(k, dim=1)
            parent, tok = top // V, top % V
            finished = torch.gather(finished, 1, parent) | (tok == EOS)
            history.append((tok.cpu().numpy(), parent.cpu().numpy()))
            flat = (base + parent).reshape(-1)
            state, tokens = _take(state, flat), tok.reshape(-1)
            if bool(finished.all()):
                break
        seqs = []
        for n, b in enumerate(scores.argmax(dim=1).tolist()):   # backtrack the best beam
            seq = []
            for tok, parent in reversed(history):
                seq.append(int(tok[n, b]))
                b = parent[n, b]
            seqs.append(_strip([s for s in reversed(seq) if s != PAD]))
        return seqs


def torch_side(c: dict, device: str, threads: int):
    import torch
    torch.set_num_threads(threads)
    from minis2s import to_cpu
    weights = {k: to_cpu(v) for k, v in build_minis2s(c, "cpu").params.items()}
    tdev = DEVICES[device][1]
    model = build_torch(c, weights, tdev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    src, tgt = (torch.from_numpy(a).to(tdev) for a in make_batch(c))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(src, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        return loss.item()
    greedy = lambda: torch_greedy(model, src, DECODE_MAX_LEN)            # noqa: E731
    beam = lambda: torch_beam(model, src, DECODE_MAX_LEN, BEAM)          # noqa: E731
    return step, greedy, beam, model


# --- device tools: wait for the GPU, read its memory ---------------------------------

def device_tools(side: str, device: str):
    """(sync, memory) for one side: sync() waits for queued GPU work; memory() -> dict, MB."""
    if device != "cuda":   # ru_maxrss is in kB on Linux
        return (lambda: None), lambda: {
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if side == "torch":
        import torch
        return torch.cuda.synchronize, lambda: {
            "device_reserved_mb": torch.cuda.max_memory_reserved() / 2**20,
            "device_allocated_mb": torch.cuda.max_memory_allocated() / 2**20}
    import cupy
    pool = cupy.get_default_memory_pool()
    return (lambda: cupy.cuda.get_current_stream().synchronize()), lambda: {
        "device_reserved_mb": pool.total_bytes() / 2**20}


def time_calls(fn, sync, warmup: int, reps: int) -> list[float]:
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times


# --- what a child process does -------------------------------------------------------

def worker(side: str, cfg: str, device: str, threads: int, quick: bool) -> dict:
    c = CONFIGS[cfg]
    step, greedy, beam, _ = (minis2s_side(c, device) if side == "minis2s"
                             else torch_side(c, device, threads))
    sync, memory = device_tools(side, device)
    steps = max(3, c["steps"] // 4) if quick else c["steps"]
    res = {"step_s": statistics.median(time_calls(step, sync, c["warmup"], steps)), **memory()}
    if cfg in DECODED:
        reps = 5 if quick else 15
        res["greedy_s"] = statistics.median(time_calls(greedy, sync, 2, reps))
        res["beam_s"] = statistics.median(time_calls(beam, sync, 2, reps))
    return res


def check(cfg: str, device: str, threads: int) -> dict:
    """Both models on one batch: loss, every gradient, greedy and beam-3 outputs."""
    import torch
    from minis2s import to_cpu
    torch.set_num_threads(threads)
    c = CONFIGS[cfg]
    m = build_minis2s(c, device)
    t = build_torch(c, {k: to_cpu(v) for k, v in m.params.items()}, DEVICES[device][1])
    src, tgt = make_batch(c)
    loss_m = float(m.forward(src, tgt))
    m.backward()
    tsrc, ttgt = (torch.from_numpy(a).to(DEVICES[device][1]) for a in (src, tgt))
    loss_t = t(tsrc, ttgt)
    loss_t.backward()
    tg = {"encoder.embed.W": t.enc_emb.weight.grad, "decoder.embed.W": t.dec_emb.weight.grad,
          "decoder.fc.W": t.fc.weight.grad.T, "decoder.fc.b": t.fc.bias.grad}
    cell = c.get("cell", "lstm")
    biases = {"bx": "bias_ih", "bh": "bias_hh"} if cell == "gru" else {"b": "bias_ih"}
    for side, rnn in (("encoder", t.enc), ("decoder", t.dec)):
        for layer in range(c["L"]):
            q = f"{side}.{cell}.{layer}."
            tg[q + "Wx"] = getattr(rnn, f"weight_ih_l{layer}").grad.T
            tg[q + "Wh"] = getattr(rnn, f"weight_hh_l{layer}").grad.T
            for ours, theirs in biases.items():
                tg[q + ours] = getattr(rnn, f"{theirs}_l{layer}").grad
    if t.Wc is not None:
        tg["decoder.attn.Wc"] = t.Wc.weight.grad.T
    grad_diff = {}                  # max |minis2s - torch| / max |torch|, per parameter
    for k, g in m.grads.items():
        ref = tg[k].cpu().numpy()
        grad_diff[k] = float(np.abs(to_cpu(g) - ref).max() / (np.abs(ref).max() + 1e-30))
    res = {"loss_minis2s": loss_m, "loss_torch": loss_t.item(),
           "max_rel_grad_diff": max(grad_diff.values()), "grads_compared": len(grad_diff)}
    if cfg not in DECODED:
        return res
    t.eval()
    same = lambda a, b: sum(x == y for x, y in zip(a, b)) / len(a)    # noqa: E731
    return {**res, "greedy_agree": same(m.generate(src, DECODE_MAX_LEN)[0],
                                        torch_greedy(t, tsrc, DECODE_MAX_LEN)),
            "beam_agree": same(m.generate(src, DECODE_MAX_LEN, beam_size=BEAM)[0],
                               torch_beam(t, tsrc, DECODE_MAX_LEN, BEAM))}


# --- the parent: children, rounds, the table -----------------------------------------

def child(a, side: str, root: str, cfg: str) -> dict:
    """Run this script as a child process for one measurement; return its JSON."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(a.threads)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", side, "--root", root,
           "--config", cfg, "--device", a.device, "--threads", str(a.threads)]
    proc = subprocess.run(cmd + (["--quick"] if a.quick else []), env=env,
                          capture_output=True, text=True)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"child failed: {' '.join(cmd[2:])}")
    return json.loads(lines[-1][len("RESULT "):])


def label(root: str) -> str:
    """A checkout's name in the tables: its commit, '+' when it has uncommitted changes."""
    git = lambda *args: subprocess.run(["git", "-C", root, *args], capture_output=True,   # noqa: E731
                                       text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or os.path.basename(os.path.abspath(root))
    return head + ("+" if git("status", "--porcelain", "--untracked-files=no", "--", "minis2s")
                   else "")


def collect(a) -> dict:
    configs = ["A"] if a.quick and a.config == "all" else (
        ["A", "B", "C", "D", "G"] if a.config == "all" else a.config.split(","))
    rounds = a.rounds or (2 if a.quick else 5)
    roots = [os.path.abspath(r) for r in (a.root or [HERE])]
    names = [f"minis2s@{label(r)}" for r in roots]
    sides = list(zip(names, roots)) + [("torch", roots[-1])]
    raw = {"command": " ".join(["python", "benchmarks/bench_step.py"] + sys.argv[1:]),
           "device": a.device, "threads": a.threads, "configs": configs, "sides": names + ["torch"],
           "roots": dict(zip(names, roots)), "loadavg_start": os.getloadavg(), "check": {},
           "rounds": []}
    t0 = time.time()
    for name, root in sides[:-1]:
        for cfg in configs:
            raw["check"][f"{name} {cfg}"] = child(a, "check", root, cfg)
            print(f"checked {name} on {cfg}", flush=True)
    for r in range(rounds):
        order = sides if r % 2 == 0 else sides[::-1]
        results = {cfg: {} for cfg in configs}
        for cfg in configs:
            for name, root in order:
                results[cfg][name] = child(a, "torch" if name == "torch" else "minis2s", root, cfg)
        raw["rounds"].append({"loadavg": os.getloadavg(), "results": results})
        raw["loadavg_end"], raw["wall_s"] = os.getloadavg(), time.time() - t0
        print(f"round {r + 1}/{rounds} done ({raw['wall_s']:.0f} s, load "
              f"{raw['loadavg_end'][0]:.1f})", flush=True)
        if a.json:                  # after every round: a run cut short keeps what it measured
            with open(a.json, "w") as f:
                json.dump(raw, f, indent=1)
    return raw


def spread(xs) -> str:
    return f"{statistics.median(xs):.2f}x [{min(xs):.2f}-{max(xs):.2f}]"


def summarise(raw: dict) -> dict:
    """{task: {side: times}, ...} and the ratios minis2s/torch per round, per task and side."""
    out = {}
    for cfg in raw["configs"]:
        for task, key in (("train step", "step_s"), ("greedy", "greedy_s"), (f"beam-{BEAM}", "beam_s")):
            rows = [rd["results"][cfg] for rd in raw["rounds"]]
            if key not in rows[0]["torch"]:
                continue
            times = {s: [row[s][key] for row in rows] for s in raw["sides"]}
            ratios = {s: [m / t for m, t in zip(times[s], times["torch"])] for s in raw["sides"][:-1]}
            out[f"{task} {cfg}"] = {"times": times, "ratios": ratios}
    return out


def report(raw: dict) -> None:
    mi = raw["sides"][:-1]
    print(f"\n{raw['command']}\ndevice {raw['device']}, {raw['threads']} threads per child, "
          f"{len(raw['rounds'])} rounds, {raw.get('wall_s', 0):.0f} s; load average "
          f"{raw['loadavg_start'][0]:.2f} at the start, {raw['loadavg_end'][0]:.2f} at the end "
          f"(per round: {', '.join('%.1f' % rd['loadavg'][0] for rd in raw['rounds'])})")
    print("\nEquivalence (same weights, same batch, one process):")
    for key, ch in raw["check"].items():
        decoded = "greedy_agree" in ch
        ok = (abs(ch["loss_minis2s"] - ch["loss_torch"]) <= 1e-4 * abs(ch["loss_torch"])
              and ch["max_rel_grad_diff"] <= 1e-3
              and (not decoded or ch["greedy_agree"] == ch["beam_agree"] == 1))
        outputs = (f"; greedy {100 * ch['greedy_agree']:.0f} % and beam-{BEAM} "
                   f"{100 * ch['beam_agree']:.0f} % of outputs equal" if decoded else "")
        print(f"  {key:22} loss {ch['loss_minis2s']:.6f} vs {ch['loss_torch']:.6f}, "
              f"{ch['grads_compared']} gradients: max relative difference "
              f"{ch['max_rel_grad_diff']:.1e}{outputs}  {'AGREE' if ok else 'DIFFER'}")
    summary = summarise(raw)
    print("\nRatio minis2s / torch within a round, median [min-max] over rounds "
          "(< 1: minis2s faster); median times in ms")
    head = f"{'':16}" + "".join(f"{s:>32}" for s in mi) + "".join(f"{s[:22] + ' ms':>26}"
                                                                  for s in raw["sides"])
    print(head + "\n" + "-" * len(head))
    for task, s in summary.items():
        print(f"{task:16}" + "".join(f"{spread(s['ratios'][m]):>32}" for m in mi)
              + "".join(f"{1e3 * statistics.median(s['times'][x]):26.2f}" for x in raw["sides"]))
    if len(mi) > 1:
        print(f"\n{mi[-1]} / {mi[0]} within a round (< 1: the last checkout is faster)")
        for task, s in summary.items():
            before, after = s["times"][mi[0]], s["times"][mi[-1]]
            print(f"{task:16}{spread([b / a for a, b in zip(before, after)]):>32}")
    last = raw["rounds"][-1]["results"]
    print("\nMemory of one child (last round): " + "; ".join(
        f"{cfg} {side}: " + ", ".join(f"{k} {v:.0f}" for k, v in res.items() if k.endswith("_mb"))
        for cfg, sides in last.items() for side, res in sides.items()))


def _config_list(text: str) -> str:
    """--config: "all", one config, or several separated by commas."""
    if text != "all" and not all(c in CONFIGS for c in text.split(",")):
        raise argparse.ArgumentTypeError(f"unknown config in {text!r}: choose from all, "
                                         f"{', '.join(CONFIGS)}")
    return text


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="all", type=_config_list,
                    help="all, or configs separated by commas (A,B,C,D,G)")
    ap.add_argument("--quick", action="store_true", help="config A, 2 rounds, fewer steps")
    ap.add_argument("--rounds", type=int, help="rounds (default 5, --quick 2)")
    ap.add_argument("--device", default="cpu", choices=list(DEVICES),
                    help="cpu; cuda (minis2s on CuPy, torch on CUDA); strict (cuda's dress "
                         "rehearsal on the CPU: minis2s on the strict CuPy double, torch on CPU)")
    ap.add_argument("--root", action="append", metavar="PATH",
                    help="time the minis2s of this checkout (repeatable; default: this one)")
    ap.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP/torch threads per child")
    ap.add_argument("--json", metavar="FILE", help="also write the raw results to FILE")
    ap.add_argument("--report-from", metavar="FILE", help="print the report of a --json file")
    ap.add_argument("--worker", choices=["minis2s", "torch", "check"], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.worker:                   # a child: import minis2s from its checkout, measure, print
        root = os.path.abspath(a.root[0] if a.root else HERE)
        sys.path.insert(0, root)
        import minis2s
        if not os.path.abspath(minis2s.__file__).startswith(root + os.sep):
            raise RuntimeError(f"imported {minis2s.__file__}, not the minis2s of {root}")
        res = (check(a.config, a.device, a.threads) if a.worker == "check"
               else worker(a.worker, a.config, a.device, a.threads, a.quick))
        print("RESULT " + json.dumps(res))
        return
    if a.report_from:
        with open(a.report_from) as f:
            report(json.load(f))
        return
    report(collect(a))


if __name__ == "__main__":
    main()
