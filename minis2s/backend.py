"""The array backend: which array library the model computes with.

minis2s runs the same model code on NumPy (CPU) or CuPy (GPU). Layer and model
code never asks "am I on a GPU?"; it asks for the *array module* that goes with
its inputs::

    xp = get_array_module(x, W)      # numpy, cupy, or the strict test double
    y = xp.tanh(x @ W)

One switch picks the backend for new arrays (parameters, buffers, batches):

    minis2s.use("numpy")                   # the default
    minis2s.use("cupy", dtype="float64")   # or MINIS2S_BACKEND=cupy in the environment

Host <-> device moves happen here and nowhere else: :func:`to_device` and
:func:`to_cpu`. Keeping them in one place is what lets a test count them.

Two backends are built in, and a third is registered by the test tools:

* ``"numpy"`` -- the CPU.
* ``"cupy"``  -- an NVIDIA GPU through CuPy (from a checkout: ``pip install -e ".[gpu]"``).
* ``"strict"`` -- :mod:`minis2s.testing.strict_device`, a CPU array type that
  refuses the things CuPy refuses (implicit conversion to NumPy, arithmetic
  with NumPy arrays), available once :mod:`minis2s.testing` is imported. The
  test suite runs every layer under it so GPU-only bugs cannot hide on a
  machine without a GPU.
"""
from __future__ import annotations

import contextlib

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = [
    "BackendError", "Backend", "use", "current", "get_array_module", "xp",
    "float_dtype", "to_device", "to_cpu", "available_backends", "backend_of", "register_backend",
    "using",
]


class BackendError(RuntimeError):
    """The requested backend cannot be used on this machine (the message says why and how to fix it)."""


@dataclass
class Backend:
    """One array library and the two ways across the host/device boundary.

    ``xp`` is the NumPy-compatible module; ``array_type`` the class of its arrays;
    ``asarray`` moves a host (NumPy) array onto the device and ``asnumpy`` moves
    a device array back; both count themselves in ``transfers`` (the strict
    double also counts implicit syncs such as ``float(device_scalar)``).
    """
    name: str
    xp: Any
    array_type: type
    asarray: Callable[[np.ndarray], Any]
    asnumpy: Callable[[Any], np.ndarray]
    random_generator: Callable[[int | None], Any]
    transfers: dict = field(default_factory=lambda: {"to_device": 0, "to_cpu": 0})

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"


_DTYPES = {"float32": np.float32, "float64": np.float64}
_backends: dict[str, Backend] = {}
_state: dict[str, Any] = {"backend": None, "dtype": None}


def _make_numpy() -> Backend:
    return Backend("numpy", np, np.ndarray, np.asarray, np.asarray,
                   lambda seed: np.random.default_rng(seed))


def _counted(move, transfers: dict, key: str):
    """``move`` (a host <-> device copy) that also counts itself in ``transfers[key]``."""
    def counted(array):
        transfers[key] += 1
        return move(array)
    return counted


def _make_cupy() -> Backend:
    try:
        import cupy
    except ImportError as e:
        raise BackendError(
            "backend 'cupy' needs CuPy, which is not installed. On a machine with an NVIDIA "
            "GPU, install the GPU extra from the repository root (pip install -e \".[gpu]\", "
            "which brings cupy-cuda12x; or the cupy package that matches your CUDA), or use "
            "the 'numpy' backend.") from e
    try:
        ok = cupy.is_available()
    except Exception:  # a broken driver can raise instead of answering
        ok = False
    if not ok:
        raise BackendError(
            "backend 'cupy': CuPy is installed but no CUDA GPU is usable here "
            "(cupy.is_available() is False: no GPU, no driver, or a CUDA version mismatch). "
            "Check `nvidia-smi`, or use the 'numpy' backend.")
    transfers = {"to_device": 0, "to_cpu": 0}
    return Backend("cupy", cupy, cupy.ndarray, _counted(cupy.asarray, transfers, "to_device"),
                   _counted(cupy.asnumpy, transfers, "to_cpu"),
                   lambda seed: cupy.random.default_rng(seed), transfers)


_FACTORIES = {"numpy": _make_numpy, "cupy": _make_cupy}
_ARRAY_TYPES: dict[str, type] = {"numpy": np.ndarray}   # known without importing anything


def register_backend(name: str, factory: Callable[[], Backend], array_type: type) -> None:
    """Make ``use(name)`` available: ``factory()`` builds the Backend on first use.

    :mod:`minis2s.testing` registers its strict double this way, so the core never
    imports test tools.
    """
    _FACTORIES[name] = factory
    _ARRAY_TYPES[name] = array_type


def _get(name: str) -> Backend:
    if name not in _FACTORIES:
        hint = " (the strict test double: import minis2s.testing first)" if name == "strict" else ""
        raise ValueError(f"unknown backend {name!r}{hint}: expected one of {sorted(_FACTORIES)}")
    if name not in _backends:
        _backends[name] = _FACTORIES[name]()
    return _backends[name]


def use(name: str | None = None, dtype: str | np.dtype | None = None) -> Backend:
    """Choose the backend (``"numpy"``, ``"cupy"``, ``"strict"``) and/or the float dtype.

    Returns the backend now in use. Raises :class:`BackendError` with a clear
    message when CuPy is missing or has no GPU. Arrays made before the switch
    stay where they are; move a model with ``model.to(backend)``.
    """
    if name is not None:
        _state["backend"] = _get(name)
    if dtype is not None:
        key = np.dtype(dtype).name
        if key not in _DTYPES:
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        _state["dtype"] = _DTYPES[key]
    return current()


@contextlib.contextmanager
def using(name: str | None = None, dtype: str | np.dtype | None = None):
    """``with minis2s.using("strict", "float64"):`` -- :func:`use` for a block, then back.

    The default backend and dtype only decide where *new* objects are made; a model
    made inside the block keeps its arrays (and its batches follow them) after it.
    """
    saved = dict(_state)
    try:
        yield use(name, dtype)
    finally:
        _state.update(saved)


def current() -> Backend:
    """The backend in use (first call reads ``MINIS2S_BACKEND``, default ``numpy``)."""
    if _state["backend"] is None:
        _state["backend"] = _get(os.environ.get("MINIS2S_BACKEND", "numpy").strip().lower())
    return _state["backend"]


def float_dtype():
    """The float dtype for new parameters and activations (``MINIS2S_DTYPE``, default float32)."""
    if _state["dtype"] is None:
        use(dtype=os.environ.get("MINIS2S_DTYPE", "float32"))
    return _state["dtype"]


def xp():
    """The array module of the current backend."""
    return current().xp


def available_backends() -> list[str]:
    """Backends usable on this machine: numpy, any registered ones, cupy when a GPU is there."""
    names = [n for n in _FACTORIES if n != "cupy"]
    try:
        _get("cupy")
        names.append("cupy")
    except BackendError:
        pass
    return names


_BY_TYPE: dict[type, Backend] = {}   # the answers of backend_of, by exact array type


def backend_of(array) -> Backend | None:
    """The backend an array belongs to, or None for scalars and non-arrays."""
    # Asked several times per LSTM step, so the answer is remembered per type.
    known = _BY_TYPE.get(type(array))
    if known is not None:
        return known
    found = None
    for name, array_type in _ARRAY_TYPES.items():
        if isinstance(array, array_type):
            found = _get(name)
            break
    cupy = sys.modules.get("cupy")  # a CuPy array can only exist if CuPy was imported
    if found is None and cupy is not None and isinstance(array, cupy.ndarray):
        found = _get("cupy")
    if found is not None:
        _BY_TYPE[type(array)] = found
    return found


def _backend_of_args(arrays, named) -> Backend:
    found = None
    found_name = None
    items = [(f"argument {i}", a) for i, a in enumerate(arrays)] + list(named.items())
    for arg_name, a in items:
        if a is None or isinstance(a, (int, float, np.generic)):
            continue
        b = backend_of(a)
        if b is None:
            raise TypeError(f"{arg_name}: expected an array, got {type(a).__name__}")
        if found is None:
            found, found_name = b, arg_name
        elif b is not found:
            raise TypeError(
                f"{arg_name} is a {b.name} array but {found_name} is a {found.name} array: "
                f"move both to one backend with minis2s.to_device / minis2s.to_cpu")
    return found or current()


def get_array_module(*arrays, **named):
    """The array module (numpy, cupy, ...) of the given arrays.

    Pass arrays by keyword to get error messages that name them. Mixing arrays of
    two backends (say a NumPy mask with CuPy activations) raises ``TypeError`` here,
    with the argument named, instead of deep inside a kernel. With no arrays,
    returns the current backend's module.
    """
    if len(arrays) == 1 and not named:   # the common call, once per function: backend_of's look-up
        known = backend_of(arrays[0])
        if known is not None:
            return known.xp
    return _backend_of_args(arrays, named).xp


def to_device(array, backend: Backend | str | None = None):
    """Move a host array (or anything array-like) onto the current (or given) backend.

    Integer arrays keep their integer dtype; float arrays keep theirs. Arrays
    already on that backend are returned unchanged.
    """
    b = _get(backend) if isinstance(backend, str) else (backend or current())
    if isinstance(array, b.array_type):
        return array
    other = backend_of(array)
    if other is not None and other is not _get("numpy"):
        array = to_cpu(array)
    return b.asarray(np.asarray(array))


def to_cpu(array) -> np.ndarray:
    """Move an array of any backend to the host as a NumPy array."""
    b = backend_of(array)
    return np.asarray(array) if b is None else b.asnumpy(array)
