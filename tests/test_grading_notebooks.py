"""Grading the course notebooks as they stand (docs/teaching.md, "Notebooks: otter-grader and
nbgrader"): the export keeps NumPy and the standard library and drops the rest (matplotlib,
minis2s, torch), and finds a notebook's ``my_<stub>`` under the exercise's name."""
import ast
import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from minis2s.exercises import EXERCISES
from minis2s.grading import grade
from minis2s.grading.notebook import export_notebook, export_source

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STUBS = {ex.stub.__name__ for ex in EXERCISES.values()}


def _run(source):
    scope = {}
    exec(compile(source, "<export>", "exec"), scope)
    return scope


def _notebook(tmp_path, cells, name="lab.ipynb"):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": textwrap.dedent(c)} for c in cells]}
    path = tmp_path / name
    path.write_text(json.dumps(nb))
    return path


EMBEDDING = """
def my_embedding_backward(dout, cache):
    ids, V = cache
    dW = np.zeros((V, dout.shape[-1]))
    np.add.at(dW, ids.reshape(-1), dout.reshape(-1, dout.shape[-1]))
    return dW
"""


# --- the export ---------------------------------------------------------------------------------

def test_the_export_keeps_numpy_and_the_standard_library_and_nothing_else():
    source = export_source(textwrap.dedent("""
        import math, matplotlib.pyplot as plt
        import numpy as np
        import torch
        import minis2s.functional as F
        from minis2s.exercises import check

        def plot(x):
            plt.plot(x)

        def torch_sum(x):
            return torch.sum(x)

        def norm(x):
            return math.sqrt(float(np.sum(x * x)))
        """))
    tree = ast.parse(source)
    imported = {a.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for a in node.names}
    assert {"math", "numpy"} <= imported
    assert not imported & {"matplotlib.pyplot", "torch", "minis2s.functional", "check"}
    assert "F =" not in source and "check =" not in source     # no kept function uses them
    scope = _run(source)
    assert scope["norm"](np.array([3.0, 4.0])) == 5.0
    # the function that uses a dropped import is the one that fails, and the error names it
    with pytest.raises(ImportError, match="`import matplotlib.pyplot as plt` is not there"):
        scope["plot"]([1, 2])
    with pytest.raises(ImportError, match=r"torch\.sum: the notebook's `import torch`"):
        scope["torch_sum"](np.zeros(2))


def test_a_standard_library_import_the_sandbox_refuses_cannot_stop_the_notebook_loading(tmp_path):
    # subprocess needs _posixsubprocess, asyncio needs socket: both refused in the sandbox
    nb = _notebook(tmp_path, ["import subprocess\nimport asyncio\nimport numpy as np\n", EMBEDDING,
                              "def run(cmd):\n    return subprocess.run(cmd)\n"])
    report = grade(nb, exercises=["embedding_backward"], seeds=(0,), large=False)
    assert report.score == report.max_score and not report.load_error


def test_a_minis2s_cache_stays_a_named_tuple_and_my_functions_get_the_stub_names():
    source = export_source(textwrap.dedent("""
        import numpy as np
        import minis2s.functional as F
        from minis2s.functional import LinearCache

        def my_lstm_step_forward(a_x, h_prev, c_prev, Wh):
            h, c = np.tanh(a_x[:, :2]), a_x[:, 2:4]
            return h, c, F.LSTMStepCache(h_prev, c_prev, Wh, h, h, h, h, c, c)

        def my_embedding_backward(dout, cache):
            return LinearCache(dout, dout.shape, cache)

        def embedding_backward(dout, cache):
            return "the notebook's own embedding_backward"

        def my_helper(x):
            return x
        """))
    scope = _run(source)
    a_x = np.arange(8.0).reshape(2, 4)
    h, c, cache = scope["my_lstm_step_forward"](a_x, 0, 0, 0)
    assert type(cache).__name__ == "LSTMStepCache" and cache.tanh_c is c
    # the stub name is the notebook's function; the exercise accepts the engine's (h, c, cache)
    assert scope["lstm_step_forward"] is scope["my_lstm_step_forward"]
    from minis2s.exercises import EXERCISES
    out = EXERCISES["lstm_step_forward"].unpack(scope["lstm_step_forward"](a_x, 0, 0, 0))
    assert len(out) == 2 and np.array_equal(out[0], h) and np.array_equal(out[1], c)
    assert scope["embedding_backward"](0, 0) == "the notebook's own embedding_backward"
    assert type(scope["my_embedding_backward"](np.zeros(1), 0)).__name__ == "LinearCache"
    assert "helper" not in scope                                  # not an exercise


def test_an_import_of_an_exercise_name_is_the_librarys_function_not_the_students(tmp_path):
    # notebook 04 imports minis2s's greedy_search and beam_search to compare with
    source = export_source("from minis2s.models import beam_search\n"
                           "def my_greedy_search(step, state, sos_id, eos_id, max_len):\n"
                           "    return beam_search(step, state, sos_id, eos_id, max_len, 1)\n")
    scope = _run(source)
    assert "beam_search" not in scope and callable(scope["greedy_search"])


def test_a_future_import_in_a_later_cell_goes_first(tmp_path):
    nb = _notebook(tmp_path, ["import numpy as np\n", "from __future__ import annotations\n"
                              "def f(x: Tensor) -> Tensor:\n    return x\n"])
    scope = _run(export_notebook(nb))
    assert scope["f"](1) == 1


def test_every_my_function_of_the_course_notebooks_is_an_exercise_and_is_exported():
    mapped = {}
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        mine = {n.name for n in ast.walk(ast.parse("\n".join(
            "" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines())))
            if isinstance(n, ast.FunctionDef) and n.name.startswith("my_")}
        assert {name[3:] for name in mine} <= STUBS, f"{path.name}: {mine}"
        exported = {t.id for n in ast.parse(export_notebook(path)).body
                    if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        exported |= {n.name for n in ast.parse(export_notebook(path)).body
                     if isinstance(n, ast.FunctionDef)}
        assert {name[3:] for name in mine} <= exported, path.name
        mapped.update({name[3:]: path.name for name in mine})
    assert mapped == {"lstm_step_forward": "01_lstm_cell.ipynb",
                      "lstm_step_backward": "01_lstm_cell.ipynb",
                      "greedy_search": "04_decoding.ipynb"}


def test_a_notebook_answer_under_my_name_is_graded_and_a_wrong_one_fails(tmp_path):
    right = _notebook(tmp_path, ["import numpy as np\nimport matplotlib.pyplot as plt\n",
                                 EMBEDDING], "right.ipynb")
    report = grade(right, exercises=["embedding_backward"], seeds=(0,), large=False)
    assert report.score == report.max_score
    wrong = _notebook(tmp_path, ["import numpy as np\nimport matplotlib.pyplot as plt\n",
                                 EMBEDDING.replace("np.add.at(dW, ", "dW.__setitem__(")],
                      "wrong.ipynb")
    report = grade(wrong, exercises=["embedding_backward"], seeds=(0,), large=False)
    assert report.score == 0 and report.exercises[0].results[0].failed == ["dW"]


# --- the course notebooks themselves ------------------------------------------------------------

def _with(path, tmp_path, old, new):
    text = path.read_text()
    assert text.count(json.dumps(old)[1:-1]) == 1, old
    broken = tmp_path / path.name
    broken.write_text(text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1]))
    return broken


@pytest.mark.slow
def test_the_solved_course_notebooks_get_full_marks_on_their_exercises():
    report = grade(ROOT / "notebooks" / "01_lstm_cell.ipynb",
                   exercises=["lstm_step_forward", "lstm_step_backward"])
    assert (report.score, report.max_score) == (6, 6), report.text()
    assert not report.load_error and not report.flags
    report = grade(ROOT / "notebooks" / "04_decoding.ipynb", exercises=["greedy_search"])
    assert (report.score, report.max_score) == (4, 4), report.text()


@pytest.mark.slow
def test_a_course_notebook_with_a_mistake_loses_that_exercise(tmp_path):
    # the classic: dc_prev without the forget gate
    nb = _with(ROOT / "notebooks" / "01_lstm_cell.ipynb", tmp_path,
               "dh_prev, dc_prev = da @ Wh.T, dc_total * f",
               "dh_prev, dc_prev = da @ Wh.T, dc_total")
    report = grade(nb, exercises=["lstm_step_forward", "lstm_step_backward"])
    forward, backward = report.exercises
    assert forward.score == 2 and backward.score == 0
    assert {tuple(r.failed) for r in backward.results} == {("dc_prev",)}
    # a greedy search that never stops at <eos>
    nb = _with(ROOT / "notebooks" / "04_decoding.ipynb", tmp_path,
               "finished |= tokens == eos_id", "pass")
    report = grade(nb, exercises=["greedy_search"])
    assert report.score == 0


def test_the_standard_library_is_recognised_without_sys_stdlib_module_names(monkeypatch):
    # Python 3.9 has no sys.stdlib_module_names: there a module counts where it is found
    from minis2s.grading import notebook
    expected = {name: notebook._stdlib_module(name)
                for name in ("math", "json", "collections", "subprocess", "numpy", "matplotlib",
                             "pytest", "no_such_module")}
    assert [n for n, std in expected.items() if std] == ["math", "json", "collections",
                                                          "subprocess"]
    monkeypatch.delattr(sys, "stdlib_module_names", raising=False)
    assert {name: notebook._stdlib_module(name) for name in expected} == expected


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_course_notebook_loads_in_the_sandbox(path):
    # none of them defines softmax_cross_entropy: graded, it is missing, and nothing else is wrong
    report = grade(path, exercises=["softmax_cross_entropy"], seeds=(0,), large=False)
    assert not report.load_error and not report.flags, report.text()
    assert report.exercises[0].note == "no function softmax_cross_entropy in the submission"
