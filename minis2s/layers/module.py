"""The base of every layer and model: named parameters and their gradients.

A module keeps two dicts with the same keys: ``params`` (the arrays the
optimiser updates *in place*) and ``grads``. Composite modules register
children and expose the whole tree under PyTorch-like dotted names such as
``encoder.lstm.0.Wx``::

    model.params["decoder.fc.W"] is model.decoder.fc.params["W"]   # True

**The gradient rule: a forward returns its cache, a backward adds.**
``out, cache = layer.forward(x)`` hands back what the backward needs, so one
layer can run any number of times in a pass -- a decoder runs its embedding,
LSTM and output layer once per step when it decodes or feeds its attention back
-- and ``layer.backward(dout, cache)`` returns the input gradient and *adds*
each weight gradient into ``grads`` (:meth:`Module.accumulate_grad`, into the
same array every time, so a ``grads`` dict taken once stays valid). A weight
used k times collects k gradients, which is the chain rule's sum. The owner of
a training step zeroes the gradients first (:meth:`Module.zero_grad`;
:meth:`minis2s.models.Seq2Seq.backward` does it).
"""
from __future__ import annotations

from ..backend import Backend, backend_of, current, get_array_module, to_cpu, to_device
from ..errors import InputError

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

    # --- the gradient rule (see the module docstring) ------------------------------
    def accumulate_grad(self, name: str, value) -> None:
        """Add ``value`` into the gradient of parameter ``name`` (its array is kept).

        ``value`` must have the parameter's exact shape and dtype: a silent broadcast
        would hide a backward pass's shape bug, and a silent cast a float64 leak in a
        float32 model (which would run at half speed).
        """
        grad = self._grads[name]
        if tuple(value.shape) != tuple(grad.shape) or value.dtype != grad.dtype:
            raise ValueError(f"{type(self).__name__}.accumulate_grad({name!r}): the gradient has "
                             f"shape {tuple(value.shape)} and dtype {value.dtype}, the parameter "
                             f"{tuple(grad.shape)} and {grad.dtype}")
        grad += value

    def zero_grad(self) -> "Module":
        """Set every gradient of this module and its children to 0, in place."""
        for module in self.modules():
            for grad in module._grads.values():
                grad.fill(0)
        return self

    def num_params(self) -> int:
        """The number of scalar parameters."""
        return sum(int(p.size) for p in self.params.values())

    @property
    def backend(self) -> Backend:
        """The backend the parameters live on: batches and random draws follow it."""
        for p in self.params.values():
            return backend_of(p)
        return current()

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

        ``backend`` None keeps the model where it is. An array that moves or changes
        dtype is a new array (the old one cannot hold it), so build optimisers -- which
        keep references to the parameters -- *after* moving a model; arrays already on
        ``backend`` in ``dtype`` are kept as they are.
        """
        backend = backend or self.backend
        for store in (self._params, self._grads):
            for k, v in store.items():
                if backend_of(v) is backend and (dtype is None or v.dtype == dtype):
                    continue
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
            raise InputError(f"load_state_dict: parameter names differ: missing {sorted(missing)}, "
                             f"unexpected {sorted(extra)}")
        for k, p in params.items():
            if tuple(state[k].shape) != tuple(p.shape):
                raise InputError(f"load_state_dict: {k} has shape {tuple(state[k].shape)}, "
                                 f"the model expects {tuple(p.shape)}")
            p[...] = to_device(state[k].astype(p.dtype), backend_of(p))
