"""A data file is read once (issue 21): --data on a FIFO blocked forever, --data /dev/stdin said
"the file is empty", because the command opened the file four times."""
import os
import subprocess
import sys
import threading

import pytest

from minis2s.data import toy_translation, write_tsv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ["--fast", "--no-progress", "--train-size", "150", "--val-size", "20", "--epochs", "1"]


def minis2s(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "minis2s", *args], capture_output=True, text=True,
                          env=env, timeout=120, **kwargs)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_tsv(toy_translation(200, seed=0), tmp_path_factory.mktemp("data") / "toy.tsv")


def test_training_reads_data_from_stdin(corpus, tmp_path):
    # `cat toy.tsv | minis2s train --data /dev/stdin`: a pipe, which can be read only once
    done = minis2s(["train", "--data", "/dev/stdin", *FAST, "--out", str(tmp_path / "run")],
                   input=corpus.read_text(encoding="utf-8"))
    assert done.returncode == 0, done.stderr
    assert "data: /dev/stdin, " in done.stdout and "150 training / 20 validation pairs, word tokens" in done.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_training_reads_data_from_a_fifo_once(corpus, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def write_once():                   # like `cat corpus > pipe`: one writer, one pass
        with open(fifo, "wb") as f:
            f.write(corpus.read_bytes())
    writer = threading.Thread(target=write_once, daemon=True)
    writer.start()
    try:
        done = minis2s(["train", "--data", str(fifo), *FAST, "--out", str(tmp_path / "run")])
    except subprocess.TimeoutExpired:
        pytest.fail("minis2s train blocked on the FIFO (it opened it a second time)")
    assert done.returncode == 0, done.stderr
    assert "150 training / 20 validation pairs" in done.stdout


def test_eval_reads_data_from_stdin(corpus, tmp_path):
    out = tmp_path / "run"
    assert minis2s(["train", "--data", str(corpus), *FAST, "--out", str(out)]).returncode == 0
    done = minis2s(["eval", "--checkpoint", str(out / "checkpoint.npz"), "--data", "/dev/stdin"],
                   input=corpus.read_text(encoding="utf-8"))
    assert done.returncode == 0, done.stderr
    assert "data: /dev/stdin (200 pairs)" in done.stdout
