"""Tools for testing minis2s code on a machine without a GPU.

Importing this package registers the ``"strict"`` backend: a CPU array type
(:mod:`minis2s.testing.strict_device`) that refuses what CuPy refuses, so that
code which would break on its first GPU run breaks here first::

    import minis2s, minis2s.testing
    minis2s.use("strict")

The core library never imports this package; the test suite does.
"""
from .. import backend as _backend
from . import strict_device

__all__ = ["strict_device", "make_strict_backend"]


def make_strict_backend() -> _backend.Backend:
    """The strict double as a :class:`minis2s.backend.Backend`, counting its own transfers."""
    return _backend.Backend("strict", strict_device.xp, strict_device.StrictArray,
                            strict_device.from_host, strict_device.to_host,
                            strict_device.default_rng, strict_device.transfers)


_backend.register_backend("strict", make_strict_backend, strict_device.StrictArray)
