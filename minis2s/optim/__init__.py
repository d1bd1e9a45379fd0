"""Optimisers, gradient clipping and learning-rate schedules.

A training step with these pieces reads::

    opt = make_optimizer("sgd", model.params, lr=0.7)
    schedule = StepSchedule(opt)                # the paper's halving after epoch 5
    ...
    norm = clip_grad_norm(grads, max_norm=5.0)  # rescales grads in place
    opt.step(grads)                             # updates model.params in place
    schedule.update(batches_seen / batches_per_epoch)

Every optimiser shares one contract (see :mod:`minis2s.optim.sgd`): parameters
and gradients are dicts ``name -> array``, updates happen in place, ``lr`` is a
plain attribute, and ``state_dict`` / ``load_state_dict`` checkpoint through
host NumPy arrays.
"""
from __future__ import annotations

from .adam import Adam
from .clip import clip_grad_norm, global_norm
from .schedule import ConstantSchedule, StepSchedule
from .sgd import SGD

__all__ = ["SGD", "Adam", "clip_grad_norm", "global_norm", "StepSchedule",
           "ConstantSchedule", "make_optimizer"]

_OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, params: dict, lr: float, **kwargs):
    """Build an optimiser by name: ``"sgd"`` or ``"adam"`` (case-insensitive).

    Extra keyword arguments go to the constructor (``momentum=`` for SGD,
    ``beta1=``, ``beta2=``, ``eps=`` for Adam). An unknown name raises ``ValueError``.
    """
    key = name.strip().lower()
    if key not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}: expected one of {sorted(_OPTIMIZERS)}")
    return _OPTIMIZERS[key](params, lr=lr, **kwargs)
