"""Host-side data: tasks, files, vocabularies and batches (pure Python + NumPy).

Nothing in this package touches the GPU; the trainer moves each batch with
:func:`minis2s.to_device`. One file per step of the pipeline:

* :mod:`.tasks`    -- generated problems (``addition``, ``dates``, ``copy``, ``reverse``, a toy translation);
* :mod:`.loaders`  -- reading ``source<TAB>target`` files and the book's fixed-width files;
* :mod:`.tokenize` -- text -> tokens (``"char"`` or ``"word"``) and back;
* :mod:`.vocab`    -- tokens <-> ids, with ``<pad>=0 <sos>=1 <eos>=2 <unk>=3`` fixed;
* :mod:`.dataset`  -- splitting, encoding, padding and (bucketed) batching.
"""
from . import dataset, loaders, tasks, tokenize, vocab
from .dataset import BatchIterator, book_split, encode_pairs, filter_by_length, pad_batch, split
from .loaders import detect_format, load_book_qa, load_pairs, load_tsv
from .tasks import (DATE_FORMATS, TASK_TOKENIZER, TASKS, addition, copy, dates, make_task,
                    reverse, toy_translation, write_tsv)
from .tokenize import char_tokenize, detokenize, get_tokenizer, word_tokenize
from .vocab import (EOS, EOS_TOKEN, PAD, PAD_TOKEN, SOS, SOS_TOKEN, SPECIAL_TOKENS, UNK,
                    UNK_TOKEN, Vocab)

__all__ = [
    # vocabulary
    "Vocab", "PAD", "SOS", "EOS", "UNK",
    "PAD_TOKEN", "SOS_TOKEN", "EOS_TOKEN", "UNK_TOKEN", "SPECIAL_TOKENS",
    # tokenizers
    "char_tokenize", "word_tokenize", "detokenize", "get_tokenizer",
    # tasks
    "TASKS", "TASK_TOKENIZER", "DATE_FORMATS", "make_task",
    "addition", "dates", "copy", "reverse", "toy_translation", "write_tsv",
    # files
    "load_tsv", "load_book_qa", "detect_format", "load_pairs",
    # datasets and batches
    "split", "book_split", "filter_by_length", "encode_pairs", "pad_batch", "BatchIterator",
]
