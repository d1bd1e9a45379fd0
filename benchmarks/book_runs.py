"""What the book-reproduction scripts share (acceptance_addition.py, date_attention.py).

The book's training loop -- forward, backward, global-norm clipping, an optimiser
step, batch after batch -- and its measure, greedy exact match. Kept as plain
as the book's own loop (not :class:`minis2s.app.trainer.Trainer`), so that the time
per epoch is the loop's and nothing else's.
"""
from __future__ import annotations

import numpy as np

from minis2s.data import pad_batch
from minis2s.metrics import sequence_accuracy
from minis2s.optim import clip_grad_norm


def train_epoch(model, opt, batches, epoch: int, clip: float = 5.0) -> float:
    """One epoch of the book's loop over ``batches`` (a BatchIterator); the mean loss."""
    batches.set_epoch(epoch)
    model.train()
    losses = []
    for src, tgt in batches:
        losses.append(float(model.forward(src, tgt)))
        model.backward()
        clip_grad_norm(model.grads, clip)
        opt.step(model.grads)
    return float(np.mean(losses))


def exact_match(model, src_ids, tgt_ids, max_len: int, batch: int = 1000) -> float:
    """Percentage of sources whose greedy output is the whole answer (<sos>/<eos> stripped)."""
    preds = []
    for i in range(0, len(src_ids), batch):
        preds += model.generate(pad_batch(src_ids[i:i + batch]), max_len=max_len)[0]
    return 100.0 * sequence_accuracy(preds, [t[1:-1] for t in tgt_ids])
