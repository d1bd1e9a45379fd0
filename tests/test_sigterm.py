"""SIGTERM (``kill PID``) stops a training run as Ctrl-C does: the saved epoch is named."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minis2s.app.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM cannot be sent to a process there")
def test_sigterm_saves_and_says_which_epoch(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, MINIS2S_BACKEND="numpy",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    p = subprocess.Popen([sys.executable, "-m", "minis2s", "train", "--fast", "--no-progress",
                          "--train-size", "2000", "--val-size", "50", "--epochs", "200",
                          "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.npz").exists():     # wait for the first saved epoch
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, "no epoch was saved in 120 s"
            time.sleep(0.1)
        p.send_signal(signal.SIGTERM)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 128 + signal.SIGTERM, stderr
    saved = load_checkpoint(out / "checkpoint.npz").epoch        # whole and loadable
    assert 1 <= saved < 200
    assert (f"stopped by SIGTERM during epoch {saved + 1}: {out / 'checkpoint.npz'} holds epoch "
            f"{saved}") in stderr
    assert f"continue with: minis2s train --resume --out {out}" in stderr
    assert stderr.rstrip().endswith("minis2s: interrupted (SIGTERM)")
    assert "Traceback" not in stderr


# --- a signal during a save waits until the run folder's files are whole ----------------------
# The test above once failed on CI: SIGTERM landed while the first save imported matplotlib, whose
# C extension turned the handler's exception into "ImportError: initialization failed" (exit 1).

needs_signals = pytest.mark.skipif(sys.platform == "win32", reason="no SIGTERM to send there")


@needs_signals
def test_a_held_sigterm_is_raised_when_the_block_ends():
    from minis2s.app.signals import Terminated, interrupts_held, terminate_as_interrupt
    reached = []
    with pytest.raises(Terminated), terminate_as_interrupt():
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)                  # a Python handler would have run by now
            reached.append("end of the block")
        reached.append("after the block")     # never: the held signal is raised on the way out
    assert reached == ["end of the block"]


@needs_signals
def test_a_held_ctrl_c_is_a_keyboard_interrupt_at_the_end_and_the_handlers_come_back():
    from minis2s.app.signals import interrupts_held
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with interrupts_held():
        assert signal.getsignal(signal.SIGINT) is not before[0]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    caught = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)   # twice: delivered once, after the block
            time.sleep(0.05)
            assert caught == []
        assert caught == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, before[0])


@needs_signals
def test_sigterm_in_the_middle_of_a_save_leaves_every_file_whole(tmp_path, monkeypatch):
    from minis2s.app.signals import Terminated, terminate_as_interrupt
    from minis2s.app.trainer import Trainer
    from test_trainer import addition_data, make_trainer
    write_curves = Trainer._write_curves

    def killed_while_drawing(self):       # the moment of the CI failure: between steps 2 and 3
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        write_curves(self)

    monkeypatch.setattr(Trainer, "_write_curves", killed_while_drawing)
    trainer = make_trainer(addition_data(64, val_size=8), out_dir=tmp_path)
    with pytest.raises(Terminated), terminate_as_interrupt():
        trainer.fit(3)
    assert trainer.epoch == 1                               # stopped right after the first save
    assert load_checkpoint(tmp_path / "checkpoint.npz").epoch == 1
    assert [r["epoch"] for r in json.loads((tmp_path / "history.json").read_text())] == [1]
    assert (tmp_path / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert not list(tmp_path.glob(".*.tmp"))
