r"""Benchmark: how many BLAS threads a minis2s training run should use, quiet and under load.

A benchmark, not a test: it prints numbers and judges nothing by exit code.

    python benchmarks/bench_threads.py                 # training steps, 1 vs all threads, load 0 and 2
    python benchmarks/bench_threads.py --full          # also the whole default `minis2s train`
    python benchmarks/bench_threads.py --steps 30 --loads 0 --threads 1,2

What is measured
----------------
*Steps* (in this process): training steps (forward, backward, clipping, Adam) of
two models on random batches of their real shapes, with ``threadpoolctl`` limiting
BLAS to 1, 2, ... threads, in sentences per second:

    addition   the default `minis2s train`: peeky, reversed, emb 16, hidden 128,
               vocabularies 15/15, batch 128, source 7 / target 6 tokens
    tatoeba    the word-level defaults on the shipped tatoeba-kor-eng:
               peeky, reversed, emb 128, hidden 256, vocabularies 5304/2663
               (Korean -> English), batch 128, source 6 / target 9 tokens (the corpus's means)

*Full run* (``--full``): the whole default ``minis2s train`` (data, 8 epochs,
validation, checkpoints) as a child process, with ``--threads`` 1 and 2, wall-clock
seconds. Under load only ``--threads 1`` is run (2 threads there took 17 min 40 s
in the report that started this benchmark, against about a minute); ``--full-all``
runs that too.

*Load*: ``--loads 0,2`` runs each measurement with 0, then 2 extra processes
that spin on the CPU (``while True: pass``) -- what a laptop with a browser, or a
second training run, looks like to the BLAS threads. The spinners are this
script's own children and are killed when the measurement ends.

The machine is shared (other users' work shows up as noise, most of all under
load), so each step measurement is repeated ``--rounds`` times in alternating
order and the median is printed with its range.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from minis2s.models import Seq2Seq  # noqa: E402
from minis2s.optim import Adam, clip_grad_norm  # noqa: E402
from minis2s.app.threads import blas_description, blas_threads  # noqa: E402

# name: (model settings, batch, source length, target length incl. <sos>/<eos>)
CONFIGS = {
    "addition": (dict(src_vocab=15, tgt_vocab=15, emb=16, hidden=128, decoder="peeky"), 128, 7, 6),
    "tatoeba": (dict(src_vocab=5304, tgt_vocab=2663, emb=128, hidden=256, decoder="peeky"), 128, 6, 9),
}


@contextmanager
def cpu_load(n: int):
    """``n`` child processes that keep a core busy each, for the duration of the block."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        if spinners:
            time.sleep(0.5)   # let them get going
        yield
    finally:
        for p in spinners:
            p.kill()
            p.wait()


def random_batch(rng, vocab, n, length):
    """(n, length) ids >= 3 (past <pad>, <sos>, <eos>), as a data batch would hold."""
    return rng.integers(3, vocab, size=(n, length))


def steps_per_second(name: str, threads: int, steps: int) -> float:
    """Sentences per second over ``steps`` training steps of config ``name``."""
    settings, batch, S, T = CONFIGS[name]
    model = Seq2Seq(**settings, reverse=True, seed=0)
    opt = Adam(model.params, lr=1e-3)
    rng = np.random.default_rng(0)
    src = random_batch(rng, settings["src_vocab"], batch, S)
    tgt = random_batch(rng, settings["tgt_vocab"], batch, T)
    tgt[:, 0], tgt[:, -1] = 1, 2
    with blas_threads(threads):
        for i in range(steps + 3):          # 3 warm-up steps
            if i == 3:
                start = time.perf_counter()
            float(model.forward(src, tgt))
            model.backward()
            clip_grad_norm(model.grads, 5.0)
            opt.step(model.grads)
    return steps * batch / (time.perf_counter() - start)


def full_run(threads: int, log: Path | None = None) -> float:
    """Wall-clock seconds of the default `minis2s train` with ``--threads threads``
    (its output written to ``log``, if given)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "minis2s", "train", "--no-progress",
                            "--threads", str(threads), "--out", str(Path(tmp) / "run")],
                           check=True, stdout=subprocess.PIPE, text=True, cwd=REPO)
        seconds = time.perf_counter() - start
    if log is not None:
        log.write_text(p.stdout)
    return seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", default="addition,tatoeba")
    p.add_argument("--threads", default=f"1,{os.cpu_count()}", help="comma-separated thread counts")
    p.add_argument("--loads", default="0,2", help="comma-separated numbers of spinning processes")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--full", action="store_true", help="also time the whole default `minis2s train`")
    p.add_argument("--full-all", action="store_true", help="... with every thread count under load too")
    p.add_argument("--skip-steps", action="store_true", help="only the full runs")
    p.add_argument("--keep", type=Path, metavar="DIR", help="write each full run's output here")
    args = p.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    loads = [int(n) for n in args.loads.split(",")]
    print(f"{os.cpu_count()} CPUs; NumPy {np.__version__}; {blas_description()}; "
          f"load average before: {os.getloadavg()[0]:.2f}")

    print(f"\ntraining steps, sentences/s (median of {args.rounds} rounds, range)")
    print(f"{'config':<10}{'load':>5}" + "".join(f"{f'{t} thread(s)':>24}" for t in threads))
    for name in ([] if args.skip_steps else args.configs.split(",")):
        for load in loads:
            rates = {t: [] for t in threads}
            with cpu_load(load):
                for r in range(args.rounds):
                    for t in (threads if r % 2 == 0 else threads[::-1]):
                        rates[t].append(steps_per_second(name, t, args.steps))
            cells = "".join(f"{statistics.median(v):>10.0f} ({min(v):.0f}-{max(v):.0f})".rjust(24)
                            for v in rates.values())
            print(f"{name:<10}{load:>5}{cells}", flush=True)

    if args.full or args.full_all:
        print("\nthe default `minis2s train` (8 epochs, validation, checkpoints), wall-clock")
        for load in loads:
            with cpu_load(load):
                for t in threads:
                    if load and t > 1 and not args.full_all:
                        continue
                    label = "library default" if t == 0 else f"{t} thread(s)"
                    log = args.keep / f"train-load{load}-threads{t}.log" if args.keep else None
                    print(f"load {load}, --threads {t} ({label}): {full_run(t, log):.1f} s "
                          f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
