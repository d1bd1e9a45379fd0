"""The ``minis2s`` command (also ``python -m minis2s``): train, eval, translate, gradcheck, grade.

    minis2s train                                   # the addition task, peeky + reversed: under 2 minutes, 99.95 %
    minis2s train --task dates --epochs 10
    minis2s train --data tatoeba-kor-eng            # a shipped corpus by name (`minis2s data` lists them)
    minis2s train --data corpus.tsv --model plain   # any TSV file: word tokens, BLEU reported
    minis2s train --resume --epochs 12              # continue runs/addition-peeky to epoch 12
    minis2s eval --checkpoint runs/addition-peeky/checkpoint.npz [--data FILE] [--beam 5]
    minis2s translate --checkpoint runs/addition-peeky/checkpoint.npz "16+75" "999+1"
    minis2s train --task dates --model attention --score general [--bidirectional]
    minis2s translate --checkpoint runs/dates-attention-general/checkpoint.npz --attention a.png "9/27/94"
    echo "16+75" | minis2s translate --checkpoint runs/addition-peeky/checkpoint.npz
    minis2s gradcheck                               # every backward pass against numerical gradients
    minis2s grade submission.py                     # the autograder (minis2s.grading)
    minis2s data                                    # the corpora --data NAME knows; `data fetch fra-eng`

One module per command (``train.py``, ``eval.py``, ``translate.py``, ``gradcheck.py``,
``grade.py``, ``data.py``), each with ``add_parser(subparsers)`` and ``run(args, command)``; what they
share is in ``common.py``. Only this module changes process-wide settings: before a command
runs, :func:`main` lets glibc keep freed memory (:mod:`minis2s.app.memory`), limits the
BLAS threads (:mod:`minis2s.app.threads`) and turns SIGTERM into Ctrl-C
(:mod:`minis2s.app.signals`) -- the library itself never does. An unknown option is answered
by its subcommand with the nearest option (:mod:`minis2s.app.suggest`).

A training run writes its folder (``--out``, default ``runs/<task>-<model>``)::

    checkpoint.npz   weights, vocabularies, optimiser and schedule state (see minis2s.app.checkpoint)
    history.json     the validation metrics after every epoch
    curves.png       loss and accuracy curves
    config.json      the exact command line and every resolved setting

Mistakes a user can make (a missing file, a bad value, a damaged checkpoint, an
unknown task) end the program with one line, ``minis2s: error: ...``, and a
non-zero exit status -- no traceback.
"""
from __future__ import annotations

import argparse
import shlex
import signal
import sys

from ... import __version__
from ...backend import BackendError
from ...errors import InputError
from ..memory import keep_freed_memory
from ..signals import Terminated, terminate_as_interrupt
from ..suggest import subcommand_parser, unknown_option_message
from ..threads import DEFAULT_THREADS, blas_threads
from ..trainer import TrainingDiverged
from . import eval as eval_command
from . import data, grade, gradcheck, train, translate
from .common import error, forget_data

__all__ = ["main", "build_parser"]

COMMANDS = (train, eval_command, translate, gradcheck, grade, data)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minis2s", description="Sequence-to-sequence learning (Sutskever et al. 2014) in NumPy/CuPy.")
    parser.add_argument("--version", action="version", version=f"minis2s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:      # answered by the subcommand, with its usage and the nearest option
        sub = subcommand_parser(parser, args)
        sub.error(unknown_option_message(sub, extras))
    command = shlex.join(["minis2s", *argv])
    forget_data()                    # each command reads its data files afresh, once
    try:
        keep_freed_memory()          # decoding and training allocate fresh arrays (memory.py)
        with blas_threads(getattr(args, "threads", DEFAULT_THREADS)), terminate_as_interrupt():
            return args.func(args, command)
    except KeyboardInterrupt as e:   # Ctrl-C, or SIGTERM (signals.py): the same way out
        name = e.name if isinstance(e, Terminated) else "Ctrl-C"
        print(f"minis2s: interrupted ({name})", file=sys.stderr)
        return 128 + (e.signum if isinstance(e, Terminated) else signal.SIGINT)
    except (InputError, TrainingDiverged, BackendError, OSError) as e:   # not bare ValueError:
        # a ValueError from inside the library (a shape check in a layer you changed)
        # is a programming error and keeps its traceback
        error(str(e))
        return 1


if __name__ == "__main__":   # pragma: no cover
    sys.exit(main())
