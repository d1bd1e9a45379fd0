"""Learning-rate schedules: set ``optimizer.lr`` from how far training has got.

Sutskever et al. (2014) trained with plain SGD at a fixed learning rate of 0.7
and, "after 5 epochs, we begun halving the learning rate every half epoch".
:class:`StepSchedule` is that rule with its numbers as parameters:

    k(e)  = 0                                          if e < start_epoch
          = floor((e - start_epoch) / every)           otherwise
    lr(e) = base_lr * factor ** k(e)

where ``e`` is the *fractional* epoch (``batches_seen / batches_per_epoch``)
and ``k`` counts the ``every``-long intervals completed since ``start_epoch``.
With the defaults the rate is ``base_lr`` until epoch 5.5, then halves at 5.5,
6.0, 6.5, ...

A schedule only ever assigns ``optimizer.lr``; optimisers read ``lr`` afresh
at every step, so no other coupling is needed. ``base_lr`` is the optimiser's
``lr`` when the schedule is made.
"""
from __future__ import annotations

import math
from ..errors import InputError

__all__ = ["StepSchedule", "ConstantSchedule"]

# Epochs are computed as ratios like 11/20 whose float value may land a hair
# below the exact boundary ((5.3 - 5.0) / 0.1 == 2.9999999999999982); this
# tolerance counts such an interval as completed.
_BOUNDARY_TOL = 1e-9


class ConstantSchedule:
    """The learning rate never changes: ``lr(e) = base_lr``. (The same interface as StepSchedule.)"""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.last_epoch = None  # the epoch of the latest update, None before the first

    def lr_at(self, epoch: float) -> float:
        """The learning rate for fractional epoch ``epoch``."""
        return self.base_lr

    def update(self, epoch: float) -> float:
        """Set ``optimizer.lr`` for fractional epoch ``epoch`` and return it."""
        self.last_epoch = float(epoch)
        self.optimizer.lr = self.lr_at(epoch)
        return self.optimizer.lr

    def state_dict(self) -> dict:
        """The schedule's settings and position, as plain Python values."""
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore a saved schedule; the optimiser's ``lr`` is re-applied from it."""
        for key in self.state_dict():
            if key not in state:
                raise InputError(f"schedule state_dict has no entry {key!r}")
        unexpected = sorted(set(state) - set(self.state_dict()))
        if unexpected:
            raise InputError(f"schedule state_dict has unexpected entries {unexpected}")
        for key, value in state.items():
            setattr(self, key, None if value is None else float(value))
        if self.last_epoch is not None:
            self.update(self.last_epoch)


class StepSchedule(ConstantSchedule):
    """Multiply the rate by ``factor`` every ``every`` epochs after ``start_epoch`` (see module docs).

    Parameters
    ----------
    optimizer
        Anything with an ``lr`` attribute; its current value becomes ``base_lr``.
    start_epoch : float
        No decay before this (fractional) epoch.
    every : float
        Length, in epochs, of one decay interval.
    factor : float
        Multiplier applied once per completed interval (0.5: halve).
    """

    def __init__(self, optimizer, start_epoch: float = 5.0, every: float = 0.5,
                 factor: float = 0.5):
        if not math.isfinite(start_epoch):
            raise InputError(f"start_epoch must be a finite number, got {start_epoch!r}")
        if not 0.0 < every < float("inf"):   # written so that nan fails too
            raise InputError(f"every must be a finite number > 0, got {every!r}")
        if not 0.0 < factor <= 1.0:
            raise InputError(f"factor must be in (0, 1], got {factor!r}")
        super().__init__(optimizer)
        self.start_epoch, self.every, self.factor = float(start_epoch), float(every), float(factor)

    def decays_at(self, epoch: float) -> int:
        """``k(e)``: how many decay intervals have been completed by fractional epoch ``epoch``."""
        if epoch < self.start_epoch:
            return 0
        return math.floor((epoch - self.start_epoch) / self.every + _BOUNDARY_TOL)

    def lr_at(self, epoch: float) -> float:
        """``base_lr * factor ** k(e)``."""
        return self.base_lr * self.factor ** self.decays_at(epoch)

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.update(start_epoch=self.start_epoch, every=self.every, factor=self.factor)
        return state
