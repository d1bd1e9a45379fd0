"""Wrong shapes, dtypes, ids and backends give errors that name the problem."""
import numpy as np
import pytest

import minis2s
import minis2s.functional as F


def _weights(D=3, H=2):
    return np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)


def test_lstm_forward_rank_2_x():
    Wx, Wh, b = _weights()
    with pytest.raises(ValueError, match=r"lstm_forward: x must have shape \(N, T, D\)"):
        F.lstm_forward(np.zeros((4, 3)), np.zeros((4, 2)), np.zeros((4, 2)), Wx, Wh, b)


def test_lstm_wx_not_4h():
    _, Wh, b = _weights()
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, 4H\) = \(3, 8\), got \(3, 6\)"):
        F.lstm_forward(np.zeros((4, 5, 3)), np.zeros((4, 2)), np.zeros((4, 2)), np.zeros((3, 6)), Wh, b)


def test_lstm_step_wrong_state():
    Wx, Wh, b = _weights()
    with pytest.raises(ValueError, match="c_prev must have shape"):
        F.lstm_step_forward(np.zeros((4, 3)), np.zeros((4, 2)), np.zeros((5, 2)), Wx, Wh, b)


def test_lstm_integer_x():
    Wx, Wh, b = _weights()
    with pytest.raises(TypeError, match="x must be a float32 or float64 array"):
        F.lstm_forward(np.zeros((4, 5, 3), dtype=int), np.zeros((4, 2)), np.zeros((4, 2)), Wx, Wh, b)


def test_lstm_mask_shape():
    Wx, Wh, b = _weights()
    with pytest.raises(ValueError, match="mask must have shape"):
        F.lstm_forward(np.zeros((4, 5, 3)), np.zeros((4, 2)), np.zeros((4, 2)), Wx, Wh, b,
                       mask=np.ones((5, 4)))


def test_embedding_ids_out_of_range():
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 5\).*from 0 to 7"):
        F.embedding_forward(np.array([[0, 7]]), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="from -1"):
        F.embedding_forward(np.array([[-1, 2]]), np.zeros((5, 2)))


def test_embedding_float_ids():
    with pytest.raises(TypeError, match="integer array of token ids"):
        F.embedding_forward(np.array([[0.0, 1.0]]), np.zeros((5, 2)))


def test_cross_entropy_bad_targets():
    with pytest.raises(ValueError, match="target ids must lie"):
        F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="logits must have shape"):
        F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))


def test_mixing_host_and_device_arrays_is_named():
    x = minis2s.to_device(np.zeros((4, 5, 3)), "strict")
    Wx, Wh, b = _weights()
    with pytest.raises(TypeError, match="h0 is a numpy array but x is a strict array"):
        F.lstm_forward(x, np.zeros((4, 2)), np.zeros((4, 2)), Wx, Wh, b)


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
