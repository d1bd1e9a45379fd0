"""The textbook is the engine: the functions a student reads are the functions that run.

* minis2s/functional is plain array expressions: no ``out=``, no in-place arithmetic
  (checked on the source), and no array is written after a function handed it out
  (checked on a whole training step and a decoding run, by behaviour).
* the models train *and* decode through those functions: the sequence through the
  step (checked by counting calls).
* the core never imports the test tools (minis2s.testing).
"""
import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minis2s
from minis2s.models import Seq2Seq

FUNCTIONAL = sorted((Path(minis2s.__file__).parent / "functional").glob("*.py"))


# The one in-place statement the reading path keeps: a scatter into the gradient it just
# made (softmax-CE's "- onehot(y)" without building the (M, V) one-hot matrix).
ALLOWED_IN_PLACE = {("softmax_cross_entropy.py", "dz[rows, y] -= weight")}


def problems(source: str, filename: str = "") -> list:
    """What breaks the reading path's rules in ``source``: out= (by keyword or by position)
    and in-place arithmetic."""
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
])
def test_the_rule_catches_what_it_forbids(snippet):
    assert problems(snippet), snippet


def _functional_functions():
    """{id(f): (name, f)} for every public function of minis2s.functional."""
    import minis2s.functional as F
    return {id(f): (n, f) for n in F.__all__ if callable(f := getattr(F, n))
            and not isinstance(f, type)}


def _patch_everywhere(monkeypatch, wrap):
    """Replace every functional function by wrap(name, f) wherever a minis2s module holds it
    (the package, its submodules, and the modules that imported a name directly)."""
    funcs = _functional_functions()
    for mod_name, mod in list(sys.modules.items()):
        if not mod_name.startswith("minis2s") or mod is None:
            continue
        for attr, value in list(vars(mod).items()):
            if id(value) in funcs and value is funcs[id(value)][1]:
                monkeypatch.setattr(mod, attr, wrap(*funcs[id(value)]))


@pytest.fixture
def step_calls(monkeypatch):
    """Count the calls of the LSTM step functions, wherever they are called from."""
    calls = {"lstm_step_forward": 0, "lstm_step_backward": 0}

    def wrap(name, f):
        if name not in calls:
            return f

        def counted(*a, **k):
            calls[name] += 1
            return f(*a, **k)
        return counted
    _patch_everywhere(monkeypatch, wrap)
    return calls


SRC = np.array([[4, 5, 6, 7], [5, 6, 0, 0]])
TGT = np.array([[1, 3, 4, 2], [1, 5, 2, 0]])


def test_training_runs_the_readable_step(step_calls):
    """2 layers x (4 source + 3 target steps) step calls, forward and backward: the
    sequence functions are loops over the step functions."""
    model = Seq2Seq(9, 8, emb=3, hidden=4, n_layers=2)
    model.forward(SRC, TGT)
    model.backward()
    assert step_calls == {"lstm_step_forward": 2 * (4 + 3), "lstm_step_backward": 2 * (4 + 3)}


def test_decoding_runs_the_readable_step(step_calls):
    model = Seq2Seq(9, 8, emb=3, hidden=4, n_layers=2)
    for beam in (1, 3):
        step_calls["lstm_step_forward"] = 0
        model.generate(SRC, max_len=5, beam_size=beam)
        # the encoder's 4 steps and at least one decoding step, on both layers
        assert step_calls["lstm_step_forward"] >= 2 * (4 + 1)
        assert step_calls["lstm_step_backward"] == 0


def _arrays(value):
    """Every NumPy array inside a function's result (tuples, NamedTuple caches, lists, dicts)."""
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _arrays(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _arrays(v)


@pytest.mark.parametrize("config", [
    dict(decoder="peeky", n_layers=2, dropout=0.2),
    dict(decoder="attention", score="additive", input_feeding=True, bidirectional=True),
    dict(decoder="attention", score="general", attention_output="concat", teacher_forcing_ratio=0.5),
])
def test_no_array_is_written_after_it_was_handed_out(monkeypatch, config):
    """The in-place rule, by behaviour: every array a functional function returns (outputs and
    everything in its cache) still holds, after a whole training step and a beam search, the
    values it held when it was returned -- so a cache a student reads is what the forward saw."""
    minis2s.use("numpy", dtype="float64")
    handed_out = []

    def wrap(name, f):
        def recorded(*a, **k):
            result = f(*a, **k)
            handed_out.extend((name, arr, arr.copy()) for arr in _arrays(result))
            return result
        return recorded
    _patch_everywhere(monkeypatch, wrap)
    model = Seq2Seq(9, 8, emb=3, hidden=4, **config)
    model.forward(SRC, TGT)
    model.backward()
    model.generate(SRC, max_len=4, beam_size=2)
    assert len({name for name, _, _ in handed_out}) >= 8, "the wrappers saw too little"
    written = sorted({name for name, arr, snapshot in handed_out
                      if not np.array_equal(arr, snapshot, equal_nan=True)})
    assert not written, f"arrays written after they were handed out by: {written}"


def test_the_behavioural_rule_catches_a_write_after_return(monkeypatch):
    """A deliberately broken backward that scribbles on the forward's cache is caught."""
    import minis2s.functional as F
    original = F.linear_backward

    def scribbling(dout, cache):
        result = original(dout, cache)
        cache.x_rows[...] = 0.0                  # writes an array linear_forward handed out
        return result
    monkeypatch.setattr(F, "linear_backward", scribbling)      # what the Linear layer calls
    with pytest.raises(AssertionError, match="linear_forward"):
        test_no_array_is_written_after_it_was_handed_out(monkeypatch, dict(decoder="plain"))


def test_the_core_never_imports_the_test_tools():
    code = ("import sys, minis2s, minis2s.models, minis2s.app.cli, minis2s.app.trainer, minis2s.gradcheck\n"
            "print('minis2s.testing' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
