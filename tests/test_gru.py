"""The GRU (minis2s.functional.gru): float64 gradient checks on every backend, and parity with
torch.nn.GRU (outputs and gradients, padded batches through pack_padded_sequence).

Sizes are odd and all different, biases and initial states non-zero, masks padded with
lengths from 1 to T, so that no term of a backward pass can hide.
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


def cpu(a):
    return minis2s.to_cpu(a)


def gapped_mask(N, T):
    """An (N, T) bool mask on the device: rows of every length from 1 to T, then a row with a
    gap (real, padded, real...) -- a padded step in the middle must pass its state through too."""
    rows = [np.arange(T) < length for length in range(1, T + 1)]
    rows.append(np.arange(T) != 1)
    return minis2s.to_device(np.array([rows[i % len(rows)] for i in range(N)]))


@pytest.mark.parametrize("N,H", [(3, 4), (1, 1), (2, 5)])
def test_gru_step(backend, rng, N, H):
    a_x, h_prev = dev(rng, N, 3 * H), dev(rng, N, H)
    Wh, bh = dev(rng, H, 3 * H, scale=0.5), dev(rng, 3 * H)
    h, cache = F.gru_step_forward(a_x, h_prev, Wh, bh)
    dh = dev(rng, N, H)
    da_x, dh_prev, da_h = F.gru_step_backward(dh, cache)
    # The step hands back da_h; the weight gradients of one step follow from a_h = h_prev @ Wh + bh.
    analytic = {"a_x": da_x, "h_prev": dh_prev, "Wh": h_prev.T @ da_h, "bh": da_h.sum(axis=0)}
    inputs = {"a_x": a_x, "h_prev": h_prev, "Wh": Wh, "bh": bh}
    record("gru_step", check_gradients(
        lambda **a: F.gru_step_forward(**a)[0], inputs, dh, analytic, TOL))


@pytest.mark.parametrize("N,T,D,H,masked", [(3, 4, 5, 2, False), (7, 6, 3, 4, True),
                                            (1, 1, 1, 1, False), (4, 3, 1, 3, True)])
def test_gru_sequence(backend, rng, N, T, D, H, masked):
    x, h0 = dev(rng, N, T, D), dev(rng, N, H)
    Wx, Wh = dev(rng, D, 3 * H, scale=0.5), dev(rng, H, 3 * H, scale=0.5)
    bx, bh = dev(rng, 3 * H), dev(rng, 3 * H)
    mask = gapped_mask(N, T) if masked else None
    hs, hT, cache = F.gru_forward(x, h0, Wx, Wh, bx, bh, mask)
    dhs, dhT = dev(rng, N, T, H), dev(rng, N, H)
    grads = F.gru_backward(dhs, dhT, cache)
    names = ["x", "h0", "Wx", "Wh", "bx", "bh"]
    inputs = dict(zip(names, (x, h0, Wx, Wh, bx, bh)))

    def f(**a):
        hs, hT, _ = F.gru_forward(mask=mask, **a)
        return hs, hT
    record("gru_forward/backward", check_gradients(
        f, inputs, [dhs, dhT], dict(zip(names, grads)), TOL))


def test_gru_sequence_matches_steps(backend, rng):
    """The sequence function is the step function applied T times."""
    N, T, D, H = 3, 4, 2, 5
    x, h = dev(rng, N, T, D), dev(rng, N, H)
    Wx, Wh, bx, bh = dev(rng, D, 3 * H), dev(rng, H, 3 * H), dev(rng, 3 * H), dev(rng, 3 * H)
    hs, hT, _ = F.gru_forward(x, h, Wx, Wh, bx, bh)
    for t in range(T):
        h, _ = F.gru_step_forward(x[:, t] @ Wx + bx, h, Wh, bh)
        np.testing.assert_allclose(cpu(hs[:, t]), cpu(h), rtol=1e-12)
    np.testing.assert_allclose(cpu(hT), cpu(h), rtol=1e-12)


def test_gru_mask_ends_in_last_real_state(backend, rng):
    """A right-padded row ends in the state it had at its last real token, and its
    padding gets no gradient and gives none to the weights."""
    N, T, D, H = 2, 5, 3, 4
    x, h0 = dev(rng, N, T, D), dev(rng, N, H)
    Wx, Wh, bx, bh = dev(rng, D, 3 * H), dev(rng, H, 3 * H), dev(rng, 3 * H), dev(rng, 3 * H)
    mask = minis2s.to_device(np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=bool))
    hs, hT, cache = F.gru_forward(x, h0, Wx, Wh, bx, bh, mask)
    _, h2, cache2 = F.gru_forward(x[1:, :2], h0[1:], Wx, Wh, bx, bh)
    np.testing.assert_allclose(cpu(hT[1]), cpu(h2[0]), rtol=1e-12)
    # Only the final state is read: row 1's gradient must be that of its 2-step sequence.
    dhT = dev(rng, N, H)
    dx, dh0, *_ = F.gru_backward(None, dhT, cache)
    dx2, dh02, *_ = F.gru_backward(None, dhT[1:], cache2)
    np.testing.assert_allclose(cpu(dx[1, :2]), cpu(dx2[0]), rtol=1e-10)
    np.testing.assert_allclose(cpu(dh0[1]), cpu(dh02[0]), rtol=1e-10)
    assert not cpu(dx[1, 2:]).any(), "padded steps must get no input gradient"


def test_gru_backward_without_output_gradient(backend, rng):
    """dhs=None (only the final state read) is the same as dhs of zeros."""
    N, T, D, H = 3, 4, 2, 3
    x, h0 = dev(rng, N, T, D), dev(rng, N, H)
    Wx, Wh, bx, bh = dev(rng, D, 3 * H), dev(rng, H, 3 * H), dev(rng, 3 * H), dev(rng, 3 * H)
    _, _, cache = F.gru_forward(x, h0, Wx, Wh, bx, bh, ragged_mask(rng, N, T))
    dhT = dev(rng, N, H)
    xp = minis2s.get_array_module(x)
    with_zeros = F.gru_backward(xp.zeros((N, T, H)), dhT, cache)
    with_none = F.gru_backward(None, dhT, cache)
    for a, b in zip(with_zeros, with_none):
        np.testing.assert_array_equal(cpu(a), cpu(b))


def test_gru_keeps_float32(rng):
    minis2s.use("numpy", dtype="float32")
    N, T, D, H = 2, 3, 4, 5

    def f32(*shape):
        return rng.standard_normal(shape).astype(np.float32)
    mask = np.array([[1, 1, 1], [1, 0, 0]], dtype=bool)
    hs, hT, cache = F.gru_forward(f32(N, T, D), f32(N, H), f32(D, 3 * H), f32(H, 3 * H),
                                  f32(3 * H), f32(3 * H), mask)
    outs = (hs, hT) + F.gru_backward(f32(N, T, H), f32(N, H), cache)
    assert all(a.dtype == np.float32 for a in outs), [a.dtype for a in outs]


# --- parity with torch.nn.GRU ---------------------------------------------------------------

torch_params = pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 1e-5)])


def _torch_gru(Wx, Wh, bx, bh, dtype):
    """A one-layer torch.nn.GRU holding our weights: weight_ih = Wx.T, weight_hh = Wh.T,
    bias_ih = bx, bias_hh = bh -- transposes only, the gate order r, z, n is the same."""
    torch = pytest.importorskip("torch")
    D, H = Wx.shape[0], Wh.shape[0]
    gru = torch.nn.GRU(D, H, batch_first=True).to(getattr(torch, dtype))
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
        gru.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
        gru.bias_ih_l0.copy_(torch.from_numpy(bx))
        gru.bias_hh_l0.copy_(torch.from_numpy(bh))
    return gru


def _close(a, b, what, tol):
    b = b.detach().numpy() if hasattr(b, "detach") else b
    err = np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)
    assert err <= tol, f"{what}: relative difference {err:.2e} > {tol:.0e}"


def _draw(rng, dtype, N, T, D, H):
    def r(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(dtype)
    return (r(N, T, D), r(N, H), r(D, 3 * H, scale=0.5), r(H, 3 * H, scale=0.5), r(3 * H), r(3 * H),
            r(N, T, H), r(N, H))


def _torch_grads(gru, tx, th0):
    return {"dx": tx.grad, "dh0": th0.grad[0], "dWx": gru.weight_ih_l0.grad.T,
            "dWh": gru.weight_hh_l0.grad.T, "dbx": gru.bias_ih_l0.grad, "dbh": gru.bias_hh_l0.grad}


@torch_params
def test_gru_matches_torch(dtype, tol):
    torch = pytest.importorskip("torch")
    minis2s.use("numpy", dtype=dtype)
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 6, 4, 5
    x, h0, Wx, Wh, bx, bh, dhs, dhT = _draw(rng, dtype, N, T, D, H)
    hs, hT, cache = F.gru_forward(x, h0, Wx, Wh, bx, bh)
    ours = dict(zip(["dx", "dh0", "dWx", "dWh", "dbx", "dbh"], F.gru_backward(dhs, dhT, cache)))

    gru = _torch_gru(Wx, Wh, bx, bh, dtype)
    tx, th0 = torch.tensor(x, requires_grad=True), torch.tensor(h0[None], requires_grad=True)
    ths, thT = gru(tx, th0)
    ((ths * torch.from_numpy(dhs)).sum() + (thT[0] * torch.from_numpy(dhT)).sum()).backward()

    _close(hs, ths, "hs", tol)
    _close(hT, thT[0], "hT", tol)
    for name, theirs in _torch_grads(gru, tx, th0).items():
        _close(ours[name], theirs, name, tol)


@torch_params
def test_gru_padded_batch_matches_packed_torch(dtype, tol):
    """Our mask against PyTorch's packed sequences: lengths 1..T (unsorted), same real outputs,
    same final state (the last real token's), same gradients."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    minis2s.use("numpy", dtype=dtype)
    rng = np.random.default_rng(1)
    N, T, D, H = 5, 6, 3, 4
    lengths = np.array([3, 6, 1, 4, 2])
    mask = np.arange(T)[None, :] < lengths[:, None]
    x, h0, Wx, Wh, bx, bh, dhs, dhT = _draw(rng, dtype, N, T, D, H)
    dhs = dhs * mask[:, :, None]     # the loss reads real outputs only, as PyTorch's padding is 0

    hs, hT, cache = F.gru_forward(x, h0, Wx, Wh, bx, bh, mask)
    ours = dict(zip(["dx", "dh0", "dWx", "dWh", "dbx", "dbh"], F.gru_backward(dhs, dhT, cache)))

    gru = _torch_gru(Wx, Wh, bx, bh, dtype)
    tx, th0 = torch.tensor(x, requires_grad=True), torch.tensor(h0[None], requires_grad=True)
    packed = pack_padded_sequence(tx, torch.from_numpy(lengths), batch_first=True,
                                  enforce_sorted=False)
    out, thT = gru(packed, th0)
    ths, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    ((ths * torch.from_numpy(dhs)).sum() + (thT[0] * torch.from_numpy(dhT)).sum()).backward()

    _close(hs * mask[:, :, None], ths, "hs (real steps)", tol)
    _close(hT, thT[0], "hT", tol)
    for name, theirs in _torch_grads(gru, tx, th0).items():
        _close(ours[name], theirs, name, tol)
