"""Shared fixtures: every layer and model test runs once per backend present.

``backend`` is parametrised over numpy, the strict device double (which refuses
what CuPy refuses) and real CuPy; CuPy is skipped, with the reason shown, where
no GPU is usable. Tests that take the fixture run in float64.
"""
import numpy as np
import pytest

import minis2s
from minis2s import backend as B


def _cupy_skip_reason():
    try:
        B._get("cupy")
        return None
    except B.BackendError as e:
        return str(e)


BACKENDS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("strict", id="strict"),
    pytest.param("cupy", id="cupy", marks=pytest.mark.skipif(
        _cupy_skip_reason() is not None, reason="no usable GPU (CuPy missing or no device)")),
]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Switch to one backend in float64 for the test; restore the previous choice after."""
    saved = dict(B._state)
    b = minis2s.use(request.param, dtype="float64")
    yield b
    B._state.update(saved)


@pytest.fixture(autouse=True)
def _restore_backend_state():
    """No test leaks its backend or dtype choice into the next."""
    saved = dict(B._state)
    yield
    B._state.update(saved)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
