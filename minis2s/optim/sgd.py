"""Stochastic gradient descent, with optional (heavy-ball) momentum.

The update Sutskever et al. (2014) used is the plainest one there is:

    p <- p - lr * g

With momentum ``mu`` a velocity buffer ``v`` (one per parameter, zeros at the
start) keeps a decaying sum of past gradients, and the step follows it:

    v <- mu * v + g
    p <- p - lr * v

This is *PyTorch's* formulation (``torch.optim.SGD`` with ``dampening=0``,
``nesterov=False``), chosen so results match PyTorch step for step. Some
textbooks write ``v <- mu * v - lr * g; p <- p + v`` instead; the two agree
only while ``lr`` is constant, and differ once a schedule changes it.

The optimiser contract, shared with :class:`~minis2s.optim.adam.Adam`:

* ``params`` is a dict ``name -> array``, the *same* arrays the model computes
  with. ``step`` updates them **in place** (``p -= ...``), never rebinding, so
  the model sees the new values without being told. Build the optimiser after
  the model has been moved to its backend: moving makes new arrays.
* ``step(grads)`` takes a dict with exactly the same keys and shapes; anything
  else raises ``ValueError`` naming the offending key.
* ``lr`` is a plain attribute; learning-rate schedules assign to it.
* ``state_dict()`` returns a flat dict of Python scalars and host NumPy arrays
  (buffers under ``"<buffer>.<param name>"``), ready for ``numpy.savez`` or
  pickle; ``load_state_dict`` moves the arrays back onto the parameters' backend.

:mod:`minis2s.optim.state` holds that shared contract in code (checking grads,
moving buffers to and from the host).
"""
from __future__ import annotations

from ..backend import get_array_module
from .state import (buffers_from_host, buffers_to_host, check_grads, check_no_extra_keys,
                    require_keys)
from ..errors import InputError

__all__ = ["SGD"]


class SGD:
    """Plain SGD, or SGD with momentum when ``momentum > 0`` (see module docs).

    Parameters
    ----------
    params : dict[str, array]
        The model's parameter arrays, updated in place by :meth:`step`.
    lr : float
        Learning rate (a plain attribute: schedules change it).
    momentum : float
        ``mu`` in ``v <- mu * v + g``; 0 turns momentum (and its buffers) off.
    """

    def __init__(self, params: dict, lr: float = 0.1, momentum: float = 0.0):
        if not 0.0 <= lr < float("inf"):     # written so that nan fails too
            raise InputError(f"lr must be a finite number >= 0, got {lr!r}")
        if not 0.0 <= momentum < 1.0:
            raise InputError(f"momentum must be in [0, 1), got {momentum!r}")
        self.params = dict(params)  # our own key set; the arrays are shared
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.velocity = self._new_velocity()

    def _new_velocity(self) -> dict:
        if self.momentum == 0.0:
            return {}
        return {name: get_array_module(p).zeros_like(p) for name, p in self.params.items()}

    def step(self, grads: dict) -> None:
        """One update of every parameter, in place. ``grads[name]`` has ``params[name]``'s shape."""
        check_grads(self.params, grads)
        for name, p in self.params.items():
            g = grads[name]
            if self.momentum != 0.0:
                v = self.velocity[name]
                v *= self.momentum          # v <- mu * v + g, in place
                v += g
                g = v
            p -= self.lr * g                # p <- p - lr * v (never `p = p - ...`)

    # --- checkpointing ---------------------------------------------------------
    def state_dict(self) -> dict:
        """Hyper-parameters and velocity buffers, on the host (NumPy), flat."""
        state = {"lr": self.lr, "momentum": self.momentum}
        state.update(buffers_to_host("velocity", self.velocity))
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` saved; buffers go to the parameters' backend.

        Raises ``ValueError`` naming the key when an entry is missing, unexpected,
        or has the wrong shape for its parameter.
        """
        require_keys(state, ["lr", "momentum"])
        momentum = float(state["momentum"])
        buffer_names = ["velocity"] if momentum != 0.0 else []
        check_no_extra_keys(state, ["lr", "momentum"], buffer_names, self.params)
        velocity = buffers_from_host(state, "velocity", self.params) if buffer_names else {}
        # Only now, with everything checked, change the optimiser.
        self.lr, self.momentum, self.velocity = float(state["lr"]), momentum, velocity
