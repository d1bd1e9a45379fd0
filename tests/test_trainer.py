"""The training loop: exact resume, determinism, divergence, validation metrics, run folder, plots."""
import json

import numpy as np
import pytest

import minis2s
from minis2s.app.checkpoint import load_checkpoint
from minis2s.data import (BatchIterator, Vocab, encode_pairs, pad_batch, split, toy_translation,
                          word_tokenize)
from minis2s.metrics import corpus_bleu, token_accuracy
from minis2s.models import Seq2Seq
from minis2s.optim import SGD, Adam, ConstantSchedule, StepSchedule
from minis2s.app.plotting import plot_history, plot_runs
from minis2s.app.trainer import Trainer, TrainingDiverged, evaluate
from conftest import addition_data


@pytest.fixture(scope="module")
def data():
    return addition_data(200, val_size=40)


def make_trainer(data, optimizer="adam", out_dir=None, log=lambda line: None, **kwargs):
    """A fresh tiny model with dropout and scheduled sampling, so every source of randomness is used."""
    minis2s.use("numpy", dtype="float64")
    (src, tgt), val, sv, tv = data
    model = Seq2Seq(len(sv), len(tv), emb=4, hidden=8, dropout=0.2, teacher_forcing_ratio=0.8, seed=2)
    if optimizer == "adam":
        opt = Adam(model.params, lr=0.01)
        schedule = ConstantSchedule(opt)
    else:
        opt = SGD(model.params, lr=0.5, momentum=0.9)
        schedule = StepSchedule(opt, start_epoch=1.0, every=0.5)   # decays inside the run
    batches = BatchIterator(src, tgt, batch_size=32, seed=4)
    return Trainer(model, opt, batches, val, sv, tv, schedule=schedule, out_dir=out_dir,
                   progress=False, seed=4, log=log, **kwargs)


def weights(trainer):
    return trainer.model.state_dict()


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resume_is_bit_identical(data, tmp_path, optimizer):
    straight = make_trainer(data, optimizer)
    straight.fit(4)

    first = make_trainer(data, optimizer, out_dir=tmp_path)
    first.fit(2)
    resumed = make_trainer(data, optimizer, out_dir=tmp_path)   # a new process would start like this
    resumed.restore(load_checkpoint(tmp_path / "checkpoint.npz"))
    assert resumed.epoch == 2 and resumed.model.step_count == first.model.step_count
    resumed.fit(4)

    for name, w in weights(straight).items():
        np.testing.assert_array_equal(weights(resumed)[name], w, err_msg=name)
    assert resumed.optimizer.lr == straight.optimizer.lr
    assert [h["val_loss"] for h in resumed.history] == [h["val_loss"] for h in straight.history]
    assert [h["epoch"] for h in load_checkpoint(tmp_path / "checkpoint.npz").history] == [1, 2, 3, 4]


def test_same_seed_same_run(data):
    a, b = make_trainer(data), make_trainer(data)
    a.fit(2)
    b.fit(2)
    for name, w in weights(a).items():
        np.testing.assert_array_equal(weights(b)[name], w, err_msg=name)
    strip = [{k: v for k, v in h.items() if k not in ("seconds", "sentences_per_s")} for h in a.history]
    assert strip == [{k: v for k, v in h.items() if k not in ("seconds", "sentences_per_s")}
                     for h in b.history]


def test_run_folder_and_history(data, tmp_path):
    lines = []
    trainer = make_trainer(data, out_dir=tmp_path / "run", log=lines.append, samples=3)
    history = trainer.fit(2)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        ".lock", ".minis2s-run", "checkpoint.npz", "curves.png", "history.json"]      # .lock: one writer at a time
    assert json.loads((tmp_path / "run" / "history.json").read_text()) == history
    record = history[-1]
    for key in ("epoch", "step", "train_loss", "grad_norm", "lr", "seconds", "sentences_per_s",
                "val_loss", "val_perplexity", "val_token_accuracy", "val_exact_match"):
        assert key in record, key
    assert record["step"] == 2 * len(trainer.train_batches)
    assert abs(record["val_perplexity"] - np.exp(record["val_loss"])) < 1e-9
    assert lines[0].startswith("epoch 1/2") and "exact match" in lines[0]
    assert sum("->" in line and "reference" in line for line in lines) == 6   # 3 samples per epoch
    assert (tmp_path / "run" / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_divergence_stops_with_a_clear_error_and_keeps_the_last_checkpoint(data, tmp_path, monkeypatch):
    trainer = make_trainer(data, out_dir=tmp_path)
    trainer.fit(1)
    good = (tmp_path / "checkpoint.npz").read_bytes()
    forward = trainer.model.forward

    def exploding(src, tgt):
        loss = forward(src, tgt)
        return loss * np.nan if trainer.model.step_count == 10 else loss
    monkeypatch.setattr(trainer.model, "forward", exploding)
    with pytest.raises(TrainingDiverged, match=r"epoch 2, step 10 .*nan.*end of epoch 1") as info:
        trainer.fit(3)
    assert (info.value.epoch, info.value.step) == (2, 10)
    assert "\n" not in str(info.value)
    assert (tmp_path / "checkpoint.npz").read_bytes() == good


def test_evaluate_agrees_with_the_model_and_the_metrics(data):
    trainer = make_trainer(data)
    trainer.fit(1)
    model, (src_ids, tgt_ids) = trainer.model, trainer.val_data
    src, tgt = pad_batch(src_ids), pad_batch(tgt_ids)
    metrics, predictions = evaluate(model, src_ids, tgt_ids, max_len=5, batch_size=16)
    assert model.training                                 # the mode is restored

    model.eval()
    assert abs(metrics["loss"] - float(model.forward(src, tgt))) < 1e-12   # one batch: the same mean
    logits, _ = model.decoder.forward(minis2s.to_device(tgt[:, :-1]), model.encode(minis2s.to_device(src)))
    argmax = minis2s.to_cpu(logits).argmax(-1)
    assert abs(metrics["token_accuracy"] - 100 * token_accuracy(argmax, tgt[:, 1:], pad_id=0)) < 1e-9
    greedy, _ = model.generate(src, max_len=5)
    assert predictions == greedy
    exact = np.mean([p == list(t[1:-1]) for p, t in zip(greedy, tgt_ids)])
    assert abs(metrics["exact_match"] - 100 * exact) < 1e-9


def test_bleu_on_a_word_corpus():
    minis2s.use("numpy", dtype="float64")
    train, val, _ = split(toy_translation(120, seed=0), val_size=20, seed=0)
    sv = Vocab.build(word_tokenize(s) for s, _ in train)
    tv = Vocab.build(word_tokenize(t) for _, t in train)
    tr, va = encode_pairs(train, sv, tv, "word", "word"), encode_pairs(val, sv, tv, "word", "word")
    model = Seq2Seq(len(sv), len(tv), emb=4, hidden=8)
    metrics, predictions = evaluate(model, *va, max_len=12, tgt_vocab=tv, bleu=True)
    refs = [tv.decode(t) for t in va[1]]
    assert metrics["bleu"] == corpus_bleu([tv.decode(p) for p in predictions], refs)
    trainer = Trainer(model, Adam(model.params, lr=0.01), BatchIterator(*tr, batch_size=50), va,
                      sv, tv, src_tokenizer="word", tgt_tokenizer="word", bleu=True,
                      progress=False, log=lambda line: None)
    assert "val_bleu" in trainer.fit(1)[-1]


def test_restore_refuses_another_architecture(data, tmp_path):
    make_trainer(data, out_dir=tmp_path).fit(1)
    minis2s.use("numpy", dtype="float64")
    (src, tgt), val, sv, tv = data
    other = Seq2Seq(len(sv), len(tv), emb=4, hidden=6)
    trainer = Trainer(other, Adam(other.params), BatchIterator(src, tgt, 32), val, sv, tv,
                      progress=False)
    with pytest.raises(ValueError, match=r"checkpoint.npz: the model differs.*hidden: 6 here, 8"):
        trainer.restore(load_checkpoint(tmp_path / "checkpoint.npz"))


def test_plots(tmp_path):
    hist = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_exact_match": 10.0 * e,
             "val_token_accuracy": 20.0 * e} for e in (1, 2, 3)]
    assert plot_history(hist, tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
    path = plot_runs({"plain": hist, "peeky": hist}, tmp_path / "runs.png",
                     reference={"peeky": {10: 88.4, 25: 98.14}, "book": {"10": 3.8}})
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no 'val_bleu'"):
        plot_runs({"plain": hist}, tmp_path / "x.png", metric="val_bleu")
