"""The settings of a run, each written once: its type, its range, its default, its help.

Two dataclasses describe what a run is made of:

* :class:`TrainConfig` -- what ``minis2s train`` was asked for (``--hidden``, ``--lr``, ...).
  The command line builds its options from these fields; the checkpoint stores the
  values as plain JSON (``train_config``) and checks them by value when it is read;
  ``--resume`` takes them back from there.
* :class:`ModelConfig` -- the arguments of :class:`~minis2s.models.Seq2Seq` (its
  ``model.config``), stored in the checkpoint as ``model_config`` and checked the same
  way before any model is built from it.

Every field carries a :class:`Rule` (in its ``metadata``): ``Rule.check(name, value)``
accepts a plain value (a number, a string, a bool, None where allowed) or raises
:class:`ConfigError` naming the field and what it must be -- so ``reverse: "false"``
or ``hidden: 1e9`` in a checkpoint is refused with one line, exactly as ``--hidden
1e9`` is on the command line (where ``Rule.parse(text)`` turns the option's text into
the value, and argparse names the option in its message).

Defaults that depend on other settings are written here too, once: a generated task gets
:data:`TASK_DEFAULTS` (its epochs), a TSV corpus :data:`WORD_DEFAULTS`, ``--fast`` :data:`FAST`, and the learning rate and its decay
depend on the optimiser (:func:`resolve`).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from ..data.tasks import TASKS
from ..data.vocab import EOS, PAD, SOS
from ..errors import InputError
from ..init import INITS
from ..teacher_forcing import parse_schedule
from ..validate import MAX_DECODE_LEN, MAX_LAYERS, MAX_SEED, MAX_SIZE, MAX_WIDTH, describe_range

__all__ = ["ConfigError", "Rule", "TrainConfig", "ModelConfig", "WORD_DEFAULTS", "TASK_DEFAULTS",
           "FAST", "RESUMABLE", "TASK_TRAIN_SIZE", "VAL_SIZE", "MAX_PAIRS", "MAX_EPOCHS", "resolve",
           "complete", "check_train_config", "check_model_config", "option"]

MAX_PAIRS = 10_000_000       # --train-size / --val-size
MAX_EPOCHS = 1_000_000       # --epochs, and the counters a checkpoint carries
TASK_TRAIN_SIZE = 45000      # generated training pairs for a task (a data file: all of it)
VAL_SIZE = 2000              # validation pairs (a data file: at most 10 % of it)


class ConfigError(InputError):
    """A setting that is not of its type or outside its range; the message names it."""


@dataclass(frozen=True)
class Rule:
    """What values one setting may take.

    kind: "int", "float", "bool", "choice" (one of ``choices``) or "text";
    ``low``/``high`` (with ``low_open``/``high_open``) bound numbers; ``words`` are
    strings a number setting also accepts ("off"); ``optional``: None is allowed
    (resolved later from the other settings); ``spec``: a function that parses and
    checks a text value and returns it in its exact stored form (a schedule).
    """
    kind: str
    low: Any = None
    high: Any = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    words: tuple = ()
    optional: bool = False
    spec: Any = None

    def describe(self) -> str:
        """What the rule accepts, for messages: ``an integer in [1, 65536]``, ``one of [...]``."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return f"one of {list(self.choices)}"
        if self.kind == "text":
            return "a string"
        what = "an integer" if self.kind == "int" else "a number"
        rng = describe_range(self.low, self.high, self.low_open, self.high_open)
        return f"{what} {rng}" + "".join(f" or {w!r}" for w in self.words)

    def check(self, name: str, value):
        """The value if it obeys the rule (an int stored as 3.0 is not an int); else ConfigError."""
        if value is None and self.optional:
            return None
        if self.kind == "bool":
            ok = isinstance(value, bool)
        elif self.kind == "choice":
            ok = isinstance(value, str) and value in self.choices
        elif self.kind == "text":
            ok = isinstance(value, str)
            if ok and self.spec is not None:
                try:
                    value = self.spec(value)
                except ValueError as e:
                    raise ConfigError(f"{name} is {value!r}: {e}") from None
        elif isinstance(value, str):
            ok = value in self.words
        elif self.kind == "int":
            ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and \
                self._inside(value)
            value = int(value) if ok else value
        else:       # float: an int is a number too (JSON writes 5.0 as 5.0, a user may write 5)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and \
                math.isfinite(value) and self._inside(value)
            value = float(value) if ok else value
        if not ok:
            raise ConfigError(f"{name} must be {self.describe()}"
                              f"{' (or null)' if self.optional else ''}, got {value!r}")
        return value

    def _inside(self, x) -> bool:
        """Written as "accept what is inside", so nan (which compares false) is refused."""
        if self.low is not None and not (x > self.low if self.low_open else x >= self.low):
            return False
        return self.high is None or (x < self.high if self.high_open else x <= self.high)

    def parse(self, text: str):
        """The option's text as its value (for argparse's ``type=``); ValueError says why."""
        if self.kind in ("int", "float") and text.strip().lower() in self.words:
            return text.strip().lower()
        kinds = {"int": int, "float": float}
        if self.kind in kinds:
            try:
                value = kinds[self.kind](text)
            except ValueError:
                raise ValueError(f"must be {self.describe()}, got {text!r}") from None
        else:
            value = text
        try:
            return self.check("value", value)
        except ConfigError as e:
            message = str(e).replace("value is ", "", 1).replace("value must be", "must be", 1)
            raise ValueError(message.replace(" (or null)", "", 1)) from None   # (no null to type)


def setting(default, rule: Rule, help: str = "", **extra):
    """A dataclass field with its rule and help text (``extra``: metavar, group, ...)."""
    return field(default=default, metadata={"rule": rule, "help": help, **extra})


def _schedule_spec(text: str) -> str:
    """A teacher-forcing schedule in its exact stored form (see minis2s.teacher_forcing)."""
    try:
        return parse_schedule(text).spec
    except ValueError as e:
        raise ValueError(str(e).split(": ", 1)[-1]) from None


def _int(low, high, optional=False):
    return Rule("int", low, high, optional=optional)


def _float(low=None, high=None, *, low_open=False, high_open=False, words=(), optional=False):
    return Rule("float", low, high, low_open, high_open, words=words, optional=optional)


def _choice(*choices, optional=False):
    return Rule("choice", choices=tuple(choices), optional=optional)


BOOL = Rule("bool")


# ---------------------------------------------------------------------------- train
# A word-level corpus (a TSV file) gets its own defaults: a few thousand sentence pairs with
# vocabularies of thousands of rare words need bigger embeddings and state, dropout against
# overfitting, more epochs over the small set and a lower rate, halved from epoch 12. With the
# character-task defaults the Tatoeba run ended at BLEU 1.4, its validation loss rising from
# epoch 3; with these it reproduces docs/results.md's recipe (measured numbers there).
WORD_DEFAULTS = dict(emb=128, hidden=256, dropout=0.2, epochs=20, lr_decay_start=12.0, init="fan_in")
# The learning rate and its decay depend on the optimiser (and, for the rate, on the corpus):
# sgd: the paper's 0.7, halved every half epoch after epoch 5.
DEFAULT_LR = {"adam": 0.01, "sgd": 0.7}
WORD_LR = {"adam": 0.005, "sgd": 0.7}
DEFAULT_DECAY_EVERY = {"adam": 1.0, "sgd": 0.5}
# A generated task trains for as many epochs as its curve is worth watching: until the
# validation exact match has settled near 100 %, not epochs of flat lines after it. Measured
# with the other defaults (45,000 pairs, peeky, hidden 128, NumPy float32, seed 0), exact match
# after each epoch at Adam's constant 0.01: dates 59.0, 98.7, 97.4, 98.4, 98.5 % -- it learns
# in two epochs, then wobbles until the rate is lowered; with the rate halved at the end of
# epochs 3 and 4 (lr_decay_start 2) it reads 59.0, 98.7, 97.4, 100.0 % after 4 epochs.
# copy (82, 94, 97, 99, 97 %) and reverse (74, 91, 95, 98, 97 %) are still rising and wobbling
# at epoch 5, and keep the 8 epochs (halved from epoch 6) that the addition task uses.
TASK_DEFAULTS = {"dates": dict(epochs=4, lr_decay_start=2.0)}
# --fast: a tiny setting for tests and notebooks (seconds, not minutes; accuracy is not the point).
FAST = dict(train_size=1000, val_size=100, emb=8, hidden=32, batch_size=64, epochs=2)


def _per_optimizer(table) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in table.items())


@dataclass
class TrainConfig:
    """What ``minis2s train`` runs with. Defaults: the generated addition task, peeky, reversed.

    Measured on a 2-core CPU (NumPy, float32, one BLAS thread): 45,000 generated
    additions, 8 epochs of ~11 s each, under 2 minutes in all (2.5 with two other
    CPU-bound processes running), validation exact match 93-95 % after epoch 5 and
    99.5-100 % after epoch 8 (99.95 % in the run README.md shows), once the learning rate has been halved a few times
    (Adam at a constant 0.01 hovers around 93-96 %). README.md states the same numbers.
    """
    task: str | None = setting(
        "addition", _choice(*sorted(TASKS), optional=True),
        f"a generated task: {', '.join(sorted(TASKS))}", group="source")
    data: str | None = setting(
        None, Rule("text", optional=True),
        "a corpus by name (tatoeba-kor-eng, book-addition, book-date, or one fetched with "
        "`minis2s data fetch`; `minis2s data` lists them) or any data file: 'source<TAB>target' "
        "lines (word tokens, BLEU reported; the model learns column 1 -> column 2, with the "
        "defaults marked 'a TSV corpus' below) or the book's 'question_answer' format "
        "(characters)", group="source", metavar="NAME|PATH")
    model: str = setting("peeky", _choice("plain", "peeky", "attention"), "the decoder")
    score: str = setting("dot", _choice("dot", "general", "additive"),
                         "with --model attention: Luong's dot or general score, or Bahdanau's "
                         "additive one")
    bidirectional: bool = setting(False, BOOL, "Bahdanau's bidirectional encoder: two directions "
                                               "of hidden/2 units")
    attention_output: str = setting(
        "luong", _choice("luong", "concat"),
        "with --model attention: what the output layer reads: Luong's tanh([context ; h] Wc), "
        "or [context ; h] itself as in the book's chapter 8")
    input_feeding: bool = setting(False, BOOL, "with --model attention: each decoder step also "
                                               "reads the previous attentional state (Luong's "
                                               "input feeding; trains step by step)")
    cell: str = setting("lstm", _choice("lstm", "gru"),
                        "the recurrent layer of encoder and decoder: the paper's LSTM, or the GRU "
                        "(PyTorch's form; docs/derivations.md)")
    reverse: bool = setting(True, BOOL, "reverse the source sentence")
    swap: bool = setting(False, BOOL, "with --data: learn the other direction (column 2 -> "
                                      "column 1; the default run folder gets '-swap' in its name)")
    init: str = setting("uniform", _choice(*INITS),
                        "weights U(-0.08, 0.08) as in the paper; U(-1/sqrt(H), 1/sqrt(H)); or "
                        "fan_in: N(0, 1/fan-in) weights, zero biases, N(0, 1) embeddings")
    layers: int = setting(1, _int(1, MAX_LAYERS), "stacked LSTM layers")
    emb: int = setting(16, _int(1, MAX_WIDTH), "embedding size")
    hidden: int = setting(128, _int(1, MAX_WIDTH), "LSTM size")
    dropout: float = setting(0.0, _float(0.0, 1.0, high_open=True), "dropout probability")
    epochs: int = setting(8, _int(0, MAX_EPOCHS), "train until this many epochs in total")
    batch_size: int = setting(128, _int(1, MAX_SIZE), "sentences per batch")
    optimizer: str = setting("adam", _choice("adam", "sgd"), "the optimiser")
    lr: float | None = setting(None, _float(0.0, low_open=True, optional=True),
                               f"learning rate (default: {_per_optimizer(DEFAULT_LR)}; a TSV "
                               f"corpus: {_per_optimizer(WORD_LR)})")
    lr_decay_start: float | str = setting(
        5.0, _float(0.0, words=("off",)),
        "from this epoch on, halve the learning rate at the end of every --lr-decay-every "
        "epochs ('off': a constant rate)", metavar="EPOCH")
    lr_decay_every: float | None = setting(
        None, _float(0.0, low_open=True, optional=True),
        f"epochs between halvings (default: {_per_optimizer(DEFAULT_DECAY_EVERY)})",
        metavar="EPOCHS")
    clip: float = setting(5.0, _float(0.0, low_open=True), "gradient clipping by global norm")
    teacher_forcing: float = setting(1.0, _float(0.0, 1.0),
                                     "probability of feeding the true previous token",
                                     metavar="RATIO")
    teacher_forcing_schedule: str | None = setting(
        None, Rule("text", optional=True, spec=_schedule_spec),
        "scheduled sampling: decay the teacher-forcing ratio with the steps, "
        "linear|exponential|inverse-sigmoid[:name=value,...], e.g. 'linear:c=2e-4,min=0.5' "
        "(overrides --teacher-forcing; see minis2s/teacher_forcing.py)", metavar="SPEC")
    train_size: int | None = setting(
        None, _int(1, MAX_PAIRS, optional=True),
        f"training pairs: generated for a task (default {TASK_TRAIN_SIZE}), a cap for --data",
        metavar="N")
    val_size: int | None = setting(
        None, _int(0, MAX_PAIRS, optional=True),
        f"validation pairs (default {VAL_SIZE}; for --data at most 10 % of the file)", metavar="N")
    max_len: int | None = setting(
        None, _int(1, MAX_DECODE_LEN, optional=True),
        f"longest output decoded, in tokens (default: the longest training target + 1; at most "
        f"{MAX_DECODE_LEN})", metavar="N")
    backend: str = setting("numpy", _choice("numpy", "cupy", "strict"),
                           "numpy (CPU) or cupy (GPU)", choices=("numpy", "cupy"))
    dtype: str = setting("float32", _choice("float32", "float64"), "the weights' float type")
    seed: int = setting(0, _int(0, MAX_SEED), "seeds the data, the weights and the batch order")
    out: str | None = setting(None, Rule("text", optional=True),
                              "the run folder (default runs/<task>-<model>)", metavar="DIR")


# Settings that may change when a run is resumed; every other one must match the checkpoint.
RESUMABLE = frozenset({"epochs", "backend", "out", "max_len"})

TRAIN_FIELDS = {f.name: f for f in fields(TrainConfig)}


def option(name: str) -> str:
    """``batch_size`` -> ``--batch-size``: how the command line spells a setting."""
    return "--" + name.replace("_", "-")


def default_text(name: str) -> str:
    """``(default 128; a TSV corpus: 256)``, or "" where the help text says it already."""
    value = TRAIN_FIELDS[name].default
    if value is None:
        return ""
    def show(v):
        return ("on" if v else "off") if isinstance(v, bool) else f"{v:g}" if isinstance(v, float) else str(v)

    by_value = {}           # the tasks that share a default: "dates, copy, reverse: 3"
    for task, d in TASK_DEFAULTS.items():
        if name in d:
            by_value.setdefault(d[name], []).append(task)
    tasks = "".join(f"; {', '.join(t)}: {show(v)}" for v, t in by_value.items())
    word = f"; a TSV corpus: {show(WORD_DEFAULTS[name])}" if name in WORD_DEFAULTS else ""
    return f"(default {show(value)}{tasks}{word})"


def resolve(given: dict, *, word: bool, fast: bool) -> TrainConfig:
    """The settings of a new run: the defaults, a generated task's (TASK_DEFAULTS), a TSV
    corpus's (``word``), ``--fast``'s, then the options ``given``; the learning rate and its decay from the optimiser if not given."""
    values = {n: f.default for n, f in TRAIN_FIELDS.items()}
    if not given.get("data"):
        values.update(TASK_DEFAULTS.get(given.get("task", values["task"]), {}))
    if word:
        values.update(WORD_DEFAULTS)
    if fast:
        values.update(FAST)
    values.update(given)
    if "data" in given and "task" not in given:
        values["task"] = None
    return complete(TrainConfig(**check_train_config(values)), word=word)


def complete(config: TrainConfig, word: bool = False) -> TrainConfig:
    """Fill in what depends on the optimiser (a rate or decay left to its default), in place."""
    if config.lr is None:
        config.lr = (WORD_LR if word else DEFAULT_LR)[config.optimizer]
    if config.lr_decay_every is None:
        config.lr_decay_every = DEFAULT_DECAY_EVERY[config.optimizer]
    return config


def check_train_config(values: dict, where: str = "") -> dict:
    """Every key a TrainConfig field, every value by its rule; returns the checked values.

    A saved config may lack fields added since (their defaults apply); ``where`` prefixes
    the field's name in messages (``"train_config."``).
    """
    if not isinstance(values, dict):
        raise ConfigError(f"{where.rstrip('.') or 'the settings'} must be a dict of settings, "
                          f"got {type(values).__name__}")
    unknown = sorted(str(k) for k in values if k not in TRAIN_FIELDS)
    if unknown:
        raise ConfigError(f"{where}{unknown[0]} is not a setting minis2s knows (settings: "
                          f"{', '.join(TRAIN_FIELDS)})")
    out = {}
    for name, value in values.items():
        label = f"{where}{name} ({option(name)})"
        out[name] = TRAIN_FIELDS[name].metadata["rule"].check(label, value)
    return out


def train_config_dict(config: TrainConfig) -> dict:
    """The plain values stored in config.json and the checkpoint."""
    return asdict(config)


# ---------------------------------------------------------------------------- model
@dataclass
class ModelConfig:
    """Seq2Seq's arguments as stored in a checkpoint (``model.config``); sizes are required."""
    src_vocab: int = setting(MISSING, _int(1, MAX_SIZE), "source vocabulary size")
    tgt_vocab: int = setting(MISSING, _int(1, MAX_SIZE), "target vocabulary size")
    emb: int = setting(MISSING, _int(1, MAX_SIZE), "embedding size")
    hidden: int = setting(MISSING, _int(1, MAX_SIZE), "LSTM size")
    n_layers: int = setting(MISSING, _int(1, MAX_LAYERS), "stacked LSTM layers")
    dropout: float = setting(0.0, _float(0.0, 1.0, high_open=True))
    decoder: str = setting("peeky", _choice("plain", "peeky", "attention"))
    reverse: bool = setting(True, BOOL)
    init: str = setting("uniform", _choice(*INITS))
    teacher_forcing_ratio: float = setting(1.0, _float(0.0, 1.0))
    seed: int = setting(0, _int(0, (1 << 63) - 1))
    pad_id: int = setting(PAD, _int(PAD, PAD))      # fixed by minis2s.data.Vocab
    sos_id: int = setting(SOS, _int(SOS, SOS))
    eos_id: int = setting(EOS, _int(EOS, EOS))
    score: str = setting("dot", _choice("dot", "general", "additive"))
    bidirectional: bool = setting(False, BOOL)
    input_feeding: bool = setting(False, BOOL)
    attention_output: str = setting("luong", _choice("luong", "concat"))
    cell: str = setting("lstm", _choice("lstm", "gru"))


MODEL_FIELDS = {f.name: f for f in fields(ModelConfig)}


def check_model_config(values, where: str = "model_config.") -> dict:
    """Every key a Seq2Seq argument minis2s stores, every value by its rule; the sizes are
    required. Returns the checked values (the missing optional ones left out)."""
    if not isinstance(values, dict):
        raise ConfigError(f"meta.{where.rstrip('.')} must be a dict, got {type(values).__name__}")
    unknown = sorted(str(k) for k in values if k not in MODEL_FIELDS)
    if unknown:
        raise ConfigError(f"{where}{unknown[0]} is not an argument a checkpoint may set "
                          f"(known: {', '.join(MODEL_FIELDS)})")
    missing = [n for n, f in MODEL_FIELDS.items() if f.default is MISSING and n not in values]
    if missing:
        raise ConfigError(f"meta.{where.rstrip('.')} lacks {missing[0]!r}")
    out = {name: MODEL_FIELDS[name].metadata["rule"].check(f"{where}{name}", value)
           for name, value in values.items()}
    if out.get("bidirectional") and out["hidden"] % 2:
        raise ConfigError(f"{where}hidden is {out['hidden']}: a bidirectional encoder needs it even")
    return out
