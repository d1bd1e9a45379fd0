"""keep_freed_memory: the page faults of fresh arrays go away, and nothing else changes."""
import subprocess
import sys

import pytest

CODE = """
import resource, sys, numpy as np
import minis2s
from minis2s.app.memory import keep_freed_memory
from minis2s.models import Seq2Seq
if sys.argv[1] == "keep":
    assert keep_freed_memory()
minis2s.use("numpy", dtype="float32")
m = Seq2Seq(13, 13, emb=16, hidden=128)
rng = np.random.default_rng(0)
src = rng.integers(3, 13, size=(128, 7)); tgt = rng.integers(3, 13, size=(128, 5)); tgt[:, 0] = 1
for _ in range(3):
    m.forward(src, tgt); m.backward()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    loss = m.forward(src, tgt); m.backward()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, float(loss))
"""


def _faults_and_loss(mode):
    out = subprocess.run([sys.executable, "-c", CODE, mode], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    faults, loss = out.stdout.split()
    return int(faults), float(loss)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
@pytest.mark.slow
def test_keeping_freed_memory_removes_the_page_faults_and_changes_no_number():
    default_faults, default_loss = _faults_and_loss("default")
    kept_faults, kept_loss = _faults_and_loss("keep")
    assert kept_loss == default_loss
    assert kept_faults * 5 < default_faults, (kept_faults, default_faults)
