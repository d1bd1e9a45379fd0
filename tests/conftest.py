"""Shared fixtures: every layer and model test runs once per backend present.

``backend`` is parametrised over numpy, the strict device double (which refuses
what CuPy refuses) and real CuPy; CuPy is skipped, with the reason shown, where
no GPU is usable. Tests that take the fixture run in float64.

The helpers below (``dev``, ``ragged_mask``, ``randomised``) are shared by the
test modules: ``from conftest import dev``.
"""
import numpy as np
import pytest

import minis2s
import minis2s.testing  # noqa: F401  registers the "strict" backend
from minis2s import backend as B


def dev(rng, *shape, scale=1.0):
    """A standard-normal array of ``shape`` (times ``scale``) on the current backend."""
    return minis2s.to_device(rng.standard_normal(shape) * scale)


def addition_data(n, val_size):
    """n addition pairs (seed 1), encoded: ((src, tgt) of the training part, (src, tgt) of the
    last val_size, source vocabulary, target vocabulary) -- the trainer tests' tiny task."""
    from minis2s.data import Vocab, char_tokenize, encode_pairs, make_task, split
    train, val, _ = split(make_task("addition", n, seed=1), val_size=val_size, seed=1)
    sv = Vocab.build(char_tokenize(s) for s, _ in train)
    tv = Vocab.build(char_tokenize(t) for _, t in train)
    return encode_pairs(train, sv, tv), encode_pairs(val, sv, tv), sv, tv


def instructor_module(name):
    """instructor/<name>.py, imported as a module (the folder is not a package: it is what
    an instructor keeps and students never get)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).parents[1] / "instructor" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"instructor_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ragged_mask(rng, N, T):
    """A right-padded (N, T) bool mask with lengths from 1 to T (row 0 full), on the device."""
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0] = T
    return minis2s.to_device(np.arange(T)[None, :] < lengths[:, None])


def randomised(module, seed=0, scale=0.5):
    """Every parameter redrawn N(0, scale^2): non-zero biases, weights larger than the
    0.08 init, so that no term of a backward pass can hide. Returns the module."""
    rng = np.random.default_rng(seed)
    for p in module.params.values():
        p[...] = minis2s.to_device(rng.standard_normal(p.shape) * scale)
    return module


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
    with minis2s.using(request.param, dtype="float64") as b:
        yield b


@pytest.fixture(autouse=True)
def _restore_backend_state():
    """No test leaks its backend or dtype choice into the next."""
    with minis2s.using():
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# The whole-model gradient checks on the strict CuPy double repeat, 2-4x slower, what the
# numpy run of the same test and the double's own layer and functional tests already cover:
# they belong to the slow tier (`pytest -m slow`), which CI runs too.
STRICT_MODELS_ARE_SLOW = ("test_models.py", "test_attention_models.py", "test_gru_models.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        strict = params.get("backend") == "strict"
        whole_model = item.fspath.basename in STRICT_MODELS_ARE_SLOW or (
            item.fspath.basename == "test_gradcheck.py" and "model:" in item.name)
        if strict and whole_model:
            item.add_marker(pytest.mark.slow)
