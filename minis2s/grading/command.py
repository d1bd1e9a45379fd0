"""``minis2s grade``: the command-line face of :mod:`minis2s.grading`."""
from __future__ import annotations

import argparse

from . import DEFAULT_SEEDS, DEFAULT_TIMEOUT, grade


def add_grade_parser(sub) -> None:
    """Add the ``grade`` subcommand to the CLI's subparsers."""
    g = sub.add_parser(
        "grade", help="grade a submission file on the exercises (autograder)",
        description="Grade SUBMISSION.py: every exercise on several seeds, the submission run "
                    "in a separate process where minis2s cannot be imported, with a timeout. "
                    "Prints a plain report; --results writes Gradescope's results.json. "
                    "Exit status 0 when the file was graded (whatever the score).")
    g.add_argument("submission", metavar="SUBMISSION.py", help="a file defining the exercises' functions")
    g.add_argument("--exercises", nargs="+", metavar="NAME", help="grade only these (default: all)")
    g.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS),
                   help=f"random cases per exercise (default {' '.join(map(str, DEFAULT_SEEDS))})")
    g.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"time each exercise may take, all seeds together (default {DEFAULT_TIMEOUT:g})")
    g.add_argument("--results", metavar="FILE", help="write Gradescope's results.json here")
    g.add_argument("--report", metavar="FILE", help="write the plain report here too")
    g.set_defaults(func=cmd_grade)


def cmd_grade(args: argparse.Namespace, command: str) -> int:
    report = grade(args.submission, exercises=args.exercises, seeds=args.seeds, timeout=args.timeout)
    print(report.text())
    if args.results:
        report.write_gradescope(args.results)
    if args.report:
        report.write_text(args.report)
    return 0
