"""The textbook is the engine: the functions a student reads are the functions that run.

* minis2s/functional is plain array expressions: no ``out=``, no in-place arithmetic
  on whole arrays, no workspaces or speed-only parameters (checked on the source).
* the models train *and* decode through those functions (checked by counting calls).
* the core never imports the test tools (minis2s.testing).
"""
import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minis2s
import minis2s.functional.lstm as lstm_module
from minis2s.models import Seq2Seq

FUNCTIONAL = sorted((Path(minis2s.__file__).parent / "functional").glob("*.py"))


# The one in-place statement the reading path keeps: a scatter into the gradient it just
# made (softmax-CE's "- onehot(y)" without building the (M, V) one-hot matrix).
ALLOWED_IN_PLACE = {("softmax_cross_entropy.py", "dz[rows, y] -= weight")}


def problems(source: str, filename: str = "") -> list:
    """What breaks the reading path's rules in ``source``: out= (by keyword or by position),
    in-place arithmetic, workspaces and speed-only parameters."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "out":
            problems.append(f"line {node.value.lineno}: out= argument")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            ufunc = getattr(np, node.func.attr, None)
            if isinstance(ufunc, np.ufunc) and len(node.args) > ufunc.nin:
                problems.append(f"line {node.lineno}: {node.func.attr} with an output by position")
        if isinstance(node, ast.AugAssign):
            text = ast.get_source_segment(source, node)
            if (filename, text) not in ALLOWED_IN_PLACE:
                problems.append(f"line {node.lineno}: in-place {text!r}")
        if isinstance(node, ast.arg) and node.arg in ("out", "ws", "workspace", "first_pad"):
            problems.append(f"line {node.lineno}: speed-only parameter {node.arg!r}")
        if isinstance(node, ast.Name) and node.id in ("Workspace", "get_kernels"):
            problems.append(f"line {node.lineno}: {node.id}")
    return problems


@pytest.mark.parametrize("path", FUNCTIONAL, ids=[p.name for p in FUNCTIONAL])
def test_functional_is_plain_array_expressions(path):
    found = problems(path.read_text(), path.name)
    assert not found, f"{path.name}: " + "; ".join(found)


@pytest.mark.parametrize("snippet", [
    "def f(a, b):\n    a *= b\n    return a\n",
    "def f(a, b):\n    a[...] *= b\n    return a\n",
    "def f(xp, a, b):\n    return xp.multiply(a, b, out=a)\n",
    "def f(xp, a, b, c):\n    xp.subtract(a, b, c)\n    return c\n",
    "def f(x, ws):\n    return x\n",
])
def test_the_rule_catches_what_it_forbids(snippet):
    assert problems(snippet), snippet


@pytest.fixture
def cell_calls(monkeypatch):
    """Count every call of the LSTM cell (functional.lstm.lstm_cell_forward/backward)."""
    calls = {"forward": 0, "backward": 0}
    fwd, bwd = lstm_module.lstm_cell_forward, lstm_module.lstm_cell_backward

    def counted_fwd(*a, **k):
        calls["forward"] += 1
        return fwd(*a, **k)

    def counted_bwd(*a, **k):
        calls["backward"] += 1
        return bwd(*a, **k)
    monkeypatch.setattr(lstm_module, "lstm_cell_forward", counted_fwd)
    monkeypatch.setattr(lstm_module, "lstm_cell_backward", counted_bwd)
    return calls


SRC = np.array([[4, 5, 6, 7], [5, 6, 0, 0]])
TGT = np.array([[1, 3, 4, 2], [1, 5, 2, 0]])


def test_training_runs_the_readable_cell(cell_calls):
    """2 layers x (4 source + 3 target steps) cell calls, forward and backward."""
    model = Seq2Seq(9, 8, emb=3, hidden=4, n_layers=2)
    model.forward(SRC, TGT)
    model.backward()
    assert cell_calls == {"forward": 2 * (4 + 3), "backward": 2 * (4 + 3)}


def test_decoding_runs_the_readable_cell(cell_calls):
    model = Seq2Seq(9, 8, emb=3, hidden=4, n_layers=2)
    for beam in (1, 3):
        cell_calls["forward"] = 0
        model.generate(SRC, max_len=5, beam_size=beam)
        # the encoder's 4 steps and at least one decoding step, on both layers
        assert cell_calls["forward"] >= 2 * (4 + 1)
        assert cell_calls["backward"] == 0


def test_the_core_never_imports_the_test_tools():
    code = ("import sys, minis2s, minis2s.models, minis2s.app.cli, minis2s.app.trainer, minis2s.gradcheck\n"
            "print('minis2s.testing' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
