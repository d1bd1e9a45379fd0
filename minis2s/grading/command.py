"""``minis2s grade``: the command-line face of :mod:`minis2s.grading`."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from . import DEFAULT_CASES, DEFAULT_SEEDS, DEFAULT_TIMEOUT, grade, load_secret

MAX_CASES = 100


def add_grade_parser(sub) -> None:
    """Add the ``grade`` subcommand to the CLI's subparsers."""
    g = sub.add_parser(
        "grade", help="grade a submission file on the exercises (autograder)",
        description="Grade SUBMISSION.py (or a notebook, SUBMISSION.ipynb: its function "
                    "definitions, my_<name> graded as <name>, and its NumPy and standard-library "
                    "imports): every exercise on several cases, the submission run "
                    "in a separate, contained process where minis2s cannot be reached, with a "
                    "timeout. A case counts only when all its outputs are right. Prints a plain "
                    "report; --results writes Gradescope's results.json. Exit status 0 when the "
                    "file was graded (whatever the score).")
    g.add_argument("submission", metavar="SUBMISSION.py",
                   help="a file defining the exercises' functions (.py or .ipynb)")
    g.add_argument("--exercises", nargs="+", metavar="NAME", help="grade only these (default: all)")
    g.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS),
                   help=f"public cases per exercise, as check() builds them "
                        f"(default {' '.join(map(str, DEFAULT_SEEDS))}); ignored with --secret-file")
    g.add_argument("--secret-file", metavar="FILE",
                   help="the instructor's secret (make_autograder.py writes one): grade on secret "
                        "cases that no report names")
    g.add_argument("--cases", type=int, default=DEFAULT_CASES, metavar="N",
                   help=f"secret cases per exercise, with --secret-file (default {DEFAULT_CASES})")
    g.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"time each exercise may take, all cases together (default {DEFAULT_TIMEOUT:g})")
    g.add_argument("--sandbox-user", metavar="USER",
                   help="run the submission as this unprivileged user (the grader must be root)")
    g.add_argument("--unreadable", nargs="+", default=[], metavar="PATH",
                   help="more paths the submission may not read (e.g. the autograder's folder)")
    g.add_argument("--results", metavar="FILE", help="write Gradescope's results.json here")
    g.add_argument("--report", metavar="FILE", help="write the plain report here too")
    g.set_defaults(func=cmd_grade)


def cmd_grade(args: argparse.Namespace, command: str) -> int:
    if not 1 <= args.cases <= MAX_CASES:
        raise InputError(f"--cases must be an integer in [1, {MAX_CASES}], got {args.cases}")
    for option, path in (("--results", args.results), ("--report", args.report)):
        if path and Path(path).resolve() == Path(args.submission).resolve():
            raise InputError(f"{option} {path}: that is the submission itself, which it would "
                             "overwrite; write the report to another file")
    if args.results and args.report and Path(args.results).resolve() == Path(args.report).resolve():
        raise InputError(f"--results and --report are the same file ({args.report}); give two")
    secret = load_secret(args.secret_file) if args.secret_file else None
    unreadable = list(args.unreadable) + ([args.secret_file] if args.secret_file else [])
    report = grade(args.submission, exercises=args.exercises, seeds=args.seeds,
                   timeout=args.timeout, secret=secret, cases=args.cases,
                   sandbox_user=args.sandbox_user, unreadable=unreadable)
    print(report.text())
    if args.results:
        report.write_gradescope(args.results)
    if args.report:
        report.write_text(args.report)
    return 0
