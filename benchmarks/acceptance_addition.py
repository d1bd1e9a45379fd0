"""Acceptance run: the book's addition experiment, with the book's settings.

    python benchmarks/acceptance_addition.py [--epochs 25] [--models plain,reversed,peeky] [--cell gru]

Reads the book's addition.txt, shipped as the corpus "book-addition", shuffles it
after numpy.random.seed(1984) and keeps the first 45,000 lines for training and
the last 5,000 for validation, exactly as the book does; then trains, for each
model, wordvec 16, hidden 128, batch 128, Adam (lr 0.001), global-norm clipping
at 5.0, and reports validation exact-match accuracy (greedy decoding) after
every epoch, beside the book's own figures. Writes docs/results/addition-INIT.json
and docs/results/addition-INIT.png (INIT is the initialisation, --init; with
--cell gru, the models run a GRU instead of the LSTM and the files are
addition-INIT-gru.*).

Batches are shuffled uniformly, as in the book: bucketing by length (--bucket)
makes each batch one kind of problem (all 1-digit sums, say) and slows learning
here by several epochs.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


import minis2s
from minis2s.data import BatchIterator, Vocab, book_split, char_tokenize, encode_pairs, load_book_qa
from minis2s.models import Seq2Seq
from minis2s.optim import Adam
from book_runs import exact_match, train_epoch     # beside this script

ROOT = Path(__file__).resolve().parents[1]
DATA = "book-addition"       # the book's addition.txt, shipped with minis2s (minis2s/data/corpora)
BOOK = {"plain": {10: 3.8, 25: 9.98}, "reversed": {10: 29.8, 25: 54.06}, "peeky": {10: 88.4, 25: 98.14}}
MODELS = {"plain": dict(decoder="plain", reverse=False),
          "reversed": dict(decoder="plain", reverse=True),
          "peeky": dict(decoder="peeky", reverse=True)}


def run(name, train, val, vocab, epochs, seed=0, init="uniform", bucket=False, eps=1e-8, cell="lstm"):
    model = Seq2Seq(len(vocab), len(vocab), emb=16, hidden=128, seed=seed, init=init, cell=cell,
                    **MODELS[name])
    opt = Adam(model.params, lr=0.001, eps=eps)
    src_tr, tgt_tr = encode_pairs(train, vocab, vocab)
    src_va, tgt_va = encode_pairs(val, vocab, vocab)
    batches = BatchIterator(src_tr, tgt_tr, batch_size=128, shuffle=True, seed=seed, bucket=bucket)
    history = []
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        loss = train_epoch(model, opt, batches, epoch)
        secs = time.perf_counter() - t0
        acc = exact_match(model, src_va, tgt_va, max_len=5)
        history.append(dict(epoch=epoch, train_loss=loss, val_exact_match=acc, seconds=secs))
        print(f"{name:9s} epoch {epoch:2d}  loss {loss:.4f}  val exact match {acc:6.2f} %"
              f"  ({secs:.1f} s, {1000 * secs / len(batches):.1f} ms/step)", flush=True)
    return history


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--models", default="plain,reversed,peeky")
    ap.add_argument("--out", default=str(ROOT / "docs" / "results"))
    ap.add_argument("--init", default="uniform", choices=["uniform", "scaled"])
    ap.add_argument("--eps", type=float, default=1e-8, help="Adam's epsilon (the book's code uses 1e-7)")
    ap.add_argument("--cell", default="lstm", choices=["lstm", "gru"],
                    help="the recurrent layer (the book's is the LSTM)")
    ap.add_argument("--bucket", action="store_true",
                    help="bucket batches by length (the book shuffles uniformly, the default here)")
    args = ap.parse_args(argv)
    minis2s.use("numpy", dtype="float32")
    pairs = load_book_qa(DATA)
    train, val = book_split(pairs, seed=1984)
    vocab = Vocab.build([char_tokenize(s) + char_tokenize(t) for s, t in pairs])
    print(f"{len(train)} train / {len(val)} validation pairs, vocabulary {len(vocab)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"addition-{args.init}" + ("-gru" if args.cell == "gru" else "")
    results_file = out / f"{stem}.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    for name in args.models.split(","):
        results[name] = run(name, train, val, vocab, args.epochs, init=args.init, bucket=args.bucket,
                            eps=args.eps, cell=args.cell)
        results_file.write_text(json.dumps(results, indent=1))
    print("\nvalidation exact match (%)      minis2s            book")
    for name, hist in results.items():
        at = {h["epoch"]: h["val_exact_match"] for h in hist}
        print(f"{name:9s}  epoch 10 {at.get(10, float('nan')):6.2f}  epoch {len(hist)} {hist[-1]['val_exact_match']:6.2f}"
              f"   |  {BOOK[name][10]:6.2f}  {BOOK[name][25]:6.2f}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name, hist in results.items():
            line, = ax.plot([h["epoch"] for h in hist], [h["val_exact_match"] for h in hist],
                            label=f"minis2s {name}")
            ax.scatter(list(BOOK[name]), list(BOOK[name].values()), color=line.get_color(),
                       marker="x", s=60, label=f"book {name}")
        ax.set(xlabel="epoch", ylabel="validation exact match (%)", ylim=(0, 100),
               title=f"addition.txt: plain vs reversed vs peeky+reversed ({args.init} init, {args.cell})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / f"{stem}.png", dpi=120)
    except ImportError:
        pass


if __name__ == "__main__":
    main()
