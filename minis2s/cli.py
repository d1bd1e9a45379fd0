"""The ``minis2s`` command (also ``python -m minis2s``): train, eval, translate, gradcheck.

    minis2s train                                   # the addition task, peeky + reversed: under 2 minutes, 99.7 %
    minis2s train --task dates --epochs 10
    minis2s train --data corpus.tsv --model plain   # a TSV corpus: word tokens, BLEU reported
    minis2s train --resume --epochs 12              # continue runs/addition-peeky to epoch 12
    minis2s eval --checkpoint runs/addition-peeky/checkpoint.npz [--data FILE] [--beam 5]
    minis2s translate --checkpoint runs/addition-peeky/checkpoint.npz "16+75" "999+1"
    minis2s train --task dates --model attention --score general [--bidirectional]
    minis2s translate --checkpoint runs/dates-attention-general/checkpoint.npz --attention a.png "9/27/94"
    echo "16+75" | minis2s translate --checkpoint runs/addition-peeky/checkpoint.npz
    minis2s gradcheck                               # every backward pass against numerical gradients

A training run writes its folder (``--out``, default ``runs/<task>-<model>``)::

    checkpoint.npz   weights, vocabularies, optimiser and schedule state (see minis2s.checkpoint)
    history.json     the validation metrics after every epoch
    curves.png       loss and accuracy curves
    config.json      the exact command line and every resolved setting

Mistakes a user can make (a missing file, a bad value, a damaged checkpoint, an
unknown task) end the program with one line, ``minis2s: error: ...``, and a
non-zero exit status -- no traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from . import __version__
from .backend import BackendError, current, float_dtype, to_device, use
from .errors import InputError
from .memory import keep_freed_memory
from .gradcheck import standard_cases
from .init import INITS
from .grading.command import add_grade_parser
from .checkpoint import (MAX_EPOCHS, CheckpointError, atomic_write_bytes, check_same_config,
                         load_checkpoint, model_from_checkpoint)
from .data import (TASK_TOKENIZER, BatchIterator, Vocab, detect_format, detokenize, encode_pairs,
                   get_tokenizer, load_pairs, make_task, pad_batch, split)
from .data.tasks import TASKS
from .threads import DEFAULT_THREADS, blas_threads
from .teacher_forcing import parse_schedule
from .run_folder import LOCK_NAME, OWNER_NAME, claim_run_folder, remove_leftovers
from .trainer import Trainer, TrainingDiverged, evaluate
from .validate import (MAX_DECODE_LEN, MAX_LAYERS, MAX_SEED, MAX_SIZE, MAX_WIDTH, describe_range,
                       finite_float)

__all__ = ["main", "build_parser", "TRAIN_DEFAULTS", "FAST"]

# ---------------------------------------------------------------------------- settings
# What `minis2s train` does when given nothing. Measured on a 2-core CPU (NumPy, float32, one
# BLAS thread): 45,000 generated additions, 8 epochs of ~11 s each, under 2 minutes in all (2.5
# with two other CPU-bound processes running), validation exact match 93-95 % after epoch 5 and
# 99.5-99.9 % after epoch 8, once the learning rate has been halved a few times (Adam at a
# constant 0.01 hovers around 93-96 %). README.md states the same numbers.
TRAIN_DEFAULTS = dict(
    task="addition", data=None, model="peeky", reverse=True, layers=1, emb=16, hidden=128,
    dropout=0.0, epochs=8, batch_size=128, optimizer="adam", lr=None, lr_decay_start=5.0,
    lr_decay_every=None, clip=5.0, teacher_forcing=1.0, teacher_forcing_schedule=None, train_size=None, val_size=None,
    max_len=None, backend="numpy", dtype="float32", seed=0, out=None, init="uniform", swap=False,
    score="dot", bidirectional=False, input_feeding=False, attention_output="luong",
)
TASK_TRAIN_SIZE = 45000      # generated training pairs for a task (a data file: all of it)
VAL_SIZE = 2000              # validation pairs (a data file: at most 10 % of it)
DEFAULT_LR = {"adam": 0.01, "sgd": 0.7}    # sgd: the paper's 0.7 ...
DEFAULT_DECAY_EVERY = {"adam": 1.0, "sgd": 0.5}   # ... halved every half epoch after epoch 5
# --fast: a tiny setting for tests and notebooks (seconds, not minutes; accuracy is not the point).
FAST = dict(train_size=1000, val_size=100, emb=8, hidden=32, batch_size=64, epochs=2)
# A word-level corpus (a TSV file) gets its own defaults: a few thousand sentence pairs with
# vocabularies of thousands of rare words need bigger embeddings and state, dropout against
# overfitting, more epochs over the small set and a lower rate, halved from epoch 12. With the
# character-task defaults the Tatoeba run ended at BLEU 1.4, its validation loss rising from
# epoch 3; with these it reproduces docs/results.md's recipe (measured numbers there).
WORD_DEFAULTS = dict(emb=128, hidden=256, dropout=0.2, epochs=20, lr_decay_start=12.0, init="fan_in")
WORD_LR = {"adam": 0.005, "sgd": 0.7}
# Settings that may change when a run is resumed; every other one must match the checkpoint.
RESUMABLE_CHANGES = {"epochs", "backend", "out", "max_len"}
MAX_PAIRS = 10_000_000       # --train-size / --val-size
MAX_BEAM = 1000              # --beam
BACKENDS = ("numpy", "cupy")    # what MINIS2S_BACKEND may name for the command line, as --backend


def _backend_from_environment():
    """MINIS2S_BACKEND, as the API reads it (None when unset); --backend takes precedence."""
    value = os.environ.get("MINIS2S_BACKEND", "").strip().lower()
    if not value:
        return None
    if value not in BACKENDS:
        raise InputError(f"the environment variable MINIS2S_BACKEND is {value!r}: expected one "
                         f"of {list(BACKENDS)} (or pass --backend)")
    return value


def _error(message: str) -> None:
    """The one-line error every user mistake ends in."""
    print(f"minis2s: error: {' '.join(str(message).split())}", file=sys.stderr)


def _warn(message: str) -> None:
    print(f"minis2s: warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------- data
def _tokenizer_kind(config: dict) -> str:
    """Generated tasks and the book's files are read character by character; TSV corpora word by word."""
    if config.get("data"):
        return "word" if detect_format(config["data"]) == "tsv" else "char"
    if config["task"] not in TASKS:
        raise InputError(f"unknown task {config['task']!r}: expected one of {sorted(TASKS)}")
    return TASK_TOKENIZER[config["task"]]


def _split_pairs(config: dict) -> tuple[list, list]:
    """(train, validation) string pairs for a resolved train config. Fills in train_size and
    val_size when they were left to their defaults, so the split can be rebuilt exactly."""
    seed = config["seed"]
    if config.get("data"):
        pairs = load_pairs(config["data"])
        if config["val_size"] is None:
            config["val_size"] = min(VAL_SIZE, len(pairs) // 10)
        if config.get("swap"):   # train the other direction: target -> source
            pairs = [(t, s) for s, t in pairs]
        train, val, _ = split(pairs, config["val_size"], seed=seed)
        if config["train_size"] is not None:
            train = train[:config["train_size"]]
    else:
        _tokenizer_kind(config)   # checks the task name
        if config["train_size"] is None:
            config["train_size"] = TASK_TRAIN_SIZE
        if config["val_size"] is None:
            config["val_size"] = VAL_SIZE
        pairs = make_task(config["task"], config["train_size"] + config["val_size"], seed=seed)
        train, val, _ = split(pairs, config["val_size"], seed=seed)
    return train, val


def _data_name(config: dict) -> str:
    return Path(config["data"]).stem if config.get("data") else config["task"]


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
    if "backend" not in given and _backend_from_environment():
        given["backend"] = _backend_from_environment()     # as if --backend had been given
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
    return Path(config["out"] or f"runs/{_data_name(config)}{swapped}-{_model_name(config)}")


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
    _check_saved_settings(ckpt)
    check_same_config(ckpt, given, [k for k in given if k not in RESUMABLE_CHANGES])
    return {**TRAIN_DEFAULTS, **ckpt.train_config, **given, "out": str(out)}, ckpt


def _build_trainer(config: dict, ckpt, progress: bool, command: str):
    """Data, vocabularies, model, optimiser and Trainer for a resolved config (restored from ckpt)."""
    from .models import Seq2Seq
    from .optim import ConstantSchedule, StepSchedule, make_optimizer

    kind = _tokenizer_kind(config)
    train, val = _split_pairs(config)
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


def cmd_train(args, command: str) -> int:
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


# ---------------------------------------------------------------------------- eval
def _load_model(args):
    """The checkpoint and its model on the chosen backend, in evaluation mode."""
    ckpt = load_checkpoint(args.checkpoint)
    _check_saved_settings(ckpt)
    use(args.backend or _backend_from_environment() or "numpy")
    model = model_from_checkpoint(ckpt).eval()
    return ckpt, model


def _encode_warning_unknown(pairs, ckpt, own_split: bool = False) -> tuple:
    """Encode (source, target) pairs with the checkpoint's vocabularies, saying how many tokens
    are unknown to the model (read as <unk>), at what rate, and whether that is to be expected."""
    rates = []
    for side, vocab, kind in (("source", ckpt.src_vocab, ckpt.src_tokenizer),
                              ("target", ckpt.tgt_vocab, ckpt.tgt_tokenizer)):
        tokens = [t for pair in pairs for t in get_tokenizer(kind)(pair[side == "target"])]
        unknown = [t for t in tokens if t not in vocab]
        if unknown:
            word = "words" if kind == "word" else "characters"
            rates.append(f"{len(unknown):,} of {len(tokens):,} {side} {word} "
                         f"({100 * len(unknown) / len(tokens):.1f} %, e.g. "
                         f"{', '.join(repr(t) for t in vocab.unknown(unknown)[:5])})")
    if rates:
        what = " and ".join(rates) + " are not in the model's vocabularies and are read as <unk>"
        if own_split:   # expected: the vocabularies were built from the training split only
            print(f"minis2s: note: {what}. Expected on a held-out split: the vocabularies hold "
                  "only the training split's tokens, and in a small corpus many words occur "
                  "once. A reference <unk> counts as an error in every score.", file=sys.stderr)
        else:
            _warn(f"{what}; a high rate means this file differs from the training data (another "
                  "language, spelling or tokenization), and every such token counts as an error")
    return encode_pairs(pairs, ckpt.src_vocab, ckpt.tgt_vocab, ckpt.src_tokenizer, ckpt.tgt_tokenizer)


def cmd_eval(args, command: str) -> int:
    ckpt, model = _load_model(args)
    if args.data:
        pairs = load_pairs(args.data)
        where = f"{args.data} ({len(pairs)} pairs)"
    else:
        config = {**TRAIN_DEFAULTS, **ckpt.train_config}
        if not (config.get("data") or config.get("task")) or "seed" not in ckpt.train_config:
            raise ckpt.error("it does not record the data it was trained on; pass --data FILE")
        _, pairs = _split_pairs(config)
        if not pairs:
            raise ckpt.error("its run had no validation split; pass --data FILE")
        where = f"the validation split of {_data_name(config)} ({len(pairs)} pairs)"
    src_ids, tgt_ids = _encode_warning_unknown(pairs, ckpt, own_split=not args.data)
    max_len = args.max_len or ckpt.train_config.get("max_len") or max(len(t) for t in tgt_ids) - 1
    metrics, _ = evaluate(model, src_ids, tgt_ids, max_len, beam_size=args.beam,
                          batch_size=args.batch_size, tgt_vocab=ckpt.tgt_vocab,
                          bleu=ckpt.tgt_tokenizer == "word")
    search = "greedy" if args.beam == 1 else f"beam search, k = {args.beam}"
    print(f"checkpoint: {ckpt.path} (epoch {ckpt.epoch}, step {ckpt.step})")
    print(f"data: {where}; decoding: {search}, at most {max_len} tokens")
    print(f"loss            {metrics['loss']:.4f}")
    print(f"perplexity      {metrics['perplexity']:.3f}")
    print(f"token accuracy  {metrics['token_accuracy']:.2f} %")
    print(f"exact match     {metrics['exact_match']:.2f} %")
    if "bleu" in metrics:
        print(f"BLEU-4          {metrics['bleu']:.2f}")
    return 0


# ---------------------------------------------------------------------------- translate
def _shape(text: str) -> str:
    """A character string's form: digits as 9, letters as a (``"1000+1"`` -> ``"9999+9"``)."""
    return "".join("9" if c.isdigit() else "a" if c.isalpha() else c for c in text)


def _warn_unlike_training(texts, tokens, ckpt) -> None:
    """Warn about inputs unlike every training source: longer than any, or (character tasks)
    of a form none had -- a model answers those too, confidently and usually wrong."""
    config = {**TRAIN_DEFAULTS, **ckpt.train_config}
    if not (config.get("data") or config.get("task")) or "seed" not in ckpt.train_config:
        return                               # the checkpoint does not say what it was trained on
    try:
        train, _ = _split_pairs(config)
    except (InputError, OSError, ValueError):
        return                               # e.g. the data file has moved: nothing to compare
    tokenize = get_tokenizer(ckpt.src_tokenizer)
    longest = max(len(tokenize(s)) for s, _ in train)
    shapes = {_shape(s) for s, _ in train} if ckpt.src_tokenizer == "char" else None
    unit = "characters" if ckpt.src_tokenizer == "char" else "words"
    for n, (text, toks) in enumerate(zip(texts, tokens), start=1):
        why = []
        if len(toks) > longest:
            why.append(f"it is {len(toks)} {unit} long, the longest training source {longest}")
        if shapes is not None and toks and len(toks) <= longest and _shape(text) not in shapes:
            examples = ", ".join(repr(s) for s, _ in train[:3])
            why.append(f"no training source has its form {_shape(text)!r} (digits shown as 9, "
                       f"letters as a; training sources look like {examples})")
        if why:
            _warn(f"input {n} ({text!r}) is outside what the model was trained on: "
                  f"{'; '.join(why)}. Its answer is a guess.")


def cmd_translate(args, command: str) -> int:
    ckpt, model = _load_model(args)
    texts = args.text if args.text else [line.rstrip("\r\n") for line in sys.stdin]
    tokenize = get_tokenizer(ckpt.src_tokenizer)
    tokens = [tokenize(t) for t in texts]
    for n, toks in enumerate(tokens, start=1):
        unknown = ckpt.src_vocab.unknown(toks)
        if unknown:
            _warn(f"input {n} ({texts[n - 1]!r}): unknown to the model, read as <unk>: {unknown}")
    _warn_unlike_training(texts, tokens, ckpt)
    saved = ckpt.train_config.get("max_len") or 50
    batch = args.batch_size
    if args.attention and ckpt.model_config.get("decoder") != "attention":
        raise InputError(f"--attention: {args.checkpoint} holds a "
                         f"{ckpt.model_config.get('decoder')!r} model, which has no attention "
                         "weights to draw (train one with --model attention)")
    pictures = []                  # (input index, source tokens, output ids) to draw
    for i in range(0, len(tokens), batch):
        chunk = tokens[i:i + batch]
        real = [j for j, t in enumerate(chunk) if t]        # empty lines translate to empty lines
        outputs = [""] * len(chunk)
        if real:
            src = pad_batch([ckpt.src_vocab.encode(chunk[j]) for j in real])
            max_len = args.max_len or min(max(saved, 2 * src.shape[1]), MAX_DECODE_LEN)
            seqs, _ = model.generate(src, max_len=max_len, beam_size=args.beam)
            for j, seq in zip(real, seqs):
                outputs[j] = detokenize(ckpt.tgt_vocab.decode(seq), ckpt.tgt_tokenizer)
                if args.attention:
                    pictures.append((i + j, chunk[j], seq))
        for line in outputs:
            print(line, flush=True)
    for n, toks, seq in pictures:
        path = _attention_picture(args.attention, n, len(texts), model, ckpt, toks, seq)
        print(f"attention weights of input {n + 1} drawn in {path}", file=sys.stderr)
    return 0


def _attention_picture(path: str, n: int, count: int, model, ckpt, src_tokens, out_ids) -> Path:
    """Draw input n's attention heatmap into ``path`` (``path-<n+1>.png`` when there are several)."""
    from .attention_plot import attention_matrix, plot_attention
    path = Path(path)
    if count > 1:
        path = path.with_name(f"{path.stem}-{n + 1}{path.suffix or '.png'}")
    alpha = attention_matrix(model, ckpt.src_vocab.encode(src_tokens), out_ids)
    out_tokens = ckpt.tgt_vocab.decode(out_ids) + ["<eos>"]
    plot_attention(alpha, src_tokens, out_tokens, path).clf()
    return path


# ---------------------------------------------------------------------------- gradcheck
def cmd_gradcheck(args, command: str) -> int:
    saved = (current().name, float_dtype())
    use("numpy", dtype="float64")          # numerical gradients need float64
    try:
        print(f"{'':<11}{'check':<42}{'max rel. error':>14}  result")
        failures = 0
        cases = standard_cases()
        for group, name, run in cases:
            report = run()
            failures += not report.passed
            worst = ", ".join(report.failed)
            result = "ok" if report.passed else f"FAIL ({worst})"
            print(f"{group:<11}{name:<42}{report.max_error:>14.2e}  {result}", flush=True)
    finally:
        use(*saved)
    tol = report.tol
    if failures:
        print(f"{failures} of {len(cases)} checks FAILED (tolerance {tol:.0e})")
        return 1
    print(f"all {len(cases)} checks passed (tolerance {tol:.0e}; a correct backward pass "
          "scores around 1e-9 or below)")
    return 0


# ---------------------------------------------------------------------------- the parser
def _tf_schedule(text: str) -> str:
    try:
        return parse_schedule(text).spec
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).split(": ", 1)[1]) from None


# Each returns a function for argparse's type=. Its errors become
# "minis2s train: error: argument --lr: must be finite and > 0, got nan": the option is named.
# Written as "accept what is inside", so nan and inf (which compare false) are refused.
def _int_in(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be an integer {describe_range(low, high)}, got {value}")
        return value
    return parse


def _float_in(low=None, high=None, *, low_open=False, high_open=False):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        try:
            return finite_float("value", value, low, high, low_open=low_open, high_open=high_open)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e).replace("value must be", "must be", 1)) from None
    return parse


_positive_int = _int_in(1, MAX_SIZE)
_count = _int_in(0, MAX_SIZE)
_positive_float = _float_in(0.0, low_open=True)
_probability = _float_in(0.0, 1.0)                     # [0, 1]
_dropout = _float_in(0.0, 1.0, high_open=True)         # [0, 1): p = 1 would drop everything


def _epoch_or_off(text: str):
    if text.strip().lower() == "off":
        return "off"
    try:
        return _float_in(0.0)(text)
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{e} (an epoch >= 0, or 'off')") from None


def _check_saved_settings(ckpt) -> None:
    """The checkpoint's train_config, checked with the same rules as the options themselves:
    a resumed run (and eval's split) takes its sizes, rates and seed from there."""
    actions = {a.dest: a for a in _train_parser()._actions}
    for key, value in ckpt.train_config.items():
        if key not in TRAIN_DEFAULTS:
            raise ckpt.error(f"train_config holds an unknown setting {key!r}")
        action = actions.get(key)
        if value is None or action is None:
            continue
        option = action.option_strings[0]
        try:
            allowed = (*BACKENDS, "strict") if key == "backend" else action.choices   # strict: tests
            if allowed is not None and value not in allowed:
                raise argparse.ArgumentTypeError(f"must be one of {list(allowed)}")
            if action.type is None and action.choices is None and TRAIN_DEFAULTS.get(key) in (True, False):
                if not isinstance(value, bool):
                    raise argparse.ArgumentTypeError("must be true or false")
            elif action.type is not None:
                if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                    raise argparse.ArgumentTypeError("must be a number")
                action.type(str(value))
            elif not isinstance(value, str):
                raise argparse.ArgumentTypeError("must be a string")
        except argparse.ArgumentTypeError as e:
            raise ckpt.error(f"train_config.{key} ({option}) is {value!r}: {e}") from None


def _train_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def _add_threads_option(p) -> None:
    p.add_argument("--threads", type=_count, default=DEFAULT_THREADS, metavar="N",
                   help=f"BLAS threads for NumPy's matrix products (default {DEFAULT_THREADS}: "
                        "at minis2s's sizes more threads hardly help on an idle machine and slow "
                        "it down badly on a busy one -- see docs/benchmarks.md; 0: the BLAS "
                        "library's own setting, e.g. OPENBLAS_NUM_THREADS)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minis2s", description="Sequence-to-sequence learning (Sutskever et al. 2014) in NumPy/CuPy.")
    parser.add_argument("--version", action="version", version=f"minis2s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
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
    t.add_argument("--layers", type=_int_in(1, MAX_LAYERS), help=f"stacked LSTM layers (default {D['layers']})")
    def default(key):   # the task default, and the word-level corpus default where it differs
        word = f"; a TSV corpus: {WORD_DEFAULTS[key]:g}" if key in WORD_DEFAULTS else ""
        return f"(default {D[key]:g}{word})"

    t.add_argument("--emb", type=_int_in(1, MAX_WIDTH), help=f"embedding size {default('emb')}")
    t.add_argument("--hidden", type=_int_in(1, MAX_WIDTH), help=f"LSTM size {default('hidden')}")
    t.add_argument("--dropout", type=_dropout, help=f"dropout probability {default('dropout')}")
    t.add_argument("--epochs", type=_int_in(0, MAX_EPOCHS),
                   help=f"train until this many epochs in total {default('epochs')}")
    t.add_argument("--batch-size", type=_positive_int,
                   help=f"sentences per batch (default {D['batch_size']})")
    t.add_argument("--optimizer", choices=["adam", "sgd"], help=f"(default {D['optimizer']})")
    t.add_argument("--lr", type=_positive_float, help="learning rate (default: "
                   + ", ".join(f"{k} {v}" for k, v in DEFAULT_LR.items()) + f"; a TSV corpus "
                   f"with adam: {WORD_LR['adam']})")
    t.add_argument("--lr-decay-start", type=_epoch_or_off, metavar="EPOCH",
                   help=f"from this epoch on, halve the learning rate at the end of every "
                   f"--lr-decay-every epochs {default('lr_decay_start')[:-1]}; 'off': a constant rate)")
    t.add_argument("--lr-decay-every", type=_positive_float, metavar="EPOCHS",
                   help="epochs between halvings (default: " + ", ".join(
                       f"{k} {v:g}" for k, v in DEFAULT_DECAY_EVERY.items()) + ")")
    t.add_argument("--clip", type=_positive_float, help=f"gradient clipping by global norm (default {D['clip']})")
    t.add_argument("--teacher-forcing", type=_probability, metavar="RATIO",
                   help="probability of feeding the true previous token (default 1.0)")
    t.add_argument("--teacher-forcing-schedule", type=_tf_schedule, metavar="SPEC",
                   help="scheduled sampling: decay the teacher-forcing ratio with the steps, "
                        "linear|exponential|inverse-sigmoid[:name=value,...], e.g. "
                        "'linear:c=2e-4,min=0.5' (overrides --teacher-forcing; "
                        "see minis2s/teacher_forcing.py)")
    t.add_argument("--train-size", type=_int_in(1, MAX_PAIRS), metavar="N",
                   help=f"training pairs: generated for a task (default {TASK_TRAIN_SIZE}), a cap for --data")
    t.add_argument("--val-size", type=_int_in(0, MAX_PAIRS), metavar="N",
                   help=f"validation pairs (default {VAL_SIZE}; for --data at most 10 %% of the file)")
    t.add_argument("--max-len", type=_int_in(1, MAX_DECODE_LEN), metavar="N",
                   help="longest output decoded, in tokens (default: the longest training target + 1; "
                        f"at most {MAX_DECODE_LEN})")
    t.add_argument("--backend", choices=["numpy", "cupy"], help="numpy (CPU, default) or cupy (GPU)")
    t.add_argument("--dtype", choices=["float32", "float64"], help="default float32")
    t.add_argument("--seed", type=_int_in(0, MAX_SEED), help="seeds the data, the weights and the batch order (default 0)")
    t.add_argument("--out", metavar="DIR", help="the run folder (default runs/<task>-<model>)")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its checkpoint (other settings must match)")
    t.add_argument("--fast", action="store_true", help="a tiny setting that runs in seconds (for "
                   "trying the tool out; " + ", ".join(f"{k} {v}" for k, v in FAST.items()) + ")")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_threads_option(t)
    t.set_defaults(func=cmd_train)

    for name, help_text in (("eval", "measure a checkpoint on its validation split or a data file"),
                            ("translate", "decode TEXT arguments, or lines from stdin")):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--checkpoint", required=True, metavar="FILE", help="a checkpoint.npz")
        if name == "eval":
            p.add_argument("--data", metavar="PATH", help="evaluate on this file (default: the "
                           "validation split recorded in the checkpoint's settings)")
        p.add_argument("--beam", type=_int_in(1, MAX_BEAM), default=1, metavar="K",
                       help="beam size (default 1: greedy)")
        p.add_argument("--max-len", type=_int_in(1, MAX_DECODE_LEN), metavar="N",
                       help=f"longest output, in tokens (at most {MAX_DECODE_LEN})")
        p.add_argument("--batch-size", type=_positive_int, default=500, help="sentences decoded at once")
        p.add_argument("--backend", choices=["numpy", "cupy"],
                       help="numpy (CPU, default) or cupy (GPU); default: MINIS2S_BACKEND if set")
        _add_threads_option(p)
        if name == "translate":
            p.add_argument("--attention", metavar="FILE.png",
                           help="draw each translation's attention weights as a heatmap (an "
                                "attention model only; several inputs: FILE-1.png, FILE-2.png, ...)")
            p.add_argument("text", nargs="*", metavar="TEXT", help="sentences to translate")
        p.set_defaults(func=cmd_eval if name == "eval" else cmd_translate)

    g = sub.add_parser("gradcheck", help="check every backward pass against numerical gradients",
                       description="Gradient-check every functional op, layer and both models "
                                   "(float64, NumPy); exit status 0 only if all pass.")
    g.set_defaults(func=cmd_gradcheck)
    add_grade_parser(sub)       # minis2s/grading/command.py
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    command = shlex.join(["minis2s", *argv])
    try:
        keep_freed_memory()          # decoding and training allocate fresh arrays (memory.py)
        with blas_threads(getattr(args, "threads", DEFAULT_THREADS)):
            return args.func(args, command)
    except KeyboardInterrupt:
        print("minis2s: interrupted", file=sys.stderr)
        return 130
    except (InputError, TrainingDiverged, BackendError, OSError) as e:   # not bare ValueError:
        # a ValueError from inside the library (a shape check in a layer you changed)
        # is a programming error and keeps its traceback
        _error(str(e))
        return 1


if __name__ == "__main__":   # pragma: no cover
    sys.exit(main())
