"""Checkpoints: a full round trip, atomic saves, and a clear error for every kind of bad file."""
import json
import os
import zipfile

import numpy as np
import pytest

import minis2s
from minis2s.app.checkpoint import (FORMAT, CheckpointError, check_same_config, load_checkpoint,
                                model_from_checkpoint, save_checkpoint)
from minis2s.data import Vocab
from minis2s.models import Seq2Seq
from minis2s.optim import Adam, StepSchedule

SRC = np.array([[4, 5, 6, 7], [5, 6, 0, 0]])
TGT = np.array([[1, 4, 5, 2], [1, 6, 2, 0]])


def trained_setup(dtype="float64"):
    """A tiny model after two Adam steps, so every piece of state is non-trivial."""
    minis2s.use("numpy", dtype=dtype)
    src_vocab, tgt_vocab = Vocab(list("abcde")), Vocab(["x", "y", "é"])
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), emb=3, hidden=4, decoder="peeky", seed=3)
    opt = Adam(model.params, lr=0.01)
    schedule = StepSchedule(opt, start_epoch=0.5, every=0.5)
    for step in range(2):
        model.forward(SRC, TGT)
        model.backward()
        opt.step(model.grads)
        schedule.update(0.5 * (step + 1))
    return model, opt, schedule, src_vocab, tgt_vocab


def save(path, model, opt, schedule, src_vocab, tgt_vocab, **extra):
    rng = np.random.default_rng(5)
    rng.random(3)
    kwargs = dict(src_tokenizer="char", tgt_tokenizer="word", optimizer=opt, schedule=schedule,
                  epoch=2, history=[{"epoch": 1, "val_loss": 1.5}, {"epoch": 2, "val_loss": 1.25}],
                  rng_state=rng.bit_generator.state, train_config={"hidden": 4, "lr": 0.01},
                  command="minis2s train --hidden 4")
    kwargs.update(extra)
    return save_checkpoint(path, model, src_vocab, tgt_vocab, **kwargs)


def test_round_trip(tmp_path):
    model, opt, schedule, sv, tv = trained_setup()
    path = save(tmp_path / "ck.npz", model, opt, schedule, sv, tv)
    ckpt = load_checkpoint(path)

    assert ckpt.model_config == model.config
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(ckpt.model_state[k], v)
    assert ckpt.src_vocab == sv and ckpt.tgt_vocab == tv      # non-ASCII tokens survive
    assert (ckpt.src_tokenizer, ckpt.tgt_tokenizer) == ("char", "word")
    assert ckpt.optimizer_name == "adam"
    saved_opt = opt.state_dict()
    assert set(ckpt.optimizer_state) == set(saved_opt)
    for k, v in saved_opt.items():
        np.testing.assert_array_equal(ckpt.optimizer_state[k], v)
    assert ckpt.schedule_state == schedule.state_dict()
    assert (ckpt.epoch, ckpt.step) == (2, model.step_count) == (2, 2)
    assert ckpt.history[-1] == {"epoch": 2, "val_loss": 1.25}
    rng = np.random.default_rng()
    rng.bit_generator.state = ckpt.rng_state
    expected = np.random.default_rng(5)
    expected.random(3)
    assert rng.random() == expected.random()
    assert ckpt.train_config == {"hidden": 4, "lr": 0.01}
    assert ckpt.command == "minis2s train --hidden 4"
    assert ckpt.dtype == "float64" and ckpt.saved_on == "numpy"
    # No pickle anywhere: every entry loads with allow_pickle=False, the metadata is JSON text.
    with np.load(path, allow_pickle=False) as z:
        assert json.loads(str(z["meta"]))["format"] == FORMAT


def test_model_from_checkpoint_on_another_backend(tmp_path):
    model, opt, schedule, sv, tv = trained_setup("float64")
    path = save(tmp_path / "ck.npz", model, opt, schedule, sv, tv)
    model.eval()
    expected = float(model.forward(SRC, TGT))
    minis2s.use("strict", dtype="float32")       # a "device" backend, and another default dtype
    rebuilt = model_from_checkpoint(load_checkpoint(path)).eval()
    p = rebuilt.params["decoder.fc.W"]
    assert minis2s.backend.backend_of(p).name == "strict"
    assert p.dtype == np.float64                 # the saved dtype wins unless asked otherwise
    assert rebuilt.step_count == 2
    assert float(rebuilt.forward(SRC, TGT)) == expected
    as32 = model_from_checkpoint(load_checkpoint(path), dtype="float32")
    assert as32.params["decoder.fc.W"].dtype == np.float32


@pytest.mark.parametrize("interrupt", [OSError("disk full"), KeyboardInterrupt()])
def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, interrupt):
    model, opt, schedule, sv, tv = trained_setup()
    path = save(tmp_path / "ck.npz", model, opt, schedule, sv, tv, epoch=1)
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"PK\x03\x04 half a zip file ...")   # some bytes reach the disk, then it fails
        raise interrupt
    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(type(interrupt)):
        save(path, model, opt, schedule, sv, tv, epoch=2)
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert load_checkpoint(path).epoch == 1
    assert sorted(os.listdir(tmp_path)) == ["ck.npz"]      # no temporary file left behind


def test_save_replaces_the_old_file(tmp_path):
    model, opt, schedule, sv, tv = trained_setup()
    path = save(tmp_path / "ck.npz", model, opt, schedule, sv, tv, epoch=1)
    save(path, model, opt, schedule, sv, tv, epoch=2)
    assert load_checkpoint(path).epoch == 2
    assert sorted(os.listdir(tmp_path)) == ["ck.npz"]


# ---------------------------------------------------------------------------- bad files
def _good_bytes(tmp_path):
    model, opt, schedule, sv, tv = trained_setup()
    return save(tmp_path / "good.npz", model, opt, schedule, sv, tv).read_bytes()


def _npz_with_meta(path, meta):
    np.savez(path, meta=np.array(json.dumps(meta)), **{"model/x": np.zeros(2)})


def _make_bad(kind, tmp_path):
    path = tmp_path / "bad.npz"
    if kind == "missing":
        return tmp_path / "nope.npz", "no such file"
    if kind == "directory":
        return tmp_path, "directory"
    if kind == "empty":
        path.write_bytes(b"")
        return path, "empty"
    if kind == "truncated":
        path.write_bytes(_good_bytes(tmp_path)[:5000])
        return path, "truncated|damaged"
    if kind == "corrupt":
        data = bytearray(_good_bytes(tmp_path))
        for i in range(len(data) // 3, len(data) // 3 + 200):     # inside the stored arrays
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
        return path, "damaged|not a minis2s checkpoint"
    if kind == "text":
        path.write_text("hello, I am not a checkpoint\n")
        return path, "not a minis2s checkpoint"
    if kind == "foreign_npz":
        np.savez(path, weights=np.ones(3), bias=np.zeros(2))
        return path, "without a 'meta' entry"
    if kind == "npy":
        with open(path, "wb") as f:
            np.save(f, np.ones(3))
        return path, r"\.npy"
    if kind == "other_format":
        _npz_with_meta(path, {"format": "someone.else", "version": 1})
        return path, "format 'someone.else'"
    if kind == "newer_version":
        _npz_with_meta(path, {"format": FORMAT, "version": 99})
        return path, "newer"
    if kind == "bad_json":
        np.savez(path, meta=np.array("{not json"))
        return path, "not valid JSON"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "truncated", "corrupt", "text",
                                  "foreign_npz", "npy", "other_format", "newer_version", "bad_json"])
def test_bad_files_give_a_clear_error(tmp_path, kind):
    path, problem = _make_bad(kind, tmp_path)
    with pytest.raises(CheckpointError, match=problem) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message                   # names the file
    assert "\n" not in message                    # one line, fit for the command line
    assert isinstance(info.value, ValueError)
    assert info.value.__cause__ is None           # no zipfile / NumPy error chained behind it


def test_zipfile_errors_do_not_escape(tmp_path):
    """A zip whose member is not an .npy: the NumPy error is turned into a CheckpointError."""
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("meta.npy", b"not an npy header at all")
    with pytest.raises(CheckpointError, match="odd.npz"):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_config(tmp_path):
    model, opt, schedule, sv, tv = trained_setup()
    path = save(tmp_path / "ck.npz", model, opt, schedule, sv, tv)
    ckpt = load_checkpoint(path)
    ckpt.model_config = dict(ckpt.model_config, hidden=5)
    with pytest.raises(CheckpointError, match="do not fit"):
        model_from_checkpoint(ckpt)


def test_config_mismatch_names_the_option(tmp_path):
    model, opt, schedule, sv, tv = trained_setup()
    ckpt = load_checkpoint(save(tmp_path / "ck.npz", model, opt, schedule, sv, tv,
                                train_config={"hidden": 4, "batch_size": 8, "lr": 0.01}))
    check_same_config(ckpt, {"hidden": 4, "lr": 0.01, "epochs": 9}, ["hidden", "lr", "epochs"])
    with pytest.raises(CheckpointError, match=r"--hidden is 8 .* trained with 4.*--batch-size") as info:
        check_same_config(ckpt, {"hidden": 8, "batch_size": 16}, ["hidden", "batch_size"])
    assert "ck.npz" in str(info.value)
