"""From string pairs to padded integer batches.

The path from a file to what the model eats::

    pairs = load_pairs("addition.txt")                 # [("16+75", "91"), ...]
    train, val, test = split(pairs, val_size=5000)     # a seeded shuffle
    src_vocab = Vocab.build(char_tokenize(s) for s, _ in train)
    tgt_vocab = Vocab.build(char_tokenize(t) for _, t in train)
    src_ids, tgt_ids = encode_pairs(train, src_vocab, tgt_vocab, "char", "char")
    for src, tgt in BatchIterator(src_ids, tgt_ids, batch_size=128):
        ...                                            # src (N, S), tgt (N, T), int64

Conventions every other part of minis2s relies on:

* a **source** is its token ids only: ``"16+75"`` -> ``[5, 8, 11, 9, 7]``;
* a **target** is framed: ``[<sos>] + ids + [<eos>]``, so the decoder reads
  ``tgt[:, :-1]`` and is trained to predict ``tgt[:, 1:]``;
* batches are **right-padded** with ``<pad>`` = 0 to the longest sequence in
  the batch, so ``src != 0`` is the mask of real tokens.

Everything here is host-side NumPy; the trainer moves each batch to the
device with :func:`minis2s.to_device`.

Batching and padding: sequences in one batch are padded to the longest, so a
batch that mixes a 3-token and a 40-token sentence is mostly padding -- wasted
computation. :class:`BatchIterator` therefore *buckets*: it sorts examples by
length within large chunks, cuts batches from the sorted runs (similar lengths
together), then shuffles the order of the batches, keeping the randomness SGD
needs. :meth:`BatchIterator.padding_fraction` measures the effect.
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, Iterator, Sequence

import numpy as np

from .tokenize import get_tokenizer
from .vocab import PAD, Vocab
from ..errors import InputError

__all__ = [
    "split", "book_split", "filter_by_length", "encode_pairs", "pad_batch", "BatchIterator",
]

Pairs = list[tuple[str, str]]
Tokenizer = Callable[[str], list[str]]


def _as_tokenizer(tok: str | Tokenizer) -> Tokenizer:
    """Accept a tokenizer by name (``"char"``, ``"word"``) or as a function."""
    return get_tokenizer(tok) if isinstance(tok, str) else tok


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        hint = (" (sizes are counts, not fractions: use e.g. int(0.1 * len(pairs)))"
                if isinstance(value, float) else "")
        raise InputError(f"{name} must be an integer count, got {value!r}{hint}")
    if value < 0:
        raise InputError(f"{name} must be >= 0, got {value}")
    return int(value)


# ---------------------------------------------------------------------------- splitting
def split(pairs: Sequence, val_size: int, test_size: int = 0,
          seed: int = 0) -> tuple[list, list, list]:
    """Shuffle with ``seed`` and cut off ``val_size`` then ``test_size`` examples; the rest is train.

    Returns ``(train, val, test)`` as lists, disjoint and together exactly
    ``pairs``. The same ``seed`` always gives the same split. Sizes are counts;
    at least one training example must remain.
    """
    val_size = _check_count("val_size", val_size)
    test_size = _check_count("test_size", test_size)
    n = len(pairs)
    if val_size + test_size >= n:
        raise InputError(f"val_size + test_size = {val_size + test_size} leaves no training data "
                         f"out of {n} examples")
    order = np.random.default_rng(seed).permutation(n)
    val = [pairs[i] for i in order[:val_size]]
    test = [pairs[i] for i in order[val_size:val_size + test_size]]
    train = [pairs[i] for i in order[val_size + test_size:]]
    return train, val, test


def book_split(pairs: Sequence, seed: int = 1984) -> tuple[list, list]:
    """The book's own split: shuffle as ``np.random.seed(seed); np.random.shuffle``, last 10 % for validation.

    Returns ``(train, val)``. Use it to compare with the book's published
    numbers on the very same examples (45,000 / 5,000 on ``addition.txt``).
    """
    indices = np.arange(len(pairs))
    # The legacy global generator is a RandomState; a private one with the same
    # seed draws the same shuffle without touching global state.
    np.random.RandomState(seed).shuffle(indices)
    cut = len(pairs) - len(pairs) // 10
    return [pairs[i] for i in indices[:cut]], [pairs[i] for i in indices[cut:]]


def filter_by_length(pairs: Sequence, max_src_len: int | None = None,
                     max_tgt_len: int | None = None, src_tokenizer: str | Tokenizer = "char",
                     tgt_tokenizer: str | Tokenizer = "char") -> Pairs:
    """Keep the pairs whose source has at most ``max_src_len`` tokens and target at most ``max_tgt_len``.

    Lengths are counted in tokens of the given tokenizers, without <sos>/<eos>.
    ``None`` means no limit on that side.
    """
    src_tok, tgt_tok = _as_tokenizer(src_tokenizer), _as_tokenizer(tgt_tokenizer)
    return [(s, t) for s, t in pairs
            if (max_src_len is None or len(src_tok(s)) <= max_src_len)
            and (max_tgt_len is None or len(tgt_tok(t)) <= max_tgt_len)]


# ---------------------------------------------------------------------------- encoding
def encode_pairs(pairs: Sequence, src_vocab: Vocab, tgt_vocab: Vocab,
                 src_tokenizer: str | Tokenizer = "char", tgt_tokenizer: str | Tokenizer = "char"
                 ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """String pairs -> ``(src_ids, tgt_ids)``, two lists of 1-D int64 arrays.

    ``src_ids[i]`` is the source's token ids (no specials), in reading order:
    reversing the source is the model's job (``Seq2Seq(reverse=True)``), done in
    exactly one place. ``tgt_ids[i]`` is ``[<sos>] + ids + [<eos>]``. Unknown
    tokens become <unk>.
    """
    src_tok, tgt_tok = _as_tokenizer(src_tokenizer), _as_tokenizer(tgt_tokenizer)
    src_ids, tgt_ids = [], []
    for i, (s, t) in enumerate(pairs):
        src = src_vocab.encode(src_tok(s))
        if not src:
            raise InputError(f"pair {i}: the source {s!r} has no tokens")
        src_ids.append(np.array(src, dtype=np.int64))
        tgt_ids.append(np.array(tgt_vocab.encode(tgt_tok(t), add_sos=True, add_eos=True),
                                dtype=np.int64))
    return src_ids, tgt_ids


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int = PAD) -> np.ndarray:
    """Right-pad 1-D id sequences into one ``(N, max_len)`` int64 array filled with ``pad_id``."""
    if len(seqs) == 0:
        raise InputError("pad_batch needs at least one sequence")
    max_len = max(len(s) for s in seqs)
    out = np.full((len(seqs), max_len), pad_id, dtype=np.int64)
    for row, s in zip(out, seqs):
        row[:len(s)] = s
    return out


# ---------------------------------------------------------------------------- batching
class BatchIterator:
    """Padded mini-batches ``(src, tgt)`` of encoded pairs, in a seeded, reproducible order.

    Iterating yields ``src`` of shape (N, S) and ``tgt`` of shape (N, T), int64
    host arrays right-padded with 0, where N = ``batch_size`` except possibly
    for one last, smaller batch (no example is dropped). Every example appears
    exactly once per epoch.

    The order depends only on ``(seed, epoch)``: epoch ``k`` gives the same
    batches whether it is reached by training from the start or by resuming
    from a checkpoint -- call :meth:`set_epoch` with the saved epoch (and use
    ``epoch_batches(k, start=b)`` to skip the ``b`` batches already done). Each
    plain ``for`` loop over the iterator uses the current epoch, then advances it.

    ``shuffle``: draw a new order every epoch (turn off for evaluation).
    ``bucket``: group similar source lengths into the same batch (see the
    module docstring); ``chunk_batches`` sets the sorting window, in batches.
    """

    def __init__(self, src_ids: Sequence[np.ndarray], tgt_ids: Sequence[np.ndarray],
                 batch_size: int, shuffle: bool = True, seed: int = 0, bucket: bool = True,
                 chunk_batches: int = 50):
        if len(src_ids) != len(tgt_ids):
            raise InputError(f"{len(src_ids)} sources but {len(tgt_ids)} targets")
        if len(src_ids) == 0:
            raise InputError("BatchIterator needs at least one example")
        if _check_count("batch_size", batch_size) < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        if _check_count("chunk_batches", chunk_batches) < 1:
            raise InputError(f"chunk_batches must be >= 1, got {chunk_batches}")
        self.src_ids, self.tgt_ids = list(src_ids), list(tgt_ids)
        self.batch_size = int(batch_size)
        self.shuffle, self.bucket, self.seed = shuffle, bucket, seed
        self.chunk_batches = int(chunk_batches)
        self.epoch = 0
        self.src_lens = np.array([len(s) for s in self.src_ids], dtype=np.int64)
        self.tgt_lens = np.array([len(t) for t in self.tgt_ids], dtype=np.int64)

    def __len__(self) -> int:
        """Number of batches per epoch (the last one may be partial)."""
        return math.ceil(len(self.src_ids) / self.batch_size)

    @property
    def num_examples(self) -> int:
        """Sentence pairs per epoch."""
        return len(self.src_ids)

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``for`` loop produce epoch ``epoch``'s order (for resuming)."""
        self.epoch = int(epoch)

    def batch_indices(self, epoch: int) -> list[np.ndarray]:
        """The example indices of each batch of ``epoch``, in the order they will be served."""
        n, b = len(self.src_ids), self.batch_size
        # One generator per (seed, epoch): epoch k does not depend on how many
        # random numbers epochs 0..k-1 consumed.
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        if not self.bucket:
            return [order[i:i + b] for i in range(0, n, b)]
        batches = []
        chunk = b * self.chunk_batches  # a multiple of b: only the very last batch can be partial
        for start in range(0, n, chunk):
            idx = order[start:start + chunk]
            # Sort by source length, ties by target length; stable, so equal
            # lengths keep their shuffled order.
            idx = idx[np.lexsort((self.tgt_lens[idx], self.src_lens[idx]))]
            batches += [idx[i:i + b] for i in range(0, len(idx), b)]
        if self.shuffle:
            # Sorted batches in a row would feed the model all short, then all
            # long sequences; shuffling the batch order restores the randomness.
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def make_batch(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The padded ``(src, tgt)`` arrays for the given example indices."""
        return (pad_batch([self.src_ids[i] for i in indices]),
                pad_batch([self.tgt_ids[i] for i in indices]))

    def epoch_batches(self, epoch: int, start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield the batches of ``epoch``, skipping the first ``start`` (resuming mid-epoch)."""
        for indices in self.batch_indices(epoch)[start:]:
            yield self.make_batch(indices)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        epoch = self.epoch
        self.epoch += 1
        return self.epoch_batches(epoch)

    def padding_fraction(self, epoch: int | None = None) -> float:
        """The share of the epoch's batch cells (source and target together) that are padding.

        Computed from lengths, without building the arrays. ``epoch`` defaults
        to the one the next ``for`` loop will produce.
        """
        epoch = self.epoch if epoch is None else epoch
        padded = real = 0
        for idx in self.batch_indices(epoch):
            for lens in (self.src_lens[idx], self.tgt_lens[idx]):
                padded += len(idx) * int(lens.max())
                real += int(lens.sum())
        return 1.0 - real / padded
