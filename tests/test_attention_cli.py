"""The attention model from the command line: train, resume, eval, translate --attention."""
import json

import numpy as np
import pytest

from minis2s.app.checkpoint import load_checkpoint, model_from_checkpoint
from minis2s.app.cli import main

FAST = ["--task", "dates", "--fast", "--no-progress", "--train-size", "200", "--val-size", "30"]
ATTENTION = ["--model", "attention", "--score", "additive", "--bidirectional"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("attn") / "run"
    assert main(["train", *FAST, *ATTENTION, "--out", str(out)]) == 0
    return out


def test_train_records_the_attention_settings(run_dir):
    ckpt = load_checkpoint(run_dir / "checkpoint.npz")
    assert ckpt.model_config["decoder"] == "attention"
    assert ckpt.model_config["score"] == "additive" and ckpt.model_config["bidirectional"] is True
    model = model_from_checkpoint(ckpt)
    assert type(model.decoder).__name__ == "AttentionDecoder"
    assert type(model.encoder).__name__ == "BidirectionalEncoder"
    for name, w in ckpt.model_state.items():           # the weights come back exactly
        np.testing.assert_array_equal(model.state_dict()[name], w, err_msg=name)
    info = json.loads((run_dir / "config.json").read_text())
    assert info["config"]["score"] == "additive" and info["config"]["bidirectional"] is True


def test_default_run_folder_names_the_score(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *FAST, "--epochs", "1", "--model", "attention", "--score", "general"]) == 0
    assert (tmp_path / "runs" / "dates-attention-general" / "checkpoint.npz").exists()
    assert "attention-general decoder" in capsys.readouterr().out
    assert main(["train", *FAST, "--epochs", "1", "--model", "attention", "--input-feeding",
                 "--bidirectional"]) == 0
    ckpt = load_checkpoint(tmp_path / "runs" / "dates-attention-dot-if-bi" / "checkpoint.npz")
    assert ckpt.model_config["input_feeding"] is True
    assert model_from_checkpoint(ckpt).decoder.input_feeding
    assert main(["train", *FAST, "--epochs", "1", "--model", "attention", "--attention-output",
                 "concat"]) == 0
    ckpt = load_checkpoint(tmp_path / "runs" / "dates-attention-dot-concat" / "checkpoint.npz")
    assert model_from_checkpoint(ckpt).decoder.attn.output == "concat"


def test_resume_gives_the_same_weights_as_one_run(tmp_path, capsys):
    straight, split = tmp_path / "straight", tmp_path / "split"
    args = [*FAST, *ATTENTION, "--teacher-forcing", "0.5"]     # the draws must resume too
    assert main(["train", *args, "--epochs", "2", "--out", str(straight)]) == 0
    assert main(["train", *args, "--epochs", "1", "--out", str(split)]) == 0
    assert main(["train", "--resume", "--no-progress", "--epochs", "2", "--out", str(split)]) == 0
    a, b = load_checkpoint(straight / "checkpoint.npz"), load_checkpoint(split / "checkpoint.npz")
    assert a.step == b.step
    for name, w in a.model_state.items():
        np.testing.assert_array_equal(b.model_state[name], w, err_msg=name)


def test_eval_and_beam_translate(run_dir, capsys):
    assert main(["eval", "--checkpoint", str(run_dir / "checkpoint.npz"), "--beam", "3"]) == 0
    assert "exact match" in capsys.readouterr().out
    assert main(["translate", "--checkpoint", str(run_dir / "checkpoint.npz"), "--beam", "3",
                 "September 27, 1994"]) == 0
    assert capsys.readouterr().out.strip()


def test_translate_draws_the_attention(run_dir, tmp_path, capsys):
    one = tmp_path / "one.png"
    assert main(["translate", "--checkpoint", str(run_dir / "checkpoint.npz"),
                 "--attention", str(one), "September 27, 1994"]) == 0
    assert one.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(one) in capsys.readouterr().err
    many = tmp_path / "many.png"
    assert main(["translate", "--checkpoint", str(run_dir / "checkpoint.npz"),
                 "--attention", str(many), "9/27/94", "27.09.1994"]) == 0
    assert (tmp_path / "many-1.png").exists() and (tmp_path / "many-2.png").exists()


def test_attention_picture_of_a_model_without_attention_is_refused(tmp_path, capsys):
    out = tmp_path / "peeky"
    assert main(["train", *FAST, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["translate", "--checkpoint", str(out / "checkpoint.npz"),
                 "--attention", str(tmp_path / "a.png"), "9/27/94"]) != 0
    err = capsys.readouterr().err
    assert "no attention" in err and "--model attention" in err
    assert not (tmp_path / "a.png").exists()


def test_bad_attention_options_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", *FAST, "--model", "attention", "--score", "cosine", "--out", str(tmp_path / "r")])
    assert "--score" in capsys.readouterr().err
    assert main(["train", *FAST, "--model", "attention", "--bidirectional", "--hidden", "33",
                 "--out", str(tmp_path / "odd")]) != 0
    assert "even" in capsys.readouterr().err
