"""``minis2s train``: build the data, model, optimiser and Trainer a run's settings describe, in
its run folder (claimed for one writer), and train it -- or continue it with ``--resume``."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from ... import __version__
from ...backend import current, float_dtype, use
from ...data import BatchIterator, Vocab, detect_format, encode_pairs, get_tokenizer
from ...data.tasks import TASKS
from ...errors import InputError
from ...init import INITS
from ...teacher_forcing import parse_schedule
from ...validate import MAX_DECODE_LEN, MAX_LAYERS, MAX_SEED, MAX_WIDTH
from ..checkpoint import MAX_EPOCHS, CheckpointError, atomic_write_bytes, check_same_config, load_checkpoint
from ..run_folder import LOCK_NAME, OWNER_NAME, claim_run_folder, remove_leftovers
from ..trainer import Trainer
from .common import (DEFAULT_DECAY_EVERY, DEFAULT_LR, FAST, MAX_PAIRS, RESUMABLE_CHANGES, TASK_TRAIN_SIZE,
                     TRAIN_DEFAULTS, VAL_SIZE, WORD_DEFAULTS, WORD_LR, add_threads_option,
                     backend_from_environment, check_saved_settings, data_name, dropout_probability,
                     epoch_or_off, int_in, positive_float, positive_int, probability, split_pairs,
                     tf_schedule, tokenizer_kind)


def add_parser(sub) -> None:
    D = TRAIN_DEFAULTS

    t = sub.add_parser("train", help="train a model (default: the addition task, under 2 minutes on a "
                       "2-core CPU)",
                       description="Train a seq2seq model. Every option has a default; "
                                   "`minis2s train` alone trains the peeky, reversed model on the "
                                   "generated addition task: under 2 minutes on a 2-core CPU "
                                   "(2.5 while other programs keep the cores busy), 99.7 % "
                                   "exact match. A TSV corpus gets word-level defaults (marked "
                                   "'a TSV corpus' below).")
    src = t.add_mutually_exclusive_group()
    src.add_argument("--task", help=f"a generated task: {', '.join(sorted(TASKS))} (default {D['task']})")
    src.add_argument("--data", metavar="PATH", help="a data file: 'source<TAB>target' lines (word "
                     "tokens, BLEU reported; the model learns column 1 -> column 2, with the "
                     "defaults marked 'a TSV corpus' below) or the book's 'question_answer' "
                     "format (characters)")
    t.add_argument("--model", choices=["plain", "peeky", "attention"],
                   help=f"the decoder (default {D['model']})")
    t.add_argument("--score", choices=["dot", "general", "additive"],
                   help=f"with --model attention: Luong's dot or general score, or Bahdanau's "
                        f"additive one (default {D['score']})")
    t.add_argument("--bidirectional", action=argparse.BooleanOptionalAction,
                   help="Bahdanau's bidirectional encoder: two directions of hidden/2 units "
                        "(default: off)")
    t.add_argument("--attention-output", choices=["luong", "concat"],
                   help="with --model attention: what the output layer reads: Luong's "
                        "tanh([context ; h] Wc), or [context ; h] itself as in the book's chapter 8 "
                        f"(default {D['attention_output']})")
    t.add_argument("--input-feeding", action=argparse.BooleanOptionalAction,
                   help="with --model attention: each decoder step also reads the previous "
                        "attentional state (Luong's input feeding; trains step by step; default: off)")
    t.add_argument("--reverse", action=argparse.BooleanOptionalAction,
                   help="reverse the source sentence (default: on)")
    t.add_argument("--swap", action="store_true", default=None,
                   help="with --data: learn the other direction (column 2 -> column 1; the "
                        "default run folder gets '-swap' in its name)")
    t.add_argument("--init", choices=list(INITS),
                   help="weights U(-0.08, 0.08) as in the paper; U(-1/sqrt(H), 1/sqrt(H)); or "
                        "fan_in: N(0, 1/fan-in) weights, zero biases, N(0, 1) embeddings "
                        f"(default {D['init']}; a TSV corpus: {WORD_DEFAULTS['init']})")
    t.add_argument("--layers", type=int_in(1, MAX_LAYERS), help=f"stacked LSTM layers (default {D['layers']})")
    def default(key):   # the task default, and the word-level corpus default where it differs
        word = f"; a TSV corpus: {WORD_DEFAULTS[key]:g}" if key in WORD_DEFAULTS else ""
        return f"(default {D[key]:g}{word})"

    t.add_argument("--emb", type=int_in(1, MAX_WIDTH), help=f"embedding size {default('emb')}")
    t.add_argument("--hidden", type=int_in(1, MAX_WIDTH), help=f"LSTM size {default('hidden')}")
    t.add_argument("--dropout", type=dropout_probability, help=f"dropout probability {default('dropout')}")
    t.add_argument("--epochs", type=int_in(0, MAX_EPOCHS),
                   help=f"train until this many epochs in total {default('epochs')}")
    t.add_argument("--batch-size", type=positive_int,
                   help=f"sentences per batch (default {D['batch_size']})")
    t.add_argument("--optimizer", choices=["adam", "sgd"], help=f"(default {D['optimizer']})")
    t.add_argument("--lr", type=positive_float, help="learning rate (default: "
                   + ", ".join(f"{k} {v}" for k, v in DEFAULT_LR.items()) + f"; a TSV corpus "
                   f"with adam: {WORD_LR['adam']})")
    t.add_argument("--lr-decay-start", type=epoch_or_off, metavar="EPOCH",
                   help=f"from this epoch on, halve the learning rate at the end of every "
                   f"--lr-decay-every epochs {default('lr_decay_start')[:-1]}; 'off': a constant rate)")
    t.add_argument("--lr-decay-every", type=positive_float, metavar="EPOCHS",
                   help="epochs between halvings (default: " + ", ".join(
                       f"{k} {v:g}" for k, v in DEFAULT_DECAY_EVERY.items()) + ")")
    t.add_argument("--clip", type=positive_float, help=f"gradient clipping by global norm (default {D['clip']})")
    t.add_argument("--teacher-forcing", type=probability, metavar="RATIO",
                   help="probability of feeding the true previous token (default 1.0)")
    t.add_argument("--teacher-forcing-schedule", type=tf_schedule, metavar="SPEC",
                   help="scheduled sampling: decay the teacher-forcing ratio with the steps, "
                        "linear|exponential|inverse-sigmoid[:name=value,...], e.g. "
                        "'linear:c=2e-4,min=0.5' (overrides --teacher-forcing; "
                        "see minis2s/teacher_forcing.py)")
    t.add_argument("--train-size", type=int_in(1, MAX_PAIRS), metavar="N",
                   help=f"training pairs: generated for a task (default {TASK_TRAIN_SIZE}), a cap for --data")
    t.add_argument("--val-size", type=int_in(0, MAX_PAIRS), metavar="N",
                   help=f"validation pairs (default {VAL_SIZE}; for --data at most 10 %% of the file)")
    t.add_argument("--max-len", type=int_in(1, MAX_DECODE_LEN), metavar="N",
                   help="longest output decoded, in tokens (default: the longest training target + 1; "
                        f"at most {MAX_DECODE_LEN})")
    t.add_argument("--backend", choices=["numpy", "cupy"], help="numpy (CPU, default) or cupy (GPU)")
    t.add_argument("--dtype", choices=["float32", "float64"], help="default float32")
    t.add_argument("--seed", type=int_in(0, MAX_SEED), help="seeds the data, the weights and the batch order (default 0)")
    t.add_argument("--out", metavar="DIR", help="the run folder (default runs/<task>-<model>)")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its checkpoint (other settings must match)")
    t.add_argument("--fast", action="store_true", help="a tiny setting that runs in seconds (for "
                   "trying the tool out; " + ", ".join(f"{k} {v}" for k, v in FAST.items()) + ")")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_threads_option(t)
    t.set_defaults(func=run)
# ---------------------------------------------------------------------------- train
def _model_name(config: dict) -> str:
    """peeky, plain, attention-dot, attention-general-if-bi, ...: the run folder's suffix."""
    name = config["model"]
    if name == "attention":
        name += f"-{config.get('score', 'dot')}"
        if config.get("attention_output", "luong") != "luong":
            name += f"-{config['attention_output']}"
    return name + ("-if" if config.get("input_feeding") else "") + ("-bi" if config.get("bidirectional") else "")


def _resolve_train_config(args) -> tuple[dict, dict]:
    """(config, given): the defaults (WORD_DEFAULTS for a TSV corpus) overridden by --fast,
    then by the options given."""
    given = {k: v for k, v in vars(args).items() if k in TRAIN_DEFAULTS and v is not None}
    if "data" in given:
        given.setdefault("task", None)
    if "backend" not in given and backend_from_environment():
        given["backend"] = backend_from_environment()     # as if --backend had been given
    config = dict(TRAIN_DEFAULTS)
    word = bool(given.get("data")) and detect_format(given["data"]) == "tsv"
    if word:
        config.update(WORD_DEFAULTS)
    if args.fast:
        config.update(FAST)
    config.update(given)
    if word and config["lr"] is None:
        config["lr"] = WORD_LR[config["optimizer"]]
    return config, given


def _run_folder(config: dict) -> Path:
    swapped = "-swap" if config.get("data") and config.get("swap") else ""
    return Path(config["out"] or f"runs/{data_name(config)}{swapped}-{_model_name(config)}")


def _train_config(args, given: dict, config: dict):
    """The settings of this run and, with --resume, the checkpoint it continues.

    Resuming takes every setting from the checkpoint; options given again must
    agree with it, except those in RESUMABLE_CHANGES (--epochs above all).
    """
    if config["lr"] is None:
        config["lr"] = DEFAULT_LR[config["optimizer"]]
    if config["lr_decay_every"] is None:
        config["lr_decay_every"] = DEFAULT_DECAY_EVERY[config["optimizer"]]
    out = _run_folder(config)
    ckpt_path = out / "checkpoint.npz"
    if not args.resume:
        if ckpt_path.exists():   # never overwrite a trained model by accident
            raise InputError(f"{out} already holds a checkpoint: pass --resume to continue that run, "
                             "or choose another --out (or delete the folder) to start over")
        return {**config, "out": str(out)}, None
    if not ckpt_path.exists():
        raise CheckpointError(f"--resume: no checkpoint at {ckpt_path} (pass --out with the "
                              "run folder to continue)")
    ckpt = load_checkpoint(ckpt_path)
    check_saved_settings(ckpt)
    check_same_config(ckpt, given, [k for k in given if k not in RESUMABLE_CHANGES])
    return {**TRAIN_DEFAULTS, **ckpt.train_config, **given, "out": str(out)}, ckpt


def _build_trainer(config: dict, ckpt, progress: bool, command: str):
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
    # No reversal here: the model reverses the source itself (config["reverse"]).
    src_tr, tgt_tr = encode_pairs(train, src_vocab, tgt_vocab, kind, kind)
    val_data = encode_pairs(val, src_vocab, tgt_vocab, kind, kind) if val else None
    if config["max_len"] is None:
        config["max_len"] = max(len(t) for t in tgt_tr) - 1        # longest target + <eos>

    model = Seq2Seq(len(src_vocab), len(tgt_vocab), emb=config["emb"], hidden=config["hidden"],
                    n_layers=config["layers"], dropout=config["dropout"], decoder=config["model"],
                    reverse=config["reverse"], teacher_forcing_ratio=config["teacher_forcing"],
                    init=config.get("init", "uniform"), seed=config["seed"],
                    score=config.get("score", "dot"), bidirectional=config.get("bidirectional", False),
                    input_feeding=config.get("input_feeding", False),
                    attention_output=config.get("attention_output", "luong"))
    optimizer = make_optimizer(config["optimizer"], model.params, lr=config["lr"])
    if config["lr_decay_start"] == "off":
        schedule = ConstantSchedule(optimizer)
    else:   # a constant rate keeps jumping around the optimum; halving it settles the weights
        schedule = StepSchedule(optimizer, start_epoch=config["lr_decay_start"],
                                every=config["lr_decay_every"])
    # Bucketing by length saves padding on word-level corpora; on the character tasks the
    # lengths hardly vary and a sorted batch is all one kind of problem (say, every 1-digit
    # sum), which slowed learning by epochs in docs/results.md -- so shuffle those uniformly.
    batches = BatchIterator(src_tr, tgt_tr, config["batch_size"], seed=config["seed"],
                            bucket=kind == "word")
    spec = config.get("teacher_forcing_schedule")            # scheduled sampling, or None
    tf_schedule = parse_schedule(spec) if spec else None
    trainer = Trainer(model, optimizer, batches, val_data, src_vocab, tgt_vocab,
                      src_tokenizer=kind, tgt_tokenizer=kind, clip=config["clip"], schedule=schedule,
                      out_dir=config["out"], progress=progress, bleu=kind == "word",
                      max_len=config["max_len"], seed=config["seed"], config=config, command=command,
                      teacher_forcing=tf_schedule)
    if ckpt is not None:
        trainer.restore(ckpt)
    data = config["data"] or f"the {config['task']} task"
    if config["data"] and kind == "word":
        data += (", learning column 2 -> column 1 (--swap)" if config.get("swap") else
                 ", learning column 1 -> column 2 (--swap: the other way)")
    print(f"data: {data}, {len(train)} training / {len(val)} validation pairs, {kind} tokens, "
          f"vocabularies {len(src_vocab)} -> {len(tgt_vocab)}")
    print(f"model: {_model_name(config)} decoder, {'reversed' if config['reverse'] else 'plain'} source, "
          f"{config['layers']} layer(s), emb {config['emb']}, hidden {config['hidden']} "
          f"({model.num_params():,} parameters); {config['optimizer']} lr {config['lr']}, "
          f"batch {config['batch_size']}; {current().name} {np.dtype(float_dtype()).name}")
    return trainer


def run(args, command: str) -> int:
    config, given = _resolve_train_config(args)
    if "backend" in given:   # no GPU is a bigger problem than a full run folder: say it first
        use(given["backend"], dtype=config["dtype"])
    out = _run_folder(config)
    if config["epochs"] == 0 and not args.resume:
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
    for name in ("config.json", "history.json", "curves.png", OWNER_NAME, LOCK_NAME):
        try:
            (out / name).unlink()
        except OSError:
            pass
    try:
        out.rmdir()                         # only if nothing else is in it
    except OSError:
        pass


def _train_in_folder(args, command: str, config: dict, given: dict) -> int:
    config, ckpt = _train_config(args, given, config)
    use(config["backend"], dtype=config["dtype"])
    progress = not args.no_progress and sys.stderr.isatty()
    try:
        trainer = _build_trainer(config, ckpt, progress, command)
    except MemoryError:   # within the bounds, a large --hidden with many --layers can still not fit
        raise InputError(f"not enough memory for this model and data (--hidden {config['hidden']}, "
                         f"--emb {config['emb']}, --layers {config['layers']}, --train-size "
                         f"{config['train_size']}): choose smaller sizes") from None

    out = Path(config["out"])
    out.mkdir(parents=True, exist_ok=True)
    run_info = {"command": command, "minis2s_version": __version__, "config": config,
                "model": trainer.model.config,
                "resumed_from_epoch": None if ckpt is None else ckpt.epoch}
    text = json.dumps(run_info, indent=1).encode("utf-8")
    atomic_write_bytes(out / "config.json", lambda f: f.write(text))
    print(f"run folder: {out}" + (f" (resuming after epoch {trainer.epoch})" if ckpt else ""))
    if trainer.epoch >= config["epochs"]:
        print(f"already trained for {trainer.epoch} epochs; pass a larger --epochs to continue")
    start = time.perf_counter()
    try:
        history = trainer.fit(config["epochs"])
    except KeyboardInterrupt:
        _print_interrupted(out, trainer.epoch, command)
        raise
    _print_final(history, time.perf_counter() - start)
    return 0


def _print_interrupted(out: Path, epoch: int, command: str) -> None:
    """After Ctrl-C: which epoch the run folder holds, and the command that goes on from it."""
    path = out / "checkpoint.npz"
    try:   # the file on disk is what counts (Ctrl-C may land between an epoch and its save)
        saved = load_checkpoint(path).epoch if path.exists() else None
    except (CheckpointError, OSError, ValueError):
        saved = None
    if saved is None:
        print(f"\ninterrupted during epoch {epoch + 1}, before any epoch was saved: nothing to "
              f"resume; start again with: {command}", file=sys.stderr)
    else:
        print(f"\ninterrupted during epoch {saved + 1}: {path} holds epoch {saved} (its "
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
