"""What a student meets in the first hour: defaults that fit the data, messages that say what to
do next (Ctrl-C, no GPU, unknown words, inputs unlike the training data), BLAS threads, plots."""
from dataclasses import asdict

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from minis2s.app import cli
from minis2s.app.checkpoint import load_checkpoint
from minis2s.app.cli import main
from minis2s.data import toy_translation, write_tsv
from minis2s.data.tasks import TASKS
from minis2s.app.config import FAST as FAST_SETTING
from minis2s.app.config import WORD_DEFAULTS, WORD_LR
from minis2s.app.threads import DEFAULT_THREADS, blas_threads

FAST = ["--fast", "--no-progress", "--train-size", "300", "--val-size", "40"]


def resolved(argv, tmp_path, monkeypatch):
    """The settings `minis2s train ARGV` would run with (nothing is trained)."""
    monkeypatch.chdir(tmp_path)
    args = cli.build_parser().parse_args(["train", *argv])
    config, given = cli.train._resolve_train_config(args)
    return asdict(cli.train._train_config(args, given, config)[0])


@pytest.fixture
def corpus(tmp_path):
    return str(write_tsv(toy_translation(200, seed=0), tmp_path / "toy.tsv"))


# ---------------------------------------------------------------------------- defaults
def test_a_word_level_corpus_gets_its_own_defaults(corpus, tmp_path, monkeypatch):
    config = resolved(["--data", corpus], tmp_path, monkeypatch)
    assert {k: config[k] for k in WORD_DEFAULTS} == WORD_DEFAULTS
    assert config["lr"] == WORD_LR["adam"]
    assert config["out"] == "runs/toy-peeky"
    task = resolved([], tmp_path, monkeypatch)           # the generated task keeps its own
    assert (task["emb"], task["hidden"], task["epochs"], task["lr"]) == (16, 128, 8, 0.01)


def test_each_task_gets_its_own_defaults(corpus, tmp_path, monkeypatch):
    from minis2s.app.config import TASK_DEFAULTS
    assert set(TASK_DEFAULTS) <= set(TASKS)
    for task, defaults in TASK_DEFAULTS.items():
        config = resolved(["--task", task], tmp_path, monkeypatch)
        assert {k: config[k] for k in defaults} == defaults, task
        assert resolved(["--task", task, "--epochs", "11"], tmp_path, monkeypatch)["epochs"] == 11
    assert resolved(["--task", "addition"], tmp_path, monkeypatch)["epochs"] == 8
    # A data file is not a task: its own defaults, whatever TASK_DEFAULTS says.
    assert resolved(["--data", corpus], tmp_path, monkeypatch)["epochs"] == WORD_DEFAULTS["epochs"]
    # --help says so.
    help_text = " ".join(cli.build_parser()._subparsers._group_actions[0].choices["train"]
                         .format_help().split())
    for task in TASK_DEFAULTS:
        assert task in help_text.split("--epochs EPOCHS train", 1)[1].split("--batch-size")[0]


def test_options_given_beat_the_word_level_defaults(corpus, tmp_path, monkeypatch):
    config = resolved(["--data", corpus, "--hidden", "64", "--epochs", "3", "--optimizer", "sgd"],
                      tmp_path, monkeypatch)
    assert (config["hidden"], config["epochs"], config["lr"]) == (64, 3, WORD_LR["sgd"])
    assert config["emb"] == WORD_DEFAULTS["emb"]
    fast = resolved(["--data", corpus, "--fast"], tmp_path, monkeypatch)
    assert fast["hidden"] == FAST_SETTING["hidden"] and fast["epochs"] == FAST_SETTING["epochs"]


def test_swap_trains_the_other_direction_in_its_own_folder(corpus, tmp_path, capsys):
    runs = []
    for swap in ([], ["--swap"]):
        out = tmp_path / f"r{len(swap)}"
        assert main(["train", "--data", corpus, *swap, *FAST, "--epochs", "1", "--out", str(out)]) == 0
        runs.append(load_checkpoint(out / "checkpoint.npz"))
        printed = capsys.readouterr().out
        assert ("column 2 -> column 1" if swap else "column 1 -> column 2") in printed
    (plain, swapped) = runs
    assert plain.src_vocab == swapped.tgt_vocab and plain.tgt_vocab == swapped.src_vocab
    args = cli.build_parser().parse_args(["train", "--data", corpus, "--swap"])
    config, given = cli.train._resolve_train_config(args)
    assert cli.train._train_config(args, given, config)[0].out == "runs/toy-swap-peeky"


# ---------------------------------------------------------------------------- messages
def test_no_gpu_is_reported_before_a_full_run_folder(tmp_path, capsys):
    from minis2s.backend import available_backends
    if "cupy" in available_backends():
        pytest.skip("a GPU is available here")
    out = str(tmp_path / "r")
    assert main(["train", *FAST, "--epochs", "1", "--out", out]) == 0
    capsys.readouterr()
    assert main(["train", *FAST, "--backend", "cupy", "--out", out]) == 1
    err = capsys.readouterr().err
    assert err.startswith("minis2s: error: backend 'cupy'") and "already holds" not in err
    assert 'pip install -e ".[gpu]"' in err


def test_ctrl_c_names_the_saved_epoch_and_the_resume_command(tmp_path, monkeypatch, capsys):
    out = tmp_path / "r"
    assert main(["train", *FAST, "--epochs", "4", "--out", str(out)]) == 0
    ckpt = load_checkpoint(out / "checkpoint.npz")
    capsys.readouterr()
    train_epoch = cli.train.Trainer.train_epoch

    def interrupted_in_epoch_2(self, epoch, epochs=None):
        if epoch == 2:
            raise KeyboardInterrupt
        return train_epoch(self, epoch, epochs)
    monkeypatch.setattr(cli.train.Trainer, "train_epoch", interrupted_in_epoch_2)
    other = tmp_path / "other"
    assert main(["train", *FAST, "--epochs", "4", "--out", str(other)]) == 130
    err = capsys.readouterr().err
    assert f"interrupted during epoch 2: {other / 'checkpoint.npz'} holds epoch 1" in err
    assert f"continue with: minis2s train --resume --out {other}" in err
    monkeypatch.setattr(cli.train.Trainer, "train_epoch", train_epoch)
    # the printed command does go on, to the epochs first asked for
    assert main(["train", "--resume", "--no-progress", "--out", str(other)]) == 0
    resumed = load_checkpoint(other / "checkpoint.npz")
    assert resumed.epoch == 4 and resumed.step == ckpt.step
    for name, w in ckpt.model_state.items():
        np.testing.assert_array_equal(resumed.model_state[name], w, err_msg=name)


def test_ctrl_c_before_the_first_epoch_says_nothing_was_saved(tmp_path, monkeypatch, capsys):
    def interrupted(self, epoch, epochs=None):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli.train.Trainer, "train_epoch", interrupted)
    assert main(["train", *FAST, "--out", str(tmp_path / "r")]) == 130
    err = capsys.readouterr().err
    assert "before any epoch was saved" in err and "start again with: minis2s train --fast" in err


# ---------------------------------------------------------------------------- threads
def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_blas_threads_limits_and_restores():
    before = _blas_threads()
    if not before:
        pytest.skip("threadpoolctl finds no BLAS library here")
    with blas_threads(1):
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before
    with blas_threads(0):
        assert _blas_threads() == before
    with pytest.raises(ValueError, match="BLAS threads"):
        blas_threads(-1)


@pytest.mark.parametrize("option, expected", [([], DEFAULT_THREADS), (["--threads", "0"], None)])
def test_commands_run_under_the_thread_limit(option, expected, monkeypatch):
    before = _blas_threads()
    if not before:
        pytest.skip("threadpoolctl finds no BLAS library here")
    seen = []
    monkeypatch.setattr(cli.eval_command, "run", lambda args, command: seen.append(_blas_threads()) or 0)
    assert main(["eval", "--checkpoint", "x.npz", *option]) == 0
    assert seen == [[expected] * len(before) if expected else before]
    assert _blas_threads() == before


# ---------------------------------------------------------------------------- plots
def _drawn(monkeypatch, history):
    """plot_history's figure, as {panel title: (y label, [legend labels])}."""
    import minis2s.app.plotting as plotting
    seen = {}

    def record(fig, path):
        seen.update({ax.get_title(): (ax.get_ylabel(), ax.get_legend_handles_labels()[1])
                     for ax in fig.axes})
        seen["suptitle"] = fig._suptitle.get_text() if fig._suptitle else None
        return path
    monkeypatch.setattr(plotting, "_save", record)
    plotting.plot_history(history, "unused.png", title="t")
    return seen


def test_curves_without_bleu_have_no_bleu_axis(monkeypatch):
    hist = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_exact_match": 10.0 * e,
             "val_token_accuracy": 20.0 * e, "lr": 0.01 if e < 3 else 0.005} for e in (1, 2, 3)]
    panels = _drawn(monkeypatch, hist)
    assert sorted(panels) == ["Loss (lower is better)", "Validation accuracy (higher is better)",
                              "suptitle"]
    assert not any("BLEU" in str(v) for v in panels.values())
    assert any("lowered" in label for label in panels["Loss (lower is better)"][1])
    assert len(panels["Validation accuracy (higher is better)"][1]) == 2


def test_bleu_gets_its_own_panel_so_exact_match_stays_visible(monkeypatch):
    hist = [{"epoch": e, "train_loss": 5 / e, "val_loss": 5.0, "val_exact_match": 0.0,
             "val_token_accuracy": 30.0, "val_bleu": 0.5 * e} for e in (1, 2, 3)]
    panels = _drawn(monkeypatch, hist)
    accuracy = panels["Validation accuracy (higher is better)"]
    assert not any("BLEU" in label for label in accuracy[1]) and "BLEU" not in accuracy[0]
    assert panels["Validation BLEU (higher is better)"][0] == "BLEU-4 (0-100)"


def test_the_run_folder_curves_name_the_run(tmp_path, monkeypatch):
    import minis2s.app.plotting as plotting
    titles = []
    plot = plotting.plot_history
    monkeypatch.setattr(plotting, "plot_history",
                        lambda h, path, title=None: titles.append(title) or plot(h, path, title))
    assert main(["train", *FAST, "--epochs", "1", "--out", str(tmp_path / "r")]) == 0
    assert titles == ["addition task: peeky decoder, reversed source\n1 layer, emb 8, hidden 32, "
                      "init uniform"]


def test_plot_titles_name_every_model_option():
    from minis2s.app.plotting import run_title
    config = dict(task="dates", model="attention", score="general", input_feeding=True,
                  attention_output="concat", bidirectional=True, reverse=False, layers=2, emb=16,
                  hidden=64, dropout=0.2, teacher_forcing=0.5, init="fan_in")
    assert run_title(config) == ("dates task: attention decoder (general score, input feeding, "
                                 "concat output), bidirectional encoder, source in order\n"
                                 "2 layers, emb 16, hidden 64, dropout 0.2, teacher forcing 0.5, "
                                 "init fan_in")
    # The defaults say so too: the score of an attention model is always named.
    plain = dict(config, input_feeding=False, attention_output="luong", bidirectional=False,
                 score="dot", dropout=0.0, teacher_forcing=1.0, layers=1)
    assert run_title(plain).startswith("dates task: attention decoder (dot score), source in order\n"
                                       "1 layer, emb 16, hidden 64, init fan_in")
    assert run_title(dict(data="tatoeba-kor-eng", swap=True, model="peeky")) == \
        "tatoeba-kor-eng (--swap: column 2 -> 1): peeky decoder"


# ---------------------------------------------------------------------------- unknown and unlike
def test_translate_warns_about_inputs_unlike_the_training_data(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", *FAST, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    ckpt = str(out / "checkpoint.npz")
    assert main(["translate", "--checkpoint", ckpt, "16+75", "999+99"]) == 0
    assert capsys.readouterr().err == ""                      # the training data's own kind
    assert main(["translate", "--checkpoint", ckpt, "1000+1", "1+2+3+4+5"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert "input 1 ('1000+1') is outside what the model was trained on" in err[0]
    assert "form '9999+9'" in err[0]
    assert "9 characters long, the longest training source 7" in err[1]


def test_eval_says_how_many_words_are_unknown_and_whether_that_is_expected(tmp_path, capsys):
    pairs = [(f"the cat {i}", f"die katze {i}") for i in range(400)]   # every number once
    data = write_tsv(pairs, tmp_path / "cats.tsv")
    out = tmp_path / "r"
    assert main(["train", "--data", str(data), *FAST, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    ckpt = str(out / "checkpoint.npz")
    assert main(["eval", "--checkpoint", ckpt]) == 0            # its own validation split
    err = capsys.readouterr().err
    assert err.startswith("minis2s: note: 40 of 120 source words (33.3 %")
    assert "40 of 120 target words (33.3 %" in err and "Expected on a held-out split" in err
    other = write_tsv([("the dog 1", "der hund 1")], tmp_path / "dogs.tsv")
    assert main(["eval", "--checkpoint", ckpt, "--data", str(other)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("minis2s: warning: 1 of 3 source words (33.3 %, e.g. 'dog')")
    assert "differs from the training data" in err


# ---------------------------------------------------------------------------- pytest -ra
@pytest.mark.slow
def test_the_skip_summary_has_one_line_per_reason(tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path
    shutil.copy(Path(__file__).resolve().parent.parent / "conftest.py", tmp_path / "conftest.py")
    for name in ("a", "b"):
        (tmp_path / f"test_{name}.py").write_text(
            "import pytest\n"
            "@pytest.mark.parametrize('i', range(3))\n"
            "def test_gpu(i):\n    pytest.skip('no GPU here')\n"
            "def test_other():\n    pytest.skip('another reason')\n")
    p = subprocess.run([sys.executable, "-m", "pytest", "-ra", "-p", "no:cacheprovider", "-q",
                        str(tmp_path)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    skipped = [line for line in p.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 2, p.stdout
    assert skipped[0].startswith("SKIPPED [6] ") and "no GPU here (first here; 2 test files)" in skipped[0]
    assert skipped[1].startswith("SKIPPED [2] ") and "another reason" in skipped[1]


# ---------------------------------------------------------------------------- the README
@pytest.mark.slow
def test_the_readme_python_example_runs_and_prints_what_it_shows(tmp_path):
    import re
    import subprocess
    import sys
    from pathlib import Path
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    code, shown = re.search(r"From Python[^\n]*\n\n```python\n(.*?)```\n\nprints[^\n]*\n\n```\n(.*?)```",
                            readme, re.S).groups()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    printed, shown = p.stdout.splitlines(), shown.splitlines()
    assert [line.split(":")[0] for line in printed[:-1]] == [line.split(":")[0] for line in shown[:-1]]
    losses = [float(line.split()[-1]) for line in printed[:-1]]
    assert losses == sorted(losses, reverse=True) and losses[-1] < 0.6 * losses[0]   # it learns
    assert re.fullmatch(r"16\+75 = \d* \(log-probability -?\d+\.\d\d\)", printed[-1]), printed[-1]
