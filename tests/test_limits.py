"""Bounded before work starts (issue 21): memory estimated and refused in one line, the
attention picture's size and path checked up front, no regenerated training split for a
warning, a --max-len shorter than the targets refused before an epoch is spent."""
import pytest

from minis2s.app import sizes
from minis2s.app.cli import main
from minis2s.data import toy_translation, write_tsv

FAST = ["--fast", "--no-progress", "--train-size", "200", "--val-size", "30", "--epochs", "1"]


@pytest.fixture(scope="module")
def attention_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("att") / "run"
    assert main(["train", *FAST, "--task", "dates", "--model", "attention", "--out", str(out)]) == 0
    return str(out / "checkpoint.npz")


@pytest.fixture(scope="module")
def word_run(tmp_path_factory):
    """A word-level run, and a data file like it with one 10,000-token line."""
    root = tmp_path_factory.mktemp("word")
    pairs = toy_translation(200, seed=0)
    corpus = write_tsv(pairs, root / "toy.tsv")
    out = root / "run"
    assert main(["train", "--data", str(corpus), *FAST, "--out", str(out)]) == 0
    def long(text):
        words = text.split()
        return " ".join((words * (10_000 // len(words) + 1))[:10_000])
    long_line = [(long(pairs[0][0]), long(pairs[0][1]))]
    return out, write_tsv(pairs[:20] + long_line, root / "long.tsv")


def one_line_error(capsys, start):
    err = capsys.readouterr().err
    assert err.startswith("minis2s: error: " + start) and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# ---------------------------------------------------------------------------- --attention paths
@pytest.mark.parametrize("path, says", [
    ("", "--attention: the file name is empty"),
    ("a.txt", "--attention a.txt: the picture is written as PNG, so the file name must end in .png"),
    ("{tmp}", "--attention {tmp}: is a folder"),
    ("{tmp}/", "--attention {tmp}/: is a folder"),
])
def test_attention_paths_are_checked_before_anything_is_decoded(attention_ckpt, tmp_path, capsys,
                                                                  path, says):
    path, says = path.format(tmp=tmp_path), says.format(tmp=tmp_path)
    assert main(["translate", "--checkpoint", attention_ckpt, "--attention", path, "9/27/94"]) == 1
    one_line_error(capsys, says)
    assert list(tmp_path.iterdir()) == []                 # nothing drawn anywhere


def test_attention_says_exactly_where_each_picture_is(attention_ckpt, tmp_path, capsys):
    target = tmp_path / "pics" / "a.png"
    assert main(["translate", "--checkpoint", attention_ckpt, "--attention", str(target),
                 "9/27/94", "1/2/03"]) == 0
    err = capsys.readouterr().err
    written = sorted(p.name for p in target.parent.iterdir())
    assert written == ["a-1.png", "a-2.png"]
    for n in (1, 2):
        assert f"attention weights of input {n} drawn in {target.parent / f'a-{n}.png'}\n" in err
    assert main(["translate", "--checkpoint", attention_ckpt, "--attention", str(target), "9/27/94"]) == 0
    assert f"drawn in {target}\n" in capsys.readouterr().err and target.is_file()


def test_a_picture_too_long_to_draw_is_refused_up_front(attention_ckpt, capsys):
    long_input = "9/27/94 " * 30                           # 240 characters
    assert main(["translate", "--checkpoint", attention_ckpt, "--attention", "x.png", long_input]) == 1
    err = one_line_error(capsys, "--attention: input 1 is 240 tokens long; a picture holds at most 100")
    assert "9/27/94" not in err.split("error:")[0]


# ---------------------------------------------------------------------------- memory, up front
def test_eval_refuses_a_batch_that_cannot_fit(word_run, monkeypatch, capsys):
    out, long_file = word_run
    monkeypatch.setattr(sizes, "available_memory", lambda: 2**27)        # a 128 MiB machine
    assert main(["eval", "--checkpoint", str(out / "checkpoint.npz"), "--data", str(long_file)]) == 1
    err = one_line_error(capsys, "evaluating batches of 21 pairs (the longest source 10000 tokens, the longest target 10000,")
    assert "more than the 128.0 MiB available: pass a smaller --batch-size" in err
    # the control: the same machine evaluates the ordinary split
    assert main(["eval", "--checkpoint", str(out / "checkpoint.npz")]) == 0


def test_training_refuses_a_batch_that_cannot_fit(word_run, tmp_path, monkeypatch, capsys):
    _, long_file = word_run
    monkeypatch.setattr(sizes, "available_memory", lambda: 2**30)
    out = tmp_path / "run"
    assert main(["train", "--data", str(long_file), *FAST, "--val-size", "2", "--model", "attention",
                 "--out", str(out)]) == 1
    one_line_error(capsys, "training batches of 64 pairs (the longest source")
    assert not out.exists()                               # refused before the folder was kept


def test_a_task_too_big_to_generate_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sizes, "available_memory", lambda: 2**30)
    assert main(["train", "--no-progress", "--train-size", "5000000", "--out", str(tmp_path / "r")]) == 1
    one_line_error(capsys, "generating 5,002,000 pairs of the addition task would need about")


def test_translate_does_not_regenerate_a_huge_training_split_for_a_warning(tmp_path, monkeypatch, capsys):
    """A checkpoint saying train_size=10^7 made translating one string take 168 s and 4.3 GB."""
    import json
    import numpy as np
    out = tmp_path / "run"
    assert main(["train", *FAST, "--out", str(out)]) == 0
    path = out / "checkpoint.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    meta["train_config"]["train_size"] = 10 ** 7
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)

    def no_generating(*args, **kwargs):
        raise AssertionError("the training split was regenerated")
    monkeypatch.setattr("minis2s.app.cli.common.make_task", no_generating)
    capsys.readouterr()
    assert main(["translate", "--checkpoint", str(path), "12+34"]) == 0
    assert capsys.readouterr().out.count("\n") == 1


def test_a_max_len_shorter_than_the_targets_is_refused_before_an_epoch(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *FAST, "--max-len", "2", "--out", str(out)]) == 1
    one_line_error(capsys, "--max-len 2: the longest target is")
    assert not out.exists()
