"""The autograder: full marks for the reference solutions, nothing for the library's code,
points per output, a timeout, Gradescope's results.json and the CLI."""
import json
from pathlib import Path

import pytest

from minis2s.app.cli import main
from minis2s.exercises import template
from minis2s.grading import grade

ROOT = Path(__file__).parents[1]
SOLUTIONS = ROOT / "instructor" / "solutions.py"
SOME = ["softmax_cross_entropy", "lstm_step_backward", "clip_gradients"]


def write(tmp_path, text, name="submission.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.slow
def test_the_reference_solutions_get_full_marks_on_every_exercise(tmp_path):
    report = grade(SOLUTIONS, seeds=(0, 1))
    assert report.score == report.max_score == 60, report.text()   # 18 exercises, 2 points a level
    assert not report.flags and not report.load_error
    results = report.gradescope()
    assert results["score"] == report.max_score
    assert sum(t["score"] for t in results["tests"]) == pytest.approx(results["score"])
    assert len(results["tests"]) == 18
    assert "12. attention_backward" in [t["name"] for t in results["tests"]]
    assert all({"name", "score", "max_score", "output"} <= set(t) for t in results["tests"])


def test_the_template_scores_zero_as_not_implemented(tmp_path):
    report = grade(write(tmp_path, template(SOME)), exercises=SOME, seeds=(0,), large=False)
    assert report.score == 0
    assert "not implemented yet" in report.text()


def test_a_submission_importing_the_library_scores_zero_and_is_flagged(tmp_path):
    sub = write(tmp_path, "import minis2s.functional as F\n"
                          "def softmax_cross_entropy(logits, targets, ignore_index):\n"
                          "    return F.softmax_cross_entropy(logits, targets, ignore_index)\n")
    report = grade(sub, exercises=["softmax_cross_entropy"], seeds=(0,), large=False)
    assert report.score == 0
    assert report.flags == ["imports minis2s.functional"]
    assert "cannot be imported while your submission is graded" in report.load_error
    assert "FLAGGED" in report.text() and "FLAGGED" in report.gradescope()["output"]


def test_hidden_imports_of_the_library_fail_too(tmp_path):
    """importlib inside the function: the sandbox refuses it at call time."""
    sub = write(tmp_path, "import importlib\n"
                          "def lstm_step_backward(dh, dc, cache):\n"
                          "    F = importlib.import_module('min' + 'is2s.functional')\n"
                          "    return F.lstm_step_backward(dh, dc, cache)\n"
                          "def softmax_cross_entropy(logits, targets, ignore_index):\n"
                          "    import torch\n")
    report = grade(sub, exercises=["lstm_step_backward", "softmax_cross_entropy"], seeds=(0,),
                   large=False)
    assert report.score == 0 and report.flags == ["imports torch"]   # importlib is not flagged ...
    text = report.text()                                              # ... but refused
    assert "ImportError" in text and "minis2s.functional cannot be imported" in text
    assert "torch cannot be imported" in text


def test_a_case_counts_only_when_every_output_is_right(tmp_path):
    """A clip that never clips: its norm is always right, its arrays only where the case does not
    clip -- those cases pass, the others earn nothing, and the report names the wrong outputs."""
    sub = write(tmp_path, "import numpy as np\n"
                          "def clip_gradients(dWx, dWh, db, max_norm):\n"
                          "    n = float(np.sqrt((dWx**2).sum() + (dWh**2).sum() + (db**2).sum()))\n"
                          "    return dWx, dWh, db, n\n")
    seeds = tuple(range(6))
    report = grade(sub, exercises=["clip_gradients"], seeds=seeds)
    (ex,) = report.exercises
    passed = [r.passed for r in ex.results]
    assert 0 < sum(passed) < len(seeds)
    assert ex.score == pytest.approx(ex.max_points * sum(passed) / len(seeds))
    for r in ex.results:
        assert r.passed or r.failed == ["dWx", "dWh", "db"]       # norm right, still a FAIL
    assert "FAIL (wrong: dWx, dWh, db)" in report.text()


def test_one_wrong_output_costs_the_whole_case(tmp_path):
    """dc_enc = 0 in the peeky decoder: 7 of 8 outputs right used to earn 5.25 / 6; now 0."""
    sub = write(tmp_path, SOLUTIONS.read_text() + "\n_ref = peeky_decoder_backward\n"
                "def peeky_decoder_backward(cache):\n    o = _ref(cache)\n    return o[:7] + (o[7] * 0,)\n")
    report = grade(sub, exercises=["peeky_decoder_backward"], seeds=(0, 1))
    assert report.score == 0
    assert all(r.failed == ["dc_enc"] for r in report.exercises[0].results)


@pytest.mark.slow       # seconds: the fast tier keeps the gradient checks, models and CLI
def test_a_hanging_exercise_times_out_and_the_others_are_still_graded(tmp_path):
    text = SOLUTIONS.read_text() + "\n\ndef embedding_backward(dout, cache):\n    while True:\n        pass\n"
    report = grade(write(tmp_path, text), exercises=["softmax_cross_entropy", "embedding_backward"],
                   seeds=(0,), timeout=2, large=False)
    first, second = report.exercises
    assert first.score == first.max_points
    assert second.score == 0 and "timed out after 2 s" in second.note


def test_a_file_that_does_not_load_scores_zero_with_its_traceback(tmp_path):
    report = grade(write(tmp_path, "def softmax_cross_entropy(:\n"), exercises=SOME, seeds=(0,),
                   large=False)
    assert report.score == 0 and "SyntaxError" in report.load_error


def test_a_missing_function_is_named(tmp_path):
    report = grade(write(tmp_path, "import numpy as np\n"), exercises=["lstm_backward"], seeds=(0,))
    assert "no function lstm_backward in the submission" in report.text()


def test_the_submission_sees_no_oracle_and_cannot_change_the_verdict(tmp_path):
    """Returning the arguments, or printing, earns nothing; printing does not flood the report."""
    sub = write(tmp_path, "def embedding_backward(dout, cache):\n"
                          "    print('x' * 100000)\n"
                          "    return dout\n")
    report = grade(sub, exercises=["embedding_backward"], seeds=(0, 1), large=False)
    assert report.score == 0 and len(report.text()) < 5000


def test_cli_grade_writes_gradescope_results_and_a_report(tmp_path, capsys):
    results, plain = tmp_path / "results.json", tmp_path / "report.txt"
    status = main(["grade", str(SOLUTIONS), "--exercises", *SOME, "--seeds", "3", "4",
                   "--results", str(results), "--report", str(plain)])
    assert status == 0
    data = json.loads(results.read_text())
    assert data["score"] == sum(t["max_score"] for t in data["tests"])
    assert [t["name"] for t in data["tests"]] == [f"{k}. {n}" for k, n in enumerate(SOME, 1)]
    assert "seeds 3, 4" in plain.read_text() and "seeds 3, 4" in capsys.readouterr().out


def test_unknown_exercise_and_missing_file_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown exercise"):
        grade(SOLUTIONS, exercises=["lstm_backwards"])
    with pytest.raises(FileNotFoundError, match="no submission file"):
        grade(tmp_path / "nope.py")


@pytest.mark.parametrize("options, says", [
    (["--exercises", "nosuch"], "--exercises: no exercise named 'nosuch'; the exercises are "),
    (["--seeds", "-1"], "--seeds must be an integer in [0, 4294967295], got -1"),
    (["--seeds", "0", "99999999999"], "--seeds must be an integer in [0, 4294967295]"),
    (["--timeout", "nan"], "--timeout (seconds per exercise) must be a number in (0, 86400], got nan"),
    (["--timeout", "inf"], "--timeout (seconds per exercise) must be a number in (0, 86400], got inf"),
    (["--timeout", "0"], "--timeout (seconds per exercise) must be a number in (0, 86400], got 0.0"),
    (["--timeout", "-1"], "--timeout (seconds per exercise) must be a number in (0, 86400], got -1.0"),
])
def test_grade_options_are_checked_in_one_line(tmp_path, capsys, options, says):
    """--exercises nosuch, --seeds -1, --timeout nan|inf were tracebacks; --timeout 0 or -1
    graded the reference 0 / 56. Now: one line, before anything is graded."""
    submission = tmp_path / "submission.py"
    submission.write_text("")
    assert main(["grade", str(submission), *options]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"minis2s: error: {says}"), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_the_report_never_overwrites_the_submission(tmp_path, capsys):
    """`--report sub.py` / `--results sub.py` used to replace the student's file with the report."""
    sub = write(tmp_path, "def embedding_backward(dout, cache):\n    return None\n")
    before = sub.read_text()
    for option in ("--report", "--results"):
        assert main(["grade", str(sub), "--exercises", "embedding_backward", option, str(sub)]) == 1
        assert f"{option} {sub}: that is the submission itself" in capsys.readouterr().err
        assert sub.read_text() == before
    report = str(tmp_path / "r.txt")
    assert main(["grade", str(sub), "--exercises", "embedding_backward", "--report", report,
                 "--results", report]) == 1
    assert "are the same file" in capsys.readouterr().err


def test_an_exercise_named_twice_is_graded_once(tmp_path):
    """`--exercises X X` graded X twice and doubled the maximum."""
    sub = write(tmp_path, "def embedding_backward(dout, cache):\n    return None\n")
    report = grade(sub, exercises=["embedding_backward", "embedding_backward"], seeds=(0,),
                   large=False)
    assert [e.name for e in report.exercises] == ["embedding_backward"] and report.max_score == 2
