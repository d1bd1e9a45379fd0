"""Wrong shapes, dtypes, ids and backends give errors that name the problem."""
import numpy as np
import pytest

import minis2s
from minis2s.errors import InputError
from minis2s.layers import LSTM, Embedding, Linear
from minis2s.models import Seq2Seq


def _lstm(D=3, H=2, L=1):
    return LSTM(D, H, np.random.default_rng(0), n_layers=L)


def _state(N=4, H=2, L=1):
    return np.zeros((L, N, H)), np.zeros((L, N, H))


# The functional bodies hold the maths; the layers and models check what enters them.

def test_lstm_forward_rank_2_x():
    with pytest.raises(InputError, match=r"LSTM.forward: x must have shape \(N, T, D\) = \(\?, \?, 3\)"):
        _lstm().forward(np.zeros((4, 3)))


def test_lstm_x_of_the_wrong_width():
    with pytest.raises(InputError, match=r"x must have shape \(N, T, D\) = \(\?, \?, 3\), got \(4, 5, 6\)"):
        _lstm().forward(np.zeros((4, 5, 6)))


def test_lstm_wrong_state():
    with pytest.raises(InputError, match=r"c0 must have shape \(L, N, H\) = \(1, 4, 2\), got \(1, 5, 2\)"):
        _lstm().forward(np.zeros((4, 5, 3)), (np.zeros((1, 4, 2)), np.zeros((1, 5, 2))))


def test_lstm_integer_x():
    with pytest.raises(TypeError, match="x must be a float32 or float64 array"):
        _lstm().forward(np.zeros((4, 5, 3), dtype=int))


def test_lstm_mask_shape():
    with pytest.raises(InputError, match="mask must have shape"):
        _lstm().forward(np.zeros((4, 5, 3)), _state(), mask=np.ones((5, 4)))


def test_embedding_float_ids():
    with pytest.raises(TypeError, match="integer array of token ids"):
        Embedding(5, 2, np.random.default_rng(0)).forward(np.array([[0.0, 1.0]]))


def test_linear_input_of_the_wrong_width():
    with pytest.raises(InputError, match=r"Linear.forward: x must have shape \(..., D\)"):
        Linear(3, 2, np.random.default_rng(0)).forward(np.zeros((4, 5)))


def test_model_ids_out_of_range():
    model = Seq2Seq(5, 6, emb=2, hidden=4)
    with pytest.raises(InputError, match=r"src token ids must lie in \[0, 5\), got ids from 1 to 7"):
        model.forward(np.array([[1, 7]]), np.array([[1, 3, 2]]))
    with pytest.raises(InputError, match=r"tgt token ids must lie in \[0, 6\), got ids from -1"):
        model.forward(np.array([[1, 4]]), np.array([[1, -1, 2]]))


def test_mixing_host_and_device_arrays_is_named():
    x = minis2s.to_device(np.zeros((4, 5, 3)), "strict")
    lstm = _lstm().to("strict")
    with pytest.raises(TypeError, match="h0 is a numpy array but x is a strict array"):
        lstm.forward(x, _state())


def test_strict_double_refuses_what_cupy_refuses():
    a = minis2s.to_device(np.ones(3), "strict")
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="mixed with device arrays"):
        a * np.ones(3)
    assert float((a * 2.0).sum()) == 6.0  # scalars are fine


def test_strict_double_knows_only_the_cupy_api_on_its_list():
    """A NumPy-only call (CuPy has no busday_count, no ndarray.setflags) fails on the CPU
    as it would on a GPU; what minis2s uses passes."""
    from minis2s.testing import strict_device as sd
    a = minis2s.to_device(np.ones((2, 3)), "strict")
    with pytest.raises(AttributeError, match="'xp.busday_count' is not on .* list of the CuPy API"):
        sd.xp.busday_count
    with pytest.raises(AttributeError, match="array attribute 'setflags'"):
        a.setflags
    with pytest.raises(AttributeError, match="ufunc method 'add.reduceat'"):
        sd.xp.add.reduceat
    with pytest.raises(AttributeError, match="numpy function 'trace'"):
        np.trace(a)                        # not on the list (through __array_function__)
    out = sd.xp.where(a > 0, sd.xp.tanh(a), 0.0).reshape(3, 2).T.astype(sd.xp.float32)
    assert out.shape == (2, 3) and float(out.sum()) == pytest.approx(6 * np.tanh(1.0), rel=1e-6)
    # every name on the lists is NumPy's too (the double forwards to NumPy)
    assert all(hasattr(np, n) for n in sd.CUPY_FUNCTIONS)
    assert all(hasattr(np.ones(1), n) for n in sd.CUPY_ARRAY_ATTRIBUTES)


def test_unknown_backend_and_dtype():
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        minis2s.use("tpu")
    with pytest.raises(ValueError, match="float32 or float64"):
        minis2s.use(dtype="int32")


def test_cupy_unavailable_is_one_clear_error():
    try:
        import cupy  # noqa: F401
        if cupy.is_available():
            pytest.skip("a GPU is present")
    except ImportError:
        pass
    with pytest.raises(minis2s.BackendError, match="cupy"):
        minis2s.use("cupy")
    assert minis2s.current().name in ("numpy", "strict")


def _backend_in_subprocess(env_value):
    import os
    import subprocess
    import sys
    code = ("import minis2s, minis2s.testing\n"
            "try:\n    print(minis2s.current().name)\n"
            "except minis2s.BackendError as e:\n    print('BackendError:', e)\n")
    env = dict(os.environ, MINIS2S_BACKEND=env_value)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True).stdout.strip()


def test_backend_from_the_environment():
    assert _backend_in_subprocess("strict") == "strict"
    assert _backend_in_subprocess(" NumPy ") == "numpy"


def test_cupy_from_the_environment_without_a_gpu_is_one_clear_error():
    try:
        import cupy
        if cupy.is_available():
            pytest.skip("a GPU is present")
    except ImportError:
        pass
    assert _backend_in_subprocess("cupy").startswith("BackendError: backend 'cupy'")


def test_using_restores_the_default_and_the_model_keeps_its_backend():
    before = (minis2s.current().name, minis2s.float_dtype())
    with minis2s.using("strict", "float64"):
        model = Seq2Seq(9, 8, emb=3, hidden=4)
        assert minis2s.current().name == "strict"
    assert (minis2s.current().name, minis2s.float_dtype()) == before
    assert model.backend.name == "strict"                      # made there, stays there
    assert all(p.dtype == np.float64 for p in model.params.values())
    loss = model.forward(np.array([[4, 5]]), np.array([[1, 3, 2]]))   # host batch follows the model
    assert minis2s.backend.backend_of(loss).name == "strict"
