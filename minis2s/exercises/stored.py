r"""Stored answers: the oracle of a check whose forward pass is a hole in a student edition.

Most oracles are computed when a case is built: a numerical gradient of the engine's
forward pass, a value of :mod:`minis2s.metrics` or :mod:`minis2s.optim`. A few exercises are
checked against the engine's *own* function for the same thing (the forward passes
``lstm_step_forward`` and ``masked_softmax_forward``, against
:func:`minis2s.functional.lstm_step_forward` and :func:`minis2s.functional.masked_softmax_forward`;
the searches, against :mod:`minis2s.models.search`; clipping, Adam and BLEU against torch and
sacrebleu, or the engine's own where those are not installed, :mod:`~minis2s.exercises.references`).
In the instructor's package those
functions are the reference -- their own correctness is held by the gradient checks and the
PyTorch parity tests in tests/ -- so comparing with them is not circular in any way that
matters. In a student edition (instructor/make_student_edition.py) they are the very holes
the student fills in: there the oracle cannot come from them. So the edition is built with
the full package's answers for the public seeds, in ``stored_answers.json`` next to this
file, keyed by a fingerprint of each case's inputs, and a check reads them *before* it
would compute anything (once the student has filled the hole, the package's function is
the student's own, and would agree with itself). For the same reason a seed whose answer is
not stored is refused (:class:`NoStoredAnswer`) rather than computed: the file names the
exercises it stands in for, and for those only the stored seeds can be checked.

The grader's secret cases are built by the instructor's full package (the Gradescope zip
holds the package, never this file), so they need no storage.

Values round-trip exactly: JSON writes a float as its shortest repr, which reads back as
the same float64 (``-inf`` as ``-Infinity``).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..errors import ExerciseNotDone

__all__ = ["STORED", "STORED_EXERCISES", "NoStoredAnswer", "UNAVAILABLE", "key", "oracle", "answers", "write", "holes"]

#: where a student edition keeps the answers (the instructor's package has no such file)
STORED = Path(__file__).with_name("stored_answers.json")

#: the exercises whose oracle runs an engine function that is a hole in a student edition
STORED_EXERCISES = ("lstm_step_forward", "masked_softmax_forward", "greedy_search", "beam_search",
                    "clip_gradients", "adam_update", "corpus_bleu")


class NoStoredAnswer(LookupError):
    """A student edition's check for a case whose answer was not stored: computing it would run
    the package's own function -- the student's code -- and compare the student with themselves."""

    def __init__(self, name: str, seeds: list):
        self.name, self.seeds = name, seeds
        shown = f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else seeds
        super().__init__(
            f"{name}: this student edition stores the answers of seeds {shown} only -- any other "
            f"case would be judged by the package's own {name}, which is your code; check with "
            f"one of those seeds (seed=...)")


#: why a case cannot be built in a student edition: a hole its oracle runs, or a seed not stored
UNAVAILABLE = (ExerciseNotDone, NoStoredAnswer)


def _feed(h, value) -> None:
    """Hash ``value`` (arrays, numbers, strings, tuples, lists, dicts) with its structure."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        a = np.asarray(value)
        kind = "f" if a.dtype.kind == "f" else "i"               # bool and ints hash as int64
        a = np.ascontiguousarray(a, dtype=np.float64 if kind == "f" else np.int64)
        h.update(f"<{kind}{a.shape}>".encode() + a.tobytes())
    elif isinstance(value, (tuple, list)):
        h.update(f"[{len(value)}".encode())
        for v in value:
            _feed(h, v)
        h.update(b"]")
    elif isinstance(value, dict):
        h.update(f"{{{len(value)}".encode())
        for k in sorted(value):
            h.update(str(k).encode() + b":")
            _feed(h, value[k])
        h.update(b"}")
    else:                                                        # a number, a string, None
        h.update(f"<{type(value).__name__}:{value!r}>".encode())


def key(name: str, args) -> str:
    """A fingerprint of exercise ``name``'s case inputs ``args``: which stored answer is its own."""
    h = hashlib.sha256(name.encode())
    _feed(h, args)
    return h.hexdigest()


def _encode(value):
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        a = np.asarray(value, dtype=np.float64)
        return {"shape": list(a.shape), "data": a.reshape(-1).tolist()}
    return value                                                 # token-id lists: plain JSON


def _decode(value):
    if isinstance(value, dict):
        return np.array(value["data"], dtype=np.float64).reshape(value["shape"])
    return value


def _stored() -> dict:
    """The file's {"exercises": [names], "seeds": [public seeds], "answers": {key: answer}},
    or an empty one (the instructor's package has no file)."""
    try:
        return json.loads(STORED.read_text())
    except FileNotFoundError:
        return {"exercises": [], "seeds": [], "answers": {}}


def oracle(name: str, args, compute) -> dict:
    """The oracle of the case of ``name`` with inputs ``args``: the stored answer if the file
    stands in for ``name`` (a student edition where it is a hole), else ``compute()`` ({output
    name: value}). Raises :class:`NoStoredAnswer` for a case of such an exercise whose answer
    is not stored (a seed beyond the public ones)."""
    held = _stored()
    if name not in held["exercises"]:
        return compute()
    answer = held["answers"].get(key(name, args))
    if answer is None:
        raise NoStoredAnswer(name, held["seeds"])
    return {k: _decode(v) for k, v in answer.items()}


def answers(names=STORED_EXERCISES, seeds=range(10)) -> dict:
    """{case fingerprint: {output name: value}} for the public ``seeds`` of ``names``, computed
    by this (full) package: what make_student_edition.py writes into ``stored_answers.json``."""
    from . import EXERCISES
    out = {}
    for name in names:
        for seed in seeds:
            case = EXERCISES[name].make_case(np.random.default_rng(seed))
            out[key(name, case.args)] = {k: _encode(v) for k, v in case.oracle.items()}
    return out


def write(path, names=STORED_EXERCISES, seeds=range(10), holes=None) -> None:
    """Write :func:`answers` as JSON to ``path`` (a student edition's ``stored_answers.json``),
    with the exercises and seeds they stand in for, and ``holes``: every exercise the edition
    punched (what ``minis2s grade`` grades there by default)."""
    names, seeds = list(names), [int(s) for s in seeds]
    held = {"exercises": names, "seeds": seeds, "answers": answers(names, seeds),
            "holes": None if holes is None else list(holes)}
    Path(path).write_text(json.dumps(held))


def holes():
    """The exercises this student edition punched, in course order, or None (the instructor's
    package, or an edition that did not record them)."""
    return _stored().get("holes")
