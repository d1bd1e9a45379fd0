"""Named corpora: ``"tatoeba-kor-eng"``, ``"book-date"``, ... -> a file on disk.

Three small corpora ship inside the package (``minis2s/data/corpora/``, with
their licences and attribution beside them), so they work from a fresh clone
with no network::

    tatoeba-kor-eng   3,723 English-Korean sentence pairs (Tatoeba, CC-BY 2.0 FR)
    book-addition     the book's addition.txt, 50,000 fixed-width sums (MIT)
    book-date         the book's date.txt, 50,000 dates in many formats (MIT)

Other Tatoeba language pairs (``tatoeba-fra-eng``, ...) are downloaded by
``minis2s data fetch fra-eng`` (:mod:`minis2s.app.fetch`) into the cache folder,
``$MINIS2S_CACHE`` or ``~/.cache/minis2s``, and are then found here by name too.

:func:`resolve` is what every loader calls (:mod:`.loaders`): a path to an
existing file is that file; otherwise a name is looked up; anything else is an
error that lists the names and suggests the nearest one. Nothing here touches
the network.
"""
from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

__all__ = ["Corpus", "SHIPPED", "CorpusNotFound", "resolve", "names", "cache_dir",
           "fetched_corpora", "tatoeba_name", "SHIPPED_DIR"]

SHIPPED_DIR = Path(__file__).resolve().parent / "corpora"


@dataclass(frozen=True)
class Corpus:
    """A named corpus: its file, what it holds, and where it comes from."""
    name: str
    file: str              # the file's name in SHIPPED_DIR
    lines: int
    about: str             # one line for `minis2s data`
    source: str            # where it comes from, and its licence
    sha256: str            # of the file as shipped (the tests check it)

    @property
    def path(self) -> Path:
        return SHIPPED_DIR / self.file


SHIPPED = {c.name: c for c in (
    Corpus("tatoeba-kor-eng", "tatoeba-kor-eng.tsv", 3723,
           "English<TAB>Korean sentence pairs: word tokens, BLEU",
           "Tatoeba (tatoeba.org), CC-BY 2.0 FR, attribution on every line (LICENSE-tatoeba.txt)",
           "5c5943f3cfb2c35ef21b19d1c0eaf1a79c47b21c149de8c0223da17e8380a6bc"),
    Corpus("book-addition", "book-addition.txt", 50000,
           "the book's fixed-width sums, '16+75  _91  ': characters",
           "Deep Learning from Scratch 2 (Koki Saitoh), dataset/addition.txt; MIT (LICENSE-book.txt)",
           "34e0746f5014c11311c9452ee9050bf14e38eca44ec4aaf4d81eba2b38674009"),
    Corpus("book-date", "book-date.txt", 50000,
           "the book's dates in many formats -> ISO 8601: characters",
           "Deep Learning from Scratch 2 (Koki Saitoh), dataset/date.txt; MIT (LICENSE-book.txt)",
           "62e66a301ce8537868e725512d2a45663fc366526b7e42028cb703bda2b1c79a"),
)}

# A fetched Tatoeba pair: "tatoeba-<code>-eng", the code being a 3-letter ISO 639-3 language code.
_TATOEBA = re.compile(r"^tatoeba-([a-z]{3})-eng$")


def tatoeba_name(code: str) -> str:
    """The corpus name of a Tatoeba pair: ``"fra"`` -> ``"tatoeba-fra-eng"``."""
    return f"tatoeba-{code}-eng"


def cache_dir() -> Path:
    """Where fetched corpora live: ``$MINIS2S_CACHE``, else ``$XDG_CACHE_HOME/minis2s``, else
    ``~/.cache/minis2s``."""
    if os.environ.get("MINIS2S_CACHE"):
        return Path(os.environ["MINIS2S_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "minis2s"


def fetched_corpora() -> dict[str, Path]:
    """The corpora fetched into the cache folder so far: name -> file."""
    folder = cache_dir() / "corpora"
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("tatoeba-*-eng.tsv")) if _TATOEBA.match(p.stem)}


def names() -> list[str]:
    """Every name :func:`resolve` knows now: the shipped corpora, then the fetched ones."""
    return [*SHIPPED, *(n for n in fetched_corpora() if n not in SHIPPED)]


class CorpusNotFound(InputError, FileNotFoundError):
    """``--data`` names neither an existing file nor a known corpus (an InputError, and
    also a FileNotFoundError, as a missing data file always was)."""


def resolve(name_or_path) -> Path:
    """The file for a path or a corpus name.

    An existing file wins (``--data PATH`` reads any file); then a shipped
    corpus; then one fetched into :func:`cache_dir`. Anything else raises
    :class:`CorpusNotFound` with the names and the nearest one.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    text = os.fspath(name_or_path)
    if text in SHIPPED:
        return SHIPPED[text].path
    fetched = fetched_corpora()
    if text in fetched:
        return fetched[text]
    match = _TATOEBA.match(text)
    if match:
        raise CorpusNotFound(f"data file not found: {text!r} is a Tatoeba pair that has not been "
                             f"fetched yet: run `minis2s data fetch {match.group(1)}-eng` (it "
                             f"downloads into {cache_dir()})")
    known = names()
    nearest = difflib.get_close_matches(text, known, n=1, cutoff=0.5)
    hint = f"; did you mean {nearest[0]!r}?" if nearest else "."
    raise CorpusNotFound(f"data file not found: {text!r} is neither a file nor a corpus name{hint} "
                         f"The corpus names: {', '.join(known)} (`minis2s data` lists them, and "
                         "the Tatoeba pairs that `minis2s data fetch` downloads)")
