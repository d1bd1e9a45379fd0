r"""Elementwise kernels as in-place NumPy ufuncs (NumPy and the strict double).

The LSTM cell (forward and backward), the Adam update, the sum of squares of
the gradient-norm clip and the softmax cross-entropy over rows.
:mod:`minis2s.kernels.cuda` has the same functions as fused CUDA kernels.

The cell, for pre-activations ``a`` split into four gate blocks (order i, f, g, o)::

    i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
    c = f * c_prev + i * g
    h = o * tanh(c)

and its backward, given dh and dc flowing into (h, c) (docs/derivations.md, "LSTM")::

    dc_total = dc + dh * o * (1 - tanh(c)^2)
    da_i = dc_total * g * i * (1 - i)        da_f = dc_total * c_prev * f * (1 - f)
    da_g = dc_total * i * (1 - g^2)          da_o = dh * tanh(c) * o * (1 - o)
    dc_prev = dc_total * f

Layout: the four blocks lie along ``gate_axis`` of ``a`` -- axis 1 for the
batch-first ``(N, 4H)`` arrays of the teaching path (functional/lstm.py), axis 0
for the feature-major ``(4H, N)`` arrays of the fast path (functional/lstm_fast.py),
where each block is one contiguous run of memory.

Every output is written in place into an array the caller preallocated, with
``out=`` ufuncs that allocate nothing: on arrays of a few hundred kB, allocation
and the first touch of fresh pages cost as much as the arithmetic. Outputs must
not alias inputs (except ``a``, which is activated in place on purpose).
"""
from __future__ import annotations

from ..backend import get_array_module

__all__ = ["gate_blocks", "lstm_cell_forward", "lstm_cell_backward", "adam_update",
           "sum_of_squares", "softmax_cross_entropy_rows", "CHUNK"]


def _block(a, axis: int, start: int, stop: int):
    """``a[start:stop]`` along ``axis`` (a view)."""
    return a[(slice(None),) * axis + (slice(start, stop),)]


def gate_blocks(a, gate_axis: int):
    """The four gate blocks (i, f, g, o) of ``a``, views along ``gate_axis``."""
    H = a.shape[gate_axis] // 4
    return tuple(_block(a, gate_axis, k * H, (k + 1) * H) for k in range(4))


def _sigmoid_(xp, a):
    """a <- sigmoid(a) in place, as 0.5 * tanh(a / 2) + 0.5.

    The identity avoids exp(-a), which overflows for large negative a; tanh
    saturates cleanly instead, so no warnings and no inf/inf.
    """
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def lstm_cell_forward(a, c_prev, c, tanh_c, h, gate_axis: int) -> None:
    """Activate the gates of ``a`` in place and write the new state into c, tanh_c, h.

    a: pre-activations, four blocks of c_prev's shape along ``gate_axis``; on
    return it holds the activated gates [i, f, g, o] (what the backward needs).
    c_prev: the previous cell state. c, tanh_c, h: outputs, c_prev's shape.
    """
    xp = get_array_module(a)
    H = c_prev.shape[gate_axis]
    _sigmoid_(xp, _block(a, gate_axis, 0, 2 * H))      # i and f: adjacent, one pass
    g_block = _block(a, gate_axis, 2 * H, 3 * H)
    xp.tanh(g_block, out=g_block)                      # g
    _sigmoid_(xp, _block(a, gate_axis, 3 * H, 4 * H))  # o
    i, f, g, o = gate_blocks(a, gate_axis)
    xp.multiply(f, c_prev, out=c)                      # c = f * c_prev + i * g
    xp.multiply(i, g, out=tanh_c)                      #   (tanh_c is free scratch until the next line)
    c += tanh_c
    xp.tanh(c, out=tanh_c)
    xp.multiply(o, tanh_c, out=h)                      # h = o * tanh(c)


def lstm_cell_backward(dh, dc, gates, c_prev, tanh_c, da, dc_prev, gate_axis: int) -> None:
    """Write the gradient of the pre-activations into ``da`` and of c_prev into ``dc_prev``.

    dh, dc: gradients flowing into h and c; gates: the activated [i, f, g, o]
    from :func:`lstm_cell_forward`; c_prev, tanh_c: from the same forward.
    da (gates' shape) and dc_prev (c_prev's shape): outputs.
    """
    xp = get_array_module(dh)
    i, f, g, o = gate_blocks(gates, gate_axis)
    da_i, da_f, da_g, da_o = gate_blocks(da, gate_axis)
    dc_total = dc_prev                               # dc_prev holds dc_total until the last line
    xp.multiply(tanh_c, tanh_c, out=dc_total)        # dc_total = dc + dh * o * (1 - tanh_c^2)
    xp.subtract(1.0, dc_total, out=dc_total)
    dc_total *= o
    dc_total *= dh
    dc_total += dc
    xp.subtract(1.0, i, out=da_i)                    # da_i = dc_total * g * i * (1 - i)
    da_i *= i
    da_i *= g
    da_i *= dc_total
    xp.subtract(1.0, f, out=da_f)                    # da_f = dc_total * c_prev * f * (1 - f)
    da_f *= f
    da_f *= c_prev
    da_f *= dc_total
    xp.multiply(g, g, out=da_g)                      # da_g = dc_total * i * (1 - g^2)
    xp.subtract(1.0, da_g, out=da_g)
    da_g *= i
    da_g *= dc_total
    xp.subtract(1.0, o, out=da_o)                    # da_o = dh * tanh_c * o * (1 - o)
    da_o *= o
    da_o *= tanh_c
    da_o *= dh
    dc_total *= f                                    # dc_prev = dc_total * f


# --- optimiser and norm: whole parameter arrays, in cache-sized chunks -------------------
# An Adam step makes a dozen passes over every parameter, its gradient and both moment
# buffers. Over whole multi-megabyte arrays each pass streams from main memory; over
# chunks of CHUNK elements (256 kB per float32 array, all five under 2 MB) the later
# passes find their data in the core's L2 cache. On the B benchmark model (7.2 M
# parameters) that took the Adam step from 24.6 ms to 16.2 ms.
CHUNK = 65536


def _chunks(size: int):
    """Slices covering range(size) in pieces of at most CHUNK."""
    return [slice(s, min(s + CHUNK, size)) for s in range(0, size, CHUNK)]


def adam_update(p, g, m, v, scratch, beta1: float, beta2: float, eps_hat: float,
                step_hat: float) -> None:
    """One Adam update of p, m and v in place (minis2s/optim/adam.py has the maths).

    p, g, m, v: the parameter, its gradient and moments, all C-contiguous and of one
    shape; scratch: a contiguous array of at least min(p.size, CHUNK) elements.
    With the bias corrections folded into two scalars by the caller::

        m <- b1 m + (1 - b1) g
        v <- b2 v + (1 - b2) g^2
        p <- p - step_hat * m / (sqrt(v) + eps_hat)
    """
    xp = get_array_module(p)
    flat = [a.reshape(-1) for a in (p, g, m, v)]       # views: the arrays are contiguous
    for s in _chunks(p.size):
        pc, gc, mc, vc = (a[s] for a in flat)
        tmp = scratch[:pc.size]
        mc *= beta1                                     # m <- b1 m + (1 - b1) g
        xp.multiply(gc, 1.0 - beta1, out=tmp)
        mc += tmp
        vc *= beta2                                     # v <- b2 v + (1 - b2) g^2
        xp.multiply(gc, gc, out=tmp)
        tmp *= 1.0 - beta2
        vc += tmp
        xp.sqrt(vc, out=tmp)                            # p <- p - step_hat m / (sqrt(v) + eps_hat)
        tmp += eps_hat
        xp.divide(mc, tmp, out=tmp)
        tmp *= step_hat
        pc -= tmp


def sum_of_squares(g):
    """sum(g ** 2) as a 0-d float64 array, with no temporary the size of g (if g is contiguous).

    Each chunk's sum of squares is a BLAS dot product in g's own precision, and the
    chunks add up in float64. In float32 that keeps the relative error near 1e-7
    (64 k terms per dot, not millions) at a fifth of the cost of converting every
    chunk to float64 (1.1 ms against 5.8 ms for 7 M gradients). The price: a chunk
    whose squares sum past float32's range (entries around 1e17 and up) makes the
    total inf, and clip_grad_norm then reports a non-finite norm, as for any
    diverged step. (The CUDA kernel squares in float64 and does not overflow.)
    """
    xp = get_array_module(g)
    flat = g.reshape(-1)
    total = xp.zeros((), dtype=xp.float64)
    for s in _chunks(flat.size):
        total += flat[s] @ flat[s]
    return total


# --- softmax cross-entropy: rows in cache-sized blocks ---------------------------------

def softmax_cross_entropy_rows(z, y, scale, dz):
    """Per row m: dz[m] = scale[m] * (softmax(z[m]) - onehot(y[m])); returns the 0-d
    array sum_m scale[m] * -log softmax(z[m])[y[m]] (the weighted loss).

    z (M, V) logits (left untouched); y (M,) int, valid ids; scale (M,) row weights
    (0 drops a row); dz (M, V) output. One exp per logit; the max shift keeps it
    finite. The rows go in blocks of about 2 * CHUNK numbers, so that the five
    passes over a block after the first find it in cache (9.2 -> 7.0 ms for
    1216 x 4000 logits).
    """
    xp = get_array_module(z)
    M, V = z.shape
    step = max(1, 2 * CHUNK // V)
    loss = xp.zeros((), dtype=z.dtype)
    for s in range(0, M, step):
        zb, pb, yb, wb = z[s:s + step], dz[s:s + step], y[s:s + step], scale[s:s + step]
        rows = xp.arange(zb.shape[0])
        xp.subtract(zb, zb.max(axis=1, keepdims=True), out=pb)   # shifted logits
        picked = pb[rows, yb]                                    # shifted logit of each target
        xp.exp(pb, out=pb)
        sums = pb.sum(axis=1)
        loss += ((xp.log(sums) - picked) * wb).sum()             # -log p[y] = log sum - shifted z[y]
        pb *= (wb / sums)[:, None]                               # scale * softmax
        pb[rows, yb] -= wb                                       # ... - scale * onehot(y)
    return loss
