"""Every way issue 20 found to earn a grade without doing the exercises scores 0 or is FLAGGED.

Each cheat lives in tests/cheats.py; each scored before the grader was hardened
(pickle 4 / 4, public-seed table 6 / 6, package by path 2 / 2, given forward 2 / 2,
finite differences 2 / 2, no max in the softmax 2 / 2, a monkeypatched notebook check
passing a zero gradient, a line appended to run_autograder and a detached process each
forging results.json to 999). Here each one earns nothing. (The given forward passes
are gone: no forward pass is handed out, and minis2s cannot be imported in the sandbox
at all.)
"""
import json
import os
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import cheats
import minis2s.exercises.checker as checker
from minis2s.exercises import EXERCISES, template
from minis2s.grading import case_rng, grade, load_secret, new_secret
from minis2s.grading.contain import descendants, run_contained
from minis2s.grading.notebook import export_notebook
from conftest import instructor_module

ROOT = Path(__file__).parents[1]
SOLUTIONS = ROOT / "instructor" / "solutions.py"
SECRET = "5eed" * 16


def write(tmp_path, text, name="submission.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- 1. nothing a submission returns is unpickled ---------------------------------------------------

def test_an_object_whose_reduce_replaces_the_judge_is_not_data(tmp_path):
    rel_error = checker.rel_error
    report = grade(write(tmp_path, cheats.pickle_judge()),
                   exercises=["embedding_backward", "softmax_cross_entropy"], seeds=(0, 1),
                   large=False)
    assert checker.rel_error is rel_error            # the grader's judge is untouched
    assert report.score == 0
    assert "returned something that is not data" in report.text() and "a Judge" in report.text()


# --- 2. the grade's cases come from the instructor's secret -------------------------------------------

TABLE = ["embedding_backward", "rnn_step_backward", "clip_gradients"]


def test_a_table_of_the_public_cases_earns_nothing_on_the_secret_cases(tmp_path):
    sub = write(tmp_path, cheats.lookup_table(TABLE))
    public = grade(sub, exercises=TABLE, seeds=(0, 1, 2), large=False)
    assert public.score == public.max_score          # the table is right where it was built ...
    secret = grade(sub, exercises=TABLE, secret=SECRET, cases=3)
    assert secret.score == 0                          # ... and worth nothing on secret cases
    text = secret.text()
    assert "3 secret cases per exercise" in text and "seed" not in text and SECRET not in text
    assert "case 1" in text and "KeyError" in text
    assert SECRET not in json.dumps(secret.gradescope())


def test_secret_cases_differ_from_the_public_ones_and_between_secrets():
    ex = EXERCISES["lstm_step_backward"]
    first = [ex.make_case(np.random.default_rng(s)).args[0] for s in range(3)]
    for k in range(1, 4):
        dh = ex.make_case(case_rng(ex.name, k, SECRET)).args[0]
        assert not any(dh.shape == f.shape and np.allclose(dh, f) for f in first)
        again = ex.make_case(case_rng(ex.name, k, SECRET)).args[0]
        assert np.array_equal(dh, again)                                     # reproducible
        other = ex.make_case(case_rng(ex.name, k, new_secret())).args[0]
        assert dh.shape != other.shape or not np.allclose(dh, other)


def test_the_reference_solutions_get_full_marks_on_secret_cases(tmp_path):
    names = ["softmax_cross_entropy", "lstm_backward", "attention_backward", "beam_search"]
    report = grade(SOLUTIONS, exercises=names, secret=SECRET, cases=2)
    assert report.score == report.max_score, report.text()


def test_the_command_takes_a_secret_file_and_checks_cases(tmp_path, capsys):
    from minis2s.app.cli import main
    secret = write(tmp_path, SECRET + "\n", "grading.secret")
    results = tmp_path / "results.json"
    assert main(["grade", str(SOLUTIONS), "--exercises", "clip_gradients", "--secret-file", str(secret),
                 "--cases", "2", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "2 secret cases per exercise; score 2 / 2" in out and SECRET not in out
    cases = out.split("\n", 1)[1]                 # (the header names the file: its path may say "large")
    assert "case 1: PASS" in cases and "large" not in cases      # clip_gradients has no large case
    assert main(["grade", str(SOLUTIONS), "--cases", "0"]) == 1
    assert "--cases must be an integer in [1, 100], got 0" in capsys.readouterr().err


def test_a_secret_file_must_hold_a_secret(tmp_path):
    from minis2s.errors import InputError
    good = write(tmp_path, SECRET + "\n", "grading.secret")
    assert load_secret(good) == SECRET
    with pytest.raises(InputError, match="--secret-file .*hex digits"):
        load_secret(write(tmp_path, "0 1 2\n", "bad.secret"))
    with pytest.raises(InputError, match="cannot be read"):
        load_secret(tmp_path / "missing.secret")


# --- 3. the library is out of reach, even by path --------------------------------------------------

def test_the_package_loaded_by_path_under_another_name_is_refused(tmp_path):
    report = grade(write(tmp_path, cheats.library_by_path()), exercises=["clip_gradients"], seeds=(0,))
    assert report.score == 0
    assert "not allowed while your submission is graded: reading" in report.load_error


@pytest.mark.parametrize("code, refused", [
    ("import subprocess; subprocess.run(['true'])", "_posixsubprocess cannot be imported"),
    ("import os; os.system('true')", "os.system"),
    ("open('/tmp/minis2s-cheat-%d' % id(object()), 'w')", "writing"),
    ("import ctypes", "ctypes cannot be imported"),
    ("open('/proc/self/environ').read()", "reading /proc/self/environ"),
])
def test_the_sandbox_refuses_processes_writes_outside_its_folder_and_ctypes(tmp_path, code, refused):
    sub = write(tmp_path, "def embedding_backward(dout, cache):\n    " + code + "\n")
    report = grade(sub, exercises=["embedding_backward"], seeds=(0,), large=False)
    assert report.score == 0 and refused in report.text()


# --- 4. no forward pass is handed out: none answers, none is differentiated ----------------------------

def test_no_given_forward_can_answer_the_forward_exercise(tmp_path):
    """Importing anything of minis2s fails in the sandbox: the file does not load, 0 points."""
    report = grade(write(tmp_path, cheats.given_forward_answers_the_forward()),
                   exercises=["lstm_step_forward"], seeds=(0,))
    assert report.score == 0 and not report.flags             # `from minis2s.exercises` is not
    assert "minis2s.exercises.lstm cannot be imported while your submission is graded" \
        in report.load_error
    assert "the submission did not load" in report.text()
    assert "`from minis2s.exercises import check, hint, ...` alone is allowed" in report.load_error


def test_check_and_hint_imported_at_the_top_do_nothing_and_the_file_still_loads(tmp_path):
    """A student checks at home with check() at the top of the file: graded, it loads and scores."""
    solution = (ROOT / "instructor" / "solutions.py").read_text()
    top = "from minis2s.exercises import check, hint, ladder, list_exercises, template, EXERCISES\n"
    at_home = "\ncheck('embedding_backward')\nhint('clip_gradients', 1)\n"       # module level
    assert "from __future__ import annotations\n" in solution
    solution = solution.replace("from __future__ import annotations\n",
                                "from __future__ import annotations\n" + top, 1) + at_home
    report = grade(write(tmp_path, solution), exercises=["embedding_backward", "clip_gradients"],
                   seeds=(0,), large=False)
    assert not report.load_error, report.load_error
    assert report.score == report.max_score > 0, report.text()


def test_no_given_loss_can_be_differentiated_numerically(tmp_path):
    report = grade(write(tmp_path, cheats.finite_differences()),
                   exercises=["softmax_cross_entropy"], seeds=(0,), timeout=5)
    assert report.score == 0 and report.flags == ["imports minis2s.exercises.softmax"]
    assert "minis2s.exercises.softmax cannot be imported while your submission is graded" \
        in report.load_error


@pytest.mark.slow
def test_finite_differences_of_a_copied_forward_run_out_of_time_on_the_large_case(tmp_path):
    """Nothing of minis2s is imported -- but the large case (~200,000 inputs) would take
    minutes of finite differences: the exercise times out and scores 0.
    Before large cases existed this submission scored 2 / 2."""
    report = grade(write(tmp_path, cheats.finite_differences_of_a_copy()),
                   exercises=["rnn_step_backward"], seeds=(0, 1), timeout=8)
    (ex,) = report.exercises
    assert report.score == 0 and not report.flags
    assert "timed out after 8 s on seed 0, large" in ex.note and "finite differences, hours" in ex.note
    small = grade(write(tmp_path, cheats.finite_differences_of_a_copy(), "again.py"),
                  exercises=["rnn_step_backward"], seeds=(0, 1), large=False)
    assert small.score == small.max_score                # what it scored without the large case


SEQUENCES = ["rnn_backward", "lstm_backward", "attention_backward", "peeky_decoder_backward"]


@pytest.mark.slow
@pytest.mark.parametrize("name", SEQUENCES)
def test_finite_differences_of_a_copied_sequence_forward_run_out_of_time_on_the_large_case(
        tmp_path, name):
    """The whole forward pass (an RNN, an LSTM, attention, the peeky decoder and its loss) copied
    into the submission, its inputs read back from the cache, every input element differentiated
    numerically: full marks on the small cases, but the large case (170,000 to 670,000 inputs,
    half an hour of finite differences or more) runs out of time, and the exercise scores 0."""
    sub = write(tmp_path, cheats.finite_differences_of_copied_sequences())
    small = grade(sub, exercises=[name], seeds=(0, 1), large=False)
    assert small.score == small.max_score                # what it scored without the large case
    report = grade(sub, exercises=[name], seeds=(0,), timeout=8)
    (ex,) = report.exercises
    assert report.score == 0 and not report.flags
    assert "timed out after 8 s on seed 0, large" in ex.note and "finite differences, hours" in ex.note


# --- 5. scoring an instructor can defend --------------------------------------------------------

def test_a_softmax_that_does_not_subtract_the_max_fails_on_the_large_logits(tmp_path):
    with np.errstate(all="ignore"):
        report = grade(write(tmp_path, cheats.softmax_without_the_max()),
                       exercises=["softmax_cross_entropy"], seeds=(0, 1, 2), large=False)
    assert report.score == 0
    assert "shifted by 600-1000" in report.text()


# --- 6. the notebook route grades the exported source in a fresh process -----------------------------

def _notebook(cells):
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                       "source": textwrap.dedent(c)} for c in cells]}


MONKEYPATCH_CELLS = [
    """
    import numpy as np
    from minis2s.exercises import check
    """,
    """
    def embedding_backward(dout, cache):
        return np.zeros((cache[1], dout.shape[-1]))          # wrong: no scatter-add at all
    """,
    """
    import minis2s.exercises.checker as checker
    checker.rel_error = lambda a, b: 0.0              # the cheat
    """,
    """
    assert check("embedding_backward", embedding_backward, verbose=False)
    """,
    "%matplotlib inline\n",
]


def test_a_monkeypatched_checker_in_a_notebook_changes_nothing_in_its_grade(tmp_path):
    # in the notebook's own process the cheat works (that is why a grade is never taken there)
    rel_error, scope = checker.rel_error, {}
    try:
        for cell in MONKEYPATCH_CELLS[:4]:
            exec(textwrap.dedent(cell), scope)
    finally:
        checker.rel_error = rel_error
    nb = write(tmp_path, json.dumps(_notebook(MONKEYPATCH_CELLS)), "lab.ipynb")
    exported = export_notebook(nb)
    assert "def embedding_backward" in exported and "rel_error" not in exported
    assert "assert check" not in exported
    report = grade(nb, exercises=["embedding_backward"], seeds=(0, 1), large=False)
    assert report.score == 0 and report.exercises[0].results[0].failed == ["dW"]


#: a notebook cell holding a right embedding_backward (the notebook tests' one answer)
EMBEDDING_BACKWARD_CELL = ("def embedding_backward(dout, cache):\n"
                           "    ids, V = cache\n"
                           "    dW = np.zeros((V, dout.shape[-1]))\n"
                           "    np.add.at(dW, ids.reshape(-1), dout.reshape(-1, dout.shape[-1]))\n"
                           "    return dW\n")


def test_a_right_notebook_gets_full_marks_and_a_broken_cell_is_skipped(tmp_path):
    cells = ["import numpy as np\n",
             EMBEDDING_BACKWARD_CELL,
             "def half_written(:\n"]
    nb = write(tmp_path, json.dumps(_notebook(cells)), "lab.ipynb")
    assert "cell 2 skipped" in export_notebook(nb)
    report = grade(nb, exercises=["embedding_backward"], seeds=(0, 1))
    assert report.score == report.max_score and len(report.exercises[0].results) == 3


# --- 7. Gradescope: the submission cannot write its own grade ------------------------------------------

def _autograder_tree(tmp_path, submission_text, exercises=("softmax_cross_entropy",)):
    zip_path = instructor_module("make_autograder").build(tmp_path / "autograder.zip", list(exercises), cases=1,
                                             timeout=60)
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root / "source")
    (root / "submission").mkdir()
    (root / "submission" / "submission.py").write_text(submission_text)
    return root


def _run(root):
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PYTHON=sys.executable,
               MINIS2S_SANDBOX_USER="")     # never create a user on the test machine
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_a_submission_cannot_append_to_the_running_run_autograder(tmp_path):
    root = _autograder_tree(tmp_path, "")
    script = root / "source" / "run_autograder"
    (root / "submission" / "submission.py").write_text(cheats.append_to_run_autograder(str(script)))
    before = script.read_text()
    _run(root)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "forged" not in json.dumps(results)
    assert script.read_text() == before               # the sandbox refused the write


def test_lines_after_the_last_line_of_run_autograder_never_run(tmp_path):
    """Even had the append succeeded: bash has parsed `main` before it runs, then exits."""
    root = _autograder_tree(tmp_path, template(["softmax_cross_entropy"]))
    script = root / "source" / "run_autograder"
    assert script.read_text().rstrip().endswith('main "$@"; exit $?')
    with open(script, "a") as fh:
        fh.write("\necho '{\"score\": 999}' > \"$AUTOGRADER_ROOT/results/results.json\"\n")
    _run(root)
    assert json.loads((root / "results" / "results.json").read_text())["score"] == 0


@pytest.mark.slow
def test_a_detached_process_cannot_rewrite_the_results_later(tmp_path):
    results = tmp_path / "autograder" / "results" / "results.json"
    root = _autograder_tree(tmp_path, cheats.detached_forger(str(results), delay=2.0))
    proc = _run(root)
    time.sleep(4.0)                                   # longer than the forger would wait
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "forged" not in json.dumps(data)
    assert "subprocess.Popen" in proc.stdout or "_posixsubprocess" in proc.stdout


def test_the_zip_holds_a_fresh_secret_that_nothing_prints(tmp_path, capsys):
    ma = instructor_module("make_autograder")
    assert ma.main([str(tmp_path / "a.zip"), "--exercises", "clip_gradients"]) == 0
    ma.build(tmp_path / "b.zip", ["clip_gradients"])
    out = capsys.readouterr().out
    secrets = []
    for name in ("a.zip", "b.zip"):
        with zipfile.ZipFile(tmp_path / name) as z:
            info = z.getinfo("grading.secret")
            assert (info.external_attr >> 16) & 0o077 == 0           # owner-only
            secrets.append(z.read("grading.secret").decode().strip())
            assert "SEEDS" not in z.read("grading.env").decode()
    assert secrets[0] != secrets[1] and all(len(s) == 64 for s in secrets)
    assert not any(s in out for s in secrets)


# --- 8. nothing outlives an exercise -------------------------------------------------------------------

DAEMON = """
import os, sys, time
pid = os.fork()
if pid == 0:
    os.setsid()                       # leave the process group ...
    r, w = os.pipe()
    if os.fork() == 0:                # ... and the parent: a daemon
        with open(sys.argv[1], "w") as f:
            f.write(str(os.getpid()))
        os.write(w, b"1")             # its pid is on disk: the parent may go
        time.sleep(60)
    os.read(r, 1)                     # (without this wait the grader can kill the daemon
    os._exit(0)                       #  before it writes its pid, and the test cannot look)
os.waitpid(pid, 0)
time.sleep(%s)
"""


@pytest.mark.slow       # seconds: the fast tier keeps the gradient checks, models and CLI
@pytest.mark.parametrize("linger", ["0", "30"])       # exits at once / killed at the timeout
def test_a_process_that_leaves_the_group_is_killed_too(tmp_path, linger):
    pidfile = tmp_path / "pid"
    script = write(tmp_path, DAEMON % linger, "daemon.py")
    run = run_contained([sys.executable, str(script), str(pidfile)], timeout=3.0)
    assert run.timed_out == (linger == "30")
    pid = int(pidfile.read_text())
    assert run.killed_leftovers >= 1 and run.survivors == 0
    assert pid not in descendants(os.getpid())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_as_root_the_submission_runs_as_the_unprivileged_user(tmp_path):
    import pwd
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody'")
    sub = write(tmp_path, "import os\ndef clip_gradients(dWx, dWh, db, max_norm):\n"
                          "    raise ValueError(f'uid={os.getuid()}')\n")
    report = grade(sub, exercises=["clip_gradients"], seeds=(0,), sandbox_user="nobody")
    if "could not start as user nobody" in report.text():
        pytest.skip("user nobody cannot run this Python (its folders are not readable)")
    assert f"uid={nobody.pw_uid}" in report.text()
    right = grade(SOLUTIONS, exercises=["clip_gradients"], seeds=(0,), sandbox_user="nobody")
    assert right.score == right.max_score, right.text()


# --- 9. one mistake costs one exercise --------------------------------------------------------------

@pytest.mark.slow
def test_a_missing_forget_gate_term_costs_only_the_step_backward(tmp_path):
    """It cost 13.8 of 16 points across three exercises; with the reference step plugged into
    lstm_backward and peeky_decoder_backward, it costs lstm_step_backward's 4 -- and the two
    others their large case only, which is too large for a reference stand-in and runs the
    submission's own step."""
    text = SOLUTIONS.read_text().replace("df = dc_total * c_prev", "df = dc_total * 0.0 * c_prev")
    assert text != SOLUTIONS.read_text()
    names = ["lstm_step_backward", "lstm_backward", "peeky_decoder_backward"]
    report = grade(write(tmp_path, text), exercises=names, seeds=(0, 1), large=False)
    step, bptt, peeky = report.exercises
    assert step.score == 0 and bptt.score == bptt.max_points and peeky.score == peeky.max_points
    assert "graded with the reference lstm_step_backward in place of yours" in report.text()
    report = grade(write(tmp_path, text, "again.py"), exercises=names[1:], seeds=(0, 1))
    for ex in report.exercises:
        assert [r.passed for r in ex.results] == [True, True, False], ex.case_lines()
        assert ex.labels[-1] == "seed 0, large"
    assert "costs that exercise only its large case, which runs yours" in report.text()


def test_an_unwritten_dependency_costs_the_large_case_and_is_named(tmp_path):
    """The large case runs the submission's own lstm_step_backward: a stub still raising
    NotImplementedError there is named, not taken for lstm_backward's own."""
    sub = write(tmp_path, SOLUTIONS.read_text() + textwrap.dedent("""
        def lstm_step_backward(dh, dc, cache):
            raise NotImplementedError
        """))
    report = grade(sub, exercises=["lstm_backward"], seeds=(0,))
    (ex,) = report.exercises
    assert [r.passed for r in ex.results] == [True, False] and ex.score == ex.max_points / 2
    assert ("seed 0, large: FAIL (your lstm_step_backward, which lstm_backward calls, is not "
            "implemented yet") in ex.case_lines()[1]


def test_a_dependency_called_with_other_arguments_says_so(tmp_path):
    sub = write(tmp_path, SOLUTIONS.read_text() + textwrap.dedent("""
        _ref = lstm_backward
        def lstm_backward(dhs, dhT, dcT, cache):
            step = cache.steps[0]
            lstm_step_backward(dhT, dcT, step._replace(h_prev=step.h_prev + 1.0))
            return _ref(dhs, dhT, dcT, cache)
        """))
    report = grade(sub, exercises=["lstm_backward"], seeds=(0,), large=False)   # (the large
    assert report.score == 0                     # case has no stand-in: it calls the submission's)
    assert "the reference lstm_step_backward stands in for yours" in report.text()


def test_the_stand_ins_are_the_backward_passes_of_the_engine_forwards():
    """J^T @ upstream from the grader's data equals the reference solutions on the case."""
    from minis2s.exercises.standins import standins
    from minis2s.grading.sandbox import make_standin
    sol = instructor_module("solutions")
    case = EXERCISES["lstm_backward"].make_case(np.random.default_rng(3))
    ref = make_standin("lstm_step_backward", standins("lstm_backward", case)["lstm_step_backward"])
    step = case.args[3].steps[1]
    rng = np.random.default_rng(0)
    dh, dc = rng.standard_normal(step.h_prev.shape), rng.standard_normal(step.h_prev.shape)
    for got, want in zip(ref(dh, dc, cache=step), sol.lstm_step_backward(dh, dc, step)):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


def test_gradescope_grades_an_uploaded_notebook_on_its_exported_functions(tmp_path):
    root = _autograder_tree(tmp_path, "", exercises=("embedding_backward",))
    (root / "submission" / "submission.py").unlink()
    cells = ["import numpy as np\n",
             EMBEDDING_BACKWARD_CELL,
             "import minis2s.exercises.checker as checker\nchecker.rel_error = lambda a, b: 0.0\n"]
    (root / "submission" / "lab.ipynb").write_text(json.dumps(_notebook(cells)))
    _run(root)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == results["tests"][0]["max_score"] == 2
    assert "large case" in results["tests"][0]["output"]


def test_a_plotting_import_at_the_top_says_why_the_file_did_not_load(tmp_path):
    """matplotlib needs subprocess, which the sandbox refuses: the report names what to do, not
    only the refused module the student never imported (_posixsubprocess)."""
    report = grade(write(tmp_path, "import matplotlib.pyplot as plt\n"
                                   "def embedding_backward(dout, cache):\n    return None\n"),
                   exercises=["embedding_backward"], seeds=(0,), large=False)
    assert report.score == 0 and "the submission did not load" in report.text()
    assert "import such libraries under `if __name__ == \"__main__\":`" in report.load_error
