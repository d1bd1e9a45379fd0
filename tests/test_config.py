"""One typed config: each setting's type, range and default written once (minis2s.app.config),
shared by the command line's options, the checkpoint's check by value and --resume."""
from dataclasses import asdict, fields

import pytest

from minis2s.app import cli
from minis2s.app.config import (ConfigError, ModelConfig, TrainConfig, check_model_config,
                                check_train_config, option, resolve)
from minis2s.models import Seq2Seq

# (setting, the text a user types, the value a checkpoint holds): both refused, by one rule
BAD = [("hidden", "0", 0), ("hidden", "1e9", 10 ** 9), ("lr", "nan", float("nan")),
       ("lr", "-1", -1.0), ("dropout", "1", 1.0), ("teacher_forcing", "1.5", 1.5),
       ("epochs", "2.5", 2.5), ("seed", "-1", -1), ("val_size", "x", "x"),
       ("lr_decay_start", "never", "never"), ("clip", "inf", float("inf")),
       ("teacher_forcing_schedule", "exponential:k=1", "exponential:k=1")]


def parse_train(argv):
    return cli.build_parser().parse_args(["train", *argv])


@pytest.mark.parametrize("name, text, value", BAD, ids=[f"{n}={t}" for n, t, _ in BAD])
def test_the_command_line_and_the_checkpoint_refuse_a_value_by_the_same_rule(name, text, value, capsys):
    with pytest.raises(SystemExit):
        parse_train([option(name), text])
    err = capsys.readouterr().err
    with pytest.raises(ConfigError) as info:
        check_train_config({name: value}, where="train_config.")
    message = str(info.value)
    assert f"argument {option(name)}: " in err and message.startswith(f"train_config.{name} ({option(name)})")
    # the same words on both sides: "must be an integer in [1, 65536]", or why a spec is wrong
    if " must be " in message:
        reason = message.split(" must be ", 1)[1].split(", got")[0].replace(" (or null)", "")
    else:
        reason = message.split("': ", 1)[1]
    assert reason in err, (reason, err)


def test_every_setting_is_an_option_whose_default_is_the_fields():
    """No second table of defaults: nothing given resolves to TrainConfig's own defaults."""
    args = parse_train([])
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    assert all(v is None for v in given.values()), given       # every setting has its option
    config = resolve({}, word=False, fast=False)
    expected = {f.name: f.default for f in fields(TrainConfig)}
    expected.update(lr=0.01, lr_decay_every=1.0)               # filled in from the optimiser
    assert asdict(config) == expected


def test_options_are_stored_exactly_as_given():
    args = parse_train(["--lr", "1.23456789e-4", "--teacher-forcing-schedule",
                        "linear:c=1.23456789e-4", "--no-reverse", "--lr-decay-start", "off"])
    given = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__ and v is not None}
    config = resolve(given, word=False, fast=False)
    assert config.lr == 1.23456789e-4 and config.reverse is False and config.lr_decay_start == "off"
    assert "c=0.000123456789" in config.teacher_forcing_schedule
    assert check_train_config(asdict(config)) == asdict(config)   # and read back unchanged


def test_the_model_config_matches_what_seq2seq_stores():
    """ModelConfig names Seq2Seq.config's keys: a real model's config passes, unchanged."""
    model = Seq2Seq(7, 9, emb=3, hidden=4, decoder="attention", score="general", bidirectional=True)
    assert set(model.config) == {f.name for f in fields(ModelConfig)}
    assert check_model_config(model.config) == model.config


@pytest.mark.parametrize("field, value, named", [
    ("reverse", "false", "model_config.reverse must be true or false"),
    ("encoder_module", 3, "model_config.encoder_module is not an argument"),
    ("hidden", True, "model_config.hidden must be an integer"),
    ("init", "glorot", "model_config.init must be one of"),
])
def test_a_model_config_is_checked_by_value(field, value, named):
    config = {**Seq2Seq(7, 9, emb=3, hidden=4).config, field: value}
    with pytest.raises(ConfigError, match=named):
        check_model_config(config)


def test_a_checkpoint_the_loader_would_refuse_is_never_written(tmp_path):
    """The writer checks the configs by the loader's rules: an API user's Trainer(config=...)
    holding a setting minis2s does not know gets an error, not a file that eval refuses."""
    from minis2s.app.checkpoint import save_checkpoint
    from minis2s.data import Vocab
    model = Seq2Seq(7, 6, emb=3, hidden=4)
    vocab = Vocab(list("abc"))
    for bad in ({"my_note": "x"}, {"reverse": "false"}, {"lr": float("nan")}):
        with pytest.raises(ConfigError, match="train_config"):
            save_checkpoint(tmp_path / "c.npz", model, Vocab(list("abcd")), vocab, train_config=bad)
        assert not (tmp_path / "c.npz").exists()
    save_checkpoint(tmp_path / "c.npz", model, Vocab(list("abcd")), vocab, train_config={"lr": 0.5})
