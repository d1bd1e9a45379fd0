"""The optimiser contract in code: checking gradients, moving state to and from the host.

Shared by :class:`~minis2s.optim.SGD` and :class:`~minis2s.optim.Adam` (the
contract itself is described in :mod:`minis2s.optim.sgd`).
"""
from __future__ import annotations

import numpy as np  # host-side only: copies of buffers in state_dict

from ..backend import backend_of, get_array_module, to_cpu, to_device
from ..errors import InputError

__all__ = ["check_grads", "buffers_to_host", "buffers_from_host", "require_keys",
           "check_no_extra_keys"]


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
            raise InputError(f"state_dict has no entry {key!r} for parameter {name!r}")
        host = np.asarray(to_cpu(state[key]))
        if host.shape != tuple(p.shape):
            raise InputError(f"state_dict[{key!r}] has shape {host.shape} but parameter "
                             f"{name!r} has shape {tuple(p.shape)}")
        buf = get_array_module(p).zeros_like(p)
        buf[...] = to_device(host, backend_of(p))
        buffers[name] = buf
    return buffers


def require_keys(state: dict, keys) -> None:
    """``ValueError`` naming the first of ``keys`` missing from ``state``."""
    for key in keys:
        if key not in state:
            raise InputError(f"state_dict has no entry {key!r}")


def check_no_extra_keys(state: dict, scalars, buffer_prefixes, params: dict) -> None:
    """``ValueError`` naming any key of ``state`` that the optimiser would not use."""
    expected = set(scalars) | {f"{b}.{name}" for b in buffer_prefixes for name in params}
    unexpected = sorted(set(state) - expected)
    if unexpected:
        raise InputError(f"state_dict has unexpected entries {unexpected} "
                         f"(saved from an optimiser with other parameters or settings?)")
