"""A strict stand-in for a GPU array library, for testing on machines without one.

CuPy refuses things that NumPy quietly allows, and code written on a laptop
breaks on its first GPU run because of them. :class:`StrictArray` wraps a NumPy
array and refuses the same things, raising ``TypeError`` as CuPy does:

* implicit conversion to a NumPy array (``np.asarray(a)``, ``np.array(a)``);
* arithmetic, ufuncs and functions that mix it with a ``numpy.ndarray``
  (NumPy and Python *scalars* are fine, as in CuPy);
* indexing it with a NumPy array or a Python list.

And it knows only the CuPy API that minis2s has been checked to use: a function
of the ``xp`` namespace, a ufunc method or an array method that is not on the
lists below (:data:`CUPY_FUNCTIONS`, :data:`CUPY_UFUNC_METHODS`,
:data:`CUPY_ARRAY_ATTRIBUTES`) raises ``AttributeError``, where plain NumPy would
have answered and a GPU run would have failed. Before adding a name, check that
CuPy has it (docs.cupy.dev, "Comparison Table"; ``setup.cfg`` asks for CuPy >= 13).

The module object :data:`xp` plays the part of ``cupy``: ``xp.zeros``,
``xp.tanh``, ``xp.add.at`` and friends return StrictArrays. Host <-> device moves
are explicit (``xp.asarray(host)``, ``a.get()``, ``xp.asnumpy(a)``) and, together
with implicit syncs (``float(a)``, ``a.item()``), are counted in
:data:`transfers` so a test can assert that a training step stays on the device.

Select it like any backend, once :mod:`minis2s.testing` is imported:
``import minis2s.testing; minis2s.use("strict")``.
"""
from __future__ import annotations

import numbers
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

__all__ = ["StrictArray", "xp", "transfers", "from_host", "to_host", "default_rng",
           "CUPY_FUNCTIONS", "CUPY_UFUNC_METHODS", "CUPY_ARRAY_ATTRIBUTES"]

# The CuPy (>= 13) API that minis2s uses, each name checked against CuPy's reference.
CUPY_FUNCTIONS = frozenset({
    "add", "arange", "argpartition", "argsort", "broadcast_to", "concatenate", "empty", "exp",
    "full", "isfinite", "isnan", "log", "maximum", "minimum", "ones", "repeat", "sqrt", "stack",
    "sum", "take_along_axis", "tanh", "where", "zeros", "zeros_like",
})
CUPY_UFUNC_METHODS = frozenset({"at"})        # cupy.ufunc.at: CuPy 13
CUPY_ARRAY_ATTRIBUTES = frozenset({
    "T", "all", "any", "argmax", "argmin", "astype", "copy", "dtype", "fill", "max", "mean", "min",
    "nbytes", "ndim", "ravel", "reshape", "shape", "size", "squeeze", "sum", "transpose",
})


def _unknown(what: str, name: str) -> AttributeError:
    return AttributeError(
        f"{what} {name!r} is not on the strict device double's list of the CuPy API minis2s "
        "uses: check that CuPy (>= 13) has it, then add it to the list in "
        "minis2s/testing/strict_device.py")

transfers = {"to_device": 0, "to_cpu": 0}

_CONVERSION_ERROR = ("Implicit conversion to a NumPy array is not allowed "
                     "(strict device double, as in CuPy). Use .get() or minis2s.to_cpu().")


def _reject_host(obj, where):
    raise TypeError(
        f"{where}: a numpy.ndarray (shape {obj.shape}) was mixed with device arrays "
        "(strict device double, as in CuPy). Move it with minis2s.to_device() first.")


def _unwrap(obj, where="operand"):
    """Unwrap StrictArrays (recursively in lists/tuples/dicts); refuse host ndarrays."""
    if isinstance(obj, StrictArray):
        return obj._a
    if isinstance(obj, np.ndarray):
        _reject_host(obj, where)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o, where) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v, where) for k, v in obj.items()}
    return obj


def _unwrap_index(key):
    if isinstance(key, tuple):
        return tuple(_unwrap_index(k) for k in key)
    if isinstance(key, StrictArray):
        return key._a
    if isinstance(key, np.ndarray):
        _reject_host(key, "index")
    if isinstance(key, list):
        raise TypeError("indexing a device array with a Python list is not allowed "
                        "(strict device double); use a device integer array")
    return key


def _wrap(obj):
    if isinstance(obj, np.ndarray):
        return StrictArray(obj)
    if isinstance(obj, tuple):
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    if isinstance(obj, np.generic):
        # CuPy reductions return 0-d device arrays, not host scalars.
        return StrictArray(np.asarray(obj))
    return obj


class StrictArray(NDArrayOperatorsMixin):
    """A NumPy array in disguise that behaves like a device array (see module docs)."""

    __slots__ = ("_a",)

    def __init__(self, array: np.ndarray):
        self._a = array

    # --- crossing to the host: explicit, and counted --------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_CONVERSION_ERROR)

    def get(self) -> np.ndarray:
        """Device -> host copy (counted), as ``cupy.ndarray.get``."""
        transfers["to_cpu"] += 1
        return self._a.copy()

    def _sync(self):
        transfers["to_cpu"] += 1
        return self._a

    def item(self):
        """The value as a Python scalar (a counted sync)."""
        return self._sync().item()

    def tolist(self):
        """The values as nested lists (a counted sync)."""
        return self._sync().tolist()

    def __float__(self):
        return float(self._sync())

    def __int__(self):
        return int(self._sync())

    def __index__(self):
        return self._sync().__index__()

    def __bool__(self):
        return bool(self._sync())

    # --- array protocol --------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = _unwrap(inputs, f"numpy.{ufunc.__name__}")
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"], f"numpy.{ufunc.__name__}(out=)")
        return _wrap(getattr(ufunc, method)(*args, **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        if func.__name__ not in CUPY_FUNCTIONS:     # numpy.f(device array) dispatches to cupy.f
            raise _unknown("numpy function", func.__name__)
        where = f"numpy.{func.__name__}"
        return _wrap(func(*_unwrap(args, where), **_unwrap(kwargs, where)))

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap_index(key)])

    def __setitem__(self, key, value):
        self._a[_unwrap_index(key)] = _unwrap(value, "assignment")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(self._a[i]) for i in range(len(self._a)))

    def __repr__(self):
        return "strict_device." + repr(self._a)

    # Everything else (shape, dtype, reshape, sum, astype, T, ...) is NumPy's,
    # with host arrays refused in the arguments and results wrapped.
    def __getattr__(self, name):
        if name.startswith("__"):
            # Never forward __array_interface__, __array_struct__, __dlpack__...:
            # they would let NumPy read the data behind our back.
            raise AttributeError(name)
        if name not in CUPY_ARRAY_ATTRIBUTES:
            raise _unknown("array attribute", name)
        attr = getattr(self._a, name)
        if callable(attr):
            def method(*args, **kwargs):
                where = f"ndarray.{name}"
                return _wrap(attr(*_unwrap(args, where), **_unwrap(kwargs, where)))
            return method
        return _wrap(attr)

    def __reduce__(self):
        raise TypeError("a device array cannot be pickled directly; save minis2s.to_cpu(a)")


class _StrictUfunc:
    """``xp.add``, ``xp.exp``...: a NumPy ufunc that returns StrictArrays (``at`` included)."""

    def __init__(self, ufunc):
        self._u = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _wrap(self._u(*_unwrap(args, self.__name__), **_unwrap(kwargs, self.__name__)))

    def __getattr__(self, method):  # at (reduce, accumulate, outer: not on the list)
        if method not in CUPY_UFUNC_METHODS:
            raise _unknown("ufunc method", f"{self.__name__}.{method}")
        fn = getattr(self._u, method)
        if not callable(fn):
            return fn

        def call(*args, **kwargs):
            where = f"{self.__name__}.{method}"
            return _wrap(fn(*_unwrap(args, where), **_unwrap(kwargs, where)))
        return call


def from_host(host) -> StrictArray:
    """Host -> device (counted)."""
    transfers["to_device"] += 1
    return StrictArray(np.array(host, copy=True))


def to_host(a: StrictArray) -> np.ndarray:
    """Device -> host (counted)."""
    if not isinstance(a, StrictArray):
        raise TypeError(f"expected a device array, got {type(a).__name__}")
    return a.get()


class _StrictGenerator:
    """The subset of a random generator the library uses, producing device arrays."""

    def __init__(self, seed):
        self._g = np.random.default_rng(seed)

    def random(self, size=None, dtype=np.float64):
        return StrictArray(np.asarray(self._g.random(size, dtype=dtype)))


def default_rng(seed=None):
    """A seeded generator whose ``random(shape)`` returns device arrays."""
    return _StrictGenerator(seed)


def _creation(fn):
    """zeros, ones, empty, arange, full...: device arrays from sizes and scalars."""
    def make(*args, **kwargs):
        return _wrap(fn(*_unwrap(args, fn.__name__), **_unwrap(kwargs, fn.__name__)))
    make.__name__ = fn.__name__
    return make


class _Namespace(types.ModuleType):
    """The ``cupy``-like module of the strict double."""

    ndarray = StrictArray

    def __getattr__(self, name):
        attr = getattr(np, name)
        if callable(attr) and not isinstance(attr, type) and name not in CUPY_FUNCTIONS:
            raise _unknown("function", f"xp.{name}")
        if isinstance(attr, np.ufunc):
            wrapped = _StrictUfunc(attr)
        elif isinstance(attr, type) or isinstance(attr, (numbers.Number, np.dtype)) or attr is None:
            wrapped = attr  # dtypes (xp.float32), constants (xp.pi), newaxis
        elif callable(attr):
            wrapped = _creation(attr)
        else:
            raise AttributeError(f"strict device namespace has no attribute {name!r}")
        setattr(self, name, wrapped)  # wrap once: later lookups skip __getattr__
        return wrapped

    # Explicit host <-> device moves, as cupy.asarray / cupy.asnumpy.
    @staticmethod
    def asarray(a, dtype=None):
        if isinstance(a, StrictArray):
            return a if dtype is None else StrictArray(a._a.astype(dtype, copy=False))
        transfers["to_device"] += 1
        return StrictArray(np.asarray(a, dtype=dtype).copy())

    array = asarray

    @staticmethod
    def asnumpy(a):
        return to_host(a)

    @staticmethod
    def get_array_module(*arrays):
        return xp


xp = _Namespace("minis2s.testing.strict_device.xp")
xp.random = types.SimpleNamespace(default_rng=default_rng)
