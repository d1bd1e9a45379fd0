"""Reading parallel data from files: a list of ``(source, target)`` string pairs.

Two formats are understood.

**TSV** (``load_tsv``) -- one pair per line, the layout of most small
translation corpora (Tatoeba / manythings.org exports)::

    Go.<TAB>가.<TAB>CC-BY 2.0 (France) Attribution: tatoeba.org #2877272 ...

Column 1 is the source, column 2 the target, anything after a second tab
(such as an attribution) is ignored. The file is UTF-8 (a byte-order mark is
allowed); blank lines are skipped; spaces around each side are stripped.
Lines may end in ``\n`` (Unix), ``\r\n`` (Windows) or a lone ``\r`` (old Mac
editors, some spreadsheet exports): all three are read as line ends.

**Book** (``load_book_qa``) -- the fixed-width question/answer files of the
book *Deep Learning from Scratch 2* (``addition.txt``, ``date.txt``)::

    16+75  _91
    september 27, 1994           _1994-09-27

The question is padded with spaces to a fixed width, then ``_`` marks the
start of the answer, which is padded too (``"16+75  _91  "``: 7 + 1 + 5 characters). The line is split at the first
``_`` (questions in these files never contain one) and the padding is
stripped from the right of both sides: ``("16+75", "91")``. The ``_`` is the
book's start-of-answer symbol; minis2s adds its own ``<sos>`` later, so it is
not kept.

Every function here also takes a corpus name instead of a path
(``load_pairs("book-date")``, ``load_pairs("tatoeba-kor-eng")``): see
:mod:`.corpora` for the names and where the files are.

``load_pairs`` picks the format itself (:func:`detect_format`). Every error
names the file, and, for a bad line, its 1-based line number, so the line can
be found and fixed.
"""
from __future__ import annotations

import re
from ..errors import InputError
from .corpora import resolve

__all__ = ["load_tsv", "load_book_qa", "detect_format", "load_pairs", "FORMATS"]

Pairs = list[tuple[str, str]]


def _read_lines(path) -> list[str]:
    """The file's lines (without line endings), decoded as UTF-8, with clear errors.

    ``path`` may also be a corpus name (:func:`.corpora.resolve`). ``\r\n``, ``\r``
    and ``\n`` all end a line (a file saved with lone ``\r`` would otherwise be read
    as one long line: one pair, or a confusing error).
    """
    path = resolve(path)        # a missing file or unknown name: CorpusNotFound, with the names
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")  # -sig: drop a byte-order mark if an editor added one
    except UnicodeDecodeError as e:
        line = len(_LINE_END.split(data[:e.start].decode("utf-8", "replace")))
        raise InputError(f"{path}: line {line}: the file is not valid UTF-8 ({e.reason} at "
                         f"byte {e.start}); re-save it as UTF-8") from None
    # Split on the three line ends only: str.splitlines() would also split at
    # characters such as U+2028 or form feed that can legitimately sit inside a sentence.
    return _LINE_END.split(text)


_LINE_END = re.compile(r"\r\n|\r|\n")   # "\r\n" first: one line end, not two


def _preview(line: str, width: int = 60) -> str:
    return repr(line if len(line) <= width else line[:width] + "...")


def load_tsv(path) -> Pairs:
    """Pairs from a ``source<TAB>target[<TAB>anything]`` UTF-8 file (see the module docstring)."""
    pairs = []
    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise InputError(f"{path}: line {lineno}: expected 'source<TAB>target', "
                             f"found no tab in {_preview(line)}")
        src, tgt = fields[0].strip(), fields[1].strip()
        if not src or not tgt:
            side = "source" if not src else "target"
            raise InputError(f"{path}: line {lineno}: the {side} is empty in {_preview(line)}")
        pairs.append((src, tgt))
    if not pairs:
        raise InputError(f"{path}: the file holds no pairs")
    return pairs


def load_book_qa(path) -> Pairs:
    """Pairs from a fixed-width ``question_answer`` file of the book (see the module docstring)."""
    pairs = []
    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        cut = line.find("_")
        if cut < 0:
            raise InputError(f"{path}: line {lineno}: expected 'question_answer' with '_' "
                             f"before the answer, found no '_' in {_preview(line)}")
        question, answer = line[:cut].rstrip(), line[cut + 1:].rstrip()
        if not question or not answer:
            side = "question" if not question else "answer"
            raise InputError(f"{path}: line {lineno}: the {side} is empty in {_preview(line)}")
        pairs.append((question, answer))
    if not pairs:
        raise InputError(f"{path}: the file holds no pairs")
    return pairs


FORMATS = {"tsv": load_tsv, "book": load_book_qa}


def detect_format(path) -> str:
    """``"tsv"`` if the first non-blank line has a tab, ``"book"`` if it has a ``_``; ``ValueError`` otherwise."""
    for line in _read_lines(path):
        if not line.strip():
            continue
        if "\t" in line:
            return "tsv"
        if "_" in line:
            return "book"
        raise InputError(
            f"{path}: cannot tell the format from its first line {_preview(line)}: expected "
            "'source<TAB>target' (TSV) or 'question_answer' (the book's fixed-width format)")
    raise InputError(f"{path}: the file is empty")


def load_pairs(path, format: str | None = None) -> Pairs:
    """Pairs from a TSV or book-format file; ``format`` (``"tsv"``/``"book"``) or detected from the file."""
    if format is None:
        format = detect_format(path)
    if format not in FORMATS:
        raise InputError(f"unknown data format {format!r}: expected one of {sorted(FORMATS)}")
    return FORMATS[format](path)
