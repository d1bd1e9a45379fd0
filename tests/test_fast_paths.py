"""The fast paths against the teaching paths they replace, and their own gradient checks.

``lstm_forward_fast`` (feature-major, workspaces) must compute the same function
as the readable ``lstm_forward``; the chunked Adam and sum of squares must match
the formulas. Every backend present, float64.
"""
import numpy as np
import pytest

import minis2s
import minis2s.functional as F
from minis2s.gradcheck import check_gradients
from minis2s.kernels import get_kernels
from minis2s.kernels.ufunc import CHUNK
from minis2s.optim import Adam
from minis2s.workspace import Workspace

TOL = 1e-7


def dev(rng, *shape, scale=1.0):
    return minis2s.to_device(rng.standard_normal(shape) * scale)


def ragged_mask(rng, N, T):
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0] = T
    return minis2s.to_device(np.arange(T)[None, :] < lengths[:, None])


def lstm_inputs(rng, N, T, D, H):
    return dict(x=dev(rng, N, T, D), h0=dev(rng, N, H), c0=dev(rng, N, H),
                Wx=dev(rng, D, 4 * H, scale=0.5), Wh=dev(rng, H, 4 * H, scale=0.5), b=dev(rng, 4 * H))


def host(a):
    return minis2s.to_cpu(a)


CASES = [(3, 4, 5, 2, False), (4, 5, 3, 6, True), (1, 1, 1, 1, False), (2, 3, 1, 4, True),
         (5, 6, 3, 4, True)]


@pytest.mark.parametrize("N,T,D,H,masked", CASES)
@pytest.mark.parametrize("output_grad", [True, False], ids=["dhs", "no-dhs"])
def test_fast_lstm_gradients(backend, rng, N, T, D, H, masked, output_grad):
    inputs = lstm_inputs(rng, N, T, D, H)
    mask = ragged_mask(rng, N, T) if masked else None
    _, _, cache = F.lstm_forward_fast(mask=mask, **inputs)
    dhs = dev(rng, N, T, H) if output_grad else None
    dhT, dcT = dev(rng, N, H), dev(rng, N, H)
    grads = F.lstm_backward_fast(dhs, dhT, dcT, cache)

    def f(**a):
        hs, (hT, cT), _ = F.lstm_forward_fast(mask=mask, **a)
        return (hs, hT, cT) if output_grad else (hT, cT)
    upstream = [dhs, dhT, dcT] if output_grad else [dhT, dcT]
    report = check_gradients(f, inputs, upstream, dict(zip(inputs, grads)), TOL)
    report.title = "lstm_forward_fast/backward_fast"
    report.assert_passed()


@pytest.mark.parametrize("N,T,D,H,masked", CASES)
def test_fast_lstm_equals_the_teaching_version(backend, rng, N, T, D, H, masked):
    inputs = lstm_inputs(rng, N, T, D, H)
    mask = ragged_mask(rng, N, T) if masked else None
    ref_hs, (ref_h, ref_c), ref_cache = F.lstm_forward(mask=mask, **inputs)
    hs, (h, c), cache = F.lstm_forward_fast(mask=mask, **inputs, ws=Workspace())
    for want, got in ((ref_hs, hs), (ref_h, h), (ref_c, c)):
        np.testing.assert_allclose(host(got), host(want), rtol=0, atol=1e-12)
    upstream = (dev(rng, N, T, H), dev(rng, N, H), dev(rng, N, H))
    for want, got in zip(F.lstm_backward(*upstream, ref_cache), F.lstm_backward_fast(*upstream, cache)):
        assert got.shape == want.shape
        np.testing.assert_allclose(host(got), host(want), rtol=0, atol=1e-12)


def test_workspace_is_reused_but_never_returned(backend, rng):
    """Two calls with one workspace: same buffers inside, independent results outside."""
    N, T, D, H = 3, 4, 2, 5
    ws = Workspace()
    a, b = lstm_inputs(rng, N, T, D, H), lstm_inputs(rng, N, T, D, H)
    hs1, (h1, c1), cache1 = F.lstm_forward_fast(**a, ws=ws)
    kept = [host(v).copy() for v in (hs1, h1, c1)]
    held = ws.nbytes()
    _, _, cache2 = F.lstm_forward_fast(**b, ws=ws)
    assert ws.nbytes() == held                       # nothing reallocated
    assert cache2[3] is cache1[3]                    # the gates buffer G is the same array
    for before, now in zip(kept, (hs1, h1, c1)):     # but the first call's results are untouched
        np.testing.assert_array_equal(host(now), before)
    g1 = F.lstm_backward_fast(dev(rng, N, T, H), None, None, cache2)
    g2 = F.lstm_backward_fast(dev(rng, N, T, H), None, None, cache2)
    assert not any(x is y for x, y in zip(g1, g2))


def test_workspace_reallocates_on_new_shapes(backend):
    xp = minis2s.current().xp
    ws = Workspace()
    a = ws.empty("a", (2, 3), np.float64, xp)
    assert ws.empty("a", (2, 3), np.float64, xp) is a
    assert ws.empty("a", (3, 3), np.float64, xp).shape == (3, 3)
    assert ws.empty("a", (3, 3), np.float32, xp).dtype == np.float32
    ws.clear()
    assert ws.nbytes() == 0


@pytest.mark.parametrize("gate_axis", [0, 1])
def test_cell_kernels_match_the_formulas(backend, rng, gate_axis):
    H, N = 3, 4
    shape = (4 * H, N) if gate_axis == 0 else (N, 4 * H)
    state = (H, N) if gate_axis == 0 else (N, H)
    a, c_prev, dh, dc = dev(rng, *shape), dev(rng, *state), dev(rng, *state), dev(rng, *state)
    k = get_kernels(a)
    xp = minis2s.current().xp
    c, tanh_c, h = (xp.empty(state) for _ in range(3))
    a_host = host(a).copy()
    k.lstm_cell_forward(a, c_prev, c, tanh_c, h, gate_axis=gate_axis)
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    i, f, g, o = np.split(a_host, 4, axis=gate_axis)
    i, f, g, o = sig(i), sig(f), np.tanh(g), sig(o)
    cp = host(c_prev)
    c_want = f * cp + i * g
    np.testing.assert_allclose(host(a), np.concatenate([i, f, g, o], axis=gate_axis), atol=1e-15)
    np.testing.assert_allclose(host(c), c_want, atol=1e-15)
    np.testing.assert_allclose(host(h), o * np.tanh(c_want), atol=1e-15)
    da, dc_prev = xp.empty(shape), xp.empty(state)
    k.lstm_cell_backward(dh, dc, a, c_prev, tanh_c, da, dc_prev, gate_axis=gate_axis)
    t = np.tanh(c_want)
    dct = host(dc) + host(dh) * o * (1 - t ** 2)
    want = np.concatenate([dct * g * i * (1 - i), dct * cp * f * (1 - f), dct * i * (1 - g ** 2),
                           host(dh) * t * o * (1 - o)], axis=gate_axis)
    np.testing.assert_allclose(host(da), want, atol=1e-14)
    np.testing.assert_allclose(host(dc_prev), dct * f, atol=1e-14)


def test_adam_over_several_chunks_matches_the_formula(backend, rng):
    """A parameter larger than one chunk: every chunk gets the same update."""
    n = 2 * CHUNK + 3
    p0, grads = rng.standard_normal(n), [rng.standard_normal(n) for _ in range(3)]
    p = minis2s.to_device(p0.copy())
    opt = Adam({"p": p}, lr=0.01)
    m = v = np.zeros(n)
    want = p0.copy()
    for t, g in enumerate(grads, start=1):
        opt.step({"p": minis2s.to_device(g)})
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g ** 2
        want = want - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    np.testing.assert_allclose(host(p), want, rtol=1e-12, atol=1e-15)


def test_adam_refuses_a_non_contiguous_parameter(backend, rng):
    p = dev(rng, 4, 3).T
    with pytest.raises(ValueError, match=r"params\['w'\] is not C-contiguous"):
        Adam({"w": p})


def test_sum_of_squares_over_chunks(backend, rng):
    g = rng.standard_normal((CHUNK + 7, 2))
    got = get_kernels(minis2s.to_device(g)).sum_of_squares(minis2s.to_device(g))
    assert float(got) == pytest.approx(float((g ** 2).sum()), rel=1e-13)


@pytest.mark.parametrize("decoder", ["plain", "peeky"])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_stepper_equals_decoder_step(backend, rng, decoder, n_layers):
    """The prepared decoding step (models/stepper.py) against the readable Decoder.step,
    over several steps and a beam-style reordering of the rows."""
    from minis2s.models import Seq2Seq
    from minis2s.models.stepper import Stepper
    model = Seq2Seq(9, 8, emb=3, hidden=5, n_layers=n_layers, decoder=decoder, seed=1)
    for p in model.params.values():
        p[...] = minis2s.to_device(rng.standard_normal(p.shape) * 0.5)
    model.eval()
    src = minis2s.to_device(np.array([[4, 5, 6], [5, 6, 0], [8, 3, 4], [7, 0, 0]]))
    state = model.encode(src)
    ctx = state[0][-1]
    step = Stepper(model.decoder, state, ctx)
    for t, order in enumerate(([0, 1, 2, 3], [2, 2, 0, 1], [3, 0, 0, 2])):
        tokens = minis2s.to_device(rng.integers(3, 8, size=4))
        want, state = model.decoder.step(tokens, state, ctx)
        got = step(tokens)
        np.testing.assert_allclose(host(got), host(want), rtol=0, atol=1e-12)
        for a, b_ in zip(step.state, state):
            np.testing.assert_allclose(host(a), host(b_), rtol=0, atol=1e-12)
        idx = minis2s.to_device(np.array(order))
        step.reorder(idx)
        state, ctx = (state[0][:, idx], state[1][:, idx]), ctx[idx]


def test_first_pad_skips_only_arithmetic(backend, rng):
    """Promising that the first steps are unpadded changes no number, forward or backward."""
    N, T, D, H = 4, 6, 3, 5
    inputs = lstm_inputs(rng, N, T, D, H)
    lengths = np.array([6, 4, 3, 6])
    mask = minis2s.to_device(np.arange(T)[None, :] < lengths[:, None])
    upstream = (dev(rng, N, T, H), dev(rng, N, H), dev(rng, N, H))
    results = []
    for first_pad in (0, 3):
        hs, (h, c), cache = F.lstm_forward_fast(mask=mask, first_pad=first_pad, **inputs)
        results.append([host(a).copy() for a in (hs, h, c, *F.lstm_backward_fast(*upstream, cache))])
    for a, b_ in zip(*results):
        np.testing.assert_array_equal(a, b_)


def test_seq2seq_finds_the_shortest_source_on_the_host():
    from minis2s.models import Seq2Seq
    model = Seq2Seq(9, 8, emb=3, hidden=4)
    _, _, first_pad = model._prepare(np.array([[4, 5, 6, 0], [5, 6, 7, 8], [8, 3, 0, 0]]))
    assert first_pad == 2
    _, _, first_pad = model._prepare(np.array([[4, 5], [5, 6]]))
    assert first_pad == 2


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.uint64])
def test_embedding_gradient_for_any_integer_ids(backend, rng, dtype):
    """ids * E must not wrap around in a small integer type (the flat scatter-add)."""
    V, E = 250, 16
    ids_host = np.array([[5, 200, 249], [200, 0, 5]], dtype=dtype)
    dout = rng.standard_normal((2, 3, E))
    _, cache = F.embedding_forward(minis2s.to_device(ids_host), dev(rng, V, E))
    dW = host(F.embedding_backward(minis2s.to_device(dout), cache))
    want = np.zeros((V, E))
    np.add.at(want, ids_host.astype(np.int64).reshape(-1), dout.reshape(-1, E))
    np.testing.assert_allclose(dW, want, rtol=1e-14)


def test_norm_of_float32_gradients_over_a_wide_range():
    """Chunked float32 dots summed in float64: accurate from tiny to very large entries."""
    from minis2s.optim.clip import global_norm
    rng = np.random.default_rng(3)
    for scale in (1e-15, 1.0, 1e15):
        g = (rng.standard_normal(3 * CHUNK + 5) * scale).astype(np.float32)
        want = np.sqrt((g.astype(np.float64) ** 2).sum())
        assert global_norm({"g": g}) == pytest.approx(want, rel=1e-6)


def test_backward_into_out_arrays_equals_fresh_arrays(backend, rng):
    """out= writes the weight gradients into the caller's arrays: same numbers, same objects."""
    xp = minis2s.current().xp
    x, W, b = dev(rng, 3, 4, 5), dev(rng, 5, 6), dev(rng, 6)
    _, cache = F.linear_forward(x, W, b)
    dout = dev(rng, 3, 4, 6)
    dW, db = xp.empty((5, 6)), xp.empty(6)
    fresh = F.linear_backward(dout, cache)
    into = F.linear_backward(dout, cache, out=(dW, db))
    assert into[1] is dW and into[2] is db
    for a, b_ in zip(fresh, into):
        np.testing.assert_array_equal(host(a), host(b_))

    ids = minis2s.to_device(np.array([[1, 2, 2], [0, 4, 4]]))
    _, cache = F.embedding_forward(ids, dev(rng, 5, 3))
    dE = minis2s.to_device(np.full((5, 3), 7.0))                 # stale values must not survive
    d = dev(rng, 2, 3, 3)
    assert F.embedding_backward(d, cache, out=dE) is dE
    np.testing.assert_array_equal(host(dE), host(F.embedding_backward(d, cache)))

    inputs = lstm_inputs(rng, 3, 4, 2, 5)
    _, _, cache = F.lstm_forward_fast(mask=ragged_mask(rng, 3, 4), **inputs)
    upstream = (dev(rng, 3, 4, 5), dev(rng, 3, 5), dev(rng, 3, 5))
    out = (xp.empty((2, 20)), xp.empty((5, 20)), xp.empty(20))
    fresh = F.lstm_backward_fast(*upstream, cache)
    into = F.lstm_backward_fast(*upstream, cache, out=out)
    assert all(a is b_ for a, b_ in zip(into[3:], out))
    for a, b_ in zip(fresh, into):
        np.testing.assert_array_equal(host(a), host(b_))


def test_out_arrays_of_the_wrong_shape_are_named(rng):
    x, W, b = rng.standard_normal((3, 5)), rng.standard_normal((5, 6)), rng.standard_normal(6)
    _, cache = F.linear_forward(x, W, b)
    with pytest.raises(ValueError, match=r"out\[0\] \(dW\)"):
        F.linear_backward(rng.standard_normal((3, 6)), cache, out=(np.empty((6, 5)), np.empty(6)))


def test_beam_search_refuses_a_zero_length():
    from minis2s.models import Seq2Seq, beam_search
    model = Seq2Seq(9, 8, emb=3, hidden=4)
    context = model.encode(np.array([[4, 5, 6]]))
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        beam_search(model.decoder, context, context[0][-1], 0, 3, 1, 2, 0)
