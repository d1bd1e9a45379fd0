"""Built-in tasks: small seq2seq problems generated on the spot, nothing downloaded.

Each task is a function ``task(n, seed=0, ...) -> list[(source, target)]`` of
strings. The same ``seed`` always gives the same pairs (a NumPy ``Generator``
does the drawing), so an experiment can be rerun exactly::

    name        source example                   target example   tokenizer
    addition    "16+75"                          "91"             char
    dates       "Tuesday, September 27, 1994"    "1994-09-27"     char
    copy        "cbjja"                          "cbjja"          char
    reverse     "cbjja"                          "ajjbc"          char

``addition`` and ``dates`` are the two problems of the book *Deep Learning from
Scratch 2*, generated afresh; ``copy`` and ``reverse`` are the classic sanity
checks (a working seq2seq model learns them in minutes; reverse is easier,
because the first output depends on the last input the encoder saw).

:func:`toy_translation` makes a tiny word-level "English -> pseudo-language"
corpus, with the verb moved to the end and grammatical suffixes, for trying the
translation path (:func:`write_tsv` it, then load it like any TSV corpus).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

import numpy as np
from ..errors import InputError

__all__ = [
    "addition", "dates", "copy", "reverse", "toy_translation", "write_tsv",
    "make_task", "TASKS", "TASK_TOKENIZER", "DATE_FORMATS",
]

Pairs = list[tuple[str, str]]


def _check_n(n: int) -> int:
    if int(n) != n or n < 0:
        raise InputError(f"n (the number of pairs) must be a non-negative integer, got {n!r}")
    return int(n)


# ---------------------------------------------------------------------------- addition
def addition(n: int, seed: int = 0, max_digits: int = 3) -> Pairs:
    """``n`` sums ``"a+b" -> "a+b evaluated"`` with operands of 1..``max_digits`` digits.

    Each operand first draws its number of digits uniformly, then a number
    with that many digits, so short and long operands are equally common
    (drawing 0..999 uniformly would make 90 % of them three digits long).
    """
    n = _check_n(n)
    if max_digits < 1:
        raise InputError(f"max_digits must be >= 1, got {max_digits}")
    rng = np.random.default_rng(seed)

    def operand() -> int:
        d = int(rng.integers(1, max_digits + 1))
        low = 0 if d == 1 else 10 ** (d - 1)
        return int(rng.integers(low, 10 ** d))

    pairs = []
    for _ in range(n):
        a, b = operand(), operand()
        pairs.append((f"{a}+{b}", str(a + b)))
    return pairs


# ---------------------------------------------------------------------------- dates
# Our own English names: strftime's %B/%A follow the machine's locale.
_MONTHS = ["January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December"]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _month(d: dt.date) -> str:
    return _MONTHS[d.month - 1]


def _weekday(d: dt.date) -> str:
    return _WEEKDAYS[d.weekday()]


# Surface formats, shown for 1994-09-27. Two-digit years are ambiguous across
# 1900-2099, so those formats are only used for 1969-2068 and follow the POSIX
# rule (69..99 -> 19xx, 00..68 -> 20xx) that a model can learn -- and that
# Python's strptime("%y") applies, so tests can check them independently.
DATE_FORMATS: dict[str, Callable[[dt.date], str]] = {
    "september 27, 1994":           lambda d: f"{_month(d).lower()} {d.day}, {d.year}",
    "September 27, 1994":           lambda d: f"{_month(d)} {d.day}, {d.year}",
    "Sep 27, 1994":                 lambda d: f"{_month(d)[:3]} {d.day}, {d.year}",
    "SEP 27 1994":                  lambda d: f"{_month(d)[:3].upper()} {d.day} {d.year}",
    "27 Sep 1994":                  lambda d: f"{d.day} {_month(d)[:3]} {d.year}",
    "27 September 1994":            lambda d: f"{d.day} {_month(d)} {d.year}",
    "Tuesday, September 27, 1994":  lambda d: f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}",
    "TUESDAY, SEPTEMBER 27, 1994":  lambda d: f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}".upper(),
    "tue 27 sep 1994":              lambda d: f"{_weekday(d)[:3]} {d.day} {_month(d)[:3]} {d.year}".lower(),
    "9/27/1994":                    lambda d: f"{d.month}/{d.day}/{d.year}",
    "9/27/94":                      lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}",
    "09/27/94":                     lambda d: f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}",
    "1994.09.27":                   lambda d: f"{d.year}.{d.month:02d}.{d.day:02d}",
    "27.09.1994":                   lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "19940927":                     lambda d: f"{d.year}{d.month:02d}{d.day:02d}",
}
_TWO_DIGIT_YEAR = {"9/27/94", "09/27/94"}
_FIRST_DAY, _LAST_DAY = dt.date(1900, 1, 1), dt.date(2099, 12, 31)


def dates(n: int, seed: int = 0) -> Pairs:
    """``n`` dates between 1900-01-01 and 2099-12-31, each in a random surface format -> ISO ``YYYY-MM-DD``.

    Days are drawn uniformly from the calendar (``datetime`` does the
    calendar, so leap years and weekdays are right); the format is drawn
    uniformly from :data:`DATE_FORMATS`, leaving out two-digit years outside
    1969-2068 where they would be ambiguous.
    """
    n = _check_n(n)
    rng = np.random.default_rng(seed)
    names = list(DATE_FORMATS)
    four_digit = [f for f in names if f not in _TWO_DIGIT_YEAR]
    first, last = _FIRST_DAY.toordinal(), _LAST_DAY.toordinal()
    pairs = []
    for _ in range(n):
        d = dt.date.fromordinal(int(rng.integers(first, last + 1)))
        choices = names if 1969 <= d.year <= 2068 else four_digit
        fmt = choices[int(rng.integers(len(choices)))]
        pairs.append((DATE_FORMATS[fmt](d), d.isoformat()))
    return pairs


# ---------------------------------------------------------------------------- copy / reverse
def _random_strings(n: int, seed: int, min_len: int, max_len: int, alphabet: str) -> list[str]:
    n = _check_n(n)
    if not 1 <= min_len <= max_len:
        raise InputError(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    if not alphabet:
        raise InputError("alphabet must not be empty")
    rng = np.random.default_rng(seed)
    letters = np.array(list(alphabet))
    out = []
    for _ in range(n):
        length = int(rng.integers(min_len, max_len + 1))
        out.append("".join(letters[rng.integers(len(letters), size=length)]))
    return out


def copy(n: int, seed: int = 0, min_len: int = 3, max_len: int = 10,
         alphabet: str = "abcdefghij") -> Pairs:
    """``n`` random strings over ``alphabet``, each paired with itself."""
    return [(s, s) for s in _random_strings(n, seed, min_len, max_len, alphabet)]


def reverse(n: int, seed: int = 0, min_len: int = 3, max_len: int = 10,
            alphabet: str = "abcdefghij") -> Pairs:
    """``n`` random strings over ``alphabet``, each paired with its reversal."""
    return [(s, s[::-1]) for s in _random_strings(n, seed, min_len, max_len, alphabet)]


# ---------------------------------------------------------------------------- registry
TASKS: dict[str, Callable[..., Pairs]] = {
    "addition": addition,
    "dates": dates,
    "copy": copy,
    "reverse": reverse,
}
# Which tokenizer (see minis2s.data.tokenize) each task is meant to be read with.
TASK_TOKENIZER: dict[str, str] = {name: "char" for name in TASKS}


def make_task(name: str, n: int, seed: int = 0) -> Pairs:
    """``n`` pairs of the built-in task ``name`` (one of :data:`TASKS`), drawn with ``seed``."""
    if name not in TASKS:
        raise InputError(f"unknown task {name!r}: expected one of {sorted(TASKS)}")
    return TASKS[name](n, seed=seed)


# ---------------------------------------------------------------------------- toy translation
# A made-up language with three rules that a seq2seq model has to learn:
#   1. word order is subject-object-VERB (English is subject-verb-object);
#   2. no articles; a particle follows each noun phrase: "ga" after the subject, "o" after the object;
#   3. suffixes: plural nouns end in "-ra", past-tense verbs in "-ta" (present "-u").
#   "the big cat saw a small bird ." -> "oki miko ga chisa piri o mirta ."
_NOUNS = {  # english singular: (english plural, pseudo stem)
    "cat": ("cats", "miko"), "dog": ("dogs", "doru"), "bird": ("birds", "piri"),
    "fish": ("fish", "sakan"), "teacher": ("teachers", "sensa"), "child": ("children", "kodo"),
    "farmer": ("farmers", "nomin"), "king": ("kings", "oosa"), "apple": ("apples", "ringo"),
    "book": ("books", "hono"), "ball": ("balls", "tamu"), "house": ("houses", "ieno"),
}
_ANIMATE = ["cat", "dog", "bird", "teacher", "child", "farmer", "king"]
_VERBS = {  # english base: (3rd person singular, past, pseudo stem)
    "see": ("sees", "saw", "mir"), "like": ("likes", "liked", "suk"),
    "want": ("wants", "wanted", "hos"), "find": ("finds", "found", "mitsk"),
    "carry": ("carries", "carried", "hakob"), "draw": ("draws", "drew", "kak"),
    "follow": ("follows", "followed", "tsuit"),
}
_ADJECTIVES = {"big": "oki", "small": "chisa", "red": "aka", "old": "furu", "happy": "ureshi"}


def toy_translation(n: int, seed: int = 0) -> Pairs:
    """``n`` word-level sentence pairs, English -> a rule-based pseudo-language (space-separated tokens).

    ``"the teachers want the red ball ."`` -> ``"sensara ga aka tamu o hosu ."``.
    Meant for the TSV / word-tokenizer path: ``write_tsv(toy_translation(5000), "toy.tsv")``.
    """
    n = _check_n(n)
    rng = np.random.default_rng(seed)

    def pick(options):
        return options[int(rng.integers(len(options)))]

    def noun_phrase(nouns):
        noun, plural = pick(nouns), bool(rng.integers(2))
        adjective = pick(list(_ADJECTIVES)) if rng.random() < 0.4 else None
        english_plural, stem = _NOUNS[noun]
        english = ([adjective] if adjective else []) + [english_plural if plural else noun]
        article = pick(["the", ""]) if plural else pick(["the", "a"])
        if article == "a" and english[0][0] in "aeiou":
            article = "an"
        english = ([article] if article else []) + english
        pseudo = [_ADJECTIVES[adjective]] if adjective else []
        pseudo.append(stem + ("ra" if plural else ""))
        return english, pseudo, plural

    pairs = []
    for _ in range(n):
        subj_en, subj_ps, subj_plural = noun_phrase(_ANIMATE)
        obj_en, obj_ps, _ = noun_phrase(list(_NOUNS))
        verb = pick(list(_VERBS))
        third_singular, past, stem = _VERBS[verb]
        if rng.random() < 0.5:
            verb_en, verb_ps = past, stem + "ta"
        else:
            verb_en, verb_ps = (verb if subj_plural else third_singular), stem + "u"
        english = subj_en + [verb_en] + obj_en + ["."]
        pseudo = subj_ps + ["ga"] + obj_ps + ["o", verb_ps, "."]
        pairs.append((" ".join(english), " ".join(pseudo)))
    return pairs


def write_tsv(pairs, path) -> Path:
    """Write ``(source, target)`` pairs as UTF-8 ``source<TAB>target`` lines; returns the path.

    Fields containing a tab or a newline cannot be written in this format and
    raise ``ValueError`` instead of producing a file that loads differently.
    """
    path = Path(path)
    lines = []
    for i, (src, tgt) in enumerate(pairs):
        for side, text in (("source", src), ("target", tgt)):
            if any(c in text for c in "\t\n\r"):
                raise InputError(f"pair {i}: the {side} {text!r} contains a tab or newline, "
                                 "which the TSV format cannot hold")
        lines.append(f"{src}\t{tgt}\n")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(lines)
    return path
