"""How much memory a command will ask for, estimated before it starts -- and a refusal in one
line when that is more than the machine has.

A word corpus with one 10,000-token line made ``eval`` ask for 112 GiB (the logits of a batch
are batch x longest target x vocabulary numbers); a checkpoint claiming 10^7 training pairs
made ``translate`` regenerate them all. Each command now estimates its largest allocations
from the sizes it already knows and refuses, naming the sizes and the option that would
help, before allocating anything. The estimates are upper bounds of the dominant terms, not
exact counts: they only have to tell "fits easily" from "cannot fit".
"""
from __future__ import annotations

import os

from ..errors import InputError

__all__ = ["available_memory", "check_fits", "training_bytes", "evaluation_bytes", "pairs_bytes",
           "show_bytes"]

BYTES_PER_PAIR = 400        # a generated or read pair of short strings, as Python objects


def available_memory() -> int | None:
    """Bytes the system can give this process now (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def show_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"      # (not reached)


def check_fits(what: str, nbytes: int, fix: str) -> None:
    """Raise InputError if ``nbytes`` is more than the memory available now."""
    available = available_memory()
    if available is not None and nbytes > available:
        raise InputError(f"{what} would need about {show_bytes(nbytes)} of memory, more than the "
                         f"{show_bytes(available)} available: {fix}")


def training_bytes(batch: int, src_len: int, tgt_len: int, tgt_vocab: int, hidden: int,
                   layers: int, attention: bool, itemsize: int) -> int:
    """One training step's largest arrays: the logits, their softmax and gradient
    (3 x batch x T x V), the LSTM caches of both sides (about 12 numbers per unit, layer and
    step) and, with attention, the scores, weights and their gradient (3 x batch x T x S)."""
    per_sentence = 3 * tgt_len * tgt_vocab + 12 * (src_len + tgt_len) * hidden * layers
    if attention:
        per_sentence += 3 * tgt_len * src_len
    return itemsize * batch * per_sentence


def evaluation_bytes(batch: int, src_len: int, tgt_len: int, max_len: int, tgt_vocab: int,
                     hidden: int, layers: int, attention: bool, beam: int, itemsize: int) -> int:
    """Evaluating one batch: the teacher-forced pass (logits and log-softmax, 2 x batch x T x V,
    and the forward caches) and the decoding (beam x batch rows of V scores per step, the
    encoder's states, with attention one row of weights per step and hypothesis)."""
    forced = 2 * tgt_len * tgt_vocab + 12 * (src_len + tgt_len) * hidden * layers
    decode = beam * (3 * tgt_vocab + 2 * src_len * hidden + max_len)
    if attention:
        forced += 2 * tgt_len * src_len
        decode += beam * max_len * src_len
    return itemsize * batch * (forced + decode)


def pairs_bytes(n_pairs: int) -> int:
    """Holding ``n_pairs`` string pairs (a generated task, a read file) in memory."""
    return BYTES_PER_PAIR * n_pairs
