"""The book's chapter-8 attention model, written in PyTorch: was its fast start the model or the seed?

    python benchmarks/date_book_torch.py                     # the book's initialisation, seed 0
    python benchmarks/date_book_torch.py --seed 1
    python benchmarks/date_book_torch.py --emb-std 1.0       # embeddings N(0, 1): minis2s's "fan_in"

A diagnostic for docs/results.md ("date.txt"), not part of minis2s. It mirrors the
book's AttentionSeq2seq on the book's date.txt (shipped as "book-date") exactly: fixed-width sources
(the padding spaces are tokens), reversed; "_" starts the answer and there is no
end token; encoder LSTM -> all outputs; decoder LSTM from the encoder's last h
(and c = 0); dot attention over all 29 positions; an affine map of [ctx ; h];
mean cross-entropy; Adam (lr 0.001, eps 1e-7); clipping at 5.0; batch 128, 351
steps an epoch. Initialisation as the book's: embeddings N(0, 0.01^2) (``--emb-std``),
LSTM and affine weights N(0, 1/fan-in), biases 0. Greedy exact match on the
first 1,000 validation dates after every epoch.
"""
import argparse
import time

import numpy as np
import torch
import torch.nn as nn

from minis2s.data.corpora import resolve

DATA = resolve("book-date")      # the book's date.txt, shipped with minis2s (minis2s/data/corpora)
D, H, BATCH = 16, 256, 128


class BookAttentionSeq2seq(nn.Module):
    def __init__(self, V, emb_std):
        super().__init__()
        self.enc_embed, self.dec_embed = nn.Embedding(V, D), nn.Embedding(V, D)
        self.enc_lstm, self.dec_lstm = nn.LSTM(D, H, batch_first=True), nn.LSTM(D, H, batch_first=True)
        self.affine = nn.Linear(2 * H, V)
        with torch.no_grad():            # the book: randn / 100, randn / sqrt(fan-in), zeros
            for emb in (self.enc_embed, self.dec_embed):
                emb.weight.normal_(0.0, emb_std)
            for lstm in (self.enc_lstm, self.dec_lstm):
                lstm.weight_ih_l0.normal_(0.0, D ** -0.5)
                lstm.weight_hh_l0.normal_(0.0, H ** -0.5)
                lstm.bias_ih_l0.zero_()
                lstm.bias_hh_l0.zero_()
            self.affine.weight.normal_(0.0, (2 * H) ** -0.5)
            self.affine.bias.zero_()

    def forward(self, src, y_in):
        hs, (h, _) = self.enc_lstm(self.enc_embed(src))
        out, _ = self.dec_lstm(self.dec_embed(y_in), (h, torch.zeros_like(h)))
        alpha = torch.softmax(out @ hs.transpose(1, 2), dim=2)
        return self.affine(torch.cat([alpha @ hs, out], dim=2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--emb-std", type=float, default=0.01, help="embedding init std (book: 0.01)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    lines = [l.rstrip("\n") for l in open(DATA, encoding="utf-8") if l.strip()]
    questions = [l[:l.index("_")] for l in lines]
    answers = [l[l.index("_"):] for l in lines]
    chars = sorted(set("".join(questions) + "".join(answers)))
    ids = {c: i for i, c in enumerate(chars)}
    x = np.array([[ids[c] for c in q] for q in questions])
    t = np.array([[ids[c] for c in s] for s in answers])
    np.random.seed(1984)                                      # the book's split
    order = np.arange(len(x))
    np.random.shuffle(order)
    x, t = x[order][:, ::-1].copy(), t[order]                 # reversed sources
    x_tr, t_tr = torch.from_numpy(x[:45000]), torch.from_numpy(t[:45000])
    x_va, t_va = torch.from_numpy(x[45000:46000]), torch.from_numpy(t[45000:46000])
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    model = BookAttentionSeq2seq(len(chars), a.emb_std)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    for epoch in range(1, a.epochs + 1):
        t0, perm, losses = time.time(), rng.permutation(45000), []
        for i in range(45000 // BATCH):
            b = torch.from_numpy(perm[i * BATCH:(i + 1) * BATCH])
            logits = model(x_tr[b], t_tr[b, :-1])
            loss = nn.functional.cross_entropy(logits.reshape(-1, len(chars)), t_tr[b, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            losses.append(loss.item())
        with torch.no_grad():                                  # greedy, 10 characters
            out = t_va[:, :1]
            for _ in range(10):
                out = torch.cat([out, model(x_va, out)[:, -1].argmax(1, keepdim=True)], dim=1)
            exact = 100.0 * (out[:, 1:] == t_va[:, 1:]).all(dim=1).float().mean().item()
        print(f"epoch {epoch}  loss {np.mean(losses):.4f}  exact match {exact:.2f} % "
              f"(1,000 validation dates)  {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
