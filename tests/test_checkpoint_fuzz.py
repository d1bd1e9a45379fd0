"""A seeded property-based fuzzer for the checkpoint loader (issue 21).

A real checkpoint (trained two steps, Adam state, schedule, history, generator state, a full
train_config) is mutated -- its metadata (wrong types, out-of-range numbers, nan and inf,
missing and extra keys), its arrays (dtypes, shapes, nan/inf, missing and extra entries) and
its zip directory (entries claiming more bytes than the file has) -- and loaded as every
command loads it: ``load_checkpoint`` then ``model_from_checkpoint``. The only outcomes
allowed: a :class:`CheckpointError` (one line, naming the file), or a model whose loss on a
fixed batch equals the original's. Any other exception, or a different model, fails.

Mutations that make a *valid* checkpoint of another model (a finite weight changed, reverse
flipped from true to false) are not generated: no loader can tell them from the real thing.
Hypothesis is seeded (``derandomize``), so the suite runs the same examples every time.
"""
import io
import json
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import minis2s
from minis2s.app.checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint, save_checkpoint
from minis2s.app.config import MODEL_FIELDS, ConfigError, TrainConfig, resolve
from minis2s.data import Vocab
from minis2s.models import Seq2Seq
from minis2s.optim import Adam, StepSchedule

SRC = np.array([[4, 5, 6, 7], [5, 6, 4, 0]])
TGT = np.array([[1, 4, 5, 2], [1, 6, 2, 0]])
FUZZ = settings(max_examples=150, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _loss(model) -> float:
    return float(model.eval().forward(SRC, TGT))


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """(file bytes, meta, arrays, loss) of a real checkpoint."""
    minis2s.use("numpy", dtype="float32")
    sv, tv = Vocab(list("abcde")), Vocab(list("xyz"))
    model = Seq2Seq(len(sv), len(tv), emb=3, hidden=4, seed=3, decoder="attention", score="general")
    opt = Adam(model.params, lr=0.01)
    schedule = StepSchedule(opt, start_epoch=1.0, every=0.5)
    for _ in range(2):
        model.forward(SRC, TGT)
        model.backward()
        opt.step(model.grads)
    config = resolve({"hidden": 4, "emb": 3, "model": "attention", "score": "general"},
                     word=False, fast=False)
    path = tmp_path_factory.mktemp("fuzz") / "checkpoint.npz"
    save_checkpoint(path, model, sv, tv, optimizer=opt, schedule=schedule, epoch=2,
                    history=[{"epoch": 1, "val_loss": 2.0}, {"epoch": 2, "val_loss": 1.5}],
                    rng_state=np.random.default_rng(1).bit_generator.state,
                    train_config=vars(config), command="minis2s train")
    with np.load(path, allow_pickle=False) as z:            # our own file: np.load is safe here
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    return Original((path.read_bytes(), meta, arrays, _loss(model)))


class Original(tuple):
    """(file bytes, meta, arrays, loss); a short repr in Hypothesis's failure reports."""
    def __repr__(self):
        return "<the original checkpoint>"


def _npz(meta, arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
    return buf.getvalue()


def _outcome(tmp_path, data: bytes, want_loss: float) -> str:
    """Load as every command does; only a CheckpointError or the same loss is allowed."""
    path = tmp_path / "mutant.npz"
    path.write_bytes(data)
    minis2s.use("numpy", dtype="float32")
    try:
        model = model_from_checkpoint(load_checkpoint(path))
    except CheckpointError as e:
        message = str(e)
        assert message.startswith(f"checkpoint {path}: ") and "\n" not in message, message
        return "refused"
    loss = _loss(model)
    assert loss == want_loss, f"a different model loaded: loss {loss} != {want_loss}"
    return "same model"


# ---------------------------------------------------------------------------- metadata
JSON_ODD = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10 ** 20, max_value=10 ** 20),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e300, -0.0, 0.5, 2.5]),
    st.sampled_from(["", "false", "true", "3", "nan", "x" * 50, "float16", "lion"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.sampled_from("abc"), st.integers(), max_size=2))


def _paths(meta, prefix=()):
    """Every key path into the metadata's dicts (the vocabularies' token lists excluded)."""
    for key, value in meta.items():
        path = (*prefix, key)
        yield path
        if isinstance(value, dict) and key not in ("src_vocab", "tgt_vocab"):
            yield from _paths(value, path)


def _changes_the_model(path, value) -> bool:
    """A valid alternative value of a model_config field: another model, not a damaged file."""
    if len(path) != 2 or path[0] != "model_config" or path[1] not in MODEL_FIELDS:
        return False
    try:
        MODEL_FIELDS[path[1]].metadata["rule"].check(path[1], value)
    except ConfigError:
        return False
    return path[1] not in ("seed", "teacher_forcing_ratio")     # (weights loaded; eval: forced)


@FUZZ
@given(data=st.data())
def test_mutated_metadata_is_refused_or_loads_the_same_model(original, tmp_path, data):
    _, meta, arrays, want = original
    meta = json.loads(json.dumps(meta))
    paths = sorted(_paths(meta))
    path = data.draw(st.sampled_from(paths), label="field")
    action = data.draw(st.sampled_from(["set", "delete", "add"]), label="action")
    parent = meta
    for key in path[:-1]:
        parent = parent[key]
    if action == "delete":
        del parent[path[-1]]
    elif action == "add":
        parent["surprise"] = data.draw(JSON_ODD, label="value")
    else:
        value = data.draw(JSON_ODD, label="value")
        assume(not _changes_the_model(path, value))
        parent[path[-1]] = value
    _outcome(tmp_path, _npz(meta, arrays), want)


# ---------------------------------------------------------------------------- arrays
@FUZZ
@given(data=st.data())
def test_mutated_arrays_are_refused_or_load_the_same_model(original, tmp_path, data):
    _, meta, arrays, want = original
    arrays = dict(arrays)
    name = data.draw(st.sampled_from(sorted(arrays)), label="entry")
    a = arrays[name]
    how = data.draw(st.sampled_from(["dtype", "transpose", "grow", "shrink", "add axis", "scalar",
                                     "nan", "inf", "delete", "extra", "rename"]), label="how")
    if how == "dtype":
        arrays[name] = a.astype(data.draw(st.sampled_from(
            [np.float16, np.float64, np.int32, np.int64, np.complex64, np.bool_, np.uint8])))
    elif how == "transpose":
        assume(a.ndim == 2 and a.shape[0] != a.shape[1])
        arrays[name] = np.ascontiguousarray(a.T)
    elif how == "grow":
        arrays[name] = np.concatenate([a, a[:1]])
    elif how == "shrink":
        assume(a.shape[0] > 1)
        arrays[name] = a[:-1]
    elif how == "add axis":
        arrays[name] = a[None]
    elif how == "scalar":
        arrays[name] = np.float32(1.0)
    elif how in ("nan", "inf"):
        bad = a.copy()
        bad.flat[data.draw(st.integers(0, a.size - 1))] = np.nan if how == "nan" else -np.inf
        arrays[name] = bad
    elif how == "delete":
        del arrays[name]
    elif how == "extra":
        arrays[data.draw(st.sampled_from(["model/extra.W", "optim/m.extra.W", "other"]))] = a
    else:
        arrays[name.replace(".", "_", 1) if "." in name else name + "_x"] = arrays.pop(name)
    _outcome(tmp_path, _npz(meta, arrays), want)


# ---------------------------------------------------------------------------- zip directory
def _claim_sizes(data: bytes, entry: int, length: int, header_too: bool) -> bytes:
    """The archive with the central directory saying entry #entry holds ``length`` values'
    worth of bytes -- and, with ``header_too``, its .npy header declaring shape (length,), so
    that header and directory agree and only the file's real size gives the lie."""
    out = bytearray(data)
    at, seen = out.find(b"PK\x01\x02"), 0
    while seen < entry:
        at, seen = out.find(b"PK\x01\x02", at + 4), seen + 1
    local = struct.unpack_from("<I", out, at + 42)[0]
    name_len, extra_len = struct.unpack_from("<HH", out, local + 26)
    start = local + 30 + name_len + extra_len                     # the .npy bytes begin here
    assert out[start:start + 6] == b"\x93NUMPY"
    header_len = struct.unpack_from("<H", out, start + 8)[0]
    text = out[start + 10:start + 10 + header_len].decode("latin1")
    itemsize = 16 if "<U" in text else 8 if "<f8" in text else 4
    if header_too:
        descr = text.split("'descr': ")[1].split(",")[0]
        new = f"{{'descr': {descr}, 'fortran_order': False, 'shape': ({length},), }}"
        assume(len(new) < header_len)
        out[start + 10:start + 10 + header_len] = (new.ljust(header_len - 1) + "\n").encode("latin1")
    size = 10 + header_len + length * itemsize
    assume(size <= 0xFFFFFFFE)
    struct.pack_into("<II", out, at + 20, size, size)            # compressed, uncompressed size
    return bytes(out)


@FUZZ
@given(data=st.data())
def test_a_zip_directory_claiming_huge_entries_is_refused_without_allocating(original, tmp_path, data):
    raw, _, _, want = original
    entries = len(zipfile.ZipFile(io.BytesIO(raw)).infolist())
    entry = data.draw(st.integers(0, entries - 1), label="entry")
    length = data.draw(st.integers(len(raw), 2 ** 28), label="claimed values")
    mutant = _claim_sizes(raw, entry, length, data.draw(st.booleans(), label="header too"))
    tracemalloc.start()
    try:
        outcome = _outcome(tmp_path, mutant, want)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome == "refused" and peak < 50 * 2 ** 20, (outcome, peak)


def test_the_fuzzers_control_the_original_loads_the_same_model(original, tmp_path):
    raw, meta, arrays, want = original
    assert _outcome(tmp_path, raw, want) == "same model"
    assert _outcome(tmp_path, _npz(meta, arrays), want) == "same model"
    assert TrainConfig(**meta["train_config"]).hidden == 4
