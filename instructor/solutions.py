r"""Reference solutions to the minis2s exercises -- FOR INSTRUCTORS, not shipped to students.

This file lives outside the ``minis2s`` package, so ``pip install`` does not
install it, and instructor/make_student_edition.py leaves it out of the
student bundle. It is also a valid submission: ``minis2s grade
instructor/solutions.py`` must give full marks (tests/test_grading.py checks).

Written to be read: one idea per line, NumPy only, and the comments name the
equations of docs/derivations.md. The checker never uses them -- it compares
with numerical gradients and with the library -- but the tests check that every
one of them passes.
"""
from __future__ import annotations

from collections import Counter
import math

import numpy as np


# --- 1. softmax cross-entropy ------------------------------------------------------------

def softmax_cross_entropy(logits, targets, ignore_index):
    """(loss, dlogits): mean -log p[target] over the real rows, and (p - onehot) / M' there."""
    V = logits.shape[-1]
    z = logits.reshape(-1, V)
    y = targets.reshape(-1)
    z = z - z.max(axis=1, keepdims=True)                     # stable: no exp overflow
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))  # log-softmax
    real = y != ignore_index
    count = max(int(real.sum()), 1)                          # M': the real rows only
    rows = np.arange(len(y))[real]
    loss = -logp[rows, y[real]].sum() / count
    dz = np.exp(logp)                                        # p
    dz[rows, y[real]] -= 1.0                                 # p - onehot(y)
    dz[~real] = 0.0                                          # padding contributes nothing
    return loss, (dz / count).reshape(logits.shape)


# --- 2. embedding --------------------------------------------------------------------------

def embedding_backward(dout, cache):
    """dW (V, E): each row collects the sum of dout over the positions that looked it up."""
    ids, V = cache
    E = dout.shape[-1]
    dW = np.zeros((V, E))
    # scatter-add: np.add.at adds once per occurrence; dW[ids] += dout would keep only one
    np.add.at(dW, ids.reshape(-1), dout.reshape(-1, E))
    return dW


# --- 3-4. the vanilla RNN ------------------------------------------------------------------------

def rnn_step_backward(dh, cache):
    """(da, dh_prev) for h = tanh(a_x + h_prev Wh)."""
    h_prev, Wh, h = cache
    da = dh * (1.0 - h ** 2)                     # tanh' = 1 - tanh^2
    return da, da @ Wh.T


def rnn_backward(dhs, dhT, cache):
    """BPTT: h_t feeds the loss at t and step t+1, so its gradient is the sum of both."""
    proj, h0, Wh, steps, hs, mask = cache
    T, N, H = hs.shape
    das = [None] * T
    dh_next = dhT
    for t in reversed(range(T)):
        dh = dhs[:, t] + dh_next
        real = mask[:, t, None] > 0                 # a padded step copied its state
        das[t], dh_prev = rnn_step_backward(np.where(real, dh, 0.0), steps[t])
        dh_next = dh_prev + np.where(real, 0.0, dh)
    da = np.stack(das).reshape(T * N, H)            # time-major rows, like proj.x_rows
    h_prevs = np.concatenate([h0[None], hs[:-1]]).reshape(T * N, H)
    x_rows, x_shape, Wx = proj                      # shared weights: one sum over all steps
    dx = da @ Wx.T                                  # (T*N, D): back to (N, T, D)
    return (dx.reshape(T, N, -1).transpose(1, 0, 2), dh_next, x_rows.T @ da, h_prevs.T @ da,
            da.sum(axis=0))


# --- 5-7. the LSTM -------------------------------------------------------------------------------

def _sigmoid(x):
    """1 / (1 + exp(-x)), written with tanh so that it never overflows."""
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def lstm_step_forward(a_x, h_prev, c_prev, Wh):
    """(h, c) of one step, gate order i, f, g, o."""
    H = h_prev.shape[1]
    a = a_x + h_prev @ Wh
    i, f, o = (_sigmoid(a[:, k * H:(k + 1) * H]) for k in (0, 1, 3))
    g = np.tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * g
    return o * np.tanh(c), c


def lstm_step_backward(dh, dc, cache):
    """(da, dh_prev, dc_prev) for one step."""
    h_prev, c_prev, Wh, i, f, g, o, c, tanh_c = cache
    # c reaches the loss directly (dc) and through h = o * tanh(c)
    dc_total = dc + dh * o * (1.0 - tanh_c ** 2)
    di = dc_total * g                            # c = f * c_prev + i * g
    df = dc_total * c_prev
    dg = dc_total * i
    do = dh * tanh_c                             # h = o * tanh(c)
    # back through the nonlinearities: sigmoid' = s (1 - s), tanh' = 1 - tanh^2
    da_i = di * i * (1.0 - i)
    da_f = df * f * (1.0 - f)
    da_g = dg * (1.0 - g ** 2)
    da_o = do * o * (1.0 - o)
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)
    dc_prev = dc_total * f
    dh_prev = da @ Wh.T                          # a = a_x + h_prev @ Wh
    return da, dh_prev, dc_prev


def lstm_backward(dhs, dhT, dcT, cache):
    """(dx, dh0, dc0, dWx, dWh, db) through time, mask included."""
    proj, h0, Wh, steps, hs, mask = cache
    T, N, H = hs.shape
    das = [None] * T
    dh_next, dc_next = dhT, dcT                  # from the future: the final state's gradient
    for t in reversed(range(T)):
        dh = dhs[:, t] + dh_next                 # h_t feeds the output at t and step t+1
        dc = dc_next
        real = np.ones((N, 1), bool) if mask is None else mask[:, t, None] > 0   # real tokens
        # a real row's gradient goes through the cell ...
        das[t], dh_prev, dc_prev = lstm_step_backward(np.where(real, dh, 0.0),
                                                      np.where(real, dc, 0.0), steps[t])
        # ... a padded row copied its state: its gradient skips the cell, straight to step t-1
        dh_next = dh_prev + np.where(real, 0.0, dh)
        dc_next = dc_prev + np.where(real, 0.0, dc)
    # shared weights: sums over t, one product each with the steps stacked time-major as rows
    da = np.stack(das).reshape(T * N, 4 * H)
    h_prevs = np.concatenate([h0[None], hs[:-1]]).reshape(T * N, H)
    x_rows, x_shape, Wx = proj
    dx = da @ Wx.T
    dWx = x_rows.T @ da
    dWh = h_prevs.T @ da                         # h_prev, the step's input -- not its output h
    db = da.sum(axis=0)                          # b was added to every row of the batch
    return dx.reshape(T, N, -1).transpose(1, 0, 2), dh_next, dc_next, dWx, dWh, db


# --- 8-9. the peeky decoder -----------------------------------------------------------------------

def peek_backward(dout, cache):
    """(da, dctx): split at column K; ctx was used at all T steps, so sum its T gradients."""
    K = cache
    return dout[:, :, :K], dout[:, :, K:].sum(axis=1)


def peeky_decoder_backward(cache):
    """The decoder's parameter gradients, and (dh_enc, dc_enc) for the encoder."""
    p = cache["params"]
    H = p["Wh"].shape[0]
    E = p["W_emb"].shape[1]
    V = p["W_out"].shape[1]
    _, dlogits = softmax_cross_entropy(cache["logits"], cache["y_out"], cache["pad_id"])
    # logits = z @ W_out + b_out, z = [hs ; ctx]
    z = cache["z"]
    dW_out = z.reshape(-1, 2 * H).T @ dlogits.reshape(-1, V)
    db_out = dlogits.sum(axis=(0, 1))
    dhs, dctx_out = peek_backward(dlogits @ p["W_out"].T, cache["peek_out"])     # output side
    N = dhs.shape[0]
    zeros = np.zeros((N, H))                     # the decoder's final state feeds nothing
    dx, dh0, dc0, dWx, dWh, db = lstm_backward(dhs, zeros, zeros, cache["lstm"])
    de, dctx_in = peek_backward(dx, cache["peek_in"])                            # input side
    dW_emb = embedding_backward(de, cache["embed"])
    # ctx = h0 was read T times at the input, T times at the output, and started the LSTM
    dh_enc = dh0 + dctx_in + dctx_out
    return dW_emb, dWx, dWh, db, dW_out, db_out, dh_enc, dc0


# --- 10-12. attention: the masked softmax, then Luong's dot attention -----------------------------------

def masked_softmax_forward(scores, mask):
    """alpha: a softmax over s where padding gets weight exactly 0, whatever its score."""
    real = mask[:, None, :] > 0                  # (N, 1, S): the same for every step t
    masked = np.where(real, scores, -np.inf)     # exp(-inf) = 0 exactly, not merely small
    shifted = masked - masked.max(axis=2, keepdims=True)   # the maximum of the real scores only
    e = np.exp(shifted)
    return e / e.sum(axis=2, keepdims=True)


def masked_softmax_backward(dalpha, cache):
    """dscores = alpha * (dalpha - sum_s dalpha * alpha): 0 wherever alpha is 0 (padding)."""
    alpha = cache                                # the weights themselves
    # every weight of a row depends on every score of the row: the whole Jacobian
    return alpha * (dalpha - (dalpha * alpha).sum(axis=2, keepdims=True))


def attention_backward(dh_tilde, cache):
    """(dh, dhs, dkeys, {"Wc": dWc}) for h_tilde = tanh([alpha @ hs ; h] @ Wc),
    alpha = softmax(h @ keys^T) (the dot score, Luong's output)."""
    score, output, (h, keys), alpha, (_, hs), (ctx_h, Wc, h_tilde, He) = cache
    H = h.shape[2]
    # h_tilde = tanh(ctx_h @ Wc)
    dpre = dh_tilde * (1.0 - h_tilde ** 2)
    dctx_h = dpre @ Wc.T
    dWc = ctx_h.reshape(-1, 2 * H).T @ dpre.reshape(-1, H)   # summed over every (n, t)
    dctx, dh_direct = dctx_h[..., :H], dctx_h[..., H:]        # ctx_h = [ctx ; h]
    # ctx = alpha @ hs: hs as the values
    dalpha = dctx @ hs.transpose(0, 2, 1)
    dhs_values = alpha.transpose(0, 2, 1) @ dctx
    dscores = masked_softmax_backward(dalpha, alpha)
    # scores = h @ keys^T
    dh_score = dscores @ keys
    dkeys = dscores.transpose(0, 2, 1) @ h
    # h is used twice: its gradients add
    return dh_direct + dh_score, dhs_values, dkeys, {"Wc": dWc}


# --- 13-14. clipping, and the extra: Adam --------------------------------------------------------------

def clip_gradients(dWx, dWh, db, max_norm):
    """Scale all three by max_norm / (norm + 1e-6) when their joint norm exceeds max_norm."""
    norm = math.sqrt(sum(float((g ** 2).sum()) for g in (dWx, dWh, db)))
    if norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        dWx, dWh, db = dWx * scale, dWh * scale, db * scale
    return dWx, dWh, db, norm


def adam_update(p, g, m, v, t, lr, beta1, beta2, eps):
    """(p_new, m_new, v_new): one bias-corrected Adam step, eps outside the root as in torch."""
    m = beta1 * m + (1.0 - beta1) * g            # running mean of g
    v = beta2 * v + (1.0 - beta2) * g * g        # running mean of g^2
    m_hat = m / (1.0 - beta1 ** t)               # m, v start at 0: undo that bias
    v_hat = v / (1.0 - beta2 ** t)
    p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p, m, v


# --- 15-16. decoding ------------------------------------------------------------------------------

def greedy_search(step, state, sos_id, eos_id, max_len):
    """The most probable token at every step, all N sentences in lock-step."""
    N = state[0].shape[0]
    tokens = np.full(N, sos_id)
    finished = np.zeros(N, dtype=bool)
    scores = np.zeros(N)
    out = [[] for _ in range(N)]
    for _ in range(max_len):
        logp, state = step(tokens, state)
        tokens = logp.argmax(axis=1)
        scores += np.where(finished, 0.0, logp[np.arange(N), tokens])
        for n in np.flatnonzero(~finished & (tokens != eos_id)):
            out[n].append(int(tokens[n]))
        finished |= tokens == eos_id
        if finished.all():
            break
    return out, scores


def _beam_one(step, state, sos_id, eos_id, max_len, k):
    """Beam search for one sentence; state arrays (1, H). Returns (tokens, score)."""
    hyps = [([], 0.0, False)]                    # (tokens, score, finished): one to start with
    for _ in range(max_len):
        live = [b for b, (_, _, done) in enumerate(hyps) if not done]
        if not live:
            break
        logp, new_state = step(np.array([hyps[b][0][-1] if hyps[b][0] else sos_id for b in live]),
                               tuple(s[live] for s in state))
        candidates = [(score, toks, True, None) for toks, score, done in hyps if done]
        for row, b in enumerate(live):
            toks, score, _ = hyps[b]
            for v in np.flatnonzero(np.isfinite(logp[row])):
                candidates.append((score + logp[row, v], toks + [int(v)], int(v) == eos_id, row))
        candidates.sort(key=lambda c: -c[0])
        best = candidates[:k]
        keep = [c[3] if c[3] is not None else 0 for c in best]   # finished ones need no state
        state = tuple(s[keep] for s in new_state)
        hyps = [(toks, score, done) for score, toks, done, _ in best]
    toks, score, _ = max(hyps, key=lambda h: h[1])
    return (toks[:-1] if toks and toks[-1] == eos_id else toks), score


def beam_search(step, state, sos_id, eos_id, max_len, beam_size):
    """The best of beam_size hypotheses per sentence, one sentence at a time."""
    out, scores = [], []
    for n in range(state[0].shape[0]):
        toks, score = _beam_one(step, tuple(s[n:n + 1] for s in state), sos_id, eos_id,
                                max_len, beam_size)
        out.append(toks)
        scores.append(score)
    return out, np.array(scores)


# --- 17. BLEU -------------------------------------------------------------------------------------

def corpus_bleu(hypotheses, references):
    """(bleu, precisions, bp): clipped n-gram precisions summed over the corpus, brevity penalty."""
    def ngrams(tokens, n):
        return Counter(tuple(tokens[k:k + n]) for k in range(len(tokens) - n + 1))

    matches, totals = [0] * 4, [0] * 4
    c = r = 0
    for hyp, ref in zip(hypotheses, references):
        c, r = c + len(hyp), r + len(ref)
        for n in range(1, 5):
            h = ngrams(hyp, n)
            matches[n - 1] += sum((h & ngrams(ref, n)).values())   # & keeps the smaller count
            totals[n - 1] += sum(h.values())
    precisions = [m / t if t else 0.0 for m, t in zip(matches, totals)]
    bp = 1.0 if c >= r else math.exp(1.0 - r / c)
    if min(precisions) == 0.0:
        return 0.0, precisions, bp
    return 100.0 * bp * math.exp(sum(math.log(p) for p in precisions) / 4), precisions, bp


# --- 18. the GRU -----------------------------------------------------------------------------------

def gru_step_backward(dh, cache):
    """(da_x, dh_prev, da_h) for h = (1 - z) n + z h_prev, gate order r, z, n (PyTorch's)."""
    h_prev, Wh, r, z, n, a_hn = cache
    d_n = dh * (1.0 - z)                         # h is a blend: product rule on each share
    d_z = dh * (h_prev - n)
    da_n = d_n * (1.0 - n ** 2)                  # tanh' = 1 - tanh^2
    d_r = da_n * a_hn                            # r scales a_hn inside n's pre-activation
    da_r = d_r * r * (1.0 - r)                   # sigmoid' = s (1 - s)
    da_z = d_z * z * (1.0 - z)
    da_x = np.concatenate([da_r, da_z, da_n], axis=1)
    da_h = np.concatenate([da_r, da_z, da_n * r], axis=1)   # the n block went through r
    return da_x, dh * z + da_h @ Wh.T, da_h      # h_prev: the direct path plus the one via a_h
