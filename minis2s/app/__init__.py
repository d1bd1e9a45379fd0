"""The application around the teaching core: what trains, saves and serves a model.

    trainer.py         the training loop, validation, divergence checks (Trainer, evaluate)
    checkpoint.py      atomic, resumable, checked checkpoints (safe_npz.py reads their arrays)
    run_folder.py      one writer per run folder, nothing left over from one that died
    plotting.py        training curves; attention_plot.py: an attention model's weights
    memory.py          glibc's malloc keeps freed memory (a process-wide setting)
    threads.py         how many BLAS threads NumPy may use (a process-wide setting)
    signals.py         SIGTERM handled like Ctrl-C (a process-wide setting)
    suggest.py         the nearest option to a misspelt one
    fetch.py           `minis2s data fetch`: Tatoeba pairs into the cache folder, checksummed
    cli/               the ``minis2s`` command, one module per command

The teaching core (``functional``, ``layers``, ``models``, ``optim``, ``data``,
``metrics``, ...) never imports this package (``tests/test_app_room.py`` holds it),
and nothing here changes a process-wide setting except the command line's ``main``.

    from minis2s.app import Trainer, evaluate, load_checkpoint, model_from_checkpoint
"""
from .checkpoint import (Checkpoint, CheckpointError, load_checkpoint, model_from_checkpoint,
                         save_checkpoint)
from .trainer import Trainer, TrainingDiverged, evaluate

__all__ = ["Trainer", "TrainingDiverged", "evaluate", "Checkpoint", "CheckpointError",
           "load_checkpoint", "save_checkpoint", "model_from_checkpoint"]
