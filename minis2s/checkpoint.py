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

Why not pickle: ``np.load(..., allow_pickle=False)`` can only ever produce
arrays, so opening a checkpoint from someone else cannot run their code. The
metadata is plain JSON for the same reason (and so ``unzip -p run.npz meta.npy``
shows it).

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
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .backend import backend_of, current, float_dtype
from .data.vocab import Vocab
from .models import Seq2Seq

__all__ = ["CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint",
           "model_from_checkpoint", "check_same_config", "atomic_write_bytes",
           "FORMAT", "VERSION"]

FORMAT = "minis2s.checkpoint"
VERSION = 1

_MODEL, _OPTIM, _META = "model/", "optim/", "meta"


class CheckpointError(ValueError):
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
    # The temporary file must live in the same directory: os.replace is only
    # atomic within one file system. The leading dot hides it from `ls`.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())          # the bytes are on the disk before the rename
        os.chmod(tmp, 0o644)              # mkstemp makes 0600; a run folder is meant to be shared
        os.replace(tmp, path)             # the atomic step
    except BaseException:                 # KeyboardInterrupt included: never leave the temp file
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)           # make the rename itself durable
    return path


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
    arrays = {_MODEL + k: v for k, v in model.state_dict().items()}
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
        "train_config": dict(train_config or {}),
        "command": command,
        "dtype": np.dtype(weights.dtype).name if weights is not None else "float32",
        "saved_on": (backend_of(weights) or current()).name,
    }
    # A 0-d unicode array: stored as plain .npy text, loadable without pickle.
    arrays[_META] = np.array(json.dumps(meta, default=_jsonable))
    return atomic_write_bytes(path, lambda f: np.savez(f, **arrays))


# ---------------------------------------------------------------------------- reading
_REQUIRED = ["model_config", "src_vocab", "tgt_vocab", "epoch", "step"]


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`; :class:`CheckpointError` if it cannot be used."""
    name = os.fspath(path)

    def fail(problem: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {name}: {problem}")

    p = Path(path)
    if not p.exists():
        raise fail("no such file")
    if p.is_dir():
        raise fail("is a directory, not a checkpoint file (did you mean "
                   f"{os.path.join(name, 'checkpoint.npz')}?)")
    if p.stat().st_size == 0:
        raise fail("the file is empty (0 bytes): a copy or save that never finished?")

    arrays = _read_arrays(p, fail)
    if _META not in arrays:
        shown = sorted(arrays)[:5]
        raise fail(f"not a minis2s checkpoint: a NumPy archive without a '{_META}' entry "
                   f"(it holds {shown}{' ...' if len(arrays) > 5 else ''})")
    meta_array = arrays.pop(_META)
    if meta_array.dtype.kind != "U" or meta_array.ndim != 0:
        raise fail("not a minis2s checkpoint: its 'meta' entry is not a JSON string")
    try:
        meta = json.loads(str(meta_array))
    except json.JSONDecodeError as e:
        raise fail(f"the metadata is not valid JSON ({e}); the file is damaged") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise fail(f"not a minis2s checkpoint (format {found!r}, expected {FORMAT!r})")
    if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise fail(f"format version {meta.get('version')!r} is newer than this minis2s reads "
                   f"(version {VERSION}); upgrade minis2s")
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        raise fail(f"the metadata lacks {missing}; the file is damaged or not from minis2s")

    try:
        src_vocab, tgt_vocab = Vocab.from_dict(meta["src_vocab"]), Vocab.from_dict(meta["tgt_vocab"])
    except ValueError as e:
        raise fail(f"bad vocabulary: {e}") from None

    model_state = {k[len(_MODEL):]: v for k, v in arrays.items() if k.startswith(_MODEL)}
    if not model_state:
        raise fail("holds no model weights")
    try:
        return _checkpoint_from(name, meta, arrays, model_state, src_vocab, tgt_vocab)
    except (TypeError, ValueError, AttributeError) as e:
        raise fail(f"the metadata is malformed ({e}); the file is damaged or not from minis2s") from None


def _checkpoint_from(name, meta, arrays, model_state, src_vocab, tgt_vocab) -> Checkpoint:
    if not isinstance(meta["model_config"], dict):
        raise TypeError("model_config is not a dict")
    optimizer = meta.get("optimizer")
    optimizer_state = None
    if optimizer is not None:
        optimizer_state = dict(optimizer.get("scalars", {}))
        optimizer_state.update({k[len(_OPTIM):]: v for k, v in arrays.items() if k.startswith(_OPTIM)})
    return Checkpoint(
        path=name, model_config=meta["model_config"], model_state=model_state,
        src_vocab=src_vocab, tgt_vocab=tgt_vocab,
        src_tokenizer=meta.get("src_tokenizer", "char"), tgt_tokenizer=meta.get("tgt_tokenizer", "char"),
        optimizer_name=None if optimizer is None else optimizer.get("name"),
        optimizer_state=optimizer_state, schedule_state=meta.get("schedule"),
        epoch=int(meta["epoch"]), step=int(meta["step"]), history=list(meta.get("history", [])),
        rng_state=meta.get("rng_state"), train_config=dict(meta.get("train_config") or {}),
        command=meta.get("command"), dtype=meta.get("dtype", "float32"),
        saved_on=meta.get("saved_on", "numpy"), version=meta["version"])


def _read_arrays(p: Path, fail) -> dict:
    """Every array in the archive, read now (so damage anywhere shows up here, not later)."""
    try:
        archive = np.load(p, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise fail("not a minis2s checkpoint: a single NumPy array (.npy), not an .npz archive")
        with archive:
            arrays = {k: archive[k] for k in archive.files}
    except CheckpointError:
        raise
    except zipfile.BadZipFile as e:
        raise fail(f"the file is damaged or truncated ({e}); an interrupted copy?") from None
    except EOFError:
        raise fail("the file is truncated (it ends too early); an interrupted copy?") from None
    except (OSError, ValueError, KeyError) as e:
        text = str(e)
        if "pickle" in text.lower():   # np.load's guess for bytes it does not recognise
            text = "not a NumPy .npz archive"
        raise fail(f"not a minis2s checkpoint ({text})") from None
    # NpzFile hands back raw bytes for a member that is not an .npy file.
    odd = sorted(k for k, v in arrays.items() if not isinstance(v, np.ndarray))
    if odd:
        raise fail(f"not a minis2s checkpoint: the zip holds entries that are not NumPy arrays ({odd[:5]})")
    return arrays


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
    try:
        model.load_state_dict(ckpt.model_state)
    except ValueError as e:
        raise ckpt.error(f"the weights do not fit the model config: {e}") from None
    model.step_count = ckpt.step
    return model


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
