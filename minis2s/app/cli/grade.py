"""``minis2s grade``: the autograder's command. Its options and work live in
:mod:`minis2s.grading` (``grading/command.py``); here the command line checks the values
first, by the same rules as every other option, so a bad one is one line, not a traceback
or a silent zero (``--timeout 0`` graded the reference solutions 0 / 56)."""
from __future__ import annotations

from ...errors import InputError
from ...exercises import list_exercises
from ...grading import command as grading_command
from ...validate import MAX_SEED
from ..config import Rule, ConfigError

MAX_TIMEOUT = 24 * 3600.0       # seconds per exercise: a day is already far more than any needs
_SEED = Rule("int", 0, MAX_SEED)
_TIMEOUT = Rule("float", 0.0, MAX_TIMEOUT, low_open=True)


def add_parser(sub) -> None:
    grading_command.add_grade_parser(sub)
    sub.choices["grade"].set_defaults(func=run)


def check_options(args) -> None:
    """--exercises must name exercises, --seeds be seeds, --timeout a time: InputError if not."""
    if args.exercises is not None:
        known = list_exercises()
        unknown = [name for name in args.exercises if name not in known]
        if unknown:
            raise InputError(f"--exercises: no exercise named {', '.join(map(repr, unknown))}; "
                             f"the exercises are {', '.join(known)}")
    try:
        for seed in args.seeds:
            _SEED.check("--seeds", seed)
        _TIMEOUT.check("--timeout (seconds per exercise)", args.timeout)
    except ConfigError as e:
        raise InputError(str(e)) from None


def run(args, command: str) -> int:
    check_options(args)
    return grading_command.cmd_grade(args, command)
