r"""Scheduled sampling (Bengio et al. 2015): a teacher-forcing ratio that decays with training.

With teacher-forcing ratio r the decoder is fed the true previous token with
probability r and its own previous prediction otherwise (docs/derivations.md,
"Teacher forcing below 1, and scheduled sampling"). A fixed r is only half of
scheduled sampling; the other half is the *schedule*: start at (nearly) pure
teacher forcing, and feed the model more of its own predictions as it gets
better. With i the number of training steps taken so far, Bengio et al.'s three
decays of the probability of feeding the truth are::

    linear:           r_i = max(min, k - c * i)
    exponential:      r_i = k ** i                    (0 < k < 1)
    inverse-sigmoid:  r_i = k / (k + exp(i / k))      (k >= 1)

A schedule is written ``KIND[:name=value,...]``, e.g. ``linear:c=2e-4,min=0.5``,
``exponential:k=0.9995``, ``inverse-sigmoid:k=300``; unnamed parameters keep the
defaults in :data:`DEFAULTS`. ``minis2s train --teacher-forcing-schedule SPEC``
makes the trainer set ``model.teacher_forcing_ratio = schedule(model.step_count)``
before every step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["TeacherForcingSchedule", "parse_schedule", "DEFAULTS"]

#: The parameters of each kind, with their defaults.
DEFAULTS = {
    "linear": {"k": 1.0, "c": 1e-4, "min": 0.5},     # from 1 down to 0.5 over 5,000 steps
    "exponential": {"k": 0.9998},                    # 0.37 after 5,000 steps
    "inverse-sigmoid": {"k": 500.0},                 # 0.5 after about 3,100 steps
}


@dataclass(frozen=True)
class TeacherForcingSchedule:
    """``schedule(step) -> ratio`` in [0, 1], for ``step`` = 0, 1, 2, ... (the steps taken)."""
    kind: str
    params: tuple          # ((name, value), ...), every parameter of the kind

    def __call__(self, step: int) -> float:
        p = dict(self.params)
        if self.kind == "linear":
            return max(p["min"], min(1.0, p["k"] - p["c"] * step))
        if self.kind == "exponential":
            return p["k"] ** step
        return p["k"] / (p["k"] + math.exp(min(step / p["k"], 700.0)))   # no overflow

    @property
    def spec(self) -> str:
        """The schedule written back as ``KIND:name=value,...`` (stored in the run's settings).

        Each value is written in full (``repr``: the shortest text that reads back as the same
        float), so ``parse_schedule(s.spec) == s`` -- ``k=0.9999999`` must not become ``k=1``."""
        return f"{self.kind}:" + ",".join(f"{k}={v!r}" for k, v in self.params)


def parse_schedule(spec: str, option: str = "--teacher-forcing-schedule") -> TeacherForcingSchedule:
    """Parse ``KIND[:name=value,...]``; a ValueError names the option and what is wrong."""
    kind, _, rest = spec.strip().partition(":")
    if kind not in DEFAULTS:
        raise ValueError(f"{option}: unknown schedule {kind!r}; expected one of "
                         f"{', '.join(DEFAULTS)} (e.g. 'linear:c=2e-4,min=0.5')")
    params = dict(DEFAULTS[kind])
    for item in filter(None, (s.strip() for s in rest.split(","))):
        name, eq, value = item.partition("=")
        if not eq or name.strip() not in params:
            raise ValueError(f"{option}: {kind} takes {', '.join(f'{k}=VALUE' for k in params)}, "
                             f"got {item!r}")
        try:
            params[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{option}: {name.strip()} must be a number, got {value!r}") from None
    bad = [n for n, v in params.items() if not math.isfinite(v)]
    if kind == "linear" and not (0 < params["k"] <= 1 and params["c"] > 0 and 0 <= params["min"] <= 1):
        bad.append("need 0 < k <= 1, c > 0, 0 <= min <= 1")
    if kind == "exponential" and not 0 < params["k"] < 1:
        bad.append("need 0 < k < 1")
    if kind == "inverse-sigmoid" and not params["k"] >= 1:
        bad.append("need k >= 1")
    if bad:
        raise ValueError(f"{option}: {kind} with {params}: {'; '.join(map(str, bad))}")
    return TeacherForcingSchedule(kind, tuple(params.items()))
