"""The base of every layer and model: named parameters and their gradients.

A module keeps two dicts with the same keys: ``params`` (the arrays the
optimiser updates *in place*) and ``grads`` (filled by ``backward``, also in
place, so their identities never change). Composite modules register children
and expose the whole tree under PyTorch-like dotted names such as
``encoder.lstm.0.Wx``::

    model.params["decoder.fc.W"] is model.decoder.fc.params["W"]   # True
"""
from __future__ import annotations

from ..backend import backend_of, current, get_array_module, to_cpu, to_device

__all__ = ["Module"]


class Module:
    """Base class: ``params`` and ``grads`` dicts, children, train/eval mode, backends."""

    def __init__(self):
        self._params: dict = {}
        self._grads: dict = {}
        self._children: dict = {}
        self.training = True

    # --- building ----------------------------------------------------------
    def add_param(self, name: str, array):
        """Register a parameter and a zero gradient of the same shape."""
        xp = get_array_module(array)
        self._params[name] = array
        self._grads[name] = xp.zeros_like(array)
        return array

    def add_module(self, name: str, module: "Module") -> "Module":
        """Register a child; its parameters appear as ``name.<its names>``."""
        self._children[name] = module
        return module

    # --- the flat views --------------------------------------------------------
    @property
    def params(self) -> dict:
        """{dotted name: array}, this module's and all its children's."""
        return self._flat("_params")

    @property
    def grads(self) -> dict:
        """{dotted name: gradient array}, the same keys as ``params``."""
        return self._flat("_grads")

    def _flat(self, attr: str) -> dict:
        out = dict(getattr(self, attr))
        for cname, child in self._children.items():
            out.update({f"{cname}.{k}": v for k, v in child._flat(attr).items()})
        return out

    def set_grad(self, name: str, value) -> None:
        """Write a gradient into its preallocated array (in place: its identity is kept)."""
        self._grads[name][...] = value

    def zero_grads(self) -> None:
        """Set every gradient to 0, in place."""
        for g in self.grads.values():
            g[...] = 0.0

    def num_params(self) -> int:
        """The number of scalar parameters."""
        return sum(int(p.size) for p in self.params.values())

    def modules(self):
        """This module and every descendant, depth first."""
        yield self
        for child in self._children.values():
            yield from child.modules()

    # --- modes and backends ---------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout active) for this module and its children."""
        self.training = mode
        for child in self._children.values():
            child.train(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: dropout off."""
        return self.train(False)

    def to(self, backend=None, dtype=None) -> "Module":
        """Move every parameter (and gradient) to ``backend`` and/or cast to ``dtype``.

        Rebinds the arrays, so build optimisers *after* moving a model.
        """
        backend = backend or current()
        for store in (self._params, self._grads):
            for k, v in store.items():
                host = to_cpu(v)
                store[k] = to_device(host if dtype is None else host.astype(dtype), backend)
        for child in self._children.values():
            child.to(backend, dtype)
        return self

    def state_dict(self) -> dict:
        """{dotted name: NumPy array}: the weights on the host, for saving."""
        return {k: to_cpu(v).copy() for k, v in self.params.items()}

    def load_state_dict(self, state: dict) -> None:
        """Copy host arrays into the parameters in place; names and shapes must match."""
        params = self.params
        missing, extra = set(params) - set(state), set(state) - set(params)
        if missing or extra:
            raise ValueError(f"load_state_dict: parameter names differ: missing {sorted(missing)}, "
                             f"unexpected {sorted(extra)}")
        for k, p in params.items():
            if tuple(state[k].shape) != tuple(p.shape):
                raise ValueError(f"load_state_dict: {k} has shape {tuple(state[k].shape)}, "
                                 f"the model expects {tuple(p.shape)}")
            p[...] = to_device(state[k].astype(p.dtype), backend_of(p))
