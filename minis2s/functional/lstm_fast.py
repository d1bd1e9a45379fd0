r"""The LSTM over a sequence, laid out for speed: the same function as lstm.py.

:func:`minis2s.functional.lstm_forward` is the teaching version: batch-first
rows, ``a = x @ Wx + h_prev @ Wh + b`` of shape (N, 4H), the four gates as
column slices. This file computes exactly the same function -- the tests hold
the two together to 1e-12 in float64, and gradient-check both -- with every
per-step array transposed, *feature-major*: one column per sentence::

    A_t = Wx^T X_t + Wh^T H_{t-1} + b      (4H, N)   X_t = x[:, t].T (D, N), H_t = h_t.T (H, N)

Why transposed: the cell's elementwise work reads and writes the four gate
blocks of A_t. In the (N, 4H) layout each block is a strided column slice; in
(4H, N) it is one contiguous run of H*N numbers, and NumPy's ufuncs run 2-4x
faster on contiguous memory (for N = H = 128: 2.5 us against 9.9 us for one
multiply of the [i, f] block). The matrix products cost the same either way:
BLAS reads a transposed view (``Wh.T``) without copying it.

The other choices, each for speed and none changing the maths:

* the input projections of all T steps are one GEMM before the loop, with the
  bias inside it as the weight of a constant input 1; only ``Wh^T H_{t-1}``
  has to wait for the previous step;
* every buffer is allocated once per call and the loop writes into it
  (``out=``): a time step allocates nothing;
* a padded step (mask 0) keeps the previous state through products with 0/1
  masks, in place (NumPy's masked copies, ``copyto(..., where=)``, are about
  5x slower on these shapes). The one difference from ``where``: an inf or NaN
  computed by the cell at a padded step would leak through 0 * inf = NaN, where
  the teaching version drops it; with finite inputs the two agree exactly;
* after the loop the weight gradients are one GEMM each over all T*N columns.

Buffers kept for the backward pass (T steps, N sentences)::

    X  (D+1, T*N)   inputs, column t*N + n is [x[n, t]; 1]
    G  (T, 4H, N)   activated gates [i; f; g; o] of each step
    Hs (T+1, H, N)  hidden states, Hs[0] = h0^T      Cs (T+1, H, N)  cell states
    TC (T, H, N)    tanh of each step's own cell state (before masking)
"""
from __future__ import annotations

from ..backend import get_array_module, get_kernels
from ..workspace import Workspace
from ._checks import check_shape
from .lstm import _check_sequence

__all__ = ["lstm_forward_fast", "lstm_backward_fast"]


def lstm_forward_fast(x, h0, c0, Wx, Wh, b, mask=None, ws: Workspace | None = None,
                      first_pad: int = 0):
    """:func:`minis2s.functional.lstm_forward`, feature-major inside; same arguments and results.

    x (N, T, D); h0, c0 (N, H); Wx (D, 4H); Wh (H, 4H); b (4H,); mask (N, T) or None.
    ws: a :class:`~minis2s.workspace.Workspace` to take the buffers from (a layer
    passes its own, so that a training step reuses last step's memory); None: fresh ones.
    first_pad: a promise that no row is padded before this time step (mask[:, :first_pad]
    is all 1), so those steps skip the mask arithmetic; a caller that knows the lengths
    on the host passes the shortest one. 0 (the default) promises nothing.
    Returns (hs (N, T, H), (hT (N, H), cT (N, H)), cache); hs and hT are
    transposed views of a fresh buffer (not C-contiguous), never workspace memory.
    """
    xp = get_array_module(x=x, h0=h0, c0=c0, Wx=Wx, Wh=Wh, b=b, mask=mask)
    cell = get_kernels(x).lstm_cell_forward
    N, T, D, H = _check_sequence("lstm_forward_fast", x, h0, c0, Wx, Wh, b, mask)
    ws = ws or Workspace()
    dt = x.dtype
    keep = pad = None
    if mask is not None:
        keep = (mask.T > 0).astype(dt)[:, None, :]        # (T, 1, N): 1 real step, 0 padded
        pad = 1.0 - keep

    # Every step's input part Wx^T X_t + b in one GEMM, the bias as the weight of a
    # constant input 1: [Wx; b]^T [X; 1]. (The backward then gets db from the same
    # GEMM as dWx, and neither pass needs its own sweep over (4H, T*N).)
    X = ws.empty("X", (D + 1, T * N), dt, xp)
    X[:D].reshape(D, T, N)[...] = x.transpose(2, 1, 0)  # column t*N + n is x[n, t]
    X[D] = 1.0
    Wb = ws.empty("Wb", (D + 1, 4 * H), dt, xp)
    Wb[:D], Wb[D] = Wx, b
    P = xp.matmul(Wb.T, X, out=ws.empty("P", (4 * H, T * N), dt, xp))
    G = ws.empty("G", (T, 4 * H, N), dt, xp)
    Cs = ws.empty("Cs", (T + 1, H, N), dt, xp)
    TC = ws.empty("TC", (T, H, N), dt, xp)
    tmp = ws.empty("tmp", (H, N), dt, xp)
    Hs = xp.empty((T + 1, H, N), dtype=dt)              # fresh: the outputs are views of it
    Hs[0], Cs[0] = h0.T, c0.T
    for t in range(T):
        xp.matmul(Wh.T, Hs[t], out=G[t])                # A_t = Wh^T H_{t-1} ...
        G[t] += P[:, t * N:(t + 1) * N]                 #     + Wx^T X_t + b
        cell(G[t], Cs[t], Cs[t + 1], TC[t], Hs[t + 1], gate_axis=0)
        if keep is not None and t >= first_pad:         # padded sentences keep their state:
            for S in (Hs, Cs):                          # S_t <- keep * S_t + pad * S_{t-1}
                S[t + 1] *= keep[t]                     # (products with 0/1: exact for finite
                xp.multiply(S[t], pad[t], out=tmp)      # values; a masked copy is 5x slower)
                S[t + 1] += tmp

    cache = (X, Wx, Wh, G, Hs, Cs, TC, keep, pad, first_pad, ws)
    return Hs[1:].transpose(2, 0, 1), (Hs[T].T, Cs[T].T.copy()), cache


def lstm_backward_fast(dhs, dhT, dcT, cache, out=None):
    """:func:`minis2s.functional.lstm_backward` for :func:`lstm_forward_fast`; same arguments and results.

    dhs (N, T, H) or None (no loss reads the outputs); dhT, dcT (N, H) or None.
    out: (dWx, dWh, db) arrays to write the weight gradients into (a layer passes its
    preallocated gradients); None: fresh arrays.
    Returns (dx (N, T, D), dh0 (N, H), dc0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)),
    never workspace memory. Uses the forward's workspace for its own buffers.
    """
    X, Wx, Wh, G, Hs, Cs, TC, keep, pad, first_pad, ws = cache
    T, H, N = TC.shape
    D = Wx.shape[0]
    dt = TC.dtype
    xp = get_array_module(dhs=dhs, dhT=dhT, dcT=dcT, Wx=Wx)
    cell = get_kernels(Wx).lstm_cell_backward
    dHs = None
    if dhs is not None:
        check_shape("lstm_backward_fast", "dhs", dhs, (N, T, H), "(N, T, H)")
        dHs = ws.empty("dHs", (T, H, N), dt, xp)
        dHs[...] = dhs.transpose(1, 2, 0)

    # dh and dc flow backwards through time, each in one of two buffers swapped every step.
    dh_bufs = [ws.empty(f"dh{k}", (H, N), dt, xp) for k in range(2)]
    dc_bufs = [ws.empty(f"dc{k}", (H, N), dt, xp) for k in range(2)]
    dh_bufs[0][...] = 0.0 if dhT is None else dhT.T
    dc_bufs[0][...] = 0.0 if dcT is None else dcT.T
    dh_sum, dh_in, dc_in, carry = (ws.empty(name, (H, N), dt, xp)
                                   for name in ("dh_sum", "dh_in", "dc_in", "carry"))
    dA = ws.empty("dA", (T, 4 * H, N), dt, xp)
    for s, t in enumerate(reversed(range(T))):
        dh_next, dc_next = dh_bufs[s % 2], dc_bufs[s % 2]      # into H_t and C_t from step t+1
        dh_prev, dc_prev = dh_bufs[1 - s % 2], dc_bufs[1 - s % 2]
        dh = dh_next
        if dHs is not None:                                   # H_t also feeds the output at t
            dh = xp.add(dHs[t], dh_next, out=dh_sum)
        if keep is None or t < first_pad:
            cell(dh, dc_next, G[t], Cs[t], TC[t], dA[t], dc_prev, gate_axis=0)
            xp.matmul(Wh, dA[t], out=dh_prev)                 # dH_{t-1} = Wh dA_t
            continue
        # S_t = keep * cell(S_{t-1}) + pad * S_{t-1}: the cell gets keep * (dh, dc),
        xp.multiply(dh, keep[t], out=dh_in)
        xp.multiply(dc_next, keep[t], out=dc_in)
        cell(dh_in, dc_in, G[t], Cs[t], TC[t], dA[t], dc_prev, gate_axis=0)
        xp.matmul(Wh, dA[t], out=dh_prev)
        # and pad * (dh, dc) goes straight through to step t-1
        dh_prev += xp.multiply(dh, pad[t], out=carry)
        dc_prev += xp.multiply(dc_next, pad[t], out=carry)
    dh0, dc0 = dh_bufs[T % 2].T.copy(), dc_bufs[T % 2].T.copy()

    # Every step used the same weights: sum over t and n in one GEMM each.
    dA2 = ws.empty("dA2", (4 * H, T * N), dt, xp)
    dA2.reshape(4 * H, T, N)[...] = dA.transpose(1, 0, 2)     # column t*N + n, as in X
    H_prev = ws.empty("H_prev", (H, T * N), dt, xp)
    H_prev.reshape(H, T, N)[...] = Hs[:T].transpose(1, 0, 2)  # H_{t-1} in the same columns
    dx = (Wx @ dA2).reshape(D, T, N).transpose(2, 1, 0)
    shapes = {"dWx": (D, 4 * H), "dWh": (H, 4 * H), "db": (4 * H,)}
    if out is None:
        out = tuple(xp.empty(shape, dtype=dt) for shape in shapes.values())
    for (name, shape), a in zip(shapes.items(), out):
        check_shape("lstm_backward_fast", f"out ({name})", a, shape, str(shape))
    dWx, dWh, db = out
    dWb = xp.matmul(X, dA2.T, out=ws.empty("dWb", (D + 1, 4 * H), dt, xp))
    dWx[...], db[...] = dWb[:D], dWb[D]                        # [dWx; db]: X's last row is 1
    xp.matmul(H_prev, dA2.T, out=dWh)
    return dx, dh0, dc0, dWx, dWh, db
