"""``minis2s grade``: the autograder's command (its options and work live in :mod:`minis2s.grading`)."""
from __future__ import annotations

from ...grading.command import add_grade_parser


def add_parser(sub) -> None:
    add_grade_parser(sub)
