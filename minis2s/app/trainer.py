r"""The training loop: epochs of steps, a validation pass after each, checkpoints and curves.

One training step, as in Sutskever et al. (2014)::

    loss = model.forward(src, tgt)          # teacher forced, mean cross-entropy per target token
    float(loss)                             # the step's one device -> host sync: is it finite?
    model.backward()                        # fills model.grads
    clip_grad_norm(model.grads, clip)       # rescale if the global norm exceeds `clip`
    optimizer.step(model.grads)             # update model.params in place
    schedule.update(fractional epoch)       # e.g. halve the learning rate after epoch 5

After every epoch the model is measured on the validation set (:func:`evaluate`):

* ``val_loss``   -- mean cross-entropy per target token, teacher forced, no dropout;
* ``val_perplexity`` -- ``exp(val_loss)``;
* ``val_token_accuracy`` -- % of target tokens where the teacher-forced argmax is right;
* ``val_exact_match`` -- % of sentences whose *greedy decoding* equals the reference exactly
  (the number the book reports: the model is on its own, feeding back its own outputs);
* ``val_bleu`` -- corpus BLEU-4 of the decoded sentences, for text corpora.

The record goes into ``trainer.history`` (and ``history.json``), a few decoded
examples are printed, and, with an ``out_dir``, the run folder is updated:
``history.json``, ``checkpoint.npz`` and ``curves.png``, each atomically (an
interrupted save keeps the previous file; see :meth:`Trainer.save` for the order).

Divergence: a training loss, gradient norm, validation loss or perplexity that
is not a finite number, or weights that are not, stop the run with
:class:`TrainingDiverged` *before* anything is saved, so the run folder keeps
the last good epoch. (An exploding loss that is still finite -- say 800 nats
per token -- has an infinite perplexity, and counts too.)

Reproducibility: nothing here draws from a global random state. The batch
order of epoch k is a function of (seed, k) (:class:`~minis2s.data.BatchIterator`),
the model's dropout masks and teacher-forcing draws of step s a function of
(seed, s) (``model.step_count``), and the checkpoint restores the optimiser's
moments, the schedule and the step count. So on the CPU, training 2 epochs,
stopping, and resuming for 2 more gives *bit-identical* weights to 4 epochs in
one go -- the test suite checks it.
"""
from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..backend import get_array_module, to_device
from .checkpoint import Checkpoint, atomic_write_bytes, load_weights, save_checkpoint
from ..data.dataset import pad_batch
from ..data.tokenize import detokenize
from ..functional import log_softmax
from ..metrics import corpus_bleu, perplexity, sequence_accuracy
from ..optim import clip_grad_norm
from .run_folder import claim_run_folder
from .signals import interrupts_held
from ..validate import finite_float

__all__ = ["Trainer", "TrainingDiverged", "evaluate"]


class TrainingDiverged(RuntimeError):
    """A loss, gradient norm, perplexity or weight stopped being a finite number.

    ``epoch``, ``step`` (the global step) and ``value`` say where and what; the
    message is one line, fit for a command-line error.
    """

    def __init__(self, message: str, epoch: int, step: int, value: float):
        super().__init__(message)
        self.epoch, self.step, self.value = epoch, step, value


# ---------------------------------------------------------------------------- evaluation
def _teacher_forced_counts(model, src, tgt):
    """Summed negative log-likelihood, number of target tokens, number predicted right.

    src (N, S), tgt (N, T) host int arrays. Runs the encoder and the decoder
    over the whole target at once (teacher forcing), as in training but without
    dropout. Three device -> host syncs per batch.
    """
    src, tgt = to_device(src, model.backend), to_device(tgt, model.backend)   # where the model is
    logits, _ = model.decoder.forward(tgt[:, :-1], model.encode(src))  # (N, T-1, V)
    xp = get_array_module(logits)
    y = tgt[:, 1:]                                                     # what each position should predict
    real = y != model.pad_id                                           # padding does not count
    logp = log_softmax(logits)
    picked = xp.take_along_axis(logp, y[..., None], axis=-1)[..., 0]   # log p(correct token)
    nll = -(picked * real).sum()
    correct = ((logits.argmax(axis=-1) == y) & real).sum()
    return float(nll), int(real.sum()), int(correct)


def evaluate(model, src_ids, tgt_ids, max_len: int, *, beam_size: int = 1,
             batch_size: int = 500, tgt_vocab=None, bleu: bool = False):
    """Measure ``model`` on encoded pairs; returns ``(metrics, predictions)``.

    src_ids, tgt_ids: lists of 1-D id arrays as made by
    :func:`~minis2s.data.encode_pairs` (targets framed by <sos> ... <eos>).
    ``max_len``: the longest output decoded, in tokens. ``beam_size`` 1 is greedy.

    metrics: ``loss``, ``perplexity``, ``token_accuracy`` (%), ``exact_match`` (%)
    and, with ``bleu=True`` (needs ``tgt_vocab``), ``bleu`` -- corpus BLEU-4 on
    the decoded tokens. predictions: the decoded id list of each sentence.
    The model is left in the mode (train/eval) it was in.
    """
    if len(src_ids) == 0:
        raise ValueError("evaluate: no examples given")
    if bleu and tgt_vocab is None:
        raise ValueError("evaluate: BLEU needs tgt_vocab to turn ids back into tokens")
    was_training = model.training
    model.eval()
    nll, n_tokens, n_correct, predictions = 0.0, 0, 0, []
    try:
        for i in range(0, len(src_ids), batch_size):
            src, tgt = pad_batch(src_ids[i:i + batch_size]), pad_batch(tgt_ids[i:i + batch_size])
            a, b, c = _teacher_forced_counts(model, src, tgt)
            nll, n_tokens, n_correct = nll + a, n_tokens + b, n_correct + c
            seqs, _ = model.generate(src, max_len=max_len, beam_size=beam_size)
            predictions += seqs
    finally:
        model.train(was_training)
    references = [[int(t) for t in ids[1:-1]] for ids in tgt_ids]      # strip <sos> and <eos>
    loss = nll / n_tokens
    metrics = {"loss": loss, "perplexity": perplexity(loss),
               "token_accuracy": 100.0 * n_correct / n_tokens,
               "exact_match": 100.0 * sequence_accuracy(predictions, references)}
    if bleu:
        # A reference word unknown to the vocabulary is <unk> here; the model's own <unk>
        # must not "match" it (it does not know the word), so each reference <unk> becomes a
        # token nothing can match -- the score then equals BLEU against the original words.
        unk = tgt_vocab.token(tgt_vocab.unk_id)
        refs = [[t if t != unk else f"{unk}#{j}" for j, t in enumerate(tgt_vocab.decode(r))]
                for r in references]
        metrics["bleu"] = corpus_bleu([tgt_vocab.decode(p) for p in predictions], refs)
    return metrics, predictions


# ---------------------------------------------------------------------------- the loop
class Trainer:
    """Train a Seq2Seq for some epochs, validating, saving and reporting after each.

    Parameters
    ----------
    model : Seq2Seq
    optimizer : Adam or SGD built on ``model.params``
    train_batches : BatchIterator
        Padded training batches; epoch k's order is fixed by (its seed, k).
    val_data : (src_ids, tgt_ids) or None
        Encoded validation pairs (as from ``encode_pairs``); None skips validation.
    src_vocab, tgt_vocab : Vocab
        To print examples, score BLEU and store in the checkpoint.
    src_tokenizer, tgt_tokenizer : "char" or "word"
    clip : float or None
        Global-norm gradient clipping threshold (None: no clipping).
    schedule : StepSchedule, ConstantSchedule or None
        Updated after every step with the fractional epoch.
    out_dir : path or None
        The run folder: checkpoint.npz, history.json, curves.png after every epoch.
    progress : bool
        Show a tqdm bar (loss, sentences/s) during each epoch.
    samples : int
        How many validation examples to decode and print after each epoch.
    bleu : bool
        Also report corpus BLEU-4 (for text corpora).
    max_len : int or None
        Longest output when decoding; default: the longest validation target + 1.
    seed : int
        Seeds the generator that picks the printed examples (saved in the checkpoint).
    config, command :
        The resolved training settings and the command line, stored in the checkpoint.
    log : callable
        Where the per-epoch lines go (``print`` by default).
    teacher_forcing : callable or None
        ``step -> ratio``: before every step the model's ``teacher_forcing_ratio`` is set
        to ``teacher_forcing(model.step_count)`` (scheduled sampling; see
        :mod:`minis2s.teacher_forcing`). None keeps the model's own ratio.
    """

    def __init__(self, model, optimizer, train_batches, val_data, src_vocab, tgt_vocab, *,
                 src_tokenizer: str = "char", tgt_tokenizer: str = "char", clip: float | None = 5.0,
                 schedule=None, out_dir=None, progress: bool = True, samples: int = 3,
                 bleu: bool = False, max_len: int | None = None, eval_batch_size: int = 500,
                 seed: int = 0, config: dict | None = None, command: str | None = None,
                 log=print, teacher_forcing=None):
        if clip is not None:            # nan would pass `clip <= 0` and silently disable clipping
            clip = finite_float("clip (None: no clipping)", clip, 0.0, low_open=True)
        self.model, self.optimizer, self.schedule = model, optimizer, schedule
        self.teacher_forcing = teacher_forcing   # step -> ratio (minis2s/teacher_forcing.py) or None
        self.train_batches, self.val_data = train_batches, val_data
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.src_tokenizer, self.tgt_tokenizer = src_tokenizer, tgt_tokenizer
        self.clip, self.progress, self.samples, self.bleu = clip, progress, samples, bleu
        self.out_dir = None if out_dir is None else Path(out_dir)
        if max_len is None and val_data is not None:
            max_len = max(len(t) for t in val_data[1]) - 1      # the tokens and <eos>, not <sos>
        self.max_len = max_len or 50
        self.eval_batch_size = eval_batch_size
        self.config, self.command, self.log = dict(config or {}), command, log
        self.rng = np.random.default_rng(seed)
        self.epoch = 0          # epochs completed
        self.history: list[dict] = []

    # --- the whole run ---------------------------------------------------------------
    def fit(self, epochs: int) -> list:
        """Train until ``epochs`` epochs are completed in total (a resumed run continues
        from ``self.epoch``). Returns the history. Raises :class:`TrainingDiverged`.

        With an ``out_dir``, the folder is claimed for the whole call
        (:func:`~minis2s.app.run_folder.claim_run_folder`: one writer at a time).

        It changes no process-wide setting: the ``minis2s`` command lets glibc keep freed
        memory and limits the BLAS threads (:mod:`minis2s.app.memory`,
        :mod:`minis2s.app.threads`); a script or notebook may call those itself.
        """
        if self.out_dir is None:
            return self._fit(epochs)
        with claim_run_folder(self.out_dir, self.command, log=self.log):
            with interrupts_held():     # as in save(): the files are rewritten whole
                self._repair_derived_files()
            return self._fit(epochs)

    def _fit(self, epochs: int) -> list:
        for epoch in range(self.epoch + 1, epochs + 1):
            record = {"epoch": epoch, **self.train_epoch(epoch, epochs)}
            self._check_finite("mean training loss", record["train_loss"], epoch)
            predictions = None
            if self.val_data is not None:
                metrics, predictions = evaluate(
                    self.model, *self.val_data, self.max_len, batch_size=self.eval_batch_size,
                    tgt_vocab=self.tgt_vocab, bleu=self.bleu)
                self._check_finite("validation loss", metrics["loss"], epoch)
                self._check_finite(f"validation perplexity (exp of the loss {metrics['loss']:.6g})",
                                   metrics["perplexity"], epoch)
                record.update({f"val_{k}": v for k, v in metrics.items()})
            self._check_weights_finite(epoch)
            record["step"] = self.model.step_count
            self.history.append(record)
            self.epoch = epoch
            self.log(self.summary(record, epochs))
            if predictions is not None and self.samples:
                self.show_samples(predictions)
            if self.out_dir is not None:
                self.save()
        return self.history

    # --- one epoch -------------------------------------------------------------------
    def train_epoch(self, epoch: int, epochs: int | None = None) -> dict:
        """One pass over the training batches of epoch ``epoch`` (1-based).

        Returns ``train_loss`` (mean of the batch losses), ``grad_norm`` (mean
        pre-clipping norm), ``lr`` (at the end), ``seconds`` and ``sentences_per_s``.
        """
        model, batches = self.model, self.train_batches
        model.train()
        batches.set_epoch(epoch)
        n_batches = len(batches)
        losses, norms, sentences = [], [], 0
        start = time.perf_counter()
        bar = tqdm(total=n_batches, desc=f"epoch {epoch}" + (f"/{epochs}" if epochs else ""),
                   unit="batch", leave=False, disable=not self.progress, dynamic_ncols=True)
        try:
            for b, (src, tgt) in enumerate(batches):
                if self.teacher_forcing is not None:    # scheduled sampling: r decays with the steps
                    model.teacher_forcing_ratio = self.teacher_forcing(model.step_count)
                loss = float(model.forward(src, tgt))   # the one sync of the forward pass
                self._check_finite("loss", loss, epoch, (b, n_batches))
                model.backward()
                if self.clip is not None:
                    norm = clip_grad_norm(model.grads, self.clip)
                    self._check_finite("gradient norm", norm, epoch, (b, n_batches))
                    norms.append(norm)
                self.optimizer.step(model.grads)
                if self.schedule is not None:
                    self.schedule.update(epoch - 1 + (b + 1) / n_batches)
                losses.append(loss)
                sentences += len(src)
                rate = sentences / max(time.perf_counter() - start, 1e-9)
                bar.set_postfix(loss=f"{np.mean(losses):.4f}", sent_s=f"{rate:.0f}", refresh=False)
                bar.update(1)
        finally:
            bar.close()
        seconds = time.perf_counter() - start
        return {"train_loss": float(np.mean(losses)),
                "grad_norm": float(np.mean(norms)) if norms else None,
                "lr": float(self.optimizer.lr), "seconds": seconds,
                "sentences_per_s": sentences / max(seconds, 1e-9)}

    def _check_finite(self, what: str, value: float, epoch: int, batch: tuple | None = None):
        """Raise :class:`TrainingDiverged` unless ``value`` is finite. ``batch``: (index, count)."""
        if math.isfinite(value):
            return
        where = f"epoch {epoch}, step {self.model.step_count}"
        where += f" (batch {batch[0] + 1} of {batch[1]})" if batch else " (end of the epoch)"
        raise TrainingDiverged(f"training diverged at {where}: the {what} is {value}"
                               f"{self._what_is_kept()}; try a lower learning rate or stronger "
                               "clipping", epoch, self.model.step_count, value)

    def _check_weights_finite(self, epoch: int) -> None:
        """Weights that are nan or inf are never saved (one pass over the parameters per epoch)."""
        for name, p in self.model.params.items():
            if not bool(get_array_module(p).isfinite(p).all()):
                raise TrainingDiverged(
                    f"training diverged in epoch {epoch}: the weights {name} hold nan or inf"
                    f"{self._what_is_kept()}; try a lower learning rate or stronger clipping",
                    epoch, self.model.step_count, math.nan)

    def _what_is_kept(self) -> str:
        if self.out_dir is None:
            return ""
        if self.epoch > 0:
            return (f"; the last good checkpoint (end of epoch {self.epoch}) is kept in "
                    f"{self.out_dir / 'checkpoint.npz'}")
        return "; no checkpoint had been saved yet"

    # --- reporting -------------------------------------------------------------------
    @staticmethod
    def summary(record: dict, epochs: int | None = None) -> str:
        """One line per epoch: ``epoch 3/10  loss 0.5432 | val loss ... exact 53.0 %  (10.7 s)``."""
        line = f"epoch {record['epoch']}" + (f"/{epochs}" if epochs else "")
        line += f"  loss {record['train_loss']:.4f}"
        if "val_loss" in record:
            line += (f" | val loss {record['val_loss']:.4f}  ppl {record['val_perplexity']:.2f}"
                     f"  token acc {record['val_token_accuracy']:.1f} %"
                     f"  exact match {record['val_exact_match']:.1f} %")
        if "val_bleu" in record:
            line += f"  BLEU {record['val_bleu']:.1f}"
        line += f"  ({record['seconds']:.1f} s, {record['sentences_per_s']:.0f} sentences/s)"
        return line

    def show_samples(self, predictions: list) -> None:
        """Print ``self.samples`` random validation examples: source -> prediction (reference)."""
        src_ids, tgt_ids = self.val_data
        k = min(self.samples, len(src_ids))
        for i in sorted(self.rng.choice(len(src_ids), size=k, replace=False)):
            source = detokenize(self.src_vocab.decode(src_ids[i]), self.src_tokenizer)
            guess = detokenize(self.tgt_vocab.decode(predictions[i]), self.tgt_tokenizer)
            truth = detokenize(self.tgt_vocab.decode(tgt_ids[i]), self.tgt_tokenizer)
            mark = "ok" if guess == truth else "wrong"
            self.log(f"    {source}  ->  {guess}    (reference: {truth})  {mark}")

    # --- saving and resuming ----------------------------------------------------------
    def save(self) -> Path:
        """Write history.json, checkpoint.npz and curves.png into ``out_dir``; returns the checkpoint path.

        Each file is replaced atomically, in this order, under the folder's claim:

        1. ``history.json`` -- so it never lags the checkpoint;
        2. ``checkpoint.npz`` -- the commit point: it holds the history too, and is
           the source of truth for everything else in the folder;
        3. ``curves.png`` -- drawn from the same history.

        A kill between steps 1 and 2 leaves ``history.json`` one epoch *ahead* of
        the checkpoint (a record of an epoch whose weights were not kept); the
        next writer rewrites it from the checkpoint when it starts
        (:meth:`fit`), and a resumed run trains that epoch again, identically.
        """
        if self.out_dir is None:
            raise ValueError("Trainer.save: no out_dir was given")
        # Ctrl-C or SIGTERM during the writes waits until the three files are whole.
        with interrupts_held(), claim_run_folder(self.out_dir, self.command, log=self.log):
            self._write_history()
            path = save_checkpoint(
                self.out_dir / "checkpoint.npz", self.model, self.src_vocab, self.tgt_vocab,
                src_tokenizer=self.src_tokenizer, tgt_tokenizer=self.tgt_tokenizer,
                optimizer=self.optimizer, schedule=self.schedule, epoch=self.epoch,
                history=self.history, rng_state=self.rng.bit_generator.state,
                train_config=self.config, command=self.command)
            self._write_curves()
        return path

    def _write_history(self) -> None:
        text = json.dumps(self.history, indent=1).encode("utf-8")
        atomic_write_bytes(self.out_dir / "history.json", lambda f: f.write(text))

    def _write_curves(self) -> None:
        if not self.history:
            return
        from .plotting import plot_history, run_title   # matplotlib is slow to import: only now
        # matplotlib writes to a path; draw into a private folder, then replace atomically.
        with tempfile.TemporaryDirectory() as scratch:
            title = run_title(self.config) if self.config else None
            png = plot_history(self.history, Path(scratch) / "curves.png", title).read_bytes()
        atomic_write_bytes(self.out_dir / "curves.png", lambda f: f.write(png))

    def _repair_derived_files(self) -> None:
        """After a restore: rewrite history.json (and curves.png) if they disagree with the
        history the checkpoint holds -- e.g. after a kill between the steps of :meth:`save`."""
        if not self.history:
            return
        try:
            on_disk = json.loads((self.out_dir / "history.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            on_disk = None
        if on_disk != json.loads(json.dumps(self.history)):
            self._write_history()
            self._write_curves()
        elif not (self.out_dir / "curves.png").exists():
            self._write_curves()

    def restore(self, ckpt: Checkpoint) -> None:
        """Continue from a checkpoint: weights, step count, optimiser, schedule, epoch, history.

        The model must have the checkpoint's architecture and the optimiser its
        kind; otherwise :class:`~minis2s.app.checkpoint.CheckpointError` says what differs.
        """
        diff = sorted(k for k in set(ckpt.model_config) | set(self.model.config)
                      if ckpt.model_config.get(k) != self.model.config.get(k))
        if diff:
            details = ", ".join(f"{k}: {self.model.config.get(k)!r} here, "
                                f"{ckpt.model_config.get(k)!r} in the checkpoint" for k in diff)
            raise ckpt.error(f"the model differs from the checkpoint's ({details})")
        load_weights(self.model, ckpt)
        if ckpt.optimizer_state is not None:
            name = type(self.optimizer).__name__.lower()
            if ckpt.optimizer_name != name:
                raise ckpt.error(f"it was trained with the {ckpt.optimizer_name} optimizer, "
                                 f"not {name}")
            try:
                self.optimizer.load_state_dict(ckpt.optimizer_state)
            except ValueError as e:
                raise ckpt.error(f"cannot restore the optimizer: {e}") from None
        if self.schedule is not None and ckpt.schedule_state is not None:
            try:
                self.schedule.load_state_dict(ckpt.schedule_state)
            except ValueError as e:
                raise ckpt.error(f"cannot restore the learning-rate schedule: {e}") from None
        self.epoch = ckpt.epoch
        self.history = [dict(h) for h in ckpt.history]
        if ckpt.rng_state is not None:
            self.rng.bit_generator.state = ckpt.rng_state
