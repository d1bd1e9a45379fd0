"""Every functional op against a float64 numerical gradient, on every backend.

Sizes are deliberately odd and all different (N, T, D, H, V), including 1,
biases and initial states are non-zero, and masks contain padding.
"""
import numpy as np
import pytest

import minis2s
import minis2s.functional as F
from conftest import dev, ragged_mask
from minis2s.gradcheck import check_gradients

TOL = 1e-7


def record(name, report):
    """Fail, with the per-input table, unless every gradient is right."""
    report.title = name
    report.assert_passed()


@pytest.mark.parametrize("N,D,H", [(3, 5, 4), (1, 1, 1), (2, 7, 3)])
def test_lstm_step(backend, rng, N, D, H):
    """The step's gradients w.r.t. its inputs: a_x (the projected input), h_prev, c_prev.
    (Its weights' gradients are formed once per sequence, checked below.)"""
    a_x, h, c = dev(rng, N, 4 * H), dev(rng, N, H), dev(rng, N, H)
    Wh = dev(rng, H, 4 * H, scale=0.5)
    h1, c1, cache = F.lstm_step_forward(a_x, h, c, Wh)
    dh, dc = dev(rng, N, H), dev(rng, N, H)
    grads = F.lstm_step_backward(dh, dc, cache)
    names = ["a_x", "h_prev", "c_prev"]
    inputs = dict(zip(names, (a_x, h, c)))
    record("lstm_step", check_gradients(
        lambda **a: F.lstm_step_forward(Wh=Wh, **a)[:2], inputs, [dh, dc], dict(zip(names, grads)),
        TOL))


def test_lstm_step_cache_has_the_derivations_names(backend, rng):
    """The cache is read by name (docs/derivations.md's symbols): each field holds what it says."""
    N, H = 2, 3
    a_x, h, c, Wh = dev(rng, N, 4 * H), dev(rng, N, H), dev(rng, N, H), dev(rng, H, 4 * H)
    h1, c1, cache = F.lstm_step_forward(a_x, h, c, Wh)
    a = minis2s.to_cpu(a_x + h @ Wh)
    sig = lambda z: 1 / (1 + np.exp(-z))                                 # noqa: E731
    cpu = {k: minis2s.to_cpu(v) for k, v in cache._asdict().items()}
    np.testing.assert_allclose(cpu["i"], sig(a[:, :H]), rtol=1e-12)
    np.testing.assert_allclose(cpu["f"], sig(a[:, H:2 * H]), rtol=1e-12)
    np.testing.assert_allclose(cpu["g"], np.tanh(a[:, 2 * H:3 * H]), rtol=1e-12)
    np.testing.assert_allclose(cpu["o"], sig(a[:, 3 * H:]), rtol=1e-12)
    np.testing.assert_allclose(cpu["c"], minis2s.to_cpu(c1), rtol=1e-12)
    np.testing.assert_allclose(cpu["tanh_c"], np.tanh(minis2s.to_cpu(c1)), rtol=1e-12)
    np.testing.assert_array_equal(cpu["h_prev"], minis2s.to_cpu(h))
    np.testing.assert_array_equal(cpu["c_prev"], minis2s.to_cpu(c))


@pytest.mark.parametrize("N,T,D,H,masked", [(3, 4, 5, 2, False), (4, 5, 3, 6, True),
                                            (1, 1, 1, 1, False), (2, 3, 1, 4, True)])
def test_lstm_sequence(backend, rng, N, T, D, H, masked):
    x, h0, c0 = dev(rng, N, T, D), dev(rng, N, H), dev(rng, N, H)
    Wx, Wh, b = dev(rng, D, 4 * H, scale=0.5), dev(rng, H, 4 * H, scale=0.5), dev(rng, 4 * H)
    mask = ragged_mask(rng, N, T) if masked else None
    hs, (hT, cT), cache = F.lstm_forward(x, h0, c0, Wx, Wh, b, mask)
    dhs, dhT, dcT = dev(rng, N, T, H), dev(rng, N, H), dev(rng, N, H)
    grads = F.lstm_backward(dhs, dhT, dcT, cache)
    names = ["x", "h0", "c0", "Wx", "Wh", "b"]
    inputs = dict(zip(names, (x, h0, c0, Wx, Wh, b)))

    def f(**a):
        hs, (hT, cT), _ = F.lstm_forward(mask=mask, **a)
        return hs, hT, cT
    record("lstm_forward/backward", check_gradients(
        f, inputs, [dhs, dhT, dcT], dict(zip(names, grads)), TOL))


def test_lstm_sequence_matches_steps(backend, rng):
    """The sequence function is the step function applied T times."""
    N, T, D, H = 3, 4, 2, 5
    x, h, c = dev(rng, N, T, D), dev(rng, N, H), dev(rng, N, H)
    Wx, Wh, b = dev(rng, D, 4 * H), dev(rng, H, 4 * H), dev(rng, 4 * H)
    hs, (hT, cT), _ = F.lstm_forward(x, h, c, Wx, Wh, b)
    for t in range(T):
        h, c, _ = F.lstm_step_forward(x[:, t] @ Wx + b, h, c, Wh)
        np.testing.assert_allclose(minis2s.to_cpu(hs[:, t]), minis2s.to_cpu(h), rtol=1e-12)
    np.testing.assert_allclose(minis2s.to_cpu(hT), minis2s.to_cpu(h), rtol=1e-12)
    np.testing.assert_allclose(minis2s.to_cpu(cT), minis2s.to_cpu(c), rtol=1e-12)


def test_lstm_mask_ends_in_last_real_state(backend, rng):
    """A right-padded row ends in the state it had at its last real token."""
    N, T, D, H = 2, 5, 3, 4
    x, h0, c0 = dev(rng, N, T, D), dev(rng, N, H), dev(rng, N, H)
    Wx, Wh, b = dev(rng, D, 4 * H), dev(rng, H, 4 * H), dev(rng, 4 * H)
    mask = minis2s.to_device(np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=bool))
    _, (hT, cT), _ = F.lstm_forward(x, h0, c0, Wx, Wh, b, mask)
    _, (h2, c2), _ = F.lstm_forward(x[1:, :2], h0[1:], c0[1:], Wx, Wh, b)
    np.testing.assert_allclose(minis2s.to_cpu(hT[1]), minis2s.to_cpu(h2[0]), rtol=1e-12)
    np.testing.assert_allclose(minis2s.to_cpu(cT[1]), minis2s.to_cpu(c2[0]), rtol=1e-12)


@pytest.mark.parametrize("N,T,D,H,masked", [(3, 4, 5, 2, False), (2, 5, 3, 6, True), (1, 1, 1, 1, False)])
def test_rnn(backend, rng, N, T, D, H, masked):
    x, h0 = dev(rng, N, T, D), dev(rng, N, H)
    Wx, Wh, b = dev(rng, D, H, scale=0.5), dev(rng, H, H, scale=0.5), dev(rng, H)
    mask = ragged_mask(rng, N, T) if masked else None
    hs, hT, cache = F.rnn_forward(x, h0, Wx, Wh, b, mask)
    dhs, dhT = dev(rng, N, T, H), dev(rng, N, H)
    grads = F.rnn_backward(dhs, dhT, cache)
    names = ["x", "h0", "Wx", "Wh", "b"]
    record("rnn_forward/backward", check_gradients(
        lambda **a: F.rnn_forward(mask=mask, **a)[:2], dict(zip(names, (x, h0, Wx, Wh, b))),
        [dhs, dhT], dict(zip(names, grads)), TOL))
    # and the step function, w.r.t. its inputs (the weights' gradients are the sequence's)
    hp, a_x = dev(rng, N, H), dev(rng, N, H)
    h, cache = F.rnn_step_forward(a_x, hp, Wh)
    dh = dev(rng, N, H)
    names = ["a_x", "h_prev"]
    record("rnn_step", check_gradients(
        lambda **a: F.rnn_step_forward(Wh=Wh, **a)[0], dict(zip(names, (a_x, hp))),
        dh, dict(zip(names, F.rnn_step_backward(dh, cache))), TOL))


def test_embedding(backend, rng):
    V, E, N, T = 7, 3, 4, 5
    W = dev(rng, V, E)
    ids = minis2s.to_device(rng.integers(0, V, size=(N, T)))
    ids[0, :3] = 2  # repeated ids must accumulate, not overwrite
    out, cache = F.embedding_forward(ids, W)
    dout = dev(rng, N, T, E)
    dW = F.embedding_backward(dout, cache)
    record("embedding", check_gradients(
        lambda W: F.embedding_forward(ids, W)[0], {"W": W}, dout, {"W": dW}, TOL))


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (1, 1, 1)])
def test_linear(backend, rng, shape):
    O = 6
    x, W, b = dev(rng, *shape), dev(rng, shape[-1], O), dev(rng, O)
    out, cache = F.linear_forward(x, W, b)
    dout = dev(rng, *shape[:-1], O)
    dx, dW, db = F.linear_backward(dout, cache)
    record("linear", check_gradients(
        lambda **a: F.linear_forward(**a)[0], {"x": x, "W": W, "b": b}, dout,
        {"x": dx, "W": dW, "b": db}, TOL))


def test_dropout(backend, rng):
    x = dev(rng, 4, 6)
    gen = minis2s.current().random_generator(0)
    out, mask = F.dropout_forward(x, 0.3, gen)
    dout = dev(rng, 4, 6)
    dx = F.dropout_backward(dout, mask)
    record("dropout", check_gradients(   # re-seeded each pass: the same mask every time
        lambda x: F.dropout_forward(x, 0.3, minis2s.current().random_generator(0))[0], {"x": x},
        dout, {"x": dx}, TOL))
    kept = minis2s.to_cpu(mask) > 0
    np.testing.assert_allclose(minis2s.to_cpu(mask)[kept], 1 / 0.7)
    # the same seed gives the same mask
    _, mask2 = F.dropout_forward(x, 0.3, minis2s.current().random_generator(0))
    np.testing.assert_array_equal(minis2s.to_cpu(mask), minis2s.to_cpu(mask2))


def test_dropout_keeps_expectation():
    x = np.ones((200, 500))
    out, _ = F.dropout_forward(x, 0.4, np.random.default_rng(0))
    assert abs(out.mean() - 1.0) < 0.01
    assert abs((out == 0).mean() - 0.4) < 0.01


@pytest.mark.parametrize("ignore", [None, 0])
def test_softmax_cross_entropy(backend, rng, ignore):
    N, T, V = 3, 4, 5
    z = dev(rng, N, T, V, scale=3.0)
    y = rng.integers(0, V, size=(N, T))
    y[0, 2:] = 0
    y = minis2s.to_device(y)
    loss, dz = F.softmax_cross_entropy(z, y, ignore_index=ignore)
    record("softmax_cross_entropy", check_gradients(
        lambda z: F.softmax_cross_entropy(z, y, ignore)[0], {"z": z}, minis2s.to_device(np.array(1.0)),
        {"z": dz}, TOL))
    # the value, against a direct NumPy computation
    zc, yc = minis2s.to_cpu(z).reshape(-1, V), minis2s.to_cpu(y).reshape(-1)
    p = np.exp(zc) / np.exp(zc).sum(1, keepdims=True)
    keep = np.ones_like(yc, bool) if ignore is None else yc != ignore
    expected = -np.log(p[np.arange(len(yc)), yc])[keep].mean()
    assert abs(float(loss) - expected) < 1e-12


def test_softmax_cross_entropy_is_stable():
    z = np.array([[1000.0, 0.0, -1000.0]])
    loss, dz = F.softmax_cross_entropy(z, np.array([1]))
    assert np.isfinite(float(loss)) and np.all(np.isfinite(dz))
    assert abs(float(loss) - 1000.0) < 1e-9


def test_softmax_cross_entropy_all_ignored():
    loss, dz = F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 0]), ignore_index=0)
    assert float(loss) == 0.0 and not dz.any()


def test_lstm_backward_without_output_gradient(backend, rng):
    """dhs=None (an encoder: only the final state is used) equals dhs = zeros."""
    N, T, D, H = 3, 4, 2, 5
    x, h0, c0 = dev(rng, N, T, D), dev(rng, N, H), dev(rng, N, H)
    Wx, Wh, b = dev(rng, D, 4 * H), dev(rng, H, 4 * H), dev(rng, 4 * H)
    mask = ragged_mask(rng, N, T)
    _, _, cache = F.lstm_forward(x, h0, c0, Wx, Wh, b, mask)
    dhT, dcT = dev(rng, N, H), dev(rng, N, H)
    xp = minis2s.current().xp
    with_zeros = F.lstm_backward(xp.zeros((N, T, H)), dhT, dcT, cache)
    with_none = F.lstm_backward(None, dhT, dcT, cache)
    for a, b_ in zip(with_zeros, with_none):
        np.testing.assert_array_equal(minis2s.to_cpu(a), minis2s.to_cpu(b_))


def test_float32_stays_float32_through_every_op(rng):
    """NumPy promotes float32 with a float64 or int64 *array* (even 0-d) to float64: one such
    operand in a formula would silently run the rest of training in float64 at half speed.
    Every functional op keeps float32 in, float32 out."""
    minis2s.use("numpy", dtype="float32")
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)   # noqa: E731
    N, T, D, H, V = 3, 4, 5, 6, 7
    mask = np.arange(T)[None, :] < np.array([[4], [2], [3]])
    outs = {}
    hs, (hT, cT), cache = F.lstm_forward(f32(N, T, D), f32(N, H), f32(N, H), f32(D, 4 * H),
                                         f32(H, 4 * H), f32(4 * H), mask)
    outs["lstm_forward"] = (hs, hT, cT)
    outs["lstm_backward"] = F.lstm_backward(f32(N, T, H), f32(N, H), f32(N, H), cache)
    h, c, cache = F.lstm_step_forward(f32(N, 4 * H), f32(N, H), f32(N, H), f32(H, 4 * H))
    outs["lstm_step"] = (h, c) + F.lstm_step_backward(f32(N, H), f32(N, H), cache)
    y, cache = F.linear_forward(f32(N, T, D), f32(D, V), f32(V))
    outs["linear"] = (y,) + F.linear_backward(f32(N, T, V), cache)
    e, cache = F.embedding_forward(np.array([[1, 2], [0, 6]]), f32(V, D))
    outs["embedding"] = (e, F.embedding_backward(f32(2, 2, D), cache))
    targets = np.array([[1, 2, 0, 0], [3, 0, 0, 0], [1, 1, 1, 1]])
    outs["softmax_cross_entropy"] = F.softmax_cross_entropy(f32(N, T, V), targets, ignore_index=0)
    p, cache = F.peek_forward(f32(N, T, D), f32(N, H))
    outs["peek"] = (p,) + F.peek_backward(f32(N, T, D + H), cache)
    hs, hT, cache = F.rnn_forward(f32(N, T, D), f32(N, H), f32(D, H), f32(H, H), f32(H), mask)
    outs["rnn"] = (hs, hT) + F.rnn_backward(f32(N, T, H), f32(N, H), cache)
    wrong = {name: [str(a.dtype) for a in arrays if a.dtype != np.float32]
             for name, arrays in outs.items()}
    assert not any(wrong.values()), {k: v for k, v in wrong.items() if v}
