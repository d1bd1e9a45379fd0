"""Parity with torch.nn.LSTM: same weights in, same outputs and gradients out.

PyTorch is an independent oracle (its LSTM and autograd share no code with
ours). Skipped when torch is not installed; .ci/run installs the CPU build.
"""
import numpy as np
import pytest

import minis2s
from minis2s.layers import LSTM

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 1e-5)])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_lstm_matches_torch(dtype, tol, n_layers):
    minis2s.use("numpy", dtype=dtype)
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 6, 4, 5
    ours = LSTM(D, H, rng, n_layers=n_layers, init="scaled")
    theirs = torch.nn.LSTM(D, H, num_layers=n_layers, batch_first=True).to(getattr(torch, dtype))
    with torch.no_grad():  # ours -> theirs: W.T, and our single bias split as b_ih = b, b_hh = 0
        for l in range(n_layers):
            getattr(theirs, f"weight_ih_l{l}").copy_(torch.from_numpy(ours.params[f"{l}.Wx"].T))
            getattr(theirs, f"weight_hh_l{l}").copy_(torch.from_numpy(ours.params[f"{l}.Wh"].T))
            getattr(theirs, f"bias_ih_l{l}").copy_(torch.from_numpy(ours.params[f"{l}.b"]))
            getattr(theirs, f"bias_hh_l{l}").zero_()
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0, c0 = (rng.standard_normal((n_layers, N, H)).astype(dtype) for _ in range(2))
    dhs = rng.standard_normal((N, T, H)).astype(dtype)
    dhT, dcT = (rng.standard_normal((n_layers, N, H)).astype(dtype) for _ in range(2))

    hs, (hT, cT), cache = ours.forward(x, (h0, c0))
    dx, (dh0, dc0) = ours.backward(dhs, (dhT, dcT), cache)

    tx, th0, tc0 = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    ths, (thT, tcT) = theirs(tx, (th0, tc0))
    (ths * torch.from_numpy(dhs)).sum().add((thT * torch.from_numpy(dhT)).sum()) \
        .add((tcT * torch.from_numpy(dcT)).sum()).backward()

    def close(a, b, what):
        b = b.detach().numpy()
        err = np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)
        assert err <= tol, f"{what}: relative difference {err:.2e} > {tol:.0e}"

    close(hs, ths, "hs"); close(hT, thT, "hT"); close(cT, tcT, "cT")
    close(dx, tx.grad, "dx"); close(dh0, th0.grad, "dh0"); close(dc0, tc0.grad, "dc0")
    for l in range(n_layers):
        close(ours.grads[f"{l}.Wx"], getattr(theirs, f"weight_ih_l{l}").grad.T, f"{l}.Wx")
        close(ours.grads[f"{l}.Wh"], getattr(theirs, f"weight_hh_l{l}").grad.T, f"{l}.Wh")
        close(ours.grads[f"{l}.b"], getattr(theirs, f"bias_ih_l{l}").grad, f"{l}.b")
