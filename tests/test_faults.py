"""Fault injection: what a user (or the machine) can do to a run, and what minis2s promises back.

Every input is made here, in the test: runs killed with SIGKILL in the middle
of a save, two writers on one run folder, a nan in the middle of an epoch,
checkpoints truncated, bit-flipped or crafted field by field, data files with
every kind of line ending, a full disk. docs/reliability.md lists the same
cases as a table. The whole module runs in well under a minute on 2 cores.
"""
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import minis2s
import minis2s.functional as F
from minis2s.app.checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint, save_checkpoint
from minis2s.app.cli import main
from minis2s.data import (BatchIterator, Vocab, char_tokenize, encode_pairs, load_pairs, make_task,
                          split)
from minis2s.errors import InputError
from minis2s.models import Seq2Seq
from minis2s.optim import SGD, Adam, ConstantSchedule, StepSchedule, clip_grad_norm
from minis2s.app.run_folder import RunFolderBusy, claim_run_folder
from minis2s.app.trainer import Trainer, TrainingDiverged
from conftest import addition_data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ["--fast", "--no-progress", "--train-size", "200", "--val-size", "30", "--epochs", "1"]

# ---------------------------------------------------------------------------- a run in a child process
# The child trains a tiny model with the real Trainer in `out` (resuming if there is a
# checkpoint) up to `epochs`, and can hang half-way through writing its second checkpoint
# so that the parent can SIGKILL it there.
CHILD = textwrap.dedent('''
    import io, os, sys, time
    import numpy as np
    import minis2s
    from minis2s.app.checkpoint import load_checkpoint
    from minis2s.data import BatchIterator, Vocab, char_tokenize, encode_pairs, make_task, split
    from minis2s.models import Seq2Seq
    from minis2s.optim import Adam, ConstantSchedule
    from minis2s.app.trainer import Trainer

    out, mode, more = sys.argv[1], sys.argv[2], int(sys.argv[3])
    Trainer._write_curves = lambda self: None     # matplotlib is slow to import; curves: tested apart
    minis2s.use("numpy", dtype="float64")
    train, val, _ = split(make_task("addition", 240, seed=1), val_size=40, seed=1)
    sv = Vocab.build(char_tokenize(s) for s, _ in train)
    tv = Vocab.build(char_tokenize(t) for _, t in train)
    (src, tgt), va = encode_pairs(train, sv, tv), encode_pairs(val, sv, tv)
    model = Seq2Seq(len(sv), len(tv), emb=8, hidden=48, dropout=0.1, seed=2)
    opt = Adam(model.params, lr=0.01)
    trainer = Trainer(model, opt, BatchIterator(src, tgt, 50, seed=4), va, sv, tv,
                      schedule=ConstantSchedule(opt), out_dir=out, progress=False, samples=0,
                      log=lambda line: None, seed=4)
    if os.path.exists(os.path.join(out, "checkpoint.npz")):
        trainer.restore(load_checkpoint(os.path.join(out, "checkpoint.npz")))
    if mode == "hang-in-save":
        real, saves = np.savez, []
        def savez(file, **arrays):
            saves.append(1)
            if len(saves) == 1:
                return real(file, **arrays)
            buf = io.BytesIO()
            real(buf, **arrays)
            file.write(buf.getvalue()[:len(buf.getvalue()) // 2])   # half a checkpoint on disk
            file.flush()
            print("IN_SAVE", flush=True)
            time.sleep(120)
        np.savez = savez
    print("STARTED", trainer.epoch, flush=True)
    trainer.fit(trainer.epoch + more)
    print("DONE", trainer.epoch, flush=True)
''')


def _child(tmp_path, out, mode, more):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, str(script), str(out), mode, str(more)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(proc, word, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(word):
            return line
        if not line and proc.poll() is not None:
            raise AssertionError(f"child ended before {word!r}: {proc.stderr.read()[-2000:]}")
    raise AssertionError(f"child did not say {word!r} in {timeout} s")


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _leftovers(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


def _check_consistent(out, at_least_epoch):
    """The invariants a killed run must keep: the checkpoint loads, never goes back, and
    history.json never lags it. Returns the checkpoint's epoch."""
    ckpt = load_checkpoint(out / "checkpoint.npz")
    assert ckpt.epoch >= at_least_epoch
    assert [h["epoch"] for h in ckpt.history] == list(range(1, ckpt.epoch + 1))
    on_disk = json.loads((out / "history.json").read_text())
    assert len(on_disk) >= ckpt.epoch                      # never behind the checkpoint
    assert on_disk[:ckpt.epoch] == ckpt.history
    return ckpt.epoch


@pytest.mark.slow
def test_sigkill_during_saves_loses_nothing_and_resumes_bit_identically(tmp_path):
    """Six SIGKILLs: three half-way through writing a checkpoint, three at random moments.
    After each, the checkpoint loads; the next start removes the dead writer's temp file;
    and the run, resumed each time, ends bit-identical to one that was never interrupted."""
    out = tmp_path / "run"
    rng = np.random.default_rng(0)
    epoch = 0
    for round_ in range(6):
        if round_ % 2 == 0:                       # killed mid-save, deterministically
            proc = _child(tmp_path, out, "hang-in-save", 2)
            _wait_for(proc, "IN_SAVE")
            _kill(proc)
            assert _leftovers(out), "the kill should have left half a checkpoint in a temp file"
        else:                                     # killed wherever it happens to be
            proc = _child(tmp_path, out, "plain", 3)
            _wait_for(proc, "STARTED")
            time.sleep(rng.uniform(0.05, 0.8))
            _kill(proc)
        epoch = _check_consistent(out, epoch)
        assert not (out / "checkpoint.npz").exists() or epoch >= 1
    final_epochs = epoch + 1
    proc = _child(tmp_path, out, "plain", 1)      # resume once more, to the end
    assert _wait_for(proc, "DONE").split() == ["DONE", str(final_epochs)]
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    assert _leftovers(out) == []                  # removed by the next writer, under the lock
    assert _check_consistent(out, final_epochs) == final_epochs
    assert json.loads((out / "history.json").read_text()) == load_checkpoint(out / "checkpoint.npz").history

    straight = _child(tmp_path, tmp_path / "straight", "plain", final_epochs)
    _wait_for(straight, "DONE")
    straight.wait()
    straight.stdout.close()
    straight.stderr.close()
    a = load_checkpoint(tmp_path / "straight" / "checkpoint.npz")
    b = load_checkpoint(out / "checkpoint.npz")
    assert a.step == b.step
    for name, w in a.model_state.items():
        np.testing.assert_array_equal(b.model_state[name], w, err_msg=name)
    for key, v in a.optimizer_state.items():
        np.testing.assert_array_equal(b.optimizer_state[key], v, err_msg=key)


# ---------------------------------------------------------------------------- one writer per folder
HOLDER = textwrap.dedent('''
    import sys, time
    from minis2s.app.run_folder import claim_run_folder
    with claim_run_folder(sys.argv[1], "minis2s train --out " + sys.argv[1]):
        print("HELD", flush=True)
        time.sleep(120)
''')


def test_a_second_writer_is_refused_at_once_and_a_dead_ones_lock_is_recovered(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *FAST, "--out", str(out)]) == 0
    capsys.readouterr()
    before = (out / "checkpoint.npz").read_bytes()
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    holder = subprocess.Popen([sys.executable, str(script), str(out)], stdout=subprocess.PIPE,
                              text=True, env=env)
    try:
        _wait_for(holder, "HELD")
        for argv in (["train", "--resume", "--no-progress", "--epochs", "2", "--out", str(out)],
                     ["train", *FAST, "--out", str(out)]):
            start = time.monotonic()
            assert main(argv) == 1
            assert time.monotonic() - start < 5                     # at once, no waiting
            err = capsys.readouterr().err
            assert f"the run folder {out} is in use" in err and f"pid {holder.pid}" in err
            assert "minis2s train --out" in err and "Traceback" not in err
        # The API is held to the same rule.
        minis2s.use("numpy", dtype="float64")
        trainer = _tiny_trainer(out)
        with pytest.raises(RunFolderBusy, match="in use by another minis2s process"):
            trainer.fit(1)
        assert (out / "checkpoint.npz").read_bytes() == before        # nobody wrote anything
    finally:
        _kill(holder)
    # The holder died without releasing anything: the OS dropped its lock.
    assert main(["train", "--resume", "--no-progress", "--epochs", "2", "--out", str(out)]) == 0
    assert load_checkpoint(out / "checkpoint.npz").epoch == 2


def test_claims_are_reentrant_in_one_process_and_exclusive_across_instances(tmp_path):
    with claim_run_folder(tmp_path / "r", "first"):
        with claim_run_folder(tmp_path / "r", "nested"):     # the CLI, then Trainer.fit
            pass
        from filelock import FileLock, Timeout
        with pytest.raises(Timeout):                          # any other lock on it waits
            FileLock(str(tmp_path / "r" / ".lock"), timeout=0).acquire()
    with claim_run_folder(tmp_path / "r", "again"):           # released at the end
        pass


# ---------------------------------------------------------------------------- non-finite numbers
@pytest.fixture(scope="module")
def data():
    return addition_data(160, val_size=30)


def _tiny_trainer(out_dir, data=None, lr=0.01):
    minis2s.use("numpy", dtype="float64")
    if data is None:
        train, val, _ = split(make_task("addition", 100, seed=1), val_size=20, seed=1)
        sv = Vocab.build(char_tokenize(s) for s, _ in train)
        tv = Vocab.build(char_tokenize(t) for _, t in train)
        data = encode_pairs(train, sv, tv), encode_pairs(val, sv, tv), sv, tv
    (src, tgt), val, sv, tv = data
    model = Seq2Seq(len(sv), len(tv), emb=4, hidden=8, seed=2)
    opt = Adam(model.params, lr=lr)
    return Trainer(model, opt, BatchIterator(src, tgt, 32, seed=4), val, sv, tv,
                   schedule=ConstantSchedule(opt), out_dir=out_dir, progress=False, samples=0,
                   log=lambda line: None)


def _diverge_in_epoch_2(trainer, tmp_path, monkeypatch, how):
    trainer.fit(1)
    good = {n: (tmp_path / n).read_bytes() for n in ("checkpoint.npz", "history.json")}
    how(trainer, monkeypatch)
    with pytest.raises(TrainingDiverged) as info:
        trainer.fit(3)
    monkeypatch.undo()
    assert "end of epoch 1" in str(info.value) and "\n" not in str(info.value)
    for name, content in good.items():                    # the last good epoch is kept, untouched
        assert (tmp_path / name).read_bytes() == content, name
    assert load_checkpoint(tmp_path / "checkpoint.npz").epoch == 1
    return info.value


def _nan_loss_mid_epoch(trainer, monkeypatch):
    forward = trainer.model.forward
    monkeypatch.setattr(trainer.model, "forward", lambda s, t: forward(s, t) * (
        np.nan if trainer.model.step_count == 6 else 1.0))


def _nan_validation_loss(trainer, monkeypatch):
    import minis2s.app.trainer as T
    real = T.evaluate
    monkeypatch.setattr(T, "evaluate", lambda *a, **k: (        # (a perplexity that stays finite:
        lambda m, p: ({**m, "loss": float("nan")}, p))(*real(*a, **k)))   # the loss itself is checked)


def _nan_weight_with_finite_loss(trainer, monkeypatch):
    step = trainer.optimizer.step

    def poisoned(grads):                      # a nan in the <unk> row, which no batch here reads:
        step(grads)                           # every loss stays finite
        trainer.model.params["encoder.embed.W"][3, 0] = np.nan
    monkeypatch.setattr(trainer.optimizer, "step", poisoned)


def _exploding_learning_rate(trainer, monkeypatch):
    trainer.optimizer.lr = trainer.schedule.base_lr = 1e6      # finite, but the loss explodes


@pytest.mark.parametrize("how", [_nan_loss_mid_epoch, _nan_validation_loss,
                                 _nan_weight_with_finite_loss, _exploding_learning_rate],
                         ids=["nan-loss-mid-epoch", "nan-validation-loss", "nan-weight",
                              "lr-1e6"])
def test_divergence_stops_and_keeps_the_last_good_epoch(data, tmp_path, monkeypatch, how):
    error = _diverge_in_epoch_2(_tiny_trainer(tmp_path, data), tmp_path, monkeypatch, how)
    assert error.epoch == 2


def test_the_cli_reports_divergence_with_a_nonzero_exit(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *FAST, "--lr", "1e6", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "minis2s: error: training diverged" in err and "inf" in err and "Traceback" not in err
    assert not out.exists()                # nothing was ever worth keeping: no half folder


def test_a_nan_checkpoint_is_never_written(data, tmp_path):
    trainer = _tiny_trainer(tmp_path, data)
    trainer.fit(1)
    trainer.model.params["encoder.embed.W"][1, 1] = np.inf
    with pytest.raises(ValueError, match="refusing to save .*encoder.embed.W"):
        save_checkpoint(tmp_path / "checkpoint.npz", trainer.model, trainer.src_vocab,
                        trainer.tgt_vocab)
    assert load_checkpoint(tmp_path / "checkpoint.npz").epoch == 1


@pytest.mark.parametrize("argv, option", [
    (["--lr", "nan"], "--lr"), (["--lr", "inf"], "--lr"), (["--lr", "-1"], "--lr"),
    (["--clip", "nan"], "--clip"), (["--clip", "0"], "--clip"),
    (["--lr-decay-start", "nan"], "--lr-decay-start"), (["--lr-decay-every", "inf"], "--lr-decay-every"),
    (["--dropout", "nan"], "--dropout"), (["--dropout", "1"], "--dropout"),
    (["--teacher-forcing", "1.5"], "--teacher-forcing"), (["--seed", "-1"], "--seed"),
    (["--seed", "1e3"], "--seed"), (["--hidden", "100000"], "--hidden"), (["--emb", "0"], "--emb"),
    (["--layers", "1000"], "--layers"), (["--max-len", "1000000000000"], "--max-len"),
    (["--epochs", "-2"], "--epochs"), (["--batch-size", "0"], "--batch-size"),
    (["--train-size", "nan"], "--train-size"),
])
def test_bad_numbers_are_refused_at_parse_time_naming_the_option(tmp_path, capsys, argv, option):
    with pytest.raises(SystemExit) as info:
        main(["train", *argv, "--out", str(tmp_path / "r")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", ["eval", "translate"])
def test_decoding_options_are_bounded_naming_the_option(tmp_path, capsys, command):
    for argv, option in ((["--max-len", "1000000000000"], "--max-len"), (["--beam", "0"], "--beam"),
                         (["--beam", "nan"], "--beam")):
        with pytest.raises(SystemExit):
            main([command, "--checkpoint", str(tmp_path / "c.npz"), *argv])
        assert f"argument {option}" in capsys.readouterr().err


@pytest.mark.parametrize("make, name", [
    (lambda p: Adam(p, lr=float("nan")), "lr"), (lambda p: Adam(p, lr=float("inf")), "lr"),
    (lambda p: Adam(p, beta1=float("nan")), "beta1"), (lambda p: Adam(p, eps=float("nan")), "eps"),
    (lambda p: SGD(p, lr=float("nan")), "lr"), (lambda p: SGD(p, momentum=float("nan")), "momentum"),
    (lambda p: StepSchedule(SGD(p), start_epoch=float("nan")), "start_epoch"),
    (lambda p: StepSchedule(SGD(p), every=float("nan")), "every"),
    (lambda p: StepSchedule(SGD(p), factor=float("nan")), "factor"),
    (lambda p: clip_grad_norm({"w": np.ones(3)}, float("nan")), "max_norm"),
    (lambda p: clip_grad_norm({"w": np.ones(3)}, float("inf")), "max_norm"),
], ids=["adam-lr-nan", "adam-lr-inf", "adam-beta1", "adam-eps", "sgd-lr", "sgd-momentum",
        "schedule-start", "schedule-every", "schedule-factor", "clip-nan", "clip-inf"])
def test_the_api_refuses_non_finite_settings(make, name):
    with pytest.raises(ValueError, match=name):
        make({"w": np.zeros(3)})


def test_the_trainer_refuses_a_nan_clip(data):
    minis2s.use("numpy", dtype="float64")
    (src, tgt), val, sv, tv = data
    model = Seq2Seq(len(sv), len(tv), emb=4, hidden=8)
    with pytest.raises(ValueError, match="clip"):
        Trainer(model, Adam(model.params), BatchIterator(src, tgt, 32), val, sv, tv, clip=float("nan"))


def _linear():
    from minis2s.layers import Linear
    return Linear(3, 4, np.random.default_rng(0))


def _lstm():
    from minis2s.layers import LSTM
    return LSTM(4, 5, np.random.default_rng(0))


@pytest.mark.parametrize("call", [
    lambda: _linear().forward(np.ones((2, 3), np.float16)),
    lambda: _linear().forward(np.ones((2, 3), np.int64)),
    lambda: _lstm().forward(np.ones((2, 3, 4), np.float16)),
    lambda: _lstm().forward(np.ones((2, 3, 4), np.int64)),
], ids=["linear-f16", "linear-int", "lstm-f16", "lstm-int"])
def test_the_layers_name_float16_and_integer_arrays(call):
    """Where arrays enter the engine (the layers), float16 and integers are refused by name."""
    with pytest.raises(TypeError, match="x must be a float32 or float64 array"):
        call()


# ---------------------------------------------------------------------------- crafted checkpoints
def _good_checkpoint(path):
    """A real checkpoint with every field filled: weights, Adam state, schedule, history, rng."""
    minis2s.use("numpy", dtype="float32")
    sv, tv = Vocab(list("abcde")), Vocab(list("xyz"))
    model = Seq2Seq(len(sv), len(tv), emb=3, hidden=4, seed=3)
    opt = Adam(model.params, lr=0.01)
    schedule = StepSchedule(opt, start_epoch=1.0, every=0.5)
    src, tgt = np.array([[4, 5, 6], [5, 6, 0]]), np.array([[1, 4, 5, 2], [1, 6, 2, 0]])
    for _ in range(2):
        model.forward(src, tgt)
        model.backward()
        opt.step(model.grads)
    return save_checkpoint(path, model, sv, tv, optimizer=opt, schedule=schedule, epoch=2,
                           history=[{"epoch": 1, "val_loss": 2.0}, {"epoch": 2, "val_loss": 1.5}],
                           rng_state=np.random.default_rng(1).bit_generator.state,
                           train_config={"hidden": 4, "lr": 0.01, "seed": 0}, command="minis2s train")


def _raw(path):
    """(meta dict, {entry: array}) of a file we made ourselves (so np.load is safe here)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(str(arrays.pop("meta"))), arrays


def _rewrite(src, dst, meta_fn=None, arrays_fn=None):
    meta, arrays = _raw(src)
    if meta_fn:
        meta_fn(meta)
    if arrays_fn:
        arrays_fn(arrays)
    np.savez(dst, meta=np.array(json.dumps(meta)), **arrays)
    return dst


def _set(path, value):
    """meta_fn setting meta[a][b]... = value for a dotted path."""
    def fn(meta):
        *parents, last = path.split(".")
        d = meta
        for p in parents:
            d = d[p]
        d[last] = value
    return fn


W = "model/decoder.fc.W"
CRAFTED = {
    # field: (meta_fn, arrays_fn, what the message must name)
    "extra meta key": (_set("evil", 1), None, r"unknown keys \['evil'\]"),
    "missing meta key": (lambda m: m.pop("rng_state"), None, r"lacks \['rng_state'\]"),
    "src vocab too small": (_set("model_config.src_vocab", 8), None, r"model_config.src_vocab is 8"),
    "tgt vocab disagrees": (lambda m: m["tgt_vocab"]["tokens"].append("w"), None, "model_config.tgt_vocab"),
    "hidden enormous": (_set("model_config.hidden", 10 ** 6), None, "at least .* weights but the file holds"),
    "hidden absurd": (_set("model_config.hidden", 10 ** 15), None, "model_config.hidden must be an integer"),
    "layers absurd": (_set("model_config.n_layers", 10 ** 9), None, "model_config.n_layers"),
    "hidden a float": (_set("model_config.hidden", 4.0), None, "model_config.hidden must be an integer"),
    "dropout nan": (_set("model_config.dropout", float("nan")), None, "model_config.dropout"),
    "meta dtype float16": (_set("dtype", "float16"), None, "meta.dtype"),
    "epoch negative": (_set("epoch", -1), None, "meta.epoch"),
    "epoch enormous": (_set("epoch", 10 ** 30), None, "meta.epoch"),
    "step a string": (_set("step", "7"), None, "meta.step"),
    "adam t negative": (_set("optimizer.scalars.t", -5), None, "optimizer.t"),
    "adam lr nan": (_set("optimizer.scalars.lr", float("nan")), None, "optimizer.lr"),
    "adam beta2 one": (_set("optimizer.scalars.beta2", 1.0), None, "optimizer.beta2"),
    "adam extra scalar": (_set("optimizer.scalars.momentum", 0.9), None, "optimizer.scalars"),
    "optimizer unknown": (_set("optimizer.name", "lion"), None, "optimizer.name"),
    "adam buffer missing": (None, lambda a: a.pop("optim/m.decoder.fc.W"), "buffers do not match"),
    "adam buffer shape": (None, lambda a: a.__setitem__("optim/v.decoder.fc.b", np.zeros(99, np.float32)),
                          "optim/v.decoder.fc.b' has shape"),
    "schedule every nan": (_set("schedule.every", float("nan")), None, "schedule.every"),
    "schedule unknown key": (_set("schedule.warmup", 3), None, "meta.schedule"),
    "history not a list": (_set("history", "abc"), None, "meta.history"),
    "history record nested": (_set("history", [{"epoch": 1, "x": [1, 2]}]), None, r"history\[0\]"),
    "rng state malformed": (_set("rng_state.state.state", "zz"), None, "rng_state"),
    "rng other generator": (_set("rng_state.bit_generator", "MT19937"), None, "rng_state"),
    "train_config nested": (_set("train_config.hidden", {"a": 1}), None, "train_config"),
    "tokenizer unknown": (_set("src_tokenizer", "bpe"), None, "src_tokenizer"),
    "special id moved": (_set("model_config.eos_id", 3), None, "model_config.eos_id"),
    "weights nan": (None, lambda a: a[W].__setitem__((0, 0), np.nan), f"'{W}' holds nan"),
    "weights complex": (None, lambda a: a.__setitem__(W, a[W].astype(np.complex64)), "complex64 is not allowed"),
    "weights float16": (None, lambda a: a.__setitem__(W, a[W].astype(np.float16)), "float16 is not allowed"),
    "weights int": (None, lambda a: a.__setitem__(W, a[W].astype(np.int32)), "int32 is not allowed"),
    "weights dtype mixed": (None, lambda a: a.__setitem__(W, a[W].astype(np.float64)), "meta.dtype says float32"),
    "weights 3-d": (None, lambda a: a.__setitem__(W, a[W][None]), "shape .* is not allowed"),
    "unknown entry": (None, lambda a: a.__setitem__("evil/x", np.zeros(2)), "unexpected entries"),
    "no weights": (None, lambda a: [a.pop(k) for k in list(a) if k.startswith("model/")], "holds no model weights|buffers"),
    # checked by value, each field by its rule (minis2s.app.config), not only by the shapes it implies
    "reverse a string": (_set("model_config.reverse", "false"), None,
                         r"model_config.reverse must be true or false, got 'false'"),
    "decoder a number": (_set("model_config.decoder", 3), None, "model_config.decoder must be one of"),
    "encoder_module a number": (_set("model_config.encoder_module", 3), None,
                                "model_config.encoder_module is not an argument a checkpoint may set"),
    "model_config lacks hidden": (lambda m: m["model_config"].pop("hidden"), None,
                                  "model_config lacks 'hidden'"),
    "bidirectional odd hidden": (lambda m: m["model_config"].update(bidirectional=True, hidden=3), None,
                                 "model_config.hidden is 3: a bidirectional"),
    "train_config reverse a string": (_set("train_config.reverse", "false"), None,
                                      r"train_config.reverse \(--reverse\) must be true or false"),
    "train_config lr zero": (_set("train_config.lr", 0), None, r"train_config.lr \(--lr\) must be a number > 0"),
    "train_config epochs a float": (_set("train_config.epochs", 2.5), None, "train_config.epochs"),
    "train_config schedule": (_set("train_config.teacher_forcing_schedule", "linear:c=-1"), None,
                              "train_config.teacher_forcing_schedule"),
    "train_config a list": (_set("train_config", [1]), None, "train_config must be a dict"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_checkpoints_are_refused_naming_the_field(tmp_path, case):
    good = _good_checkpoint(tmp_path / "good.npz")
    meta_fn, arrays_fn, named = CRAFTED[case]
    bad = _rewrite(good, tmp_path / "bad.npz", meta_fn, arrays_fn)
    with pytest.raises(CheckpointError, match=named) as info:
        load_checkpoint(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, InputError)            # the CLI prints it as one line


def test_resume_eval_and_translate_refuse_weights_of_the_wrong_shape_alike(tmp_path, capsys):
    """One loader, one set of checks: an attention weight of the wrong shape is one line for
    every command (--resume gave a load_state_dict traceback where eval gave a clean error)."""
    out = tmp_path / "run"
    assert main(["train", *FAST, "--model", "attention", "--score", "general", "--epochs", "1",
                 "--out", str(out)]) == 0
    ckpt_path = out / "checkpoint.npz"
    meta, arrays = _raw(ckpt_path)
    name = next(k for k in arrays if k.startswith("model/") and k.endswith(".Wa"))   # general score
    wrong = np.zeros((arrays[name].shape[0] + 1,) + arrays[name].shape[1:], arrays[name].dtype)
    optim = [k for k in arrays if k.startswith("optim/") and k.endswith(name[len("model/"):])]
    _rewrite(ckpt_path, ckpt_path, None, lambda a: a.update({name: wrong, **{k: wrong for k in optim}}))
    capsys.readouterr()
    for argv in (["train", "--resume", "--no-progress", "--epochs", "2", "--out", str(out)],
                 ["eval", "--checkpoint", str(ckpt_path)],
                 ["translate", "--checkpoint", str(ckpt_path), "1+1"]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith(f"minis2s: error: checkpoint {ckpt_path}: the weights do not fit") \
            and err.count("\n") == 1, (argv, err)


def test_an_unaltered_rewrite_loads(tmp_path):
    """The control for the test above: the rewriting itself breaks nothing."""
    good = _good_checkpoint(tmp_path / "good.npz")
    ckpt = load_checkpoint(_rewrite(good, tmp_path / "same.npz"))
    assert ckpt.epoch == 2 and model_from_checkpoint(ckpt).config == ckpt.model_config


def _npy_header(dtype, shape):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                               "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_a_header_declaring_an_enormous_shape_is_refused_before_allocating(tmp_path):
    good = _good_checkpoint(tmp_path / "good.npz")
    bad = tmp_path / "huge.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == W + ".npy":      # 10**11 float32 declared (400 GB), 64 bytes given
                data = _npy_header("<f4", (10 ** 11,)) + b"\0" * 64
            dst.writestr(info.filename, data)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"declares shape \(100000000000,\).*holds 64 bytes"):
            load_checkpoint(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2 ** 20                       # nothing near the declared size was allocated


def test_pickled_and_compressed_entries_are_refused(tmp_path):
    good = _good_checkpoint(tmp_path / "good.npz")
    meta, arrays = _raw(good)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, meta=np.array(json.dumps(meta)), **{**arrays, W: np.array([{"a": 1}], dtype=object)})
    with pytest.raises(CheckpointError, match="Python objects"):
        load_checkpoint(pickled)
    compressed = tmp_path / "compressed.npz"
    np.savez_compressed(compressed, meta=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(CheckpointError, match="compressed"):
        load_checkpoint(compressed)


def test_every_truncation_is_refused(tmp_path):
    data = _good_checkpoint(tmp_path / "good.npz").read_bytes()
    for cut in np.linspace(1, len(data) - 1, 25).astype(int):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="cut.npz"):
            load_checkpoint(tmp_path / "cut.npz")


def test_bit_flips_are_refused_or_harmless(tmp_path):
    """A flipped bit anywhere: a CheckpointError, or (in zip bookkeeping such as a timestamp)
    exactly the original contents -- never another exception, never different numbers."""
    good = _good_checkpoint(tmp_path / "good.npz")
    data, original = bytearray(good.read_bytes()), load_checkpoint(good)
    rng = np.random.default_rng(7)
    refused = 0
    for position in rng.choice(len(data), size=60, replace=False):
        flipped = bytearray(data)
        flipped[position] ^= 1 << int(rng.integers(8))
        (tmp_path / "flip.npz").write_bytes(bytes(flipped))
        try:
            ckpt = load_checkpoint(tmp_path / "flip.npz")
        except CheckpointError:
            refused += 1
            continue
        for name, w in original.model_state.items():
            np.testing.assert_array_equal(ckpt.model_state[name], w)
        assert (ckpt.epoch, ckpt.history, ckpt.model_config) == (
            original.epoch, original.history, original.model_config)
    assert refused >= 40                                 # nearly every byte is checked


def test_the_cli_checks_the_saved_settings_on_resume_and_eval(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *FAST, "--out", str(out)]) == 0
    ckpt_path = out / "checkpoint.npz"
    _rewrite(ckpt_path, ckpt_path, _set("train_config.train_size", 10 ** 12))
    capsys.readouterr()
    assert main(["train", "--resume", "--no-progress", "--epochs", "2", "--out", str(out)]) == 1
    assert "train_config.train_size (--train-size) must be an integer in [1, 10000000] (or null), " \
        "got 1000000000000" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(ckpt_path)]) == 1
    assert "--train-size" in capsys.readouterr().err
    _rewrite(ckpt_path, ckpt_path, _set("train_config.train_size", 200))
    _rewrite(ckpt_path, ckpt_path, _set("train_config.surprise", 1))
    assert main(["eval", "--checkpoint", str(ckpt_path)]) == 1
    assert "train_config.surprise is not a setting minis2s knows" in capsys.readouterr().err


# ---------------------------------------------------------------------------- leftovers, disks, folders
def test_a_full_disk_names_the_file_and_keeps_the_previous_one(data, tmp_path, monkeypatch):
    trainer = _tiny_trainer(tmp_path, data)
    trainer.fit(1)
    before = (tmp_path / "checkpoint.npz").read_bytes()

    def full(file, **arrays):
        file.write(b"PK\3\4 a few bytes")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(OSError, match=r"cannot write .*checkpoint.npz: No space left on device") as info:
        trainer.fit(2)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert (tmp_path / "checkpoint.npz").read_bytes() == before
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []


def test_an_interrupted_plot_keeps_the_previous_curves(data, tmp_path, monkeypatch):
    trainer = _tiny_trainer(tmp_path, data)
    trainer.fit(1)
    before = (tmp_path / "curves.png").read_bytes()
    import minis2s.app.plotting

    def half_a_png(history, path, title=None):
        with open(path, "wb") as f:
            f.write(before[:100])
        raise KeyboardInterrupt
    monkeypatch.setattr(minis2s.app.plotting, "plot_history", half_a_png)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(2)
    assert (tmp_path / "curves.png").read_bytes() == before
    monkeypatch.undo()


def test_history_json_never_lags_an_interrupted_save(data, tmp_path, monkeypatch):
    """Whichever file of a save is interrupted, history.json holds at least the checkpoint's epochs."""
    import minis2s.app.trainer as T
    for interrupted in (1, 2, 3):               # history.json, checkpoint.npz, curves.png
        folder = tmp_path / str(interrupted)
        trainer = _tiny_trainer(folder, data)
        trainer.fit(1)
        real, writes = T.atomic_write_bytes, []

        def failing(path, write):
            writes.append(path)
            if len(writes) == interrupted:
                raise KeyboardInterrupt
            return real(path, write)
        monkeypatch.setattr(T, "atomic_write_bytes", failing)
        monkeypatch.setattr("minis2s.app.checkpoint.atomic_write_bytes", failing)
        with pytest.raises(KeyboardInterrupt):
            trainer.fit(2)
        monkeypatch.undo()
        ckpt = load_checkpoint(folder / "checkpoint.npz")
        assert len(json.loads((folder / "history.json").read_text())) >= ckpt.epoch


def test_a_stale_history_is_rewritten_from_the_checkpoint(data, tmp_path):
    trainer = _tiny_trainer(tmp_path, data)
    trainer.fit(2)
    (tmp_path / "history.json").write_text(json.dumps(trainer.history[:1]))   # as after a crash
    resumed = _tiny_trainer(tmp_path, data)
    resumed.restore(load_checkpoint(tmp_path / "checkpoint.npz"))
    resumed.fit(2)                                           # nothing to train, but it repairs
    assert json.loads((tmp_path / "history.json").read_text()) == resumed.history


def test_epochs_0_on_a_fresh_folder_leaves_nothing(tmp_path, capsys):
    assert main(["train", *FAST, "--epochs", "0", "--out", str(tmp_path / "r")]) == 1
    assert "--epochs 0: nothing to train" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_model_too_big_for_memory_is_one_line_naming_the_sizes(tmp_path, monkeypatch, capsys):
    import minis2s.models

    def too_big(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(minis2s.models, "Seq2Seq", too_big)
    assert main(["train", *FAST, "--hidden", "60000", "--out", str(tmp_path / "r")]) == 1
    assert "not enough memory for this model and data (--hidden 60000" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_run_that_fails_before_its_first_checkpoint_leaves_no_half_folder(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nno tab here\n")
    assert main(["train", "--data", str(bad), "--no-progress", "--out", str(tmp_path / "r")]) == 1
    assert "line 2" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_the_cli_honours_minis2s_backend(tmp_path, monkeypatch, capsys):
    """The environment's backend is used unless --backend is given (as the API does). Shown
    with cupy where there is no GPU: the error proves the variable was read."""
    from minis2s.backend import available_backends
    if "cupy" in available_backends():
        pytest.skip("a GPU is available here")
    out = tmp_path / "run"
    assert main(["train", *FAST, "--out", str(out)]) == 0
    monkeypatch.setenv("MINIS2S_BACKEND", "cupy")
    capsys.readouterr()
    assert main(["train", *FAST, "--out", str(tmp_path / "other")]) == 1
    assert "backend 'cupy'" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
    assert main(["eval", "--checkpoint", str(out / "checkpoint.npz")]) == 1
    assert "backend 'cupy'" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(out / "checkpoint.npz"), "--backend", "numpy"]) == 0
    monkeypatch.setenv("MINIS2S_BACKEND", "tpu")
    assert main(["eval", "--checkpoint", str(out / "checkpoint.npz")]) == 1
    assert "MINIS2S_BACKEND is 'tpu'" in capsys.readouterr().err


# ---------------------------------------------------------------------------- data files
PAIRS = [("Go.", "Va !"), ("Hi there.", "Salut, toi."), ("Run!", "Cours !")]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("last_newline", [True, False])
@pytest.mark.parametrize("blank_lines", [True, False])
def test_tsv_line_endings(tmp_path, ending, last_newline, blank_lines):
    lines = [f"{s}\t{t}\tattribution #{i}" for i, (s, t) in enumerate(PAIRS)]
    if blank_lines:
        lines.insert(1, "")
    text = ending.join(lines) + (ending if last_newline else "")
    path = tmp_path / "d.tsv"
    path.write_bytes(text.encode("utf-8"))
    assert load_pairs(path) == PAIRS


def test_mixed_line_endings_and_the_book_format(tmp_path):
    path = tmp_path / "mixed.tsv"
    path.write_bytes("Go.\tVa !\r\nHi there.\tSalut, toi.\rRun!\tCours !\n".encode())
    assert load_pairs(path) == PAIRS
    book = tmp_path / "addition.txt"
    book.write_bytes(b"16+75  _91  \r1+2    _3    \r")
    assert load_pairs(book) == [("16+75", "91"), ("1+2", "3")]


def test_a_bad_line_is_numbered_the_same_whatever_the_line_ending(tmp_path):
    for ending in ("\n", "\r\n", "\r"):
        path = tmp_path / "bad.tsv"
        path.write_bytes(ending.join(["a\tb", "c\td", "no tab", "e\tf"]).encode())
        with pytest.raises(InputError, match="line 3: expected 'source<TAB>target'"):
            load_pairs(path)
