"""SIGTERM (``kill PID``) stops a training run as Ctrl-C does: the saved epoch is named."""
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
