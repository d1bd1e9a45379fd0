"""Option typos answered with the nearest option: ``--epcohs 3`` -> "did you mean --epochs?".

argparse reports an unknown option of a subcommand from the top-level parser, with
the top-level usage and no hint. :func:`unknown_option_message` finds, for each
unrecognised word that looks like an option, the closest option of the
subcommand that was given (``difflib``), so the error can say what was meant.
"""
from __future__ import annotations

import argparse
import difflib

__all__ = ["nearest", "unknown_option_message", "subcommand_parser"]


def nearest(word: str, candidates) -> str | None:
    """The candidate closest to ``word`` (None when nothing is close)."""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def subcommand_parser(parser: argparse.ArgumentParser, args) -> argparse.ArgumentParser:
    """The parser of the subcommand chosen in ``args`` (the parser itself when there is none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = getattr(args, action.dest, None)
            if chosen in action.choices:
                return subcommand_parser(action.choices[chosen], args)
    return parser


def unknown_option_message(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """The error for the arguments ``parser`` did not recognise, with a suggestion for each option."""
    options = [s for a in parser._actions for s in a.option_strings if s.startswith("--")]
    words, after_option = [], False
    for word in extras:
        if word.startswith("-") and len(word) > 1 and not _is_number(word):
            name = word.split("=", 1)[0]
            guess = nearest(name, options)
            words.append(f"{name} (did you mean {guess}?)" if guess else name)
            after_option = "=" not in word
        elif after_option:          # the value of the unknown option before it: say nothing of it
            after_option = False
        else:
            words.append(repr(word))
    noun = "argument" if len(words) == 1 else "arguments"
    return f"unrecognized {noun}: {', '.join(words)}"


def _is_number(word: str) -> bool:
    try:
        float(word)
        return True
    except ValueError:
        return False
