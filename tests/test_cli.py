"""The command line as a user drives it: train, eval, translate, gradcheck, resume, mistakes."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from minis2s.app.checkpoint import load_checkpoint
from minis2s.app.cli import main
from minis2s.data import make_task, toy_translation, write_tsv

FAST = ["--fast", "--no-progress", "--train-size", "300", "--val-size", "40"]


def run_cli(*args, stdin=None):
    """``python -m minis2s ARGS`` in a fresh process: (exit status, stdout, stderr)."""
    env = dict(os.environ, MINIS2S_BACKEND="numpy")
    p = subprocess.run([sys.executable, "-m", "minis2s", *args], input=stdin, capture_output=True,
                       text=True, env=env, timeout=120)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One tiny training run, shared by the eval / translate tests."""
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", *FAST, "--out", str(out)]) == 0
    return out


def test_train_writes_the_run_folder(run_dir, capsys):
    assert sorted(p.name for p in run_dir.iterdir()) == [
        ".lock", ".minis2s-run", "checkpoint.npz", "config.json", "curves.png", "history.json"]   # .lock: one writer
    info = json.loads((run_dir / "config.json").read_text())
    assert info["command"].startswith("minis2s train --fast")
    assert info["config"]["hidden"] == 32 and info["config"]["train_size"] == 300
    assert info["config"]["model"] == "peeky" and info["config"]["reverse"] is True
    history = json.loads((run_dir / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert {"val_loss", "val_perplexity", "val_token_accuracy", "val_exact_match"} <= set(history[-1])
    ckpt = load_checkpoint(run_dir / "checkpoint.npz")
    assert ckpt.epoch == 2 and ckpt.train_config["out"] == str(run_dir)


def test_train_prints_the_final_accuracy(tmp_path, capsys):
    assert main(["train", *FAST, "--epochs", "1", "--model", "plain", "--no-reverse",
                 "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "plain decoder, plain source" in out
    assert "final validation exact match:" in out


def test_eval_on_the_recorded_split_and_on_a_file(run_dir, tmp_path, capsys):
    assert main(["eval", "--checkpoint", str(run_dir / "checkpoint.npz")]) == 0
    out = capsys.readouterr().out
    assert "validation split of addition (40 pairs)" in out
    for name in ("loss", "perplexity", "token accuracy", "exact match"):
        assert name in out
    history = json.loads((run_dir / "history.json").read_text())
    assert f"{history[-1]['val_exact_match']:.2f} %" in out      # the same split, the same number

    data = write_tsv(make_task("addition", 30, seed=7), tmp_path / "more.tsv")
    assert main(["eval", "--checkpoint", str(run_dir / "checkpoint.npz"), "--data", str(data),
                 "--beam", "3"]) == 0
    out = capsys.readouterr().out
    assert "more.tsv (30 pairs)" in out and "beam search, k = 3" in out


def test_translate_arguments_and_stdin(run_dir):
    ckpt = str(run_dir / "checkpoint.npz")
    code, out, err = run_cli("translate", "--checkpoint", ckpt, "12+3", "7+x")
    assert code == 0, err
    assert len(out.splitlines()) == 2
    assert "unknown to the model" in err and "'x'" in err and "Traceback" not in err
    code, out2, err = run_cli("translate", "--checkpoint", ckpt, "--beam", "2", stdin="12+3\n\n40+2\n")
    assert code == 0, err
    lines = out2.splitlines()
    assert len(lines) == 3 and lines[1] == ""          # an empty line stays an empty line
    assert err == ""


def test_gradcheck_command():
    code, out, err = run_cli("gradcheck")
    assert code == 0, out + err
    assert "Seq2Seq, peeky decoder" in out and "lstm_forward/backward" in out
    assert "lstm_step_forward/backward" in out and "peek_forward/backward" in out
    assert "gru_forward/backward" in out and "GRU (2 layers, masked)" in out
    assert "all 22 checks passed" in out


def test_gradcheck_fails_loudly_on_a_wrong_backward(monkeypatch, capsys):
    import minis2s.functional as F
    right = F.linear_backward

    def wrong(dout, cache):
        dx, dW, db = right(dout, cache)
        return dx, dW * 1.01, db        # the layer stores this wrong dW as its gradient
    monkeypatch.setattr(F, "linear_backward", wrong)
    assert main(["gradcheck"]) == 1
    out = capsys.readouterr().out
    assert "FAIL (W)" in out and "checks FAILED" in out


def test_resume_gives_the_same_weights_as_one_run(tmp_path, capsys):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(["train", *FAST, "--epochs", "2", "--out", str(straight)]) == 0
    assert main(["train", *FAST, "--epochs", "1", "--out", str(split)]) == 0
    assert main(["train", "--resume", "--no-progress", "--epochs", "2", "--out", str(split)]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out
    a, b = load_checkpoint(straight / "checkpoint.npz"), load_checkpoint(split / "checkpoint.npz")
    assert a.step == b.step
    for name, w in a.model_state.items():
        np.testing.assert_array_equal(b.model_state[name], w, err_msg=name)
    assert json.loads((split / "config.json").read_text())["resumed_from_epoch"] == 1


def test_train_on_a_tsv_corpus_reports_bleu(tmp_path, capsys):
    data = write_tsv(toy_translation(200, seed=0), tmp_path / "toy.tsv")
    assert main(["train", "--data", str(data), *FAST, "--epochs", "1", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "word tokens" in out and "BLEU" in out
    assert "val_bleu" in json.loads((tmp_path / "r" / "history.json").read_text())[-1]


def test_divergence_exits_with_one_line(tmp_path, monkeypatch, capsys):
    from minis2s.models import Seq2Seq
    forward = Seq2Seq.forward

    def exploding(self, src, tgt):
        loss = forward(self, src, tgt)
        return loss * np.inf if self.step_count == 7 else loss
    monkeypatch.setattr(Seq2Seq, "forward", exploding)
    assert main(["train", *FAST, "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("minis2s: error: training diverged at epoch 2, step 7")
    assert "\n" not in err


# ---------------------------------------------------------------------------- user mistakes
def _mistakes(tmp_path, run_dir):
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    ckpt = str(run_dir / "checkpoint.npz")
    small = write_tsv(make_task("addition", 20), tmp_path / "small.tsv")
    return {
        "missing checkpoint": (["eval", "--checkpoint", str(tmp_path / "none.npz")], "no such file"),
        "corrupt checkpoint": (["translate", "--checkpoint", str(text), "1+1"], "not a minis2s checkpoint"),
        "missing data file": (["train", "--data", str(tmp_path / "none.tsv"), "--out", str(tmp_path / "a")],
                              "not found"),
        "eval data missing": (["eval", "--checkpoint", ckpt, "--data", str(tmp_path / "none.tsv")],
                              "not found"),
        "unknown task": (["train", "--task", "sorting", "--out", str(tmp_path / "b")],
                         "task (--task) must be one of"),
        "too much validation": (["train", "--data", str(small), "--fast", "--val-size", "50",
                                 "--out", str(tmp_path / "e")], "no training data"),
        "resume without checkpoint": (["train", "--resume", "--out", str(tmp_path / "f")], "no checkpoint"),
        "resume with other settings": (["train", "--resume", "--hidden", "64", "--out", str(run_dir)],
                                       "--hidden is 64 but the checkpoint was trained with 32"),
        "existing run": (["train", *FAST, "--out", str(run_dir)], "already holds a checkpoint"),
    }


CASES = ["missing checkpoint", "corrupt checkpoint", "missing data file", "eval data missing",
         "unknown task", "too much validation",   # bad numbers: refused by the parser (test_faults)
         "resume without checkpoint", "resume with other settings", "existing run"]


@pytest.mark.parametrize("case", CASES)
def test_user_mistakes_give_one_line(case, tmp_path, run_dir, capsys):
    argv, expected = _mistakes(tmp_path, run_dir)[case]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("minis2s: error: ") and err.count("\n") == 1, err
    assert expected in err


def test_no_traceback_from_a_real_process(tmp_path):
    bad = tmp_path / "empty.npz"
    bad.write_bytes(b"")
    code, out, err = run_cli("eval", "--checkpoint", str(bad))
    assert code == 1
    assert err.strip() == f"minis2s: error: checkpoint {bad}: the file is empty (0 bytes): a copy or " \
                          "save that never finished?"


def test_gpu_backend_without_a_gpu(tmp_path, capsys):
    from minis2s.backend import available_backends
    if "cupy" in available_backends():
        pytest.skip("a GPU is available here")
    assert main(["train", *FAST, "--backend", "cupy", "--out", str(tmp_path / "g")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("minis2s: error: backend 'cupy'") and err.count("\n") == 1


def test_main_keeps_the_traceback_of_a_programming_error(monkeypatch):
    """A bare ValueError from inside the library (say, a shape check in a layer a student
    changed) is not user input: main() lets it through with its traceback."""
    from minis2s.app import cli

    def broken():
        raise ValueError("linear_forward: W must have shape (D, O) = (5, ?), got (4, 6)")
    monkeypatch.setattr(cli.gradcheck, "standard_cases", broken)
    with pytest.raises(ValueError, match="W must have shape"):
        cli.main(["gradcheck"])


def test_main_reports_input_errors_in_one_line(monkeypatch, capsys):
    from minis2s.app import cli
    from minis2s.errors import InputError

    def bad_input():
        raise InputError("--data: no such file 'missing.tsv'")
    monkeypatch.setattr(cli.gradcheck, "standard_cases", bad_input)
    assert cli.main(["gradcheck"]) == 1
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err
