"""What the commands share: the one-line messages, the data split a run's settings describe,
argparse's ``type=`` from a setting's rule, and the options and model of eval and translate."""
from __future__ import annotations

import argparse
import atexit
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from ...backend import use
from ...data import TASK_TOKENIZER, detect_format, load_pairs, make_task, split
from ...errors import InputError
from ...validate import MAX_DECODE_LEN, MAX_SIZE
from ..checkpoint import load_checkpoint, model_from_checkpoint
from ..sizes import check_fits, pairs_bytes
from ..config import TASK_TRAIN_SIZE, VAL_SIZE, Rule, TrainConfig
from ..threads import DEFAULT_THREADS

MAX_BEAM = 1000                 # --beam
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


# ---------------------------------------------------------------------------- options
def parse_with(rule: Rule):
    """argparse's ``type=`` for a setting: its errors become "minis2s train: error: argument
    --lr: must be a number > 0, got nan" (argparse names the option)."""
    def parse(text: str):
        try:
            return rule.parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return parse


def add_threads_option(p) -> None:
    p.add_argument("--threads", type=parse_with(Rule("int", 0, MAX_SIZE)), default=DEFAULT_THREADS,
                   metavar="N",
                   help=f"BLAS threads for NumPy's matrix products (default {DEFAULT_THREADS}: "
                        "at minis2s's sizes more threads hardly help on an idle machine and slow "
                        "it down badly on a busy one -- see docs/benchmarks.md; 0: the BLAS "
                        "library's own setting, e.g. OPENBLAS_NUM_THREADS)")


def add_decoding_options(p) -> None:
    """The options eval and translate share: which checkpoint, how to decode, where."""
    p.add_argument("--checkpoint", required=True, metavar="FILE", help="a checkpoint.npz")
    p.add_argument("--beam", type=parse_with(Rule("int", 1, MAX_BEAM)), default=1, metavar="K",
                   help="beam size (default 1: greedy)")
    p.add_argument("--max-len", type=parse_with(Rule("int", 1, MAX_DECODE_LEN)), metavar="N",
                   help=f"longest output, in tokens (at most {MAX_DECODE_LEN})")
    p.add_argument("--batch-size", type=parse_with(Rule("int", 1, MAX_SIZE)), default=500,
                   help="sentences decoded at once")
    p.add_argument("--backend", choices=BACKENDS,
                   help="numpy (CPU, default) or cupy (GPU); default: MINIS2S_BACKEND if set")
    add_threads_option(p)


def load_model(args):
    """The checkpoint (every field checked: :func:`~minis2s.app.checkpoint.load_checkpoint`)
    and its model on the chosen backend, in evaluation mode."""
    ckpt = load_checkpoint(args.checkpoint)
    use(args.backend or backend_from_environment() or "numpy")
    model = model_from_checkpoint(ckpt).eval()
    return ckpt, model


# ---------------------------------------------------------------------------- data
class _ReadOnce(os.PathLike):
    """A data file that cannot be read twice (a FIFO, /dev/stdin), read once into a private
    temporary file: the loaders read the copy (``os.fspath``), messages name the user's file."""

    def __init__(self, name: str, copy: str):
        self.name, self.copy = name, copy

    def __fspath__(self) -> str:
        return self.copy

    def __str__(self) -> str:
        return self.name


_READ: dict = {}            # (path, what stat says of it) -> (format, pairs): one read per file


def read_data(path: str) -> tuple[str, list]:
    """(format, pairs) of a data file, read once however often a command needs it.

    A regular file is read when first asked for (and again only if it changed); a FIFO or
    ``/dev/stdin`` (which can be read only once: the second read found it empty, or blocked
    forever) is copied once into a temporary file that lives until the command ends.
    """
    try:
        info = os.stat(path)
    except OSError:
        info = None
    regular = info is not None and stat.S_ISREG(info.st_mode)
    key = (path, info.st_ino, info.st_size, info.st_mtime_ns) if regular else (path,)
    if key not in _READ:
        source = path if regular or info is None else _read_once(path)
        fmt = detect_format(source)
        _READ[key] = (fmt, load_pairs(source, fmt))
    return _READ[key]


def _read_once(path: str) -> _ReadOnce:
    with open(path, "rb") as f:
        data = f.read()
    folder = tempfile.mkdtemp(prefix="minis2s-data-")
    atexit.register(shutil.rmtree, folder, True)
    copy = os.path.join(folder, "data")
    with open(copy, "wb") as f:
        f.write(data)
    return _ReadOnce(path, copy)


def forget_data() -> None:
    """Drop what was read (the start of each command: a file may have changed since)."""
    _READ.clear()


def tokenizer_kind(config: TrainConfig) -> str:
    """Generated tasks and the book's files are read character by character; TSV corpora word by word."""
    if config.data:
        return "word" if read_data(config.data)[0] == "tsv" else "char"
    if config.task is None:
        raise InputError("the settings name neither a --task nor --data")
    return TASK_TOKENIZER[config.task]


def split_pairs(config: TrainConfig) -> tuple[list, list]:
    """(train, validation) string pairs for a resolved train config. Fills in train_size and
    val_size when they were left to their defaults, so the split can be rebuilt exactly."""
    if config.data:
        pairs = read_data(config.data)[1]
        if config.val_size is None:
            config.val_size = min(VAL_SIZE, len(pairs) // 10)
        if config.swap:   # train the other direction: target -> source
            pairs = [(t, s) for s, t in pairs]
        train, val, _ = split(pairs, config.val_size, seed=config.seed)
        if config.train_size is not None:
            train = train[:config.train_size]
    else:
        tokenizer_kind(config)   # checks the task name
        if config.train_size is None:
            config.train_size = TASK_TRAIN_SIZE
        if config.val_size is None:
            config.val_size = VAL_SIZE
        n = config.train_size + config.val_size
        check_fits(f"generating {n:,} pairs of the {config.task} task", pairs_bytes(n),
                   "choose a smaller --train-size")
        pairs = make_task(config.task, n, seed=config.seed)
        train, val, _ = split(pairs, config.val_size, seed=config.seed)
    return train, val


def data_name(config: TrainConfig) -> str:
    return Path(config.data).stem if config.data else config.task


def saved_train_config(ckpt) -> TrainConfig | None:
    """The settings a checkpoint's run was trained with (checked when it was read), or None
    when it does not record the data (a checkpoint saved from Python without a config)."""
    saved = ckpt.train_config
    if not (saved.get("data") or saved.get("task")) or "seed" not in saved:
        return None
    return TrainConfig(**saved)
