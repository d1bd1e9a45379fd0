r"""Build a Gradescope autograder zip for minis2s's exercises.

    python instructor/make_autograder.py autograder.zip                       # every exercise
    python instructor/make_autograder.py lab3.zip --exercises lstm_step_backward lstm_backward

The zip holds Gradescope's ``setup.sh`` and ``run_autograder``
(instructor/gradescope/), ``grading.env`` (the exercises, the number of cases
and the timeout chosen here), ``grading.secret`` (a fresh random secret from
which the grader draws its cases: it is written into the zip and nowhere else,
and never printed -- a new zip, a new secret) and minis2s's source
(``minis2s-src/``: the package, setup.cfg, pyproject.toml, README.md -- no
instructor/ and no tests). Students check their work locally on public seeds;
Gradescope grades it on cases nobody has seen. Upload it as the
assignment's autograder ("Zip file upload"); students upload ``submission.py``.
docs/teaching.md, step 3, tests/test_teaching.py and tests/test_grading_cheats.py run it end to end.
"""
from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This checkout's minis2s, installed or not: what is made here (holes, stored answers, the
# grader's package) must come from these files, not from another version on sys.path.
sys.path.insert(0, str(ROOT))
PACKAGE_FILES = ("setup.cfg", "pyproject.toml", "README.md")
STORED_NAME = "stored_answers.json"     # minis2s.exercises.stored.STORED: a student edition's


def build(out: Path, exercises=None, cases: int = 3, timeout: float = 60.0, secret=None) -> Path:
    """Write the zip; ``secret``: None for a fresh one (tests pass their own)."""
    from minis2s.exercises import list_exercises
    from minis2s.grading import new_secret

    names = list(exercises or list_exercises())
    unknown = sorted(set(names) - set(list_exercises()))
    if unknown:
        raise SystemExit(f"unknown exercise(s) {unknown}; the exercises are {list_exercises()}")
    if int(cases) < 1:
        raise SystemExit("--cases: give at least 1")
    from minis2s.app.cli.grade import MAX_TIMEOUT         # the rule `minis2s grade --timeout` keeps
    if not 0.0 < float(timeout) <= MAX_TIMEOUT:           # (a zip with --timeout 0 graded nobody)
        raise SystemExit(f"--timeout: seconds per exercise, a number in (0, {MAX_TIMEOUT:g}]; "
                         f"got {timeout}")
    env = (f'EXERCISES="--exercises {" ".join(names)}"\n'
           f'CASES="{int(cases)}"\nTIMEOUT="{float(timeout):g}"\n')
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)    # build/ before the edition made it: fine
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("setup.sh", "run_autograder"):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16          # executable, as Gradescope requires
            z.writestr(info, (ROOT / "instructor" / "gradescope" / name).read_text())
        z.writestr("grading.env", env)
        info = zipfile.ZipInfo("grading.secret")
        info.external_attr = 0o600 << 16              # readable by the grader (root) only
        z.writestr(info, (secret or new_secret()) + "\n")
        for name in PACKAGE_FILES:
            z.write(ROOT / name, f"minis2s-src/{name}")
        for path in sorted((ROOT / "minis2s").rglob("*")):
            # the full package: its cases compute every oracle (a student edition's stored
            # answers, should a copy lie in the tree, have no place here)
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc" \
                    and path.name != STORED_NAME:
                z.write(path, f"minis2s-src/{path.relative_to(ROOT)}")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="the zip to write, e.g. autograder.zip")
    p.add_argument("--exercises", nargs="+", metavar="NAME", help="the exercises graded (default: all)")
    p.add_argument("--cases", type=int, default=3,
                   help="secret cases per exercise (default 3); the secret goes into the zip only")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per exercise")
    a = p.parse_args(argv)
    build(a.out, a.exercises, a.cases, a.timeout)
    print(f"autograder written to {a.out}: upload it to Gradescope (see docs/teaching.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
