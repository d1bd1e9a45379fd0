r"""Make the student edition: the course's notebooks, docs and a submission template, no solutions.

    python instructor/make_student_edition.py OUT_DIR        # writes OUT_DIR, then audits it

What goes in (docs/teaching.md, step 2):

* ``notebooks/NN_*.py`` and ``.ipynb`` (no outputs), with every solution region
  blanked: the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
  (nbgrader's markers) become ``# YOUR CODE HERE`` / ``raise NotImplementedError``;
* ``docs/exercises.md``, ``docs/derivations.md`` and ``notebooks/README.md``, where the
  regions between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` are removed, and
  those between ``<!-- BEGIN INSTRUCTOR -->`` and ``<!-- END INSTRUCTOR -->`` (text about the
  instructor's repository) too, without a trace;
* ``submission.py``: every exercise's stub (``minis2s.exercises.template()``);
* ``README.md``: what to do with all that.

Nothing from instructor/ goes in; the edition is a plain folder (no git
history). The edition ships minis2s's source as well (``--no-package``: not), with every
exercise of ``--exercises`` (default: the whole ladder) punched into a hole: each exercise
is a marked region of the engine (``# EXERCISE name: begin`` / ``end`` in the
body of, e.g., functional/lstm.py's ``lstm_step_backward``), replaced by
``raise ExerciseNotDone(N, name, file)`` with the docstring intact, so minis2s
stops at the first hole it needs ("finish exercise N first") and runs on the
student's code once it is filled. ``--max-hint N`` cuts every exercise's hints
to the first N levels in it (the text of the others is removed, not hidden).

The audit then reads every file of the bundle and fails (exit status 1) if it
finds a solution marker or solution code: every statement of
instructor/solutions.py and of the notebooks' solution regions, and its parts
(the two sides of a tuple assignment, the elements of a returned tuple),
compared with all whitespace removed and numerals made canonical (``1`` =
``1.0``), in code, Markdown -- docs/derivations.md included -- and notebooks
alike. The same functions serve tests/test_teaching.py and tests/test_student_edition.py.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This checkout's minis2s, installed or not: what is made here (holes, stored answers, the
# grader's package) must come from these files, not from another version on sys.path.
sys.path.insert(0, str(ROOT))
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
# Markdown for the instructor's repository only (how notebooks are refreshed, links to files the
# edition does not ship): removed from the edition without a trace.
MD_INSTRUCTOR = "<!-- BEGIN INSTRUCTOR -->", "<!-- END INSTRUCTOR -->"
DOCS = ("exercises.md", "derivations.md")

STUDENT_README = """\
# minis2s: student edition

- `notebooks/`: the labs. Open them in Jupyter; cells marked `# YOUR CODE HERE` are yours.
- `submission.py`: one stub per exercise. Fill in the bodies, check each one as you go
  (`from minis2s.exercises import check; check("lstm_step_backward", lstm_step_backward)`),
  then hand in this file. `minis2s grade submission.py` grades it the way the autograder does.
- `docs/exercises.md`: the exercises, their order, difficulty and expected time, and how the
  checker and the hints work. `docs/derivations.md`: the maths.

Install minis2s as your instructor says (`pip install -e .` in this folder when it holds
`minis2s/`). There the exercises are holes in minis2s itself: `minis2s/functional/lstm.py`'s
`lstm_step_backward` raises "finish exercise 6 first" until you write its body -- the same body
as `submission.py`'s, which has its signature -- and `check("lstm_step_backward")`, with no
function, judges what you wrote in the package. minis2s then trains on your code. Hints: `from minis2s.exercises import hint; hint("lstm_step_backward")` lists what
each level reveals.

How you are graded: `check` and `minis2s grade` use public seeds, so you can see every case;
the autograder grades on other cases, drawn from your instructor's secret, with the same sizes
of mistakes in view. A case counts only when all its outputs are right. Your code runs where
minis2s cannot be imported or read: write the exercises with NumPy only (`check` and `hint` do
nothing there; keep your calls of them below `if __name__ == "__main__":`, which the grader
skips). Each backward exercise also gets a case of realistic size, within the same time limit:
milliseconds for a backward pass, hours for finite differences. A notebook is graded on its imports and function definitions only.

Where a check compares with minis2s's own function (a forward pass, a search) and that function
is one of your holes, it compares with the answers the full package gave for the public seeds,
stored in `minis2s/exercises/stored_answers.json`: `check(name, fn, seed=s)` works for seeds
0 to 9 (another seed is refused: its oracle would be your own code).
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
    """The Markdown with every <!-- BEGIN SOLUTION --> ... <!-- END SOLUTION --> region replaced
    by a line saying so, and every <!-- BEGIN INSTRUCTOR --> ... <!-- END INSTRUCTOR --> region
    removed (with the blank line after it)."""
    begin, end = MD_INSTRUCTOR
    instructor = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n(\n(?=\S))?", re.S)
    text = instructor.sub("", text)
    pattern = re.compile(re.escape(MD_BEGIN) + r".*?" + re.escape(MD_END) + r"\n?", re.S)
    result = pattern.sub("*(The solution is not part of the student edition.)*\n", text)
    if any(marker in result for marker in (MD_BEGIN, MD_END, *MD_INSTRUCTOR)):
        raise ValueError(f"{path}: unbalanced solution or instructor markers")
    return result


NUMERAL = re.compile(r"(?<![\w.])(\d+)(?:\.(\d*))?(?![\w.])")


def _numeral(m) -> str:
    whole, frac = m.group(1), (m.group(2) or "").rstrip("0")
    return f"{int(whole)}.{frac}" if frac else str(int(whole))


def normalise(text: str) -> str:
    """Text as the audit compares it: no whitespace at all, numerals canonical (1 = 1.0 = 1.)."""
    return re.sub(r"\s+", "", NUMERAL.sub(_numeral, text))


def _pieces(stmt) -> list:
    """The source pieces of one solution statement that count as solution code.

    The statement itself; for ``a, b = x, y`` also ``a = x`` and ``b = y``; for
    ``return x, y`` also ``x`` and ``y``; for ``def``/``for``/``if`` only their first line.
    """
    import ast
    text = ast.unparse(stmt)
    if isinstance(stmt, (ast.FunctionDef, ast.For, ast.If, ast.While, ast.With)):
        text = text.splitlines()[0]
    out = [text]
    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Tuple) \
            and isinstance(stmt.targets[0], ast.Tuple) \
            and len(stmt.targets[0].elts) == len(stmt.value.elts):
        out += [f"{ast.unparse(t)} = {ast.unparse(v)}"
                for t, v in zip(stmt.targets[0].elts, stmt.value.elts)]
    if isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Tuple):
        out += [ast.unparse(v) for v in stmt.value.elts]
    return out


def _code_fingerprints(source: str, values: bool = False) -> set:
    """Normalised pieces of every statement inside the functions of ``source``; with ``values``
    also every assigned value alone (what students can read in code they are given)."""
    import ast
    prints = set()
    for fn in (n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)):
        for stmt in (n for n in ast.walk(fn) if isinstance(n, ast.stmt) and n is not fn):
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue                                      # a docstring
            for piece in _pieces(stmt):
                prints.add(normalise(piece))
            if values and isinstance(stmt, (ast.Assign, ast.AugAssign)):
                prints.add(normalise(ast.unparse(stmt.value)))
    return prints


def _is_code(fp: str) -> bool:
    """Worth flagging: long enough, with arithmetic or indexing in it (not `return dW`, not
    `state = decoder.start(enc)`, the API a search is written with)."""
    return (len(fp) >= 7 and bool(re.search(r"[-+*/@%]|\[", fp))   # an API call alone is not
            and not fp.startswith(("return", "raise")))              # a solution


def _region_lines(text: str):
    """(inside, outside): the lines of a notebook inside its solution regions, and the others."""
    inside_lines, outside, inside = [], [], False
    for line in text.splitlines():
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        else:
            (inside_lines if inside else outside).append(line)
    return inside_lines, outside


# --- the exercises are holes in the package ----------------------------------------------------

CODE_MARK = re.compile(r"^(\s*)# EXERCISE (\w+): (begin|end)\s*$")
TEXT_MARK = re.compile(r"^(\s*)\.\. EXERCISE (\w+): (begin|end)\s*$")


def regions(source: str, path: str = "") -> list:
    """The exercise regions of a source file: (name, first line, last line, indent, kind) with
    0-based line numbers of the begin and end markers; kind "code" (``# EXERCISE name: begin``)
    or "text" (``.. EXERCISE name: begin``, inside a docstring)."""
    found, open_ = [], None
    for n, line in enumerate(source.splitlines()):
        for kind, mark in (("code", CODE_MARK), ("text", TEXT_MARK)):
            m = mark.match(line)
            if not m:
                continue
            indent, name, edge = m.groups()
            if edge == "begin":
                if open_:
                    raise ValueError(f"{path}:{n + 1}: region {name} begins inside region {open_[0]}")
                open_ = (name, n, indent, kind)
            else:
                if not open_ or open_[0] != name or open_[3] != kind:
                    raise ValueError(f"{path}:{n + 1}: end of region {name} without its begin")
                found.append((name, open_[1], n, open_[2], kind))
                open_ = None
    if open_:
        raise ValueError(f"{path}: region {open_[0]} never ends")
    return found


def package_regions() -> dict:
    """{exercise name: [(path relative to the repository, kind), ...]} over minis2s's source."""
    out = {}
    for path in sorted((ROOT / "minis2s").rglob("*.py")):
        for name, _, _, _, kind in regions(path.read_text(), str(path)):
            out.setdefault(name, []).append((str(path.relative_to(ROOT)), kind))
    return out


def punch(source: str, exercises, path: str = "", where: str = "") -> str:
    """The source with the regions of ``exercises`` replaced -- code by a ``raise
    NotImplementedError("exercise N, name: ...")``, docstring text by a line saying where the
    maths is -- and every other region's markers removed (its code stays). ``where``: the file,
    as the error names it (e.g. minis2s/functional/lstm.py)."""
    from minis2s.exercises import list_exercises
    number = {name: k for k, name in enumerate(list_exercises(), 1)}
    lines = source.splitlines(keepends=True)
    for name, first, last, indent, kind in sorted(regions(source, path), key=lambda r: -r[1]):
        if name not in number:
            raise ValueError(f"{path}: region {name!r} is not an exercise of the ladder")
        if name not in exercises:
            lines[first:last + 1] = lines[first + 1:last]
        elif kind == "code":
            lines[first:last + 1] = [
                f"{indent}from minis2s.errors import ExerciseNotDone\n",
                f"{indent}raise ExerciseNotDone({number[name]}, {name!r}, {where!r})\n"]
        else:
            lines[first:last + 1] = [f"{indent}(Exercise {number[name]}, ``{name}``: the derivation is in "
                                     "docs/derivations.md; the code is yours to write.)\n"]
    return "".join(lines)


def _region_code(exercises) -> str:
    """The code of the package's regions for ``exercises``, as one function per region."""
    import textwrap
    parts = []
    for path in sorted((ROOT / "minis2s").rglob("*.py")):
        lines = path.read_text().splitlines()
        for k, (name, first, last, indent, kind) in enumerate(regions("\n".join(lines), str(path))):
            if name in exercises and kind == "code":
                body = textwrap.dedent("\n".join(lines[first + 1:last]))
                parts.append(f"def _region_{k}():\n" + textwrap.indent(body or "pass", "    "))
    return "\n\n".join(parts)


def _given_fingerprints(exercises) -> set:
    """What students get anyway: the notebooks outside their solution regions and the package
    outside the holes punched for ``exercises`` (not the exercises' package: stubs, checker,
    hints) -- a solution line there is no leak."""
    given = set()
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        _, outside = _region_lines(nb.read_text())
        given |= {normalise(line) for line in outside}
        try:
            given |= _code_fingerprints("\n".join(outside))
        except SyntaxError:
            pass
    for path in sorted((ROOT / "minis2s").rglob("*.py")):
        if path.parent.name == "exercises":
            continue                     # the exercises' package: stubs, checker, hints
        given |= _code_fingerprints(punch(path.read_text(), exercises, str(path)), values=True)
    return given


def _solution_functions(exercises) -> str:
    """The functions of instructor/solutions.py that answer ``exercises`` (by stub name)."""
    import ast
    from minis2s.exercises import EXERCISES
    stubs = {EXERCISES[name].stub.__name__ for name in exercises}
    source = (ROOT / "instructor" / "solutions.py").read_text()
    tree = ast.parse(source)
    return "\n\n".join(ast.get_source_segment(source, node) for node in tree.body
                       if isinstance(node, ast.FunctionDef)
                       and (node.name in stubs or node.name.startswith("_")))


def solution_lines(exercises=None) -> set:
    """Fingerprints of solution code, normalised: every statement of the package's regions and of
    instructor/solutions.py for ``exercises`` (default: the whole ladder) and of the notebooks'
    solution regions, and its parts (tuple assignments split, returned tuples' elements), minus
    what students get anyway."""
    from minis2s.exercises import list_exercises
    exercises = list_exercises() if exercises is None else list(exercises)
    prints = _code_fingerprints(_solution_functions(exercises))
    prints |= _code_fingerprints(_region_code(exercises))
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        inside, _ = _region_lines(nb.read_text())
        prints |= {normalise(line) for line in inside}
        try:
            import textwrap
            prints |= _code_fingerprints("def _region():\n" + textwrap.indent(
                textwrap.dedent("\n".join(inside)), "    "))
        except SyntaxError:
            pass
    return {fp for fp in prints if _is_code(fp)} - _given_fingerprints(exercises)


def _unescape_json_lines(text: str) -> str:
    """.ipynb keeps each line as a JSON string: the text with the escapes undone."""
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def find_leaks(text: str, fingerprints) -> list:
    """The fingerprints found in ``text`` (normalised, whole identifiers only), sorted."""
    flat = normalise(_unescape_json_lines(text)) + normalise(text)
    found = []
    for fp in fingerprints:
        if fp in flat and re.search(r"(?<![\w.])" + re.escape(fp) + r"(?![\w(])", flat):
            found.append(fp)
    return sorted(found)


def audit(out: Path, exercises=None) -> list:
    """Every leak in the bundle at ``out``: (file, what) pairs; [] when it is clean.

    Solution code of ``exercises`` (default: the whole ladder) is found however it is spaced
    or written (``1`` or ``1.0``), in code, Markdown (docs/derivations.md included),
    notebooks and hints alike; so are region markers left behind.
    """
    fingerprints = solution_lines(exercises)
    leaks = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        text = path.read_text(errors="replace")
        rel = path.relative_to(out)
        for marker in (BEGIN, END, MD_BEGIN, MD_END, *MD_INSTRUCTOR):
            if marker in text:
                leaks.append((str(rel), f"marker {marker!r}"))
        if path.suffix == ".py" and any(CODE_MARK.match(l) or TEXT_MARK.match(l)
                                        for l in text.splitlines()):
            leaks.append((str(rel), "an exercise region marker"))
        if "instructor" in rel.parts or path.name == "solutions.py":
            leaks.append((str(rel), "an instructor file"))
        for fp in find_leaks(text, fingerprints):
            leaks.append((str(rel), f"solution code: {fp}"))
    return leaks


def limit_hints(source: str, max_level: int) -> str:
    """An exercise module's source with every ``*HINTS`` tuple cut to its first ``max_level``
    hints (the text of the others is gone, not hidden)."""
    import ast
    tree = ast.parse(source)
    cuts = []
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id.endswith("HINTS")
                and isinstance(node.value, ast.Tuple) and len(node.value.elts) > max_level):
            first, last = node.value.elts[max_level], node.value.elts[-1]
            cuts.append((first.lineno, first.col_offset, last.end_lineno, last.end_col_offset))
    lines = source.splitlines(keepends=True)
    offset = [0]
    for line in lines:
        offset.append(offset[-1] + len(line))
    for l0, c0, l1, c1 in sorted(cuts, reverse=True):
        start, end = offset[l0 - 1] + c0, offset[l1 - 1] + c1
        end = end + 1 if source[end:end + 1] == "," else end
        source = source[:start] + source[end:]
    return source


PACKAGE_FILES = ("setup.cfg", "pyproject.toml", "README.md")
STORED_SEEDS = range(10)      # the public seeds whose answers an edition stores


def copy_package(out: Path, max_hint: int = 3, exercises=None) -> None:
    """minis2s's source into ``out`` (minis2s/, setup.cfg, pyproject.toml, README.md), so that
    ``pip install -e .`` there installs it: the regions of ``exercises`` (default: the whole
    ladder) punched into holes, the exercises' hints cut to ``max_hint`` levels."""
    from minis2s.exercises import list_exercises
    exercises = list_exercises() if exercises is None else list(exercises)
    for name in PACKAGE_FILES:
        shutil.copy(ROOT / name, out / name)
    for path in sorted((ROOT / "minis2s").rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        target = out / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix != ".py":
            shutil.copy(path, target)
            continue
        text = punch(path.read_text(), exercises, str(path), str(path.relative_to(ROOT)))
        if path.parent.name == "exercises":
            text = limit_hints(text, max_hint)
        target.write_text(text)
    # the answers of the engine functions that are holes in the edition, for the public seeds
    # (minis2s/exercises/stored.py): computed here, by the full package
    from minis2s.exercises import stored
    names = [name for name in stored.STORED_EXERCISES if name in exercises]
    stored.write(out / "minis2s" / "exercises" / stored.STORED.name, names, STORED_SEEDS,
                 holes=[name for name in list_exercises() if name in exercises])


def make(out: Path, max_hint: int = 3, package: bool = True, exercises=None) -> list:
    """Write the student edition into ``out`` (which must not exist or be empty); return the audit.

    max_hint: the highest hint level students can ask for (1, 2 or 3); the others' text is
        not in the edition at all. The hints live in the package, so this needs ``package``.
    package: ship minis2s's source too, with the regions of ``exercises`` punched into holes
        (``raise ExerciseNotDone``): minis2s then runs on the student's code (the default).
        The exercises' stubs are the engine's functions, on its caches. The oracles of the
        forward passes and the searches are engine functions the punched package no longer
        has (and those of clipping, Adam and BLEU, where torch or sacrebleu is missing): their
        answers for the public seeds are stored (minis2s/exercises/stored.py), with the list
        of the edition's exercises, which ``minis2s grade`` then grades by default.
    exercises: which exercises become holes (default: the whole ladder); the others stay
        filled in, and their solutions are not looked for by the audit.
    """
    import jupytext

    from minis2s.exercises import list_exercises, template

    if max_hint not in (1, 2, 3):
        raise SystemExit(f"--max-hint must be 1, 2 or 3, got {max_hint!r}")
    if max_hint < 3 and not package:
        raise SystemExit("--max-hint: the hints live in the package; it needs the package "
                         "(leave out --no-package)")
    exercises = list_exercises() if exercises is None else list(exercises)
    unknown = sorted(set(exercises) - set(list_exercises()))
    if unknown:
        raise SystemExit(f"--exercises: unknown {unknown}; the exercises are {list_exercises()}")
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
            (out / "notebooks" / name).write_text(strip_markdown(src.read_text(), str(src)))
    for name in DOCS:
        src = ROOT / "docs" / name
        (out / "docs" / name).write_text(strip_markdown(src.read_text(), str(src)))
    if package:
        copy_package(out, max_hint, exercises)
    (out / "submission.py").write_text(template(exercises))
    (out / "README.md").write_text(STUDENT_README)
    return audit(out, exercises)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="a new folder for the student edition")
    parser.add_argument("--exercises", nargs="+", metavar="NAME",
                        help="the exercises that become holes in the package (default: the ladder)")
    parser.add_argument("--max-hint", type=int, default=3, choices=(1, 2, 3),
                        help="the highest hint level students can ask for (default 3)")
    parser.add_argument("--package", action=argparse.BooleanOptionalAction, default=True,
                        help="ship minis2s's source too, the exercises punched into holes in it "
                             "(the default; --no-package: the notebooks, docs and submission "
                             "file only; --max-hint needs the package)")
    args = parser.parse_args(argv)
    leaks = make(args.out, max_hint=args.max_hint, package=args.package,
                 exercises=args.exercises)
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
