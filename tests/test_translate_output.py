"""translate echoes each input with the score of its answer; pictures stay in the run folder."""
import re

import pytest

from minis2s.app.cli import main

FAST = ["--fast", "--no-progress", "--train-size", "300", "--val-size", "40", "--epochs", "1"]
LINE = re.compile(r"^(?P<text>.*) -> (?P<answer>.*)   \((?P<beam>beam \d+, )?log-probability "
                  r"(?P<score>-?\d+\.\d\d)\)$")


@pytest.fixture(scope="module")
def attention_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("translate") / "run"
    assert main(["train", "--task", "dates", "--model", "attention", *FAST, "--out", str(out)]) == 0
    return out


def test_each_line_echoes_its_input_and_scores_the_answer(attention_run, capsys):
    ckpt = str(attention_run / "checkpoint.npz")
    capsys.readouterr()
    assert main(["translate", "--checkpoint", ckpt, "9/27/94", "September 27, 1994"]) == 0
    greedy = capsys.readouterr().out.splitlines()
    assert [LINE.match(line)["text"] for line in greedy] == ["9/27/94", "September 27, 1994"]
    assert all(float(LINE.match(line)["score"]) <= 0 and not LINE.match(line)["beam"] for line in greedy)
    assert main(["translate", "--checkpoint", ckpt, "--beam", "3", "9/27/94", "September 27, 1994"]) == 0
    beam = capsys.readouterr().out.splitlines()
    assert all(LINE.match(line)["beam"] == "beam 3, " for line in beam)
    # Beam search keeps the greedy path among its candidates: its best is at least as likely.
    for g, b in zip(greedy, beam):
        assert float(LINE.match(b)["score"]) >= float(LINE.match(g)["score"]) - 0.01
    assert main(["translate", "--checkpoint", ckpt, "9/27/94"]) == 0
    one = LINE.match(capsys.readouterr().out.strip())["answer"]
    assert main(["translate", "--checkpoint", ckpt, "--plain", "9/27/94"]) == 0
    assert capsys.readouterr().out.splitlines() == [one]


def test_a_bare_picture_name_goes_into_the_run_folder(attention_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ckpt = str(attention_run / "checkpoint.npz")
    assert main(["translate", "--checkpoint", ckpt, "--attention", "a.png", "9/27/94"]) == 0
    assert (attention_run / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "a.png").exists()
    assert str(attention_run / "a.png") in capsys.readouterr().err
    assert main(["translate", "--checkpoint", ckpt, "--attention", "./b.png", "9/27/94"]) == 0
    assert (tmp_path / "b.png").exists() and not (attention_run / "b.png").exists()
