"""Checkpoints: everything needed to use a trained model or resume its training, in one file.

A checkpoint is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays) laid out as::

    model/<name>    the weights, host NumPy arrays, one per ``model.params`` entry
                    (``model/encoder.lstm.0.Wx``, ...; gate order i, f, g, o)
    optim/<key>     the optimiser's buffers (Adam's ``m.<name>`` and ``v.<name>``,
                    SGD's ``velocity.<name>``)
    meta            one JSON string holding everything that is not an array:

        format, version        "minis2s.checkpoint", 1 -- what this file is
        model_config           Seq2Seq(**model_config) rebuilds the architecture
        src_vocab, tgt_vocab   Vocab.to_dict() of each side
        src_tokenizer, ...     "char" or "word"
        optimizer              {"name": "adam", "scalars": {"t": ..., "lr": ...}}
        schedule               the schedule's state_dict(), or null
        epoch, step            epochs completed; model.step_count (seeds the per-step draws)
        history                one dict of metrics per epoch
        rng_state              the trainer's NumPy generator state (which samples it shows)
        train_config, command  the resolved training settings and the command line (a string)
        dtype, saved_on        the weights' dtype and the backend they were trained on

Why not pickle: a pickled file can run its author's code when opened. The
arrays are read by :mod:`minis2s.app.safe_npz`, which refuses object arrays outright
(and checks every ``.npy`` header against the bytes really in the file before
allocating anything); the metadata is plain JSON for the same reason (and so
``unzip -p run.npz meta.npy`` shows it).

Why the write is *atomic*: a run is saved at the end of every epoch, often
over the previous epoch's file. Writing in place and being interrupted (Ctrl-C,
a full disk, a killed job) would leave half a file and lose both. So the new
checkpoint goes to a temporary file in the same directory, is flushed to the
disk (``fsync``), and only then renamed over the old one with ``os.replace``,
which is atomic: whoever reads the path sees either the old file or the new
one, never a mixture.

Every way a file can be wrong -- missing, empty, truncated, corrupt, some other
``.npz``, a text file, a newer format -- raises :class:`CheckpointError` with
the file's name and what is wrong, never a bare ``zipfile`` or NumPy error.
So does every *field* that is wrong, checked before it is used: unknown or
missing metadata keys, dtypes other than float32/float64, nan or inf weights,
vocabularies whose sizes disagree with the model config, a config describing
more weights than the file holds, counters and sizes out of bounds, optimiser
scalars and buffers, schedule, history and RNG state that do not fit. The
message names the field (``model_config.hidden``, ``optimizer.lr``, an entry
such as ``'optim/m.decoder.fc.W'``). docs/reliability.md lists the cases.

The writer refuses, too: :func:`save_checkpoint` will not write weights holding
nan or inf, so a diverged run can never replace a good checkpoint.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..backend import backend_of, current, float_dtype
from ..data.vocab import Vocab
from ..errors import InputError
from ..models import Seq2Seq
from .safe_npz import NpzError, read_npz
from ..validate import bounded_int, finite_float
from .config import MAX_EPOCHS, check_model_config, check_train_config

__all__ = ["CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint",
           "model_from_checkpoint", "load_weights", "check_same_config", "atomic_write_bytes",
           "FORMAT", "VERSION"]

FORMAT = "minis2s.checkpoint"
VERSION = 1

_MODEL, _OPTIM, _META = "model/", "optim/", "meta"


class CheckpointError(InputError):
    """A checkpoint file cannot be used; the message names the file and the problem."""


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns: the contents of one checkpoint file.

    ``model_state`` maps parameter names to host arrays (``model.state_dict()``);
    ``optimizer_state`` is the optimiser's ``state_dict()`` (scalars and host
    arrays together) or None; the rest is described in the module docstring.
    """
    path: str
    model_config: dict
    model_state: dict
    src_vocab: Vocab
    tgt_vocab: Vocab
    src_tokenizer: str = "char"
    tgt_tokenizer: str = "char"
    optimizer_name: str | None = None
    optimizer_state: dict | None = None
    schedule_state: dict | None = None
    epoch: int = 0
    step: int = 0
    history: list = field(default_factory=list)
    rng_state: dict | None = None
    train_config: dict = field(default_factory=dict)
    command: str | None = None
    dtype: str = "float32"
    saved_on: str = "numpy"
    version: int = VERSION

    def error(self, problem: str) -> CheckpointError:
        """A :class:`CheckpointError` about this file: ``"<path>: <problem>"``."""
        return CheckpointError(f"checkpoint {self.path}: {problem}")


# ---------------------------------------------------------------------------- writing
def atomic_write_bytes(path, write) -> Path:
    """Create or replace ``path`` atomically: ``write(f)`` fills a temporary file, which is
    fsynced and then renamed over ``path``.

    If ``write`` (or anything before the rename) fails, the temporary file is
    removed and ``path`` is left exactly as it was. Returns ``path``.
    """
    path = Path(path)
    directory = path.parent
    try:
        # The temporary file must live in the same directory: os.replace is only
        # atomic within one file system. The leading dot hides it from `ls`; a
        # writer killed before the rename leaves it behind, and the next writer
        # of the run folder removes it (minis2s.app.run_folder).
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise _naming(e, path) from e
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())          # the bytes are on the disk before the rename
        os.chmod(tmp, 0o644)              # mkstemp makes 0600; a run folder is meant to be shared
        os.replace(tmp, path)             # the atomic step
    except BaseException as e:            # KeyboardInterrupt included: never leave the temp file
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):        # a full disk, a read-only folder: say which file
            raise _naming(e, path) from e
        raise
    _fsync_directory(directory)           # make the rename itself durable
    return path


def _naming(error: OSError, path: Path) -> OSError:
    """The same kind of OSError, its message naming the file being written (errno kept)."""
    reason = error.strerror or str(error)
    return type(error)(error.errno, f"cannot write {path}: {reason} (the previous "
                                    f"{path.name}, if any, is unchanged)")


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:                       # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _jsonable(value):
    """NumPy scalars and arrays -> Python values, for json.dumps."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint's metadata")


def save_checkpoint(path, model, src_vocab: Vocab, tgt_vocab: Vocab, *,
                    src_tokenizer: str = "char", tgt_tokenizer: str = "char",
                    optimizer=None, schedule=None, epoch: int = 0, history=(),
                    rng_state: dict | None = None, train_config: dict | None = None,
                    command: str | None = None) -> Path:
    """Write one checkpoint file (atomically; see the module docstring). Returns the path.

    ``model`` is a Seq2Seq (its ``config``, ``state_dict()`` and ``step_count``
    are saved); ``optimizer`` and ``schedule`` anything with ``state_dict()``.
    """
    # A checkpoint that load_checkpoint would refuse must never replace a good one: the
    # configs are checked by the rules the loader uses, the weights for nan and inf.
    train_config = check_train_config(dict(train_config or {}), where="train_config.")
    check_model_config(model.config)
    arrays = {_MODEL + k: v for k, v in model.state_dict().items()}
    bad = sorted(k for k, v in arrays.items() if not np.isfinite(v).all())
    if bad:
        raise ValueError(f"refusing to save {path}: the weights {bad[:3]} hold nan or inf "
                         "(the training diverged); the previous checkpoint is unchanged")
    optimizer_meta = None
    if optimizer is not None:
        scalars = {}
        for key, value in optimizer.state_dict().items():
            if isinstance(value, np.ndarray):
                arrays[_OPTIM + key] = value
            else:
                scalars[key] = value
        optimizer_meta = {"name": type(optimizer).__name__.lower(), "scalars": scalars}
    weights = next(iter(model.params.values()), None)
    meta = {
        "format": FORMAT, "version": VERSION,
        "model_config": model.config,
        "src_vocab": src_vocab.to_dict(), "tgt_vocab": tgt_vocab.to_dict(),
        "src_tokenizer": src_tokenizer, "tgt_tokenizer": tgt_tokenizer,
        "optimizer": optimizer_meta,
        "schedule": None if schedule is None else schedule.state_dict(),
        "epoch": int(epoch), "step": int(model.step_count),
        "history": list(history),
        "rng_state": rng_state,
        "train_config": train_config,
        "command": command,
        "dtype": np.dtype(weights.dtype).name if weights is not None else "float32",
        "saved_on": (backend_of(weights) or current()).name,
    }
    # A 0-d unicode array: stored as plain .npy text, loadable without pickle.
    arrays[_META] = np.array(json.dumps(meta, default=_jsonable))
    return atomic_write_bytes(path, lambda f: np.savez(f, **arrays))


# ---------------------------------------------------------------------------- reading
# Every key save_checkpoint writes; a file with fewer or more is not one of ours.
_META_KEYS = {"format", "version", "model_config", "src_vocab", "tgt_vocab", "src_tokenizer",
              "tgt_tokenizer", "optimizer", "schedule", "epoch", "step", "history", "rng_state",
              "train_config", "command", "dtype", "saved_on"}
_FLOATS = ("float32", "float64")
MAX_STEP = 1 << 53              # (a float64 still counts every step exactly)
# The scalars each optimiser saves, with the range each must lie in (see minis2s.optim).
_OPTIMIZER_SCALARS = {
    "adam": {"t": "step", "lr": (0.0, None), "beta1": (0.0, 1.0), "beta2": (0.0, 1.0),
             "eps": (0.0, None)},
    "sgd": {"lr": (0.0, None), "momentum": (0.0, 1.0)},
}
_OPTIMIZER_BUFFERS = {"adam": ("m", "v"), "sgd": ("velocity",)}
_SCHEDULE_KEYS = [{"base_lr", "last_epoch"},                                  # ConstantSchedule
                  {"base_lr", "last_epoch", "start_epoch", "every", "factor"}]  # StepSchedule


def load_checkpoint(path) -> Checkpoint:
    """Read and check a checkpoint written by :func:`save_checkpoint`.

    Every field is checked before it is used -- types, dtypes (float32 or
    float64), shapes, finiteness, ranges of counters and sizes, agreement
    between the vocabularies, the model config and the stored weights -- and
    any problem raises :class:`CheckpointError` naming the file and the field.
    Nothing is unpickled, and no array larger than the file is ever allocated
    (see :mod:`minis2s.app.safe_npz`).
    """
    name = os.fspath(path)

    def fail(problem: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {name}: {problem}")

    p = Path(path)
    if not p.exists():
        raise fail("no such file")
    if p.is_dir():
        raise fail("is a directory, not a checkpoint file (did you mean "
                   f"{os.path.join(name, 'checkpoint.npz')}?)")
    size = p.stat().st_size
    if size == 0:
        raise fail("the file is empty (0 bytes): a copy or save that never finished?")
    with open(p, "rb") as f:
        magic = f.read(6)
    if magic == b"\x93NUMPY":
        raise fail("not a minis2s checkpoint: a single NumPy array (.npy), not an .npz archive")
    if not magic.startswith(b"PK"):
        raise fail("not a minis2s checkpoint (not a NumPy .npz archive)")

    def check_keys(keys):
        if _META not in keys:
            shown = sorted(keys)[:5]
            raise fail(f"not a minis2s checkpoint: a NumPy archive without a '{_META}' entry "
                       f"(it holds {shown}{' ...' if len(keys) > 5 else ''})")
        odd = [k for k in keys if k != _META and not (
            k.startswith((_MODEL, _OPTIM)) and k not in (_MODEL, _OPTIM))]
        if odd:
            raise fail(f"unexpected entries {sorted(odd)[:5]} (a minis2s checkpoint holds only "
                       f"'{_META}', '{_MODEL}<name>' and '{_OPTIM}<name>')")
    try:
        arrays = read_npz(p, _allowed_entry, check_keys)
    except NpzError as e:
        raise fail(str(e)) from None
    try:
        meta = json.loads(str(arrays.pop(_META)))
    except (json.JSONDecodeError, RecursionError, ValueError) as e:
        raise fail(f"the metadata is not valid JSON ({str(e)[:100]}); the file is damaged") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise fail(f"not a minis2s checkpoint (format {found!r}, expected {FORMAT!r})")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail(f"meta.version must be a positive integer, got {version!r}")
    if version > VERSION:
        raise fail(f"format version {version!r} is newer than this minis2s reads "
                   f"(version {VERSION}); upgrade minis2s")
    missing, unknown = sorted(_META_KEYS - set(meta)), sorted(set(meta) - _META_KEYS)
    if missing:
        raise fail(f"the metadata lacks {missing}; the file is damaged or not from minis2s")
    if unknown:
        raise fail(f"the metadata has unknown keys {unknown[:10]}; the file was altered or "
                   "written by another program")
    try:
        return _checkpoint_from(name, meta, arrays)
    except (TypeError, ValueError) as e:     # from the checks: the message names the field
        raise fail(" ".join(str(e).split())) from None


def _allowed_entry(key: str, dtype, shape) -> str | None:
    """Called by read_npz with each entry's header, before its data is read."""
    if key == _META:
        if dtype.kind != "U" or shape != ():
            return "the metadata must be one JSON string (a 0-d unicode array)"
        return None
    if dtype.name not in _FLOATS:
        return f"dtype {dtype} is not allowed (weights are float32 or float64)"
    if len(shape) not in (1, 2):
        return f"shape {shape} is not allowed (weights are vectors or matrices)"
    return None


def _checkpoint_from(name, meta, arrays) -> Checkpoint:
    """Check every metadata field and array against each other; ValueError/TypeError naming the field."""
    dtype = meta["dtype"]
    if dtype not in _FLOATS:
        raise ValueError(f"meta.dtype must be one of {list(_FLOATS)}, got {dtype!r}")
    for key, a in arrays.items():
        if a.dtype != np.dtype(dtype):
            raise ValueError(f"entry {key!r} is {a.dtype} but meta.dtype says {dtype}")
        if not np.isfinite(a).all():
            raise ValueError(f"entry {key!r} holds nan or inf values: the run had diverged "
                             "when this was saved, or the file was altered")
    model_state = {k[len(_MODEL):]: v for k, v in arrays.items() if k.startswith(_MODEL)}
    if not model_state:
        raise ValueError("holds no model weights")

    vocabs = {}
    for side in ("src_vocab", "tgt_vocab"):
        try:
            vocabs[side] = Vocab.from_dict(meta[side])
        except (TypeError, ValueError) as e:
            raise ValueError(f"bad vocabulary meta.{side}: {e}") from None
    for side in ("src_tokenizer", "tgt_tokenizer"):
        if meta[side] not in ("char", "word"):
            raise ValueError(f"meta.{side} must be 'char' or 'word', got {meta[side]!r}")
    config = _check_model_config(meta["model_config"], vocabs, model_state)

    optimizer_name, optimizer_state = _check_optimizer(meta["optimizer"], arrays, model_state)
    schedule = _check_schedule(meta["schedule"])
    epoch = bounded_int("meta.epoch", meta["epoch"], 0, MAX_EPOCHS)
    step = bounded_int("meta.step", meta["step"], 0, MAX_STEP)
    history = _check_history(meta["history"])
    rng_state = _check_rng_state(meta["rng_state"])
    train_config = check_train_config(meta["train_config"], where="train_config.")
    for field_name in ("command", "saved_on"):
        if meta[field_name] is not None and not isinstance(meta[field_name], str):
            raise ValueError(f"meta.{field_name} must be a string, got {meta[field_name]!r}")
    return Checkpoint(
        path=name, model_config=config, model_state=model_state,
        src_vocab=vocabs["src_vocab"], tgt_vocab=vocabs["tgt_vocab"],
        src_tokenizer=meta["src_tokenizer"], tgt_tokenizer=meta["tgt_tokenizer"],
        optimizer_name=optimizer_name, optimizer_state=optimizer_state, schedule_state=schedule,
        epoch=epoch, step=step, history=history, rng_state=rng_state,
        train_config=dict(train_config), command=meta["command"], dtype=dtype,
        saved_on=meta["saved_on"] or "numpy", version=meta["version"])


def _check_model_config(config, vocabs, model_state) -> dict:
    """Types and ranges of Seq2Seq's arguments (:class:`~minis2s.app.config.ModelConfig`), and
    their agreement with the vocabularies and with the amount of weights in the file -- before
    any model is built."""
    config = check_model_config(config)
    # A checkpoint saved before the GRU existed has no cell: it holds an LSTM, and says so from
    # here on, so that resuming it compares equal with the model rebuilt today.
    config = {"cell": "lstm", **config}
    for side in ("src_vocab", "tgt_vocab"):
        if config[side] != len(vocabs[side]):
            raise ValueError(f"model_config.{side} is {config[side]} but the stored vocabulary "
                             f"meta.{side} holds {len(vocabs[side])} tokens: the file is inconsistent")
    # Every encoder-decoder here holds at least its two embeddings, its output layer and the
    # recurrent weights Wh (H, 4H) of each LSTM layer on both sides -- (H, 3H) for a GRU. A
    # config asking for more than the file holds is refused before Seq2Seq allocates it; the
    # exact shapes are then checked against the model built (model_from_checkpoint, Trainer.restore).
    E, H, L = config["emb"], config["hidden"], config["n_layers"]
    gates = 3 if config["cell"] == "gru" else 4
    # (a bidirectional encoder's two directions of H/2 units hold half of one H-wide layer's Wh)
    enc_wh = gates * H * H // 2 if config.get("bidirectional") else gates * H * H
    at_least = (config["src_vocab"] + config["tgt_vocab"]) * E + H * config["tgt_vocab"] + L * (gates * H * H + enc_wh)
    held = sum(a.size for a in model_state.values())
    if at_least > held:
        raise ValueError(f"meta.model_config describes a model of at least {at_least:,} weights "
                         f"but the file holds {held:,}: the config or the weights were altered")
    return dict(config)


def _check_optimizer(optimizer, arrays, model_state):
    """(name, state_dict) of the saved optimiser, or (None, None); buffers must match the weights."""
    buffers = {k[len(_OPTIM):]: v for k, v in arrays.items() if k.startswith(_OPTIM)}
    if optimizer is None:
        if buffers:
            raise ValueError(f"holds optimiser buffers {sorted(buffers)[:3]} but meta.optimizer is null")
        return None, None
    if not isinstance(optimizer, dict) or set(optimizer) != {"name", "scalars"}:
        raise ValueError("meta.optimizer must be a dict with exactly 'name' and 'scalars'")
    name, scalars = optimizer["name"], optimizer["scalars"]
    if name not in _OPTIMIZER_SCALARS:
        raise ValueError(f"meta.optimizer.name must be one of {sorted(_OPTIMIZER_SCALARS)}, got {name!r}")
    expected = _OPTIMIZER_SCALARS[name]
    if not isinstance(scalars, dict) or set(scalars) != set(expected):
        got = sorted(scalars) if isinstance(scalars, dict) else scalars
        raise ValueError(f"meta.optimizer.scalars must hold exactly {sorted(expected)}, got {got!r}")
    state = {}
    for key, rule in expected.items():
        field_name = f"optimizer.{key}"
        if rule == "step":
            state[key] = bounded_int(field_name, scalars[key], 0, MAX_STEP)
        else:
            low, high = rule
            state[key] = finite_float(field_name, scalars[key], low, high, high_open=high is not None)
    prefixes = _OPTIMIZER_BUFFERS[name]
    if name == "sgd" and state["momentum"] == 0.0:
        prefixes = ()                                  # plain SGD keeps no buffers
    wanted = {f"{b}.{p}" for b in prefixes for p in model_state}
    if set(buffers) != wanted:
        extra, lacking = sorted(set(buffers) - wanted), sorted(wanted - set(buffers))
        raise ValueError(f"the {name} optimiser's buffers do not match the weights "
                         f"(unexpected {extra[:3]}, missing {lacking[:3]})")
    for key, b in buffers.items():
        weight = key.split(".", 1)[1]
        if b.shape != model_state[weight].shape:
            raise ValueError(f"entry 'optim/{key}' has shape {b.shape} but the weight "
                             f"'model/{weight}' has shape {model_state[weight].shape}")
        state[key] = b
    return name, state


def _check_schedule(schedule):
    if schedule is None:
        return None
    if not isinstance(schedule, dict) or set(schedule) not in _SCHEDULE_KEYS:
        raise ValueError(f"meta.schedule must hold one of {[sorted(k) for k in _SCHEDULE_KEYS]}")
    out = {"base_lr": finite_float("schedule.base_lr", schedule["base_lr"], 0.0)}
    last = schedule["last_epoch"]
    out["last_epoch"] = None if last is None else finite_float("schedule.last_epoch", last, 0.0)
    if "every" in schedule:
        out["start_epoch"] = finite_float("schedule.start_epoch", schedule["start_epoch"], 0.0)
        out["every"] = finite_float("schedule.every", schedule["every"], 0.0, low_open=True)
        out["factor"] = finite_float("schedule.factor", schedule["factor"], 0.0, 1.0, low_open=True)
    return out


def _check_history(history) -> list:
    """A list of flat per-epoch records: {str: number, string, bool or null}."""
    if not isinstance(history, list) or len(history) > MAX_EPOCHS:
        raise ValueError("meta.history must be a list of per-epoch records")
    for i, record in enumerate(history):
        if not isinstance(record, dict) or not all(
                isinstance(k, str) and (v is None or isinstance(v, (bool, int, float, str)))
                for k, v in record.items()):
            raise ValueError(f"meta.history[{i}] must be a dict of numbers (a per-epoch record)")
        if "epoch" in record:
            bounded_int(f"history[{i}].epoch", record["epoch"], 1, MAX_EPOCHS)
    return [dict(r) for r in history]


def _check_rng_state(state):
    """The trainer's generator state, tried on a fresh PCG64 (which checks it) before use."""
    if state is None:
        return None
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError("meta.rng_state must be the state of a NumPy PCG64 generator")
    try:
        np.random.PCG64().state = state
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise ValueError(f"meta.rng_state is malformed ({e})") from None
    return state


# ---------------------------------------------------------------------------- using
def model_from_checkpoint(ckpt: Checkpoint, dtype=None):
    """A Seq2Seq with the checkpoint's architecture and weights, on the *current* backend.

    Where the checkpoint was trained (CPU or GPU) does not matter: the weights
    are host arrays and move to whatever :func:`minis2s.use` selected.
    ``dtype`` defaults to the dtype the weights were saved in. The model is
    in training mode with its ``step_count`` restored (call ``.eval()`` to decode).
    """
    dtype = np.dtype(dtype or ckpt.dtype)
    try:
        model = Seq2Seq(**ckpt.model_config)
    except (TypeError, ValueError) as e:
        raise ckpt.error(f"cannot rebuild the model from its config: {e}") from None
    if dtype != np.dtype(float_dtype()):
        model.to(current(), dtype=dtype)
    load_weights(model, ckpt)
    return model


def load_weights(model, ckpt: Checkpoint) -> None:
    """The checkpoint's weights and step count into ``model`` (every command's one way in):
    a weight of the wrong shape or name is a :class:`CheckpointError` naming it."""
    try:
        model.load_state_dict(ckpt.model_state)
    except (KeyError, ValueError) as e:
        raise ckpt.error(f"the weights do not fit the model config: {e}") from None
    model.step_count = ckpt.step


def check_same_config(ckpt: Checkpoint, config: dict, keys) -> None:
    """Raise :class:`CheckpointError` listing every key in ``keys`` whose value in ``config``
    differs from the checkpoint's ``train_config`` (e.g. ``--hidden`` changed on resume).

    Keys are reported as command-line options: ``batch_size`` -> ``--batch-size``.
    """
    saved = ckpt.train_config
    diffs = []
    for key in keys:
        if key in config and key in saved and not _same(config[key], saved[key]):
            diffs.append(f"--{key.replace('_', '-')} is {config[key]!r} but the checkpoint "
                         f"was trained with {saved[key]!r}")
    if diffs:
        raise ckpt.error("cannot resume with different settings: " + "; ".join(diffs))


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
        except (TypeError, ValueError):
            return False
    return a == b
