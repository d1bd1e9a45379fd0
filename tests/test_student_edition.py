"""The student edition is minis2s with holes: every exercise is a marked region of the engine's
source, punched into `raise ExerciseNotDone(...)` with the docstring intact; minis2s stops at the
first hole it needs and runs on the student's code once it is filled; the audit finds the
engine's own answers when a hole is not punched."""
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from minis2s.exercises import list_exercises
from conftest import instructor_module

ROOT = Path(__file__).parents[1]


edition = instructor_module("make_student_edition")


def run_in(package_root, code, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(package_root), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=str(package_root),
                          capture_output=True, text=True, timeout=timeout)


def test_every_exercise_of_the_ladder_is_one_code_region_of_the_package():
    found = edition.package_regions()
    assert set(found) == set(list_exercises())
    for name, places in found.items():
        assert [kind for _, kind in places].count("code") == 1, (name, places)
    assert ("minis2s/functional/lstm.py", "code") in found["lstm_step_backward"]
    assert ("minis2s/optim/adam.py", "code") in found["adam_update"]


def test_unbalanced_or_unknown_regions_are_refused():
    with pytest.raises(ValueError, match="never ends"):
        edition.regions("    # EXERCISE lstm_step_backward: begin\n    x = 1\n")
    with pytest.raises(ValueError, match="without its begin"):
        edition.regions("    x = 1\n    # EXERCISE lstm_step_backward: end\n")
    with pytest.raises(ValueError, match="not an exercise of the ladder"):
        edition.punch("def f():\n    # EXERCISE nope: begin\n    pass\n    # EXERCISE nope: end\n", ["nope"])


def test_punching_keeps_the_docstring_and_names_the_exercise(tmp_path):
    edition.copy_package(tmp_path, exercises=["lstm_step_backward", "embedding_backward"])
    proc = run_in(tmp_path, """
        import inspect, numpy as np
        import minis2s, minis2s.functional as F
        from minis2s.errors import ExerciseNotDone
        assert minis2s.__file__.startswith(%r), minis2s.__file__
        print(inspect.getdoc(F.lstm_step_backward).splitlines()[0])
        for call in (lambda: F.lstm_step_backward(None, None, None),
                     lambda: F.embedding_backward(None, None)):
            try:
                call()
            except ExerciseNotDone as e:
                print("not done:", e.number, e.name, e.where)
        h, _ = F.rnn_step_forward(np.zeros((2, 3)), np.zeros((2, 3)), np.eye(3))
        print("rnn step backward runs:", F.rnn_step_backward(np.ones((2, 3)), _)[0].shape)
    """ % str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Backward of :func:`lstm_step_forward`." in out
    assert "not done: 6 lstm_step_backward minis2s/functional/lstm.py" in out
    assert "not done: 2 embedding_backward minis2s/functional/embedding.py" in out
    assert "rnn step backward runs: (2, 3)" in out
    lstm = (tmp_path / "minis2s" / "functional" / "lstm.py").read_text()
    assert "dc_total" not in lstm.split("def lstm_step_backward")[1].split("def lstm_forward")[0]
    assert "EXERCISE" not in lstm                     # no marker left behind
    assert "(Exercise 6, ``lstm_step_backward``: the derivation is in docs/derivations.md" in lstm


@pytest.mark.slow
def test_train_stops_at_the_first_missing_exercise(tmp_path):
    edition.copy_package(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "minis2s", "train", "--task", "addition", "--epochs", "1",
                           "--out", str(tmp_path / "run")], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert re.search(r"minis2s: error: finish exercise 5 first \(lstm_step_forward, in "
                     r"minis2s/functional/lstm.py\)", proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_filled_hole_is_what_runs(tmp_path):
    """Punch lstm_step_backward, fill the hole with a student's body: the model's backward runs
    on it, and a wrong body changes the model's gradients -- the student's code is the engine."""
    edition.copy_package(tmp_path, exercises=["lstm_step_backward"])
    path = tmp_path / "minis2s" / "functional" / "lstm.py"
    punched = path.read_text()
    hole = ("    from minis2s.errors import ExerciseNotDone\n"
            "    raise ExerciseNotDone(6, 'lstm_step_backward', 'minis2s/functional/lstm.py')\n")
    assert hole in punched
    student = textwrap.indent(textwrap.dedent("""
        h_prev, c_prev, Wh, i, f, g, o, c, tanh_c = cache
        xp = get_array_module(dh)
        dc_total = dc + dh * o * (1.0 - tanh_c ** 2)
        da = xp.concatenate([dc_total * g * i * (1.0 - i), dc_total * c_prev * f * (1.0 - f),
                             dc_total * i * (1.0 - g ** 2), dh * tanh_c * o * (1.0 - o)], axis=1)
        return da, da @ Wh.T, dc_total * f
    """), "    ")
    code = """
        import numpy as np
        from minis2s.gradcheck import check_model
        from minis2s.models import Seq2Seq
        rng = np.random.default_rng(0)
        model = Seq2Seq(7, 8, emb=3, hidden=4, n_layers=1, decoder="peeky", seed=0)
        model.to(dtype="float64")
        src, tgt = rng.integers(4, 7, size=(2, 3)), rng.integers(4, 8, size=(2, 4))
        tgt[:, 0] = model.sos_id
        report = check_model(model, lambda: model.forward(src, tgt), max_elements=12)
        from minis2s.exercises import check
        print("engine check:", bool(check("lstm_step_backward", verbose=False)))
        print("max error", max(report.errors.values()))
    """
    path.write_text(punched.replace(hole, student))
    right = run_in(tmp_path, code)
    assert right.returncode == 0, right.stderr
    path.write_text(punched.replace(hole, student.replace("dc_total * c_prev * f", "0.0 * f")))
    wrong = run_in(tmp_path, code)                    # the forget-gate term left out
    assert wrong.returncode == 0, wrong.stderr
    assert "engine check: True" in right.stdout and "engine check: False" in wrong.stdout
    right_error, wrong_error = float(right.stdout.split()[-1]), float(wrong.stdout.split()[-1])
    assert right_error < 1e-5 and wrong_error > 1e-2 and wrong_error > 1000 * right_error


@pytest.mark.slow       # seconds: the fast tier keeps the gradient checks, models and CLI
def test_the_audit_finds_the_engines_answers_when_a_hole_is_not_punched(tmp_path):
    edition.copy_package(tmp_path, exercises=[l for l in list_exercises() if l != "lstm_step_backward"])
    leaks = edition.audit(tmp_path)
    assert ("minis2s/functional/lstm.py", "solution code: dc_prev=dc_total*f") in leaks
    assert all(f.startswith("minis2s/functional/lstm.py") for f, _ in leaks), leaks
    # the same edition, for an instructor who assigns every exercise but that one: clean
    assert edition.audit(tmp_path, [l for l in list_exercises() if l != "lstm_step_backward"]) == []


def test_a_marker_left_behind_is_a_leak(tmp_path):
    (tmp_path / "x.py").write_text("def f():\n    # EXERCISE lstm_step_backward: begin\n    pass\n")
    assert ("x.py", "an exercise region marker") in edition.audit(tmp_path)


@pytest.mark.slow       # seconds: the fast tier keeps the gradient checks, models and CLI
def test_the_edition_with_the_package_holds_no_solution(tmp_path):
    pytest.importorskip("jupytext")
    out = tmp_path / "edition"
    assert edition.make(out, max_hint=2, package=True) == []
    assert (out / "setup.cfg").exists() and (out / "minis2s" / "functional" / "lstm.py").exists()
    assert "ExerciseNotDone(6, 'lstm_step_backward'" in (out / "minis2s" / "functional" / "lstm.py").read_text()
    assert not any(p.name == ".git" for p in out.rglob("*"))
    only = tmp_path / "one"
    assert edition.make(only, package=True, exercises=["lstm_step_backward"]) == []
    assert "ExerciseNotDone" not in (only / "minis2s" / "functional" / "embedding.py").read_text()
    assert "def lstm_step_backward(" in (only / "submission.py").read_text()
    assert "def embedding_backward(" not in (only / "submission.py").read_text()


def test_in_a_punched_edition_the_engine_check_names_the_missing_exercise(tmp_path):
    edition.copy_package(tmp_path)
    (tmp_path / "solutions.py").write_text((ROOT / "instructor" / "solutions.py").read_text())
    proc = run_in(tmp_path, """
        import sys
        sys.modules["torch"] = None                  # no torch: the engine's Adam and clip would be
        sys.modules["sacrebleu"] = None              # the oracle -- the student's own holes
        import numpy as np
        import solutions
        from minis2s.exercises import check
        check("lstm_step_backward")
        check("rnn_step_backward")

        def always_scales(dWx, dWh, db, max_norm):   # the mistake a filled hole could share
            norm = float(np.sqrt(sum((g ** 2).sum() for g in (dWx, dWh, db))))
            s = max_norm / (norm + 1e-6)
            return dWx * s, dWh * s, db * s, norm
        for name, right in (("clip_gradients", solutions.clip_gradients),
                            ("adam_update", solutions.adam_update),
                            ("corpus_bleu", solutions.corpus_bleu)):
            print(name, [bool(check(name, right, seed=k, verbose=False)) for k in range(3)])
        print("always_scales", [bool(check("clip_gradients", always_scales, seed=k, verbose=False))
                                for k in range(10)])
    """)
    assert proc.returncode == 0, proc.stderr
    assert "FAIL: finish exercise 5 first (lstm_step_forward" in proc.stdout     # its forward
    assert "FAIL: finish exercise 3 first (rnn_step_backward" in proc.stdout     # itself
    # without torch and sacrebleu, clipping, Adam and BLEU are judged by the answers the full
    # package stored (they once compared a student's filled hole with itself)
    for name in ("clip_gradients", "adam_update", "corpus_bleu"):
        assert f"{name} [True, True, True]" in proc.stdout, proc.stdout
    always = proc.stdout.split("always_scales ")[1].splitlines()[0]
    assert "False" in always and "True" in always, always      # wrong exactly where it should not clip


@pytest.mark.slow       # seconds: the fast tier keeps the gradient checks, models and CLI
def test_in_a_punched_edition_clipping_adam_and_bleu_are_checked_against_torch_and_sacrebleu(tmp_path):
    """Their engine functions are holes there: the independent references still judge the
    student's function -- a right one passes, a wrong one fails -- before the holes are filled."""
    pytest.importorskip("torch")
    pytest.importorskip("sacrebleu")
    edition.copy_package(tmp_path)
    (tmp_path / "solutions.py").write_text((ROOT / "instructor" / "solutions.py").read_text())
    proc = run_in(tmp_path, """
        import solutions
        from minis2s.exercises import check
        for name, fn in [("clip_gradients", solutions.clip_gradients),
                         ("adam_update", solutions.adam_update),
                         ("corpus_bleu", solutions.corpus_bleu)]:
            for seed in range(3):
                print(name, seed, bool(check(name, fn, seed=seed, verbose=False)))
        wrong = lambda p, g, m, v, t, lr, b1, b2, eps: solutions.adam_update(p, g, m, v, t, lr, b1, b2, 0.0)
        print("adam without eps", bool(check("adam_update", wrong, verbose=False)))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(" True") == 9 and "adam without eps False" in proc.stdout, proc.stdout


def test_in_a_punched_edition_forwards_and_searches_are_checked_against_stored_answers(tmp_path):
    """Their oracles are engine functions that are holes there: the edition stores the full
    package's answers for the public seeds, so a right function passes and a wrong one fails;
    another seed is refused, naming the stored ones. The loss's oracle needs no storage (the
    engine's log_softmax is no exercise)."""
    edition.copy_package(tmp_path)
    assert (tmp_path / "minis2s" / "exercises" / "stored_answers.json").exists()
    (tmp_path / "solutions.py").write_text((ROOT / "instructor" / "solutions.py").read_text())
    proc = run_in(tmp_path, """
        import solutions
        from minis2s.exercises import check
        names = {"lstm_step_forward": "lstm_step_forward", "masked_softmax_forward":
                 "masked_softmax_forward", "greedy_search": "greedy_search",
                 "beam_search": "beam_search", "softmax_cross_entropy": "softmax_cross_entropy"}
        for name, fn in names.items():
            for seed in range(3):
                print(name, seed, bool(check(name, getattr(solutions, fn), seed=seed, verbose=False)))
        def short(step, state, sos_id, eos_id, max_len):       # stops one step early
            return solutions.greedy_search(step, state, sos_id, eos_id, max_len - 1)
        print("short", bool(check("greedy_search", short, verbose=False)))
        def no_mask(scores, mask):                              # padding gets weight too
            return solutions.masked_softmax_forward(scores, mask + 1.0)
        print("no_mask", bool(check("masked_softmax_forward", no_mask, verbose=False)))
        check("greedy_search", solutions.greedy_search, seed=123)
        check("lstm_step_forward", solutions.lstm_step_forward, seed=123)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(" True") == 15, proc.stdout
    assert "short False" in proc.stdout and "no_mask False" in proc.stdout, proc.stdout
    # another seed is refused, not computed: the oracle would be the student's own code
    for name in ("greedy_search", "lstm_step_forward"):
        assert (f"FAIL: {name}: this student edition stores the answers of seeds 0-9 only"
                in proc.stdout), proc.stdout


def test_grading_in_a_punched_edition_grades_what_it_can_and_names_what_waits(tmp_path):
    """In a student edition the cases of most exercises run forward passes that are still holes:
    `minis2s grade` grades the others and says, per exercise, which hole to fill first (it used
    to stop at the first such exercise with one error line and no report)."""
    edition.copy_package(tmp_path)
    (tmp_path / "solutions.py").write_text((ROOT / "instructor" / "solutions.py").read_text())
    proc = run_in(tmp_path, """
        from minis2s.grading import grade
        report = grade("solutions.py", exercises=["softmax_cross_entropy", "lstm_step_forward",
                                                  "lstm_step_backward", "lstm_backward"],
                       seeds=(0,), large=False)
        print(report.text())
        print("SCORE", report.score, report.max_score)
    """)
    assert proc.returncode == 0, proc.stderr
    assert "SCORE 4.0 14.0" in proc.stdout, proc.stdout        # 2 + 2 graded; 4 + 6 wait
    assert ("lstm_step_backward: 0 / 4  (not graded in this edition yet: finish exercise 5 first"
            in proc.stdout), proc.stdout
    assert "lstm_backward: 0 / 6  (not graded in this edition yet" in proc.stdout
    assert "in place of yours" not in proc.stdout              # no stand-in note without cases


def test_in_an_edition_punching_the_peeky_decoder_its_engine_check_names_exercise_9(tmp_path):
    edition.copy_package(tmp_path, exercises=["peeky_decoder_backward"])
    proc = run_in(tmp_path, """
        from minis2s.exercises import check
        check("peeky_decoder_backward")
        check("lstm_backward")                      # not punched: the package's own passes
    """)
    assert proc.returncode == 0, proc.stderr
    assert "FAIL: finish exercise 9 first (peeky_decoder_backward" in proc.stdout, proc.stdout
    assert "PASS: all 6 outputs agree" in proc.stdout, proc.stdout


def test_a_lab_edition_grades_its_own_exercises_by_default(tmp_path):
    """An edition built for one lab (--exercises ...) graded a complete submission "10 / 60", with
    16 'no function' lines; its autograder gives 10 / 10. Now `minis2s grade` grades the lab."""
    lab = ["lstm_step_backward", "lstm_backward"]
    edition.copy_package(tmp_path, exercises=lab)
    (tmp_path / "solutions.py").write_text((ROOT / "instructor" / "solutions.py").read_text())
    proc = run_in(tmp_path, """
        from minis2s.grading import grade
        report = grade("solutions.py", seeds=(0,), large=False)
        print("GRADED", [e.name for e in report.exercises], report.score, report.max_score)
    """)
    assert proc.returncode == 0, proc.stderr
    assert "GRADED ['lstm_step_backward', 'lstm_backward'] 10.0 10.0" in proc.stdout, proc.stdout
