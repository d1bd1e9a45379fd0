"""A vocabulary: the two-way map between tokens (strings) and ids (ints).

Every minis2s vocabulary starts with the same four special tokens, always at
the same ids::

    id  token   used for
    0   <pad>   filling short sequences up to the batch's length
    1   <sos>   start of sequence: the decoder's first input
    2   <eos>   end of sequence: the decoder's last target, and where generation stops
    3   <unk>   any token the vocabulary does not know

The ids are fixed so that code which never sees a vocabulary -- the loss
ignoring padding, attention masks, the greedy decoder's stopping test -- can
still name them: ``from minis2s.data import PAD, EOS``. Ordinary tokens follow
from id 4 on, most frequent first.

A vocabulary is saved as a plain JSON-able dict (:meth:`Vocab.to_dict`) so it
can travel inside a checkpoint; :meth:`Vocab.from_dict` checks the dict before
trusting it, because a vocabulary that is off by one id silently turns a good
model into gibberish.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence
from ..errors import InputError

__all__ = [
    "PAD", "SOS", "EOS", "UNK",
    "PAD_TOKEN", "SOS_TOKEN", "EOS_TOKEN", "UNK_TOKEN", "SPECIAL_TOKENS",
    "Vocab",
]

# The special tokens as strings, in id order ...
PAD_TOKEN, SOS_TOKEN, EOS_TOKEN, UNK_TOKEN = "<pad>", "<sos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD_TOKEN, SOS_TOKEN, EOS_TOKEN, UNK_TOKEN)
# ... and their ids, the same in every vocabulary.
PAD, SOS, EOS, UNK = 0, 1, 2, 3

_FORMAT = "minis2s.vocab"
_VERSION = 1


class Vocab:
    """Tokens <-> ids, with ``<pad> <sos> <eos> <unk>`` fixed at ids 0..3.

    Build one from data with :meth:`Vocab.build`, or give the ordinary tokens
    directly (they get ids 4, 5, ... in the order given)::

        v = Vocab.build([["h", "i"], ["h", "o"]])
        v.encode(["h", "i"], add_eos=True)   # [4, 5, 2]
        v.decode([4, 5, 2, 0, 0])           # ['h', 'i']
    """

    def __init__(self, tokens: Iterable[str] = ()):
        tokens = list(tokens)
        for t in tokens:
            if not isinstance(t, str):
                raise TypeError(f"vocabulary tokens must be str, got {type(t).__name__}: {t!r}")
            if t in SPECIAL_TOKENS:
                raise InputError(f"{t!r} is a special token; it is added automatically at id "
                                 f"{SPECIAL_TOKENS.index(t)}")
        if len(set(tokens)) != len(tokens):
            dupes = sorted(t for t, c in Counter(tokens).items() if c > 1)
            raise InputError(f"duplicate vocabulary tokens: {dupes[:10]}")
        self._itos: list[str] = list(SPECIAL_TOKENS) + tokens
        self._stoi: dict[str, int] = {t: i for i, t in enumerate(self._itos)}

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1,
              max_size: int | None = None) -> "Vocab":
        """Count tokens over ``token_lists`` (an iterable of token sequences) and keep the common ones.

        Order is by frequency, most frequent first, ties broken by the token
        itself, so the same data always gives the same ids (a checkpoint's
        vocabulary can be rebuilt and compared). Tokens seen fewer than
        ``min_freq`` times are left out and will encode as ``<unk>``.
        ``max_size`` caps the *total* size, the four specials included, so
        ``len(vocab) <= max_size`` -- the number the embedding table is sized by.
        Special-token strings that happen to occur in the data are not counted.
        """
        if min_freq < 1:
            raise InputError(f"min_freq must be >= 1, got {min_freq}")
        if max_size is not None and max_size < len(SPECIAL_TOKENS):
            raise InputError(f"max_size must be at least {len(SPECIAL_TOKENS)} "
                             f"(the special tokens), got {max_size}")
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        for special in SPECIAL_TOKENS:
            counts.pop(special, None)
        kept = sorted((t for t, c in counts.items() if c >= min_freq),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max_size - len(SPECIAL_TOKENS)]
        return cls(kept)

    # ------------------------------------------------------------------ specials
    @property
    def pad_id(self) -> int:
        """The id of <pad> (always the same: see the module docstring)."""
        return PAD

    @property
    def sos_id(self) -> int:
        """The id of <sos> (always the same: see the module docstring)."""
        return SOS

    @property
    def eos_id(self) -> int:
        """The id of <eos> (always the same: see the module docstring)."""
        return EOS

    @property
    def unk_id(self) -> int:
        """The id of <unk> (always the same: see the module docstring)."""
        return UNK

    # ------------------------------------------------------------------ lookups
    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __iter__(self):
        return iter(self._itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self._itos == other._itos

    def __repr__(self) -> str:
        preview = self._itos[len(SPECIAL_TOKENS):len(SPECIAL_TOKENS) + 8]
        more = ", ..." if len(self) > len(SPECIAL_TOKENS) + 8 else ""
        return f"Vocab(size={len(self)}, tokens={preview}{more})"

    @property
    def tokens(self) -> list[str]:
        """All tokens in id order, specials first (a copy)."""
        return list(self._itos)

    def token(self, id: int) -> str:
        """The token with this id; ``IndexError`` if there is none."""
        i = int(id)
        if not 0 <= i < len(self._itos):
            raise IndexError(f"token id {i} out of range for a vocabulary of size {len(self)}")
        return self._itos[i]

    def id(self, token: str) -> int:
        """The id of ``token``; unknown tokens get ``unk_id``, exactly as in :meth:`encode`."""
        return self._stoi.get(token, UNK)

    # ------------------------------------------------------------------ sequences
    def encode(self, tokens: Iterable[str], add_sos: bool = False,
               add_eos: bool = False) -> list[int]:
        """Token sequence -> list of ids (unknown tokens -> ``unk_id``), optionally framed by <sos>/<eos>."""
        ids = [self._stoi.get(t, UNK) for t in tokens]
        if add_sos:
            ids.insert(0, SOS)
        if add_eos:
            ids.append(EOS)
        return ids

    def unknown(self, tokens: Iterable[str]) -> list[str]:
        """The distinct tokens of ``tokens`` this vocabulary does not know, in order of first appearance.

        For warnings such as "3 input characters are unknown to the model: ['é', ...]".
        """
        seen: dict[str, None] = {}
        for t in tokens:
            if t not in self._stoi:
                seen.setdefault(t, None)
        return list(seen)

    def decode(self, ids: Iterable[int], strip_special: bool = True) -> list[str]:
        """Ids (a list or a 1-D array) -> tokens.

        With ``strip_special`` (the default) this reads a model's output the way
        a person would: it stops at the first ``<eos>`` and drops ``<pad>`` and
        ``<sos>``; ``<unk>`` is kept so that unknown tokens stay visible. With
        ``strip_special=False`` every id is turned into its token, specials included.
        """
        out = []
        for i in ids:
            i = int(i)
            if strip_special:
                if i == EOS:
                    break
                if i in (PAD, SOS):
                    continue
            out.append(self.token(i))
        return out

    # ------------------------------------------------------------------ saving
    def to_dict(self) -> dict:
        """A JSON-serialisable description, e.g. for a checkpoint."""
        return {"format": _FORMAT, "version": _VERSION, "tokens": list(self._itos)}

    @classmethod
    def from_dict(cls, d: dict) -> "Vocab":
        """Rebuild a vocabulary saved by :meth:`to_dict`; ``ValueError`` saying what is wrong otherwise."""
        if not isinstance(d, dict):
            raise InputError(f"vocabulary dict expected, got {type(d).__name__}")
        if d.get("format", _FORMAT) != _FORMAT:
            raise InputError(f"not a minis2s vocabulary: format is {d.get('format')!r}, "
                             f"expected {_FORMAT!r}")
        if d.get("version", _VERSION) != _VERSION:
            raise InputError(f"unsupported vocabulary version {d.get('version')!r} "
                             f"(this minis2s reads version {_VERSION})")
        tokens = d.get("tokens")
        if not isinstance(tokens, list):
            raise InputError("vocabulary dict has no 'tokens' list "
                             f"(keys present: {sorted(d)})")
        bad = [t for t in tokens if not isinstance(t, str)]
        if bad:
            raise InputError(f"vocabulary tokens must all be strings; found {bad[:5]!r}")
        head = tuple(tokens[:len(SPECIAL_TOKENS)])
        if head != SPECIAL_TOKENS:
            raise InputError(f"vocabulary must start with the special tokens {list(SPECIAL_TOKENS)} "
                             f"at ids 0..3, found {list(head)}")
        try:
            return cls(tokens[len(SPECIAL_TOKENS):])
        except (TypeError, ValueError) as e:
            raise InputError(f"malformed vocabulary dict: {e}") from e
