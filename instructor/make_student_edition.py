r"""Make the student edition: the course's notebooks, docs and a submission template, no solutions.

    python instructor/make_student_edition.py OUT_DIR        # writes OUT_DIR, then audits it

What goes in (docs/teaching.md, step 2):

* ``notebooks/NN_*.py`` and ``.ipynb`` (no outputs), with every solution region
  blanked: the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
  (nbgrader's markers) become ``# YOUR CODE HERE`` / ``raise NotImplementedError``;
* ``docs/exercises.md`` and ``docs/derivations.md``, where the regions between
  ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` are removed;
* ``submission.py``: every exercise's stub (``minis2s.exercises.template()``);
* ``README.md``: what to do with all that.

Nothing from instructor/ goes in. The audit then reads every file of the bundle
and fails (exit status 1) if it finds a solution marker or any line of solution
code: the lines of instructor/solutions.py and of the notebooks' solution
regions. The same functions serve tests/test_student_edition.py.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
DOCS = ("exercises.md", "derivations.md")

STUDENT_README = """\
# minis2s: student edition

- `notebooks/`: the labs. Open them in Jupyter; cells marked `# YOUR CODE HERE` are yours.
- `submission.py`: one stub per exercise. Fill in the bodies, check each one as you go
  (`from minis2s.exercises import check; check("lstm_step_backward", lstm_step_backward)`),
  then hand in this file. `minis2s grade submission.py` grades it the way the autograder does.
- `docs/exercises.md`: the exercises, their order, difficulty and expected time, and how the
  checker and the hints work. `docs/derivations.md`: the maths.

Install minis2s as your instructor says (for example `pip install -e .` in a clone). Hints:
`from minis2s.exercises import hint; hint("lstm_step_backward")` lists what each level reveals.
"""


def blank(text: str, path: str = "") -> str:
    """The source with every solution region replaced by a stub raising NotImplementedError."""
    out, inside = [], False
    for n, line in enumerate(text.splitlines(keepends=True), 1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{path}:{n}: {BEGIN} inside a solution region")
            inside = True
            indent = line[:len(line) - len(line.lstrip())]
            out += [f"{indent}# YOUR CODE HERE\n", f"{indent}raise NotImplementedError\n"]
        elif stripped == END:
            if not inside:
                raise ValueError(f"{path}:{n}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{path}: {BEGIN} never closed")
    return "".join(out)


def strip_markdown(text: str, path: str = "") -> str:
    """The Markdown with every <!-- BEGIN SOLUTION --> ... <!-- END SOLUTION --> region removed."""
    pattern = re.compile(re.escape(MD_BEGIN) + r".*?" + re.escape(MD_END) + r"\n?", re.S)
    result = pattern.sub("*(The solution is not part of the student edition.)*\n", text)
    if MD_BEGIN in result or MD_END in result:
        raise ValueError(f"{path}: unbalanced solution markers")
    return result


def solution_lines() -> set:
    """Fingerprints of solution code: its non-trivial lines, whitespace stripped."""
    lines = set()

    def add(line):
        s = line.strip()
        if len(s) >= 20 and not s.startswith(("#", '"""', "def ", "return ", "raise ", "import ", "from ")):
            lines.add(s)

    source = (ROOT / "instructor" / "solutions.py").read_text()
    body = source.split("\n\n\n", 1)[1] if "\n\n\n" in source else source   # skip the docstring
    for line in body.splitlines():
        add(line)
    given = set()                # lines the students get anyway: outside the regions
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        inside = False
        for line in nb.read_text().splitlines():
            if line.strip() == BEGIN:
                inside = True
            elif line.strip() == END:
                inside = False
            elif inside:
                add(line)
            else:
                given.add(line.strip())
    return lines - given


def audit(out: Path) -> list:
    """Every leak in the bundle at ``out``: (file, what) pairs; [] when it is clean."""
    fingerprints = solution_lines()
    leaks = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        text = path.read_text(errors="replace")
        rel = path.relative_to(out)
        for marker in (BEGIN, END, MD_BEGIN, MD_END):
            if marker in text:
                leaks.append((str(rel), f"marker {marker!r}"))
        if "instructor" in rel.parts or path.name == "solutions.py":
            leaks.append((str(rel), "an instructor file"))
        # .ipynb keeps each line as a JSON string: compare unescaped lines too
        candidates = {line.strip() for line in text.splitlines()}
        candidates |= {line.strip().strip('",').replace('\\"', '"').replace("\\n", "").strip()
                       for line in text.splitlines()}
        for line in sorted(fingerprints & candidates):
            leaks.append((str(rel), f"solution code: {line}"))
    return leaks


def make(out: Path) -> list:
    """Write the student edition into ``out`` (which must not exist or be empty); return the audit."""
    import jupytext

    from minis2s.exercises import template

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: give a new folder")
    (out / "notebooks").mkdir(parents=True)
    (out / "docs").mkdir()
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        text = blank(nb.read_text(), str(nb))
        (out / "notebooks" / nb.name).write_text(text)
        notebook = jupytext.reads(text, fmt="py:percent")
        notebook.metadata.pop("jupytext", None)      # a plain notebook, not paired
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        jupytext.write(notebook, out / "notebooks" / nb.with_suffix(".ipynb").name)
    for name in ("README.md",):
        src = ROOT / "notebooks" / name
        if src.exists():
            shutil.copy(src, out / "notebooks" / name)
    for name in DOCS:
        src = ROOT / "docs" / name
        (out / "docs" / name).write_text(strip_markdown(src.read_text(), str(src)))
    (out / "submission.py").write_text(template())
    (out / "README.md").write_text(STUDENT_README)
    return audit(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="a new folder for the student edition")
    args = parser.parse_args(argv)
    leaks = make(args.out)
    for where, what in leaks:
        print(f"LEAK {where}: {what}", file=sys.stderr)
    if leaks:
        print(f"the student edition in {args.out} holds {len(leaks)} solution leak(s)", file=sys.stderr)
        return 1
    files = sum(1 for p in args.out.rglob("*") if p.is_file())
    print(f"student edition written to {args.out}: {files} files, no solutions found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
