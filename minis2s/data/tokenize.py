"""Tokenizers: text -> list of tokens, and back.

Two kinds, picked by name with :func:`get_tokenizer`:

* ``"char"`` -- every character is a token. Right for the generated tasks
  (``"16+75"`` -> ``['1', '6', '+', '7', '5']``) and for spelling-level data.
* ``"word"`` -- runs of letters/digits are words and every other visible
  character is a token of its own::

      word_tokenize("Hi, Tom!")           # ['Hi', ',', 'Tom', '!']
      word_tokenize("나는 학생입니다.")   # ['나는', '학생입니다', '.']

  "Letters" means Unicode letters (``\\w``), so Hangul, kana, Cyrillic, accented
  Latin ... all work; combining marks (the vowel signs of Devanagari, a
  decomposed accent) stay inside their word. Nothing is lower-cased here:
  whether case matters is the caller's choice (``text.lower()`` first).

:func:`detokenize` turns tokens back into text. For ``"char"`` it is exact;
for ``"word"`` it is a readable approximation: tokens are joined by spaces,
except that no space goes before closing punctuation (``. , ! ? ; : ) ] } %``)
nor after an opening bracket, so
``['Hi', ',', 'Tom', '!']`` -> ``"Hi, Tom!"``.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Callable, Iterable
from ..errors import InputError

__all__ = ["char_tokenize", "word_tokenize", "detokenize", "get_tokenizer", "TOKENIZERS"]

# A word is a run of \w (Unicode letters, digits, underscore); anything else
# that is not whitespace is a one-character token.
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
# When detokenizing: tokens that attach to the word before them, and after them.
_NO_SPACE_BEFORE = set(".,!?;:)]}%")
_NO_SPACE_AFTER = set("([{")


def char_tokenize(text: str) -> list[str]:
    """Every character is a token (spaces included: they carry meaning in ``"9/27/94"``-style data)."""
    return list(text)


def _is_mark(ch: str) -> bool:
    # Unicode categories Mn, Mc, Me: combining marks, which \w does not match.
    return unicodedata.category(ch).startswith("M")


def word_tokenize(text: str) -> list[str]:
    """Words (runs of Unicode letters/digits) and single punctuation marks, split at whitespace."""
    tokens: list[str] = []
    end = -1  # where the previous token ended, to know what touches what
    for m in _TOKEN_RE.finditer(text):
        tok = m.group()
        # \w does not match combining marks, so "हिन्दी" or a decomposed "é"
        # would fall apart letter by letter. Glue a mark, and a word right after
        # a mark, onto the token it touches.
        touching = tokens and m.start() == end
        is_word = tok[0] == "_" or tok[0].isalnum()  # what \w matched
        if touching and (_is_mark(tok[0]) or (is_word and _is_mark(tokens[-1][-1]))):
            tokens[-1] += tok
        else:
            tokens.append(tok)
        end = m.end()
    return tokens


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "char": char_tokenize,
    "word": word_tokenize,
}


def get_tokenizer(kind: str) -> Callable[[str], list[str]]:
    """The tokenizer function for ``kind`` (``"char"`` or ``"word"``)."""
    try:
        return TOKENIZERS[kind]
    except (KeyError, TypeError):
        raise InputError(f"unknown tokenizer {kind!r}: expected one of {sorted(TOKENIZERS)}") from None


def detokenize(tokens: Iterable[str], kind: str) -> str:
    """Tokens -> text: ``"char"`` joins with nothing; ``"word"`` with spaces, none before ``. , ! ? ; :``.

    An apostrophe between two words is glued to both (``I ' m`` -> ``I'm``, ``don ' t``
    -> ``don't``). Word detokenization is still not exact (spacing around quotes, say);
    it is for showing output to people, not for scoring.
    """
    get_tokenizer(kind)  # the same error for a bad kind everywhere
    tokens = list(tokens)
    if kind == "char":
        return "".join(tokens)
    # word ' word is a contraction or possessive: no spaces around that apostrophe
    glue = {i for i in range(1, len(tokens) - 1)
            if tokens[i] == "'" and tokens[i - 1].isalnum() and tokens[i + 1].isalnum()}
    out = ""
    for i, tok in enumerate(tokens):
        if i > 0 and tok not in _NO_SPACE_BEFORE and tokens[i - 1] not in _NO_SPACE_AFTER \
                and i not in glue and i - 1 not in glue:
            out += " "
        out += tok
    return out
