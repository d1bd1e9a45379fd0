"""docs/teaching.md, step by step: the student edition holds no solution and runs up to its
first exercise; the Gradescope autograder zip grades a submission end to end; the docs list
every exercise and notebook."""
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from minis2s.exercises import EXERCISES, _doc_table, template
from conftest import instructor_module

ROOT = Path(__file__).parents[1]


edition = instructor_module("make_student_edition")
autograder = instructor_module("make_autograder")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    pytest.importorskip("jupytext")
    out = tmp_path_factory.mktemp("student") / "edition"
    leaks = edition.make(out)
    assert leaks == []
    return out


# --- step 2: the student edition --------------------------------------------------------

def test_the_student_edition_holds_no_solution(bundle):
    files = [p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()]
    assert "submission.py" in files and "notebooks/01_lstm_cell.ipynb" in files
    assert not any("instructor" in f or f.endswith("solutions.py") for f in files)
    nb01 = (bundle / "notebooks" / "01_lstm_cell.py").read_text()
    assert "dc_total = dc + dh" not in nb01 and "# YOUR CODE HERE" in nb01
    assert "dc_total = dh * o" not in (bundle / "docs" / "exercises.md").read_text()
    assert (bundle / "submission.py").read_text() == template()


def test_the_edition_s_markdown_speaks_of_the_edition(bundle):
    """The docs and notebooks/README.md it ships link only files it holds, and their INSTRUCTOR
    regions (the repository's executed notebooks, refresh.py, teaching.md) are gone."""
    for md in bundle.rglob("*.md"):
        text = md.read_text()
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (md.parent / target).exists(), f"{md.relative_to(bundle)} links {target}"
        for words in ("refresh.py", "test_notebooks", "committed **executed**", "teaching.md",
                      "INSTRUCTOR", "instructor/solutions.py"):
            assert words not in text, f"{md.relative_to(bundle)} says {words!r}"
    guide = (bundle / "docs" / "exercises.md").read_text()
    assert 'result = check("lstm_step_backward", my_lstm_step_backward)' in guide
    assert "## Solutions\n\nThe reference solutions are neither" in guide

def test_the_audit_catches_a_leak(bundle, tmp_path):
    """Break it: solution code planted in the bundle is found, however it is spaced or
    written -- in Markdown, with `1` for `1.0`, as one side of a tuple assignment."""
    planted = tmp_path / "copy"
    planted.mkdir()
    (planted / "notes.md").write_text("    dc_total = dc + dh * o * (1.0 - tanh_c ** 2)\n")
    (planted / "derivations.md").write_text("the cell: `dc_prev = dc_total*f`, and `dx = da @ Wx.T`\n"
                                            "and $dc_{prev} = dc_{total} \\odot f$ is maths, not code\n")
    (planted / "spaced.py").write_text("dc_total=dc+dh*o*(1 - tanh_c**2)\n")
    (planted / "nb.py").write_text("### BEGIN SOLUTION\n")
    found = edition.audit(planted)
    assert ("notes.md", "solution code: dc_total=dc+dh*o*(1-tanh_c**2)") in found
    assert ("spaced.py", "solution code: dc_total=dc+dh*o*(1-tanh_c**2)") in found
    assert ("derivations.md", "solution code: dc_prev=dc_total*f") in found
    assert ("derivations.md", "solution code: dx=da@Wx.T") in found
    derivations = [w for f, w in found if f == "derivations.md"]
    assert not any("odot" in w or "{prev}" in w for w in derivations)   # the LaTeX is maths
    assert any(f == "nb.py" and "marker" in w for f, w in found)


def test_the_audit_normalises_numerals():
    assert edition.normalise("a = 1.0 - b ** 2.") == edition.normalise("a=1-b**2") == "a=1-b**2"
    assert edition.normalise("x * 0.50 + y1.0") == "x*0.5+y1.0"       # y1.0 is no numeral
    assert edition.normalise("w[:, 0] + 10.25") == "w[:,0]+10.25"


def test_the_edition_has_no_history_and_no_executed_output(bundle):
    assert not any(p.name == ".git" for p in bundle.rglob("*"))
    nbformat = pytest.importorskip("nbformat")
    for path in (bundle / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path


def test_max_hint_removes_the_higher_levels_from_the_shipped_package(tmp_path):
    src = (ROOT / "minis2s" / "exercises" / "lstm.py").read_text()
    cut = edition.limit_hints(src, 2)
    level3 = EXERCISES["lstm_step_backward"].hints[2].strip().splitlines()[0].strip()
    assert level3 in src and level3 not in cut
    assert EXERCISES["lstm_step_backward"].hints[1].strip().splitlines()[0].strip() in cut
    compile(cut, "lstm.py", "exec")
    edition.copy_package(tmp_path, max_hint=1)
    code = ("from minis2s.exercises import hint, EXERCISES\n"
            "assert all(len(ex.hints) == 1 for ex in EXERCISES.values())\n"
            "hint('lstm_step_backward', 1)\n"
            "try:\n    hint('lstm_step_backward', 2)\nexcept ValueError as e:\n    print('refused:', e)\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "refused: hint level must be 1, got 2 (this course's edition of minis2s has 1 hint level)" \
        in proc.stdout
    all_text = "".join(p.read_text() for p in (tmp_path / "minis2s" / "exercises").glob("*.py"))
    for ex in EXERCISES.values():
        for text in ex.hints[1:]:
            assert text.strip().splitlines()[0].strip() not in all_text
    with pytest.raises(SystemExit, match="needs the package"):
        edition.make(tmp_path / "x", max_hint=2, package=False)


def test_blanking_keeps_indentation_and_refuses_unbalanced_markers():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    y = x * 2\n    ### END SOLUTION\n    return y\n"
    assert edition.blank(src) == ("def f(x):\n    y = 1\n    # YOUR CODE HERE\n"
                                  "    raise NotImplementedError\n    return y\n")
    with pytest.raises(ValueError, match="never closed"):
        edition.blank("### BEGIN SOLUTION\nx = 1\n")
    with pytest.raises(ValueError, match="without"):
        edition.blank("x = 1\n### END SOLUTION\n")


def test_the_student_notebook_runs_up_to_its_first_exercise(bundle, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("MINIS2S_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = bundle / "notebooks" / "01_lstm_cell.ipynb"
    nb = nbformat.read(path, as_version=4)
    first = next(k for k, c in enumerate(nb.cells) if "# YOUR CODE HERE" in c.source)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [(k, o) for k, c in enumerate(nb.cells) for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors, "the blanked exercise should raise"
    k, err = errors[0]
    assert k == first and err["ename"] == "NotImplementedError"
    ran = [c for c in nb.cells[:first] if c.cell_type == "code"]
    assert ran and all(c.execution_count for c in ran)


# --- step 3: the Gradescope autograder -----------------------------------------------------

def _run_autograder(tmp_path, submission_text, exercises):
    tmp_path.mkdir(parents=True, exist_ok=True)
    zip_path = autograder.build(tmp_path / "autograder.zip", exercises, cases=2, timeout=60)
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
        z.extractall(root / "source")
    assert {"setup.sh", "run_autograder", "grading.env", "minis2s-src/setup.cfg",
            "minis2s-src/minis2s/grading/sandbox.py"} <= set(names)
    assert not any(n.startswith(("instructor", "minis2s-src/instructor", "minis2s-src/tests")) for n in names)
    (root / "submission").mkdir()
    (root / "submission" / "submission.py").write_text(submission_text)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PYTHON=sys.executable,
               MINIS2S_SANDBOX_USER="")     # never create a user on the test machine
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads((root / "results" / "results.json").read_text())


@pytest.mark.slow       # seconds: the fast tier keeps the gradient checks, models and CLI
def test_the_gradescope_autograder_grades_a_submission_end_to_end(tmp_path):
    names = ["softmax_cross_entropy", "lstm_step_backward"]
    results = _run_autograder(tmp_path, (ROOT / "instructor" / "solutions.py").read_text(), names)
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) > 0
    assert [t["name"] for t in results["tests"]] == ["1. softmax_cross_entropy", "2. lstm_step_backward"]
    zero = _run_autograder(tmp_path / "b", template(names), names)
    assert zero["score"] == 0


def test_the_autograder_zip_holds_the_full_package_and_never_stored_answers(tmp_path, monkeypatch):
    """The grader's cases compute every oracle with the full package; a student edition's stored
    answers (minis2s/exercises/stored_answers.json), should a copy lie in the tree, stay out."""
    import shutil
    from minis2s.exercises import stored
    tree = tmp_path / "repo"
    shutil.copytree(ROOT / "minis2s", tree / "minis2s",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(ROOT / "instructor" / "gradescope", tree / "instructor" / "gradescope")
    for name in autograder.PACKAGE_FILES:
        shutil.copy(ROOT / name, tree / name)
    (tree / "minis2s" / "exercises" / stored.STORED.name).write_text("{}")
    monkeypatch.setattr(autograder, "ROOT", tree)
    with zipfile.ZipFile(autograder.build(tmp_path / "a.zip", ["lstm_step_forward"])) as z:
        names = z.namelist()
    assert "minis2s-src/minis2s/functional/lstm.py" in names
    assert "minis2s-src/minis2s/exercises/markov.py" in names
    assert autograder.STORED_NAME == stored.STORED.name
    assert not [n for n in names if n.endswith(stored.STORED.name)]


# --- the docs say what the code does -------------------------------------------------------------

def test_the_ladder_table_in_the_docs_is_current():
    doc = (ROOT / "docs" / "exercises.md").read_text()
    assert _doc_table() in doc, "docs/exercises.md: paste minis2s.exercises._doc_table() again"


def test_the_unit_plan_covers_every_notebook_and_exercise():
    plan = (ROOT / "docs" / "teaching.md").read_text()
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        assert nb.stem in plan, f"docs/teaching.md's unit plan does not mention {nb.stem}"
    for name in EXERCISES:
        assert f"`{name}`" in plan, f"docs/teaching.md's unit plan does not mention {name}"


def test_every_command_in_the_teaching_guide_names_a_file_that_exists():
    text = (ROOT / "docs" / "teaching.md").read_text()
    for path in set(re.findall(r"\b(instructor/[\w/.-]+\.(?:py|sh)|instructor/gradescope/\w+)", text)):
        assert (ROOT / path).exists(), path


@pytest.mark.parametrize("timeout", [0, -5, float("nan"), float("inf"), 86401])
def test_the_autograder_zip_refuses_a_timeout_that_would_grade_nobody(tmp_path, timeout):
    """`make_autograder.py --timeout 0` wrote a zip whose run_autograder refused every submission
    (no results.json); the rule of `minis2s grade --timeout` now holds when the zip is made."""
    out = tmp_path / "autograder.zip"
    with pytest.raises(SystemExit, match=r"--timeout: seconds per exercise, a number in \(0, 86400\]"):
        autograder.build(out, exercises=["embedding_backward"], timeout=timeout)
    assert not out.exists()
    assert autograder.build(out, exercises=["embedding_backward"], timeout=86400).exists()
    nested = tmp_path / "build" / "new" / "autograder.zip"      # a folder that does not exist yet
    assert autograder.build(nested, exercises=["embedding_backward"]).exists()
