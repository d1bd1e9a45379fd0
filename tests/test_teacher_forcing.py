"""Scheduled sampling: Bengio et al.'s three decays, the trainer applying one per step, the CLI option."""
import json
import math

import numpy as np
import pytest

import minis2s
from minis2s.app.cli import main
from minis2s.data import BatchIterator, Vocab, char_tokenize, encode_pairs, make_task, split
from minis2s.models import Seq2Seq
from minis2s.optim import Adam
from minis2s.teacher_forcing import parse_schedule
from minis2s.app.trainer import Trainer


@pytest.mark.parametrize("spec, step, want", [
    ("linear:k=1,c=0.01,min=0.25", 0, 1.0),
    ("linear:k=1,c=0.01,min=0.25", 30, 0.7),
    ("linear:k=1,c=0.01,min=0.25", 500, 0.25),                 # floored at min
    ("linear:k=0.9,c=0.001,min=0", 100, 0.8),
    ("exponential:k=0.99", 0, 1.0),
    ("exponential:k=0.99", 50, 0.99 ** 50),
    ("inverse-sigmoid:k=10", 0, 10 / 11),
    ("inverse-sigmoid:k=10", 40, 10 / (10 + math.exp(4))),
    ("inverse-sigmoid:k=10", 10 ** 6, 0.0),                    # no overflow far out
])
def test_the_three_decays_follow_bengio_et_al(spec, step, want):
    assert parse_schedule(spec)(step) == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("kind", ["linear", "exponential", "inverse-sigmoid"])
def test_every_default_schedule_starts_near_one_and_decays(kind):
    s = parse_schedule(kind)
    values = [s(i) for i in range(0, 20001, 500)]
    assert values[0] > 0.99 and values[-1] < values[0]
    assert all(b <= a for a, b in zip(values, values[1:]))
    assert all(0.0 <= v <= 1.0 for v in values)
    assert parse_schedule(s.spec) == s                        # the spec round-trips


@pytest.mark.parametrize("spec, message", [
    ("cosine", "unknown schedule 'cosine'"),
    ("linear:c=abc", "c must be a number"),
    ("linear:slope=1", "linear takes k=VALUE, c=VALUE, min=VALUE"),
    ("exponential:k=1.5", "need 0 < k < 1"),
    ("inverse-sigmoid:k=0.5", "need k >= 1"),
    ("linear:c=-1", "c > 0"),
])
def test_bad_specs_name_the_option_and_the_problem(spec, message):
    with pytest.raises(ValueError, match="--teacher-forcing-schedule") as e:
        parse_schedule(spec)
    assert message in str(e.value)


def test_the_trainer_sets_the_ratio_before_every_step():
    minis2s.use("numpy", dtype="float64")
    train, val, _ = split(make_task("addition", 120, seed=1), val_size=20, seed=1)
    sv = Vocab.build(char_tokenize(s) for s, _ in train)
    tv = Vocab.build(char_tokenize(t) for _, t in train)
    (src, tgt), val = encode_pairs(train, sv, tv), encode_pairs(val, sv, tv)
    model = Seq2Seq(len(sv), len(tv), emb=4, hidden=8, seed=2)
    seen = []
    real_forward = model.forward

    def forward(s, t):                                         # record the ratio each step runs with
        seen.append((model.step_count, model.teacher_forcing_ratio))
        return real_forward(s, t)
    model.forward = forward
    schedule = parse_schedule("linear:k=1,c=0.1,min=0.2")
    trainer = Trainer(model, Adam(model.params, lr=0.01), BatchIterator(src, tgt, 25, seed=3), val,
                      sv, tv, progress=False, log=lambda line: None, teacher_forcing=schedule)
    trainer.fit(2)
    assert len(seen) == 2 * len(trainer.train_batches) >= 8
    assert [r for _, r in seen] == [pytest.approx(schedule(s)) for s, _ in seen]
    assert seen[0][1] == 1.0 and seen[-1][1] < 0.5            # it really decays


def test_cli_option_trains_and_is_recorded(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--fast", "--no-progress", "--train-size", "200", "--val-size", "20",
                 "--epochs", "1", "--teacher-forcing-schedule", "exponential:k=0.99",
                 "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert "exponential:k=0.99" in json.dumps(config)        # kept with the run's settings
    with pytest.raises(SystemExit):
        main(["train", "--teacher-forcing-schedule", "cosine"])
    assert "unknown schedule 'cosine'" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["exponential:k=0.9999999", "linear:c=1.23456789e-4",
                                  "inverse-sigmoid:k=1000.0000001", "linear:k=0.1,c=3e-300,min=0"])
def test_the_stored_spec_is_exactly_the_schedule_given(spec):
    """The spec a run stores reads back as the same schedule: k=0.9999999 did not pass its own
    check once written as k=1, and c=1.23456789e-4 was trained as 0.000123457."""
    s = parse_schedule(spec)
    assert parse_schedule(s.spec) == s
    given = dict(item.split("=") for item in spec.split(":")[1].split(","))
    assert all(dict(s.params)[k] == float(v) for k, v in given.items())
