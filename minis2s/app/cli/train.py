"""``minis2s train``: build the data, model, optimiser and Trainer a run's settings describe, in
its run folder (claimed for one writer), and train it -- or continue it with ``--resume``.

The options are made from the fields of :class:`~minis2s.app.config.TrainConfig` (type,
range, default and help written there, once); ``--resume`` takes the settings back from the
checkpoint, checked by the same rules when the checkpoint is read.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from ... import __version__
from ...backend import current, float_dtype, use
from ...data import BatchIterator, Vocab, encode_pairs, get_tokenizer
from ...errors import InputError
from ...teacher_forcing import parse_schedule
from ..checkpoint import CheckpointError, atomic_write_bytes, check_same_config, load_checkpoint
from ..config import (FAST, RESUMABLE, TRAIN_FIELDS, TrainConfig, complete, default_text, option,
                      resolve)
from ..sizes import check_fits, training_bytes
from ..run_folder import LOCK_NAME, MARK_NAME, OWNER_NAME, claim_run_folder, remove_leftovers
from ..signals import Terminated
from ..trainer import Trainer
from .common import (add_threads_option, backend_from_environment, data_name, parse_with,
                     read_data, split_pairs, tokenizer_kind)

DESCRIPTION = ("Train a seq2seq model. Every option has a default; `minis2s train` alone trains "
               "the peeky, reversed model on the generated addition task: under 2 minutes on a "
               "2-core CPU (2.5 while other programs keep the cores busy), 99.95 % exact match (one measured run; README.md). "
               "A TSV corpus gets word-level defaults (marked 'a TSV corpus' below).")


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="train a model (default: the addition task, under 2 minutes "
                       "on a 2-core CPU)", description=DESCRIPTION)
    source = t.add_mutually_exclusive_group()
    for name, f in TRAIN_FIELDS.items():        # one option per setting, as TrainConfig says
        rule, meta = f.metadata["rule"], f.metadata
        where = source if meta.get("group") == "source" else t
        text = " ".join(filter(None, (meta["help"], default_text(name))))
        if rule.kind == "bool":
            where.add_argument(option(name), action=argparse.BooleanOptionalAction, help=text)
        elif name == "task":      # checked with the other settings: one line naming the tasks
            where.add_argument(option(name), help=text)
        elif rule.kind == "choice":
            where.add_argument(option(name), choices=meta.get("choices", rule.choices), help=text)
        else:
            where.add_argument(option(name), type=parse_with(rule), metavar=meta.get("metavar"),
                               help=text.replace("%", "%%"))       # (argparse formats help with %)
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its checkpoint (other settings must match)")
    t.add_argument("--fast", action="store_true", help="a tiny setting that runs in seconds (for "
                   "trying the tool out; " + ", ".join(f"{k} {v}" for k, v in FAST.items()) + ")")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_threads_option(t)
    t.set_defaults(func=run)


# ---------------------------------------------------------------------------- settings
def _given(args) -> dict:
    """The settings given on the command line (MINIS2S_BACKEND counts as --backend)."""
    given = {k: v for k, v in vars(args).items() if k in TRAIN_FIELDS and v is not None}
    if "backend" not in given and backend_from_environment():
        given["backend"] = backend_from_environment()
    return given


def _resolve_train_config(args) -> tuple[TrainConfig, dict]:
    """(config, given): the defaults (a TSV corpus's own where they differ) overridden by
    --fast, then by the options given."""
    given = _given(args)
    word = bool(given.get("data")) and read_data(given["data"])[0] == "tsv"
    return resolve(given, word=word, fast=args.fast), given


def _model_name(config: TrainConfig) -> str:
    """peeky, plain, attention-dot, attention-general-if-bi, peeky-gru, ...: the run folder's suffix."""
    name = config.model
    if name == "attention":
        name += f"-{config.score}"
        if config.attention_output != "luong":
            name += f"-{config.attention_output}"
    return (name + ("-if" if config.input_feeding else "") + ("-bi" if config.bidirectional else "")
            + ("-gru" if config.cell == "gru" else ""))


def _run_folder(config: TrainConfig) -> Path:
    swapped = "-swap" if config.data and config.swap else ""
    return Path(config.out or f"runs/{data_name(config)}{swapped}-{_model_name(config)}")


def _train_config(args, given: dict, config: TrainConfig):
    """The settings of this run and, with --resume, the checkpoint it continues.

    Resuming takes every setting from the checkpoint; options given again must
    agree with it, except those in RESUMABLE (--epochs above all).
    """
    out = _run_folder(config)
    ckpt_path = out / "checkpoint.npz"
    if not args.resume:
        if ckpt_path.exists():   # never overwrite a trained model by accident
            raise InputError(f"{out} already holds a checkpoint: pass --resume to continue that run, "
                             "or choose another --out (or delete the folder) to start over")
        return replace(config, out=str(out)), None
    if not ckpt_path.exists():
        raise CheckpointError(f"--resume: no checkpoint at {ckpt_path} (pass --out with the "
                              "run folder to continue)")
    ckpt = load_checkpoint(ckpt_path)          # every saved setting checked by its rule there
    check_same_config(ckpt, given, [k for k in given if k not in RESUMABLE])
    saved = TrainConfig(**{**ckpt.train_config, **given, "out": str(out)})
    return complete(saved, word=ckpt.src_tokenizer == "word"), ckpt


def _check_training_fits(config: TrainConfig, src, tgt, tgt_vocab: int) -> None:
    """Refuse, before the first step, a batch whose arrays would not fit in memory (a 10,000-token
    line in a word corpus, an attention model over long sources)."""
    S, T = max(len(s) for s in src), max(len(t) for t in tgt)
    need = training_bytes(config.batch_size, S, T, tgt_vocab, config.hidden, config.layers,
                          config.model == "attention", np.dtype(config.dtype).itemsize)
    check_fits(f"training batches of {config.batch_size} pairs (the longest source {S} tokens, "
               f"the longest target {T - 2}, a vocabulary of {tgt_vocab:,})", need,
               "pass a smaller --batch-size, or leave the longest lines out of the data")


def _build_trainer(config: TrainConfig, ckpt, progress: bool, command: str):
    """Data, vocabularies, model, optimiser and Trainer for a resolved config (restored from ckpt)."""
    from ...models import Seq2Seq
    from ...optim import ConstantSchedule, StepSchedule, make_optimizer

    kind = tokenizer_kind(config)
    train, val = split_pairs(config)
    tokenize = get_tokenizer(kind)
    src_vocab = Vocab.build(tokenize(s) for s, _ in train)
    tgt_vocab = Vocab.build(tokenize(t) for _, t in train)
    if ckpt is not None and (src_vocab != ckpt.src_vocab or tgt_vocab != ckpt.tgt_vocab):
        raise ckpt.error("the training data is not the data it was trained on (the vocabularies "
                         "differ): has the data file changed?")
    # No reversal here: the model reverses the source itself (config.reverse).
    src_tr, tgt_tr = encode_pairs(train, src_vocab, tgt_vocab, kind, kind)
    val_data = encode_pairs(val, src_vocab, tgt_vocab, kind, kind) if val else None
    longest_target = max(len(t) for t in (*tgt_tr, *(val_data[1] if val_data else ()))) - 1
    if config.max_len is None:
        config.max_len = max(len(t) for t in tgt_tr) - 1        # longest target + <eos>
    elif val_data and config.max_len < longest_target:
        raise InputError(f"--max-len {config.max_len}: the longest target is {longest_target - 1} "
                         f"tokens (+ <eos>), so decoding could never reproduce it and its exact "
                         f"match would be 0 after every epoch; pass --max-len {longest_target} "
                         "or more, or leave it out")
    _check_training_fits(config, src_tr, tgt_tr, len(tgt_vocab))

    model = Seq2Seq(len(src_vocab), len(tgt_vocab), emb=config.emb, hidden=config.hidden,
                    n_layers=config.layers, dropout=config.dropout, decoder=config.model,
                    reverse=config.reverse, teacher_forcing_ratio=config.teacher_forcing,
                    init=config.init, seed=config.seed, score=config.score,
                    bidirectional=config.bidirectional, input_feeding=config.input_feeding,
                    attention_output=config.attention_output, cell=config.cell)
    optimizer = make_optimizer(config.optimizer, model.params, lr=config.lr)
    if config.lr_decay_start == "off":
        schedule = ConstantSchedule(optimizer)
    else:   # a constant rate keeps jumping around the optimum; halving it settles the weights
        schedule = StepSchedule(optimizer, start_epoch=config.lr_decay_start,
                                every=config.lr_decay_every)
    # Bucketing by length saves padding on word-level corpora; on the character tasks the
    # lengths hardly vary and a sorted batch is all one kind of problem (say, every 1-digit
    # sum), which slowed learning by epochs in docs/results.md -- so shuffle those uniformly.
    batches = BatchIterator(src_tr, tgt_tr, config.batch_size, seed=config.seed,
                            bucket=kind == "word")
    spec = config.teacher_forcing_schedule            # scheduled sampling, or None
    tf_schedule = parse_schedule(spec) if spec else None
    trainer = Trainer(model, optimizer, batches, val_data, src_vocab, tgt_vocab,
                      src_tokenizer=kind, tgt_tokenizer=kind, clip=config.clip, schedule=schedule,
                      out_dir=config.out, progress=progress, bleu=kind == "word",
                      max_len=config.max_len, seed=config.seed, config=asdict(config),
                      command=command, teacher_forcing=tf_schedule)
    if ckpt is not None:
        trainer.restore(ckpt)
    data = config.data or f"the {config.task} task"
    if config.data and kind == "word":
        data += (", learning column 2 -> column 1 (--swap)" if config.swap else
                 ", learning column 1 -> column 2 (--swap: the other way)")
    print(f"data: {data}, {len(train)} training / {len(val)} validation pairs, {kind} tokens, "
          f"vocabularies {len(src_vocab)} -> {len(tgt_vocab)}")
    print(f"model: {_model_name(config)} decoder, {'reversed' if config.reverse else 'plain'} source, "
          f"{config.layers} layer(s), emb {config.emb}, hidden {config.hidden} "
          f"({model.num_params():,} parameters); {config.optimizer} lr {config.lr}, "
          f"batch {config.batch_size}; {current().name} {np.dtype(float_dtype()).name}")
    return trainer


# ---------------------------------------------------------------------------- the command
def run(args, command: str) -> int:
    config, given = _resolve_train_config(args)
    if "backend" in given:   # no GPU is a bigger problem than a full run folder: say it first
        use(given["backend"], dtype=config.dtype)
    out = _run_folder(config)
    if config.epochs == 0 and not args.resume:
        raise InputError(f"--epochs 0: nothing to train, so no run folder was made ({out}); "
                         "--epochs counts the epochs in total, e.g. --epochs 8")
    created = not out.exists()
    # One writer per run folder, from before the checkpoint is read until the last file is written.
    with claim_run_folder(out, command, log=print):
        try:
            return _train_in_folder(args, command, config, given)
        except BaseException:
            if created and not (out / "checkpoint.npz").exists():
                _discard_new_folder(out)   # a run that failed before its first epoch leaves nothing
            raise


def _discard_new_folder(out: Path) -> None:
    """Remove what this command put in a folder it created before any checkpoint existed."""
    remove_leftovers(out)
    for name in ("config.json", "history.json", "curves.png", OWNER_NAME, MARK_NAME, LOCK_NAME):
        try:
            (out / name).unlink()
        except OSError:
            pass
    try:
        out.rmdir()                         # only if nothing else is in it
    except OSError:
        pass


def _train_in_folder(args, command: str, config: TrainConfig, given: dict) -> int:
    config, ckpt = _train_config(args, given, config)
    use(config.backend, dtype=config.dtype)
    progress = not args.no_progress and sys.stderr.isatty()
    try:
        trainer = _build_trainer(config, ckpt, progress, command)
    except MemoryError:   # within the bounds, a large --hidden with many --layers can still not fit
        raise InputError(f"not enough memory for this model and data (--hidden {config.hidden}, "
                         f"--emb {config.emb}, --layers {config.layers}, --train-size "
                         f"{config.train_size}): choose smaller sizes") from None

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    run_info = {"command": command, "minis2s_version": __version__, "config": asdict(config),
                "model": trainer.model.config,
                "resumed_from_epoch": None if ckpt is None else ckpt.epoch}
    text = json.dumps(run_info, indent=1).encode("utf-8")
    atomic_write_bytes(out / "config.json", lambda f: f.write(text))
    print(f"run folder: {out}" + (f" (resuming after epoch {trainer.epoch})" if ckpt else ""))
    if trainer.epoch >= config.epochs:
        print(f"already trained for {trainer.epoch} epochs; pass a larger --epochs to continue")
    start = time.perf_counter()
    try:
        history = trainer.fit(config.epochs)
    except KeyboardInterrupt as e:   # Ctrl-C, or SIGTERM (minis2s.app.signals)
        _print_interrupted(out, trainer.epoch, command, "stopped by SIGTERM" if isinstance(e, Terminated)
                           else "interrupted")
        raise
    _print_final(history, time.perf_counter() - start)
    return 0


def _print_interrupted(out: Path, epoch: int, command: str, what: str = "interrupted") -> None:
    """After Ctrl-C or SIGTERM: which epoch the run folder holds, and the command that goes on."""
    path = out / "checkpoint.npz"
    try:   # the file on disk is what counts (Ctrl-C may land between an epoch and its save)
        saved = load_checkpoint(path).epoch if path.exists() else None
    except (CheckpointError, OSError, ValueError):
        saved = None
    if saved is None:
        print(f"\n{what} during epoch {epoch + 1}, before any epoch was saved: nothing to "
              f"resume; start again with: {command}", file=sys.stderr)
    else:
        print(f"\n{what} during epoch {saved + 1}: {path} holds epoch {saved} (its "
              f"weights, optimiser and schedule); continue with: "
              f"minis2s train --resume --out {shlex.quote(str(out))}", file=sys.stderr)


def _print_final(history: list, seconds: float) -> None:
    if not history:
        return
    last = history[-1]
    took = f"{int(seconds // 60)}m{seconds % 60:04.1f}s"
    if "val_exact_match" not in last:
        print(f"finished epoch {last['epoch']} in {took}: training loss {last['train_loss']:.4f}")
        return
    bleu = f", BLEU {last['val_bleu']:.1f}" if "val_bleu" in last else ""
    print(f"final validation exact match: {last['val_exact_match']:.2f} % (token accuracy "
          f"{last['val_token_accuracy']:.2f} %, loss {last['val_loss']:.4f}{bleu}) after epoch "
          f"{last['epoch']}; this session took {took}")
