"""Is an input like the training sources? Reasons to distrust a model's answer.

A trained model answers every input, confidently, including inputs unlike anything
it was trained on -- and those answers are guesses. ``minis2s translate`` warns
about them with :class:`SourceProfile`, which records, from the training sources:

* the longest source, in tokens;
* for character data, every **form** of source (digits shown as ``9``, letters as
  ``a``: ``"9/27/1994"`` -> ``"9/99/9999"``) and, for each form, the characters
  seen at each position. A character is only called unseen where at least
  :data:`MIN_SEEN` training sources have that form: a digit drawn uniformly is
  then missing from a position by chance once in 37,000 (0.9 ** 100), where a
  small training set would raise false alarms.

The last check catches what the form alone misses. In the ``dates`` task every
slash date is month first, so ``"12/27/1994"`` has the form ``99/99/9999`` and a
first character of ``1``; ``"27/09/1994"``, a day-first date, has the same form
but a ``2`` where no training source of that form has one. The model never saw a
month 27, and its answer is a guess (it may well swap day and month, or invent a
month). Word data gets the length check only: its unknown words are reported
separately (:meth:`minis2s.data.Vocab.unknown`).
"""
from __future__ import annotations

from .tokenize import get_tokenizer

__all__ = ["shape", "SourceProfile", "MIN_SEEN"]

MIN_SEEN = 100      # training sources of a form needed before its per-position characters count


def shape(text: str) -> str:
    """A character string's form: digits as 9, letters as a (``"1000+1"`` -> ``"9999+9"``)."""
    return "".join("9" if c.isdigit() else "a" if c.isalpha() else c for c in text)


def _chars(seen: set) -> str:
    return ", ".join(repr(c) for c in sorted(seen)[:10]) + (", ..." if len(seen) > 10 else "")


class SourceProfile:
    """What the training sources look like: ``SourceProfile(sources, "char").reasons(text)``."""

    def __init__(self, sources, tokenizer: str = "char"):
        self.tokenizer = tokenizer
        self.tokenize = get_tokenizer(tokenizer)
        sources = list(sources)
        self.examples = sources[:3]
        self.longest = max((len(self.tokenize(s)) for s in sources), default=0)
        self.unit = "characters" if tokenizer == "char" else "words"
        # form -> one set per position: the characters training sources of that form have there
        self.by_shape: dict[str, list[set]] | None = None
        self.count: dict[str, int] = {}            # form -> how many training sources have it
        if tokenizer == "char":
            self.by_shape = {}
            for s in sources:
                form = shape(s)
                self.count[form] = self.count.get(form, 0) + 1
                columns = self.by_shape.setdefault(form, [set() for _ in s])
                for seen, c in zip(columns, s):
                    seen.add(c)

    def reasons(self, text: str, at_most: int = 2) -> list[str]:
        """Why ``text`` is outside the training sources (an empty list: no reason found)."""
        n = len(self.tokenize(text))
        if n == 0:
            return []
        if n > self.longest:
            return [f"it is {n} {self.unit} long, the longest training source {self.longest}"]
        if self.by_shape is None:
            return []
        form = shape(text)
        columns = self.by_shape.get(form)
        if columns is None:
            examples = ", ".join(repr(s) for s in self.examples)
            return [f"no training source has its form {form!r} (digits shown as 9, letters as a; "
                    f"training sources look like {examples})"]
        if self.count[form] < MIN_SEEN:
            return []                       # too few to tell a rare character from an unseen one
        unseen = [(i, c, seen) for i, (c, seen) in enumerate(zip(text, columns)) if c not in seen]
        return [f"none of the {self.count[form]:,} training sources of its form {form!r} has "
                f"{c!r} as character {i + 1} (they have {_chars(seen)} there)"
                for i, c, seen in unseen[:at_most]]
