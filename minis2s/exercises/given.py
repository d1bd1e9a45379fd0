r"""The forward passes that remain outside the engine: what the last exercises still need.

Most exercises are minis2s's own functions, on the engine's caches (docs/exercises.md).
What is left here: the loss (the oracle of ``softmax_cross_entropy`` and the peeky decoder's
loss), the masked softmax (the oracle of ``masked_softmax_forward``), the LSTM step (the
oracle of ``lstm_step_forward``), and the decoder step and encoder the search exercises'
``step`` runs -- in the grader's sandbox, where minis2s itself cannot be imported.

This file imports NumPy and nothing else, so that the autograder can load it
into a sandbox where minis2s itself is not importable. Shapes: N batch, T time
steps, D input size, H hidden size, V vocabulary, E embedding size, S source
positions (attention). Gate order i, f, g, o (PyTorch's, as in minis2s).
"""
from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "log_softmax", "cross_entropy_loss", "embedding_forward",
           "lstm_step_forward", "lstm_forward",
           "masked_softmax_forward",
           "decoder_step", "encode",
           "make_step", "prepare"]


def sigmoid(x):
    """1 / (1 + exp(-x)), written as 0.5 * (1 + tanh(x / 2)) so it never overflows."""
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def log_softmax(z):
    """log softmax over the last axis, stable: the row maximum is subtracted first."""
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


# --- losses and lookups ------------------------------------------------------------

def cross_entropy_loss(logits, targets, ignore_index):
    """Mean of -log p[target] over the positions whose target is not ``ignore_index``.

    logits (N, T, V), targets (N, T) int. Returns a 0-d array.
    """
    V = logits.shape[-1]
    logp = log_softmax(logits.reshape(-1, V))
    y = targets.reshape(-1)
    real = y != ignore_index
    return np.asarray(-logp[real, y[real]].sum() / max(int(real.sum()), 1))


def embedding_forward(ids, W):
    """out[n, t] = W[ids[n, t]]: ids (N, T) int, W (V, E) -> (N, T, E)."""
    return W[ids]


# --- the LSTM ------------------------------------------------------------------------

def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step (the equations of docs/derivations.md, section "LSTM").

    x (N, D), h_prev (N, H), c_prev (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns (h (N, H), c (N, H), cache) with cache = {"x", "h_prev", "c_prev",
    "Wx", "Wh", "i", "f", "g", "o", "c", "tanh_c"}: the inputs, the four
    *activated* gates, each (N, H), the new cell state and its tanh.
    """
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b                    # (N, 4H) pre-activations
    i = sigmoid(a[:, 0 * H:1 * H])
    f = sigmoid(a[:, 1 * H:2 * H])
    g = np.tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:4 * H])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    cache = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "Wx": Wx, "Wh": Wh,
             "i": i, "f": f, "g": g, "o": o, "c": c, "tanh_c": tanh_c}
    return h, c, cache


def lstm_forward(x, h0, c0, Wx, Wh, b, mask=None):
    """The LSTM over a padded batch.

    x (N, T, D); h0, c0 (N, H); mask (N, T), 1 = real token, 0 = padding (None: all real).
    At a padded step the state passes through unchanged::

        h_t = m_t * h_cell + (1 - m_t) * h_{t-1}        (the same for c_t)

    where (h_cell, c_cell) is what lstm_step_forward computed from (h_{t-1}, c_{t-1}).
    Returns (hs (N, T, H), (hT, cT), cache) with cache = {"steps": [the
    lstm_step_forward cache of step t], "m": (N, T) float mask}.
    """
    N, T, _ = x.shape
    m = np.ones((N, T)) if mask is None else np.asarray(mask, dtype=np.float64)
    h, c, hs, steps = h0, c0, [], []
    for t in range(T):
        h_cell, c_cell, step_cache = lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        keep = m[:, t:t + 1]                         # (N, 1)
        h = keep * h_cell + (1.0 - keep) * h
        c = keep * c_cell + (1.0 - keep) * c
        hs.append(h)
        steps.append(step_cache)
    return np.stack(hs, axis=1), (h, c), {"steps": steps, "m": m}


# --- attention (Luong's, with the dot score) -------------------------------------------------

def masked_softmax_forward(scores, mask):
    """Softmax over the source positions s; padding gets weight exactly 0.

    scores (N, T, S); mask (N, S), 1 = real token, 0 = padding (every row has a real one).
    Padded scores become -inf, so their exp is exactly 0, and the maximum subtracted
    against overflow is taken over the real positions only (docs/derivations.md,
    section "Attention").
    Returns (alpha (N, T, S), cache) with cache = {"scores", "mask", "alpha"}.
    """
    real = np.asarray(mask)[:, None, :] > 0                  # (N, 1, S): the same for every t
    masked = np.where(real, scores, -np.inf)
    shifted = masked - masked.max(axis=-1, keepdims=True)
    e = np.exp(shifted)                                      # exp(-inf) = 0 at padding
    alpha = e / e.sum(axis=-1, keepdims=True)
    return alpha, {"scores": scores, "mask": mask, "alpha": alpha}

# --- decoding: one step, and the encoder that starts it -------------------------------------

def decoder_step(params, tokens, state, forbid=()):
    """One step of the peeky decoder: tokens (M,) int, state (h, c, ctx) each (M, H).

    Returns (logp (M, V) log-probabilities of the next token, new state). The ids
    in ``forbid`` (``<pad>`` and ``<sos>``) get log-probability -inf.
    """
    h, c, ctx = state
    x = np.concatenate([params["W_emb"][tokens], ctx], axis=1)
    h, c, _ = lstm_step_forward(x, h, c, params["Wx"], params["Wh"], params["b"])
    logp = log_softmax(np.concatenate([h, ctx], axis=1) @ params["W_out"] + params["b_out"])
    for k in forbid:
        logp[:, k] = -np.inf
    return logp, (h, c, ctx)


def encode(src_params, src):
    """The encoder's final state for unpadded sources src (N, S), read reversed (as minis2s does).

    src_params: {"W_emb" (V_src, E), "Wx" (E, 4H), "Wh" (H, 4H), "b" (4H,)}.
    Returns the decoder's initial state (h, c, ctx), each (N, H), with ctx = h.
    """
    x = embedding_forward(src[:, ::-1], src_params["W_emb"])
    N, H = src.shape[0], src_params["Wh"].shape[0]
    _, (h, c), _ = lstm_forward(x, np.zeros((N, H)), np.zeros((N, H)),
                                src_params["Wx"], src_params["Wh"], src_params["b"])
    return h, c, h


def make_step(params, forbid):
    """``step(tokens, state) -> (logp, new_state)``: decoder_step with its weights bound."""
    def step(tokens, state):
        return decoder_step(params, np.asarray(tokens), state, forbid)
    return step


def prepare(exercise, args):
    """The arguments a student's function is called with, from a case's plain data.

    Cases travel between processes as plain arrays; the search exercises are
    called with a ``step`` function, which is built here (in the grader's
    sandbox as well as in :func:`minis2s.exercises.check`).
    """
    if exercise in ("greedy_search", "beam_search"):
        params, forbid, rest = args[0], args[1], args[2:]
        return (make_step(params, forbid),) + tuple(rest)
    return tuple(args)
