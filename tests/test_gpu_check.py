"""benchmarks/gpu_check.sh, the prepared GPU check, in its CPU dress rehearsal.

The real check only runs where a GPU is lent (issue 13), so these tests keep it from
rotting meanwhile: the dry run (``--dry-run``: the strict CuPy double, torch on the CPU,
tiny sizes) must go through every step and leave its files, and a failing step must be
recorded without stopping the others or the script's exit status 0.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"


def run_check(out, **env):
    return subprocess.run(["bash", str(SCRIPT), "--dry-run", str(out)], cwd=ROOT,
                          env={**os.environ, "PYTHON": sys.executable, **env},
                          capture_output=True, text=True, timeout=300)


def statuses(out):
    """{step: exit code} from status.txt."""
    lines = (out / "status.txt").read_text().split("\n")
    return {l.split()[0]: int(l.split()[1][len("rc="):]) for l in lines if l}


def test_the_script_parses():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


@pytest.mark.slow
def test_dry_run_goes_through_every_step(tmp_path):
    pytest.importorskip("torch")
    tests = " ".join(f"tests/test_optim.py::{name}[strict]"
                     for name in ("test_global_norm", "test_clip_matches_torch"))
    proc = run_check(tmp_path, GPU_CHECK_PYTEST_ARGS=tests)
    assert proc.returncode == 0, proc.stderr
    assert statuses(tmp_path) == {"info": 0, "tests": 0, "train": 0, "train_summary": 0,
                                  "bench_tiny": 0}
    assert "passed" in (tmp_path / "tests.log").read_text()
    assert "epoch 2:" in (tmp_path / "train_summary.log").read_text()
    assert (tmp_path / "bench_tiny.json").stat().st_size > 0
    summary = (tmp_path / "summary.txt").read_text()
    assert "AGREE" in summary and "train step tiny" in summary


@pytest.mark.slow
def test_a_failing_step_is_recorded_and_the_rest_runs(tmp_path):
    proc = run_check(tmp_path, GPU_CHECK_STEPS="tests train",
                     GPU_CHECK_PYTEST_ARGS="tests/there_is_no_such_file.py")
    assert proc.returncode == 0, proc.stderr
    codes = statuses(tmp_path)
    assert codes["tests"] != 0 and codes["train"] == 0
    assert "tests rc=" in (tmp_path / "summary.txt").read_text()
