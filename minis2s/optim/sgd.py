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

The helpers at the bottom of this file (checking grads, moving buffers to and
from the host) are that shared contract in code; Adam imports them.
"""
from __future__ import annotations

import numpy as np  # host-side only: copies of buffers in state_dict

from ..backend import backend_of, get_array_module, to_cpu, to_device

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
        if lr < 0:
            raise ValueError(f"lr must be >= 0, got {lr!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
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


# --- shared by every optimiser in minis2s.optim ------------------------------------

def check_grads(params: dict, grads: dict) -> None:
    """Raise unless ``grads`` matches ``params`` key for key, shape for shape, backend for backend.

    ``ValueError`` for a missing or unknown key or a wrong shape, ``TypeError`` for
    a gradient on another backend; each message names the key. Everything is
    checked before any parameter moves, so a bad ``grads`` leaves the model as it was.
    """
    missing = sorted(params.keys() - grads.keys())
    if missing:
        raise ValueError(f"grads has no entry for parameter(s) {missing}")
    unknown = sorted(grads.keys() - params.keys())
    if unknown:
        raise ValueError(f"grads has entries {unknown} that are not parameters of this optimiser")
    for name, p in params.items():
        if tuple(grads[name].shape) != tuple(p.shape):
            raise ValueError(f"grads[{name!r}] has shape {tuple(grads[name].shape)} but "
                             f"params[{name!r}] has shape {tuple(p.shape)}")
        get_array_module(**{f"params[{name!r}]": p, f"grads[{name!r}]": grads[name]})


def buffers_to_host(prefix: str, buffers: dict) -> dict:
    """``{"<prefix>.<name>": host copy}`` for each buffer.

    The explicit copy matters on NumPy, where ``to_cpu`` returns the array
    itself: without it the saved state would keep changing as training goes on.
    """
    return {f"{prefix}.{name}": np.array(to_cpu(b), copy=True) for name, b in buffers.items()}


def buffers_from_host(state: dict, prefix: str, params: dict) -> dict:
    """Fresh device buffers, one per parameter, filled from ``state["<prefix>.<name>"]``.

    Each buffer is allocated like its parameter (backend, dtype) and the host
    data copied in, so the optimiser never shares memory with ``state``.
    """
    buffers = {}
    for name, p in params.items():
        key = f"{prefix}.{name}"
        if key not in state:
            raise ValueError(f"state_dict has no entry {key!r} for parameter {name!r}")
        host = np.asarray(to_cpu(state[key]))
        if host.shape != tuple(p.shape):
            raise ValueError(f"state_dict[{key!r}] has shape {host.shape} but parameter "
                             f"{name!r} has shape {tuple(p.shape)}")
        buf = get_array_module(p).zeros_like(p)
        buf[...] = to_device(host, backend_of(p))
        buffers[name] = buf
    return buffers


def require_keys(state: dict, keys) -> None:
    """``ValueError`` naming the first of ``keys`` missing from ``state``."""
    for key in keys:
        if key not in state:
            raise ValueError(f"state_dict has no entry {key!r}")


def check_no_extra_keys(state: dict, scalars, buffer_prefixes, params: dict) -> None:
    """``ValueError`` naming any key of ``state`` that the optimiser would not use."""
    expected = set(scalars) | {f"{b}.{name}" for b in buffer_prefixes for name in params}
    unexpected = sorted(set(state) - expected)
    if unexpected:
        raise ValueError(f"state_dict has unexpected entries {unexpected} "
                         f"(saved from an optimiser with other parameters or settings?)")
