"""What the commands share: the one-line messages, the settings tables, the data split,
option parsers for argparse's ``type=``, and loading a checkpoint's model."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ...backend import use
from ...data import TASK_TOKENIZER, detect_format, load_pairs, make_task, split
from ...data.tasks import TASKS
from ...errors import InputError
from ...teacher_forcing import parse_schedule
from ...validate import MAX_DECODE_LEN, MAX_SIZE, describe_range, finite_float
from ..checkpoint import load_checkpoint, model_from_checkpoint
from ..threads import DEFAULT_THREADS


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


def backend_from_environment():
    """MINIS2S_BACKEND, as the API reads it (None when unset); --backend takes precedence."""
    value = os.environ.get("MINIS2S_BACKEND", "").strip().lower()
    if not value:
        return None
    if value not in BACKENDS:
        raise InputError(f"the environment variable MINIS2S_BACKEND is {value!r}: expected one "
                         f"of {list(BACKENDS)} (or pass --backend)")
    return value


def error(message: str) -> None:
    """The one-line error every user mistake ends in."""
    print(f"minis2s: error: {' '.join(str(message).split())}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"minis2s: warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------- data
def tokenizer_kind(config: dict) -> str:
    """Generated tasks and the book's files are read character by character; TSV corpora word by word."""
    if config.get("data"):
        return "word" if detect_format(config["data"]) == "tsv" else "char"
    if config["task"] not in TASKS:
        raise InputError(f"unknown task {config['task']!r}: expected one of {sorted(TASKS)}")
    return TASK_TOKENIZER[config["task"]]


def split_pairs(config: dict) -> tuple[list, list]:
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
        tokenizer_kind(config)   # checks the task name
        if config["train_size"] is None:
            config["train_size"] = TASK_TRAIN_SIZE
        if config["val_size"] is None:
            config["val_size"] = VAL_SIZE
        pairs = make_task(config["task"], config["train_size"] + config["val_size"], seed=seed)
        train, val, _ = split(pairs, config["val_size"], seed=seed)
    return train, val


def data_name(config: dict) -> str:
    return Path(config["data"]).stem if config.get("data") else config["task"]

def tf_schedule(text: str) -> str:
    try:
        return parse_schedule(text).spec
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).split(": ", 1)[1]) from None


# Each returns a function for argparse's type=. Its errors become
# "minis2s train: error: argument --lr: must be finite and > 0, got nan": the option is named.
# Written as "accept what is inside", so nan and inf (which compare false) are refused.
def int_in(low: int, high: int):
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


def float_in(low=None, high=None, *, low_open=False, high_open=False):
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


positive_int = int_in(1, MAX_SIZE)
count = int_in(0, MAX_SIZE)
positive_float = float_in(0.0, low_open=True)
probability = float_in(0.0, 1.0)                     # [0, 1]
dropout_probability = float_in(0.0, 1.0, high_open=True)         # [0, 1): p = 1 would drop everything


def epoch_or_off(text: str):
    if text.strip().lower() == "off":
        return "off"
    try:
        return float_in(0.0)(text)
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{e} (an epoch >= 0, or 'off')") from None


def check_saved_settings(ckpt) -> None:
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
    from . import build_parser          # (at call time: the parser imports this module)
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def add_threads_option(p) -> None:
    p.add_argument("--threads", type=count, default=DEFAULT_THREADS, metavar="N",
                   help=f"BLAS threads for NumPy's matrix products (default {DEFAULT_THREADS}: "
                        "at minis2s's sizes more threads hardly help on an idle machine and slow "
                        "it down badly on a busy one -- see docs/benchmarks.md; 0: the BLAS "
                        "library's own setting, e.g. OPENBLAS_NUM_THREADS)")


def load_model(args):
    """The checkpoint and its model on the chosen backend, in evaluation mode."""
    ckpt = load_checkpoint(args.checkpoint)
    check_saved_settings(ckpt)
    use(args.backend or backend_from_environment() or "numpy")
    model = model_from_checkpoint(ckpt).eval()
    return ckpt, model


def add_decoding_options(p) -> None:
    """The options eval and translate share: which checkpoint, how to decode, where."""
    p.add_argument("--checkpoint", required=True, metavar="FILE", help="a checkpoint.npz")
    p.add_argument("--beam", type=int_in(1, MAX_BEAM), default=1, metavar="K",
                   help="beam size (default 1: greedy)")
    p.add_argument("--max-len", type=int_in(1, MAX_DECODE_LEN), metavar="N",
                   help=f"longest output, in tokens (at most {MAX_DECODE_LEN})")
    p.add_argument("--batch-size", type=positive_int, default=500, help="sentences decoded at once")
    p.add_argument("--backend", choices=["numpy", "cupy"],
                   help="numpy (CPU, default) or cupy (GPU); default: MINIS2S_BACKEND if set")
    add_threads_option(p)
