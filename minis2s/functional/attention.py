r"""Attention: the decoder looks back at every encoder output, at every step.

Shapes (batch first): N batch, T decoder steps, S source positions, H the
decoder's hidden size, He the size of an encoder output (H, or [forward;
backward] of a bidirectional encoder), A the additive score's hidden size.

Names, as in docs/derivations.md, section "Attention"::

    h        (N, T, H)    the decoder LSTM's outputs: one query per step
    hs       (N, S, He)   the encoder's outputs: the values that get averaged
    keys     (N, S, K)    what the scores compare the queries with (see below)
    scores   (N, T, S)    how well step t matches source position s
    alpha    (N, T, S)    attention weights: softmax of the scores over s
    ctx      (N, T, He)   context vectors: sum_s alpha[t, s] hs[s]
    h_tilde  (N, T, W)    the attentional hidden state, fed to the output layer:
                          W = H (Luong's output) or He + H (output="concat")

Three scores (Luong et al. 2015, sec. 3.1; Bahdanau et al. 2015)::

    dot       keys = hs              scores = h @ keys^T
    general   keys = hs              scores = (h @ Wa) @ keys^T          Wa (H, He)
    additive  keys = hs @ Wk         scores = tanh(h @ Wq (+) keys) @ v  Wq (H, A), Wk (He, A), v (A,)

where ``(+)`` adds every query (N, T, 1, A) to every key (N, 1, S, A). The keys
depend only on the source, so a decoder computes them once per sentence (for
the additive score this is Bahdanau's remark that U_a h_j can be precomputed),
then scores all T steps -- or, decoding, one step at a time -- against them.

    alpha   = masked_softmax(scores, mask)        padding gets weight exactly 0
    ctx     = alpha @ hs
    h_tilde = tanh([ctx ; h] @ Wc)                Wc (He + H, H)   (Luong's eq. 5), or
    h_tilde = [ctx ; h]                           (He + H) wide    (output="concat", the book's)

With ``output="concat"`` the output layer reads context and state directly, as
in the book's chapter 8 (an affine map of [c ; h]); Luong's tanh layer bounds
h_tilde to [-1, 1], which on small models trained with Adam at lr 1e-3 learned
several times more slowly (docs/results.md).

Every function returns ``(out, cache)`` and has a ``*_backward(dout, cache)``,
cs231n style; :func:`attention_forward` / :func:`attention_backward` chain the
pieces. All of it is plain array expressions on fresh arrays, on NumPy or CuPy.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..backend import get_array_module

__all__ = [
    "DotScoreCache", "GeneralScoreCache", "AdditiveKeysCache", "AdditiveScoreCache",
    "ContextCache", "OutputCache", "AttentionCache",
    "SCORES", "OUTPUTS",
    "dot_score_forward", "dot_score_backward",
    "general_score_forward", "general_score_backward",
    "additive_keys_forward", "additive_keys_backward",
    "additive_score_forward", "additive_score_backward",
    "masked_softmax_forward", "masked_softmax_backward",
    "context_forward", "context_backward",
    "attention_output_forward", "attention_output_backward",
    "attention_keys_forward", "attention_keys_backward",
    "attention_forward", "attention_backward",
]

SCORES = ("dot", "general", "additive")
OUTPUTS = ("luong", "concat")


# --- the caches, under the names above -------------------------------------------

class DotScoreCache(NamedTuple):
    h: Any
    keys: Any


class GeneralScoreCache(NamedTuple):
    h: Any
    keys: Any
    Wa: Any
    q: Any          # h @ Wa, the projected queries


class AdditiveKeysCache(NamedTuple):
    hs: Any
    Wk: Any


class AdditiveScoreCache(NamedTuple):
    h: Any
    Wq: Any
    v: Any
    u: Any          # tanh(q (+) keys), (N, T, S, A)


class ContextCache(NamedTuple):
    alpha: Any
    hs: Any


class OutputCache(NamedTuple):
    ctx_h: Any      # [ctx ; h], (N, T, He + H)
    Wc: Any         # None for output="concat"
    h_tilde: Any
    He: int         # where ctx ends in [ctx ; h]


class AttentionCache(NamedTuple):
    """The whole layer's: which score and output, and each piece's cache."""
    score: str
    output: str
    score_cache: Any
    alpha: Any      # the masked softmax's cache is its output
    context: ContextCache
    out: OutputCache


def _swap(x):
    """(N, A, B) -> (N, B, A): the batched transpose."""
    return x.transpose(0, 2, 1)


def _rows(x):
    """(N, T, K) -> (N*T, K): every (sentence, step) pair as one row of a matrix product."""
    return x.reshape(-1, x.shape[-1])


# --- scores -------------------------------------------------------------------

def dot_score_forward(h, keys):
    """Luong's dot score. h (N, T, H), keys (N, S, H) -> (scores (N, T, S), cache).

    scores[n, t, s] = h[n, t] . keys[n, s]
    """
    scores = h @ _swap(keys)
    return scores, DotScoreCache(h, keys)


def dot_score_backward(dscores, cache):
    """dscores (N, T, S) -> (dh (N, T, H), dkeys (N, S, H))."""
    h, keys = cache
    dh = dscores @ keys
    dkeys = _swap(dscores) @ h
    return dh, dkeys


def general_score_forward(h, keys, Wa):
    """Luong's general (bilinear) score. h (N, T, H), keys (N, S, He), Wa (H, He).

    scores[n, t, s] = h[n, t] Wa keys[n, s]^T. Returns (scores (N, T, S), cache).
    The bilinear form can be grouped either way; grouping it as (h Wa) keys^T
    projects the T queries, which is no dearer than projecting the S keys once
    per sentence when T <= S, and keeps the keys the plain encoder outputs
    (docs/derivations.md, "Attention", counts both).
    """
    q = h @ Wa                                    # (N, T, He)
    scores = q @ _swap(keys)
    return scores, GeneralScoreCache(h, keys, Wa, q)


def general_score_backward(dscores, cache):
    """dscores (N, T, S) -> (dh (N, T, H), dkeys (N, S, He), dWa (H, He))."""
    h, keys, Wa, q = cache
    dq = dscores @ keys                           # (N, T, He)
    dkeys = _swap(dscores) @ q                    # (N, S, He)
    dh = dq @ Wa.T
    dWa = _rows(h).T @ _rows(dq)                  # summed over every (n, t)
    return dh, dkeys, dWa


def additive_keys_forward(hs, Wk):
    """The source half of the additive score, computed once per sentence.

    hs (N, S, He), Wk (He, A) -> (keys (N, S, A), cache).
    """
    keys = hs @ Wk
    return keys, AdditiveKeysCache(hs, Wk)


def additive_keys_backward(dkeys, cache):
    """dkeys (N, S, A) -> (dhs (N, S, He), dWk (He, A))."""
    hs, Wk = cache
    dhs = dkeys @ Wk.T
    dWk = _rows(hs).T @ _rows(dkeys)
    return dhs, dWk


def additive_score_forward(h, keys, Wq, v):
    """Bahdanau's additive score (Luong's "concat"), given the precomputed keys.

    h (N, T, H), keys (N, S, A), Wq (H, A), v (A,) -> (scores (N, T, S), cache)::

        q      = h @ Wq                                 (N, T, A)
        u      = tanh(q[:, :, None, :] + keys[:, None, :, :])   (N, T, S, A)
        scores = u @ v                                  (N, T, S)
    """
    xp = get_array_module(h)
    q = h @ Wq
    u = xp.tanh(q[:, :, None, :] + keys[:, None, :, :])
    scores = u @ v
    return scores, AdditiveScoreCache(h, Wq, v, u)


def additive_score_backward(dscores, cache):
    """dscores (N, T, S) -> (dh (N, T, H), dkeys (N, S, A), dWq (H, A), dv (A,))."""
    h, Wq, v, u = cache
    A = v.shape[0]
    du = dscores[..., None] * v                   # (N, T, S, A)
    dz = du * (1.0 - u * u)                       # through tanh
    dq = dz.sum(axis=2)                           # each query met S keys
    dkeys = dz.sum(axis=1)                        # each key met T queries
    dv = u.reshape(-1, A).T @ dscores.reshape(-1)
    dh = dq @ Wq.T
    dWq = _rows(h).T @ _rows(dq)
    return dh, dkeys, dWq, dv


# --- weights, context, output -----------------------------------------------------

def masked_softmax_forward(scores, mask):
    """Softmax over the source positions; padding gets weight exactly 0.

    scores (N, T, S); mask (N, S), 1/True = real token (every row needs one).
    Returns (alpha (N, T, S), cache); alpha sums to 1 over s.

    Padded scores become -inf before the softmax, so their exp is exactly 0 --
    not merely small, as with a large negative number -- and the maximum that
    keeps exp from overflowing is taken over the real positions only.
    """
    # EXERCISE masked_softmax_forward: begin
    xp = get_array_module(scores)
    real = (mask > 0)[:, None, :]                 # (N, 1, S): the same for every step t
    minus_inf = scores.dtype.type(float("-inf"))   # in the scores' dtype: float32 stays float32
    masked = xp.where(real, scores, minus_inf)
    shifted = masked - masked.max(axis=2, keepdims=True)
    e = xp.exp(shifted)                           # exp(-inf) = 0 at padding
    alpha = e / e.sum(axis=2, keepdims=True)
    return alpha, alpha
    # EXERCISE masked_softmax_forward: end


def masked_softmax_backward(dalpha, cache):
    """dalpha (N, T, S) -> dscores (N, T, S); exactly 0 at padding (alpha is 0 there).

    The softmax Jacobian applied to dalpha:
    dscores = alpha * (dalpha - sum_s(dalpha * alpha)).
    """
    # EXERCISE masked_softmax_backward: begin
    alpha = cache
    dscores = alpha * (dalpha - (dalpha * alpha).sum(axis=2, keepdims=True))
    return dscores
    # EXERCISE masked_softmax_backward: end


def context_forward(alpha, hs):
    """ctx = alpha @ hs: the weighted average of the encoder outputs.

    alpha (N, T, S), hs (N, S, He) -> (ctx (N, T, He), cache).
    """
    ctx = alpha @ hs
    return ctx, ContextCache(alpha, hs)


def context_backward(dctx, cache):
    """dctx (N, T, He) -> (dalpha (N, T, S), dhs (N, S, He))."""
    alpha, hs = cache
    dalpha = dctx @ _swap(hs)
    dhs = _swap(alpha) @ dctx
    return dalpha, dhs


def attention_output_forward(ctx, h, Wc):
    """Luong's attentional hidden state: h_tilde = tanh([ctx ; h] @ Wc).

    ctx (N, T, He), h (N, T, H), Wc (He + H, H) -> (h_tilde (N, T, H), cache).
    """
    xp = get_array_module(ctx)
    ctx_h = xp.concatenate([ctx, h], axis=2)      # (N, T, He + H)
    h_tilde = xp.tanh(ctx_h @ Wc)
    return h_tilde, OutputCache(ctx_h, Wc, h_tilde, ctx.shape[2])


def attention_output_backward(dh_tilde, cache):
    """dh_tilde (N, T, H) -> (dctx (N, T, He), dh (N, T, H), dWc (He + H, H))."""
    ctx_h, Wc, h_tilde, He = cache
    dpre = dh_tilde * (1.0 - h_tilde * h_tilde)   # through tanh
    dctx_h = dpre @ Wc.T
    dWc = _rows(ctx_h).T @ _rows(dpre)
    return dctx_h[..., :He], dctx_h[..., He:], dWc


# --- the whole attention layer ------------------------------------------------------

def attention_keys_forward(hs, params, score):
    """The keys for ``score``, once per source: hs itself, or hs @ Wk (additive).

    hs (N, S, He); params: {"Wk": (He, A)} for the additive score.
    Returns (keys (N, S, K), cache: :class:`AdditiveKeysCache` or None).
    """
    if score == "additive":
        return additive_keys_forward(hs, params["Wk"])
    return hs, None


def attention_keys_backward(dkeys, cache, score):
    """dkeys (N, S, K) -> (dhs (N, S, He), grads dict: {"Wk": ...} for additive, else {})."""
    if score == "additive":
        dhs, dWk = additive_keys_backward(dkeys, cache)
        return dhs, {"Wk": dWk}
    return dkeys, {}


def attention_forward(h, hs, keys, mask, params, score, output="luong"):
    """One attention layer over all T queries.

    h (N, T, H) queries; hs (N, S, He) values; keys (N, S, K) from
    :func:`attention_keys_forward`; mask (N, S); params: "Wc" (output "luong") and
    the score's weights ("Wa" for general; "Wq", "v" for additive); score:
    dot|general|additive; output: "luong" (tanh([ctx ; h] @ Wc)) or "concat" ([ctx ; h]).
    Returns (h_tilde (N, T, H) or (N, T, He + H), alpha (N, T, S), :class:`AttentionCache`).
    """
    if score == "dot":
        scores, score_cache = dot_score_forward(h, keys)
    elif score == "general":
        scores, score_cache = general_score_forward(h, keys, params["Wa"])
    else:
        scores, score_cache = additive_score_forward(h, keys, params["Wq"], params["v"])
    alpha, _ = masked_softmax_forward(scores, mask)
    ctx, ctx_cache = context_forward(alpha, hs)
    if output == "luong":
        h_tilde, out_cache = attention_output_forward(ctx, h, params["Wc"])
    else:                                         # the book's: the output layer reads [ctx ; h]
        xp = get_array_module(ctx)
        h_tilde = xp.concatenate([ctx, h], axis=2)
        out_cache = OutputCache(None, None, h_tilde, ctx.shape[2])
    return h_tilde, alpha, AttentionCache(score, output, score_cache, alpha, ctx_cache, out_cache)


def attention_backward(dh_tilde, cache: AttentionCache):
    """dh_tilde (N, T, H) or (N, T, He + H) -> (dh (N, T, H), dhs (N, S, He), dkeys (N, S, K), grads).

    grads: {"Wc": ... (output "luong"), plus "Wa" or "Wq" and "v"}. h reaches h_tilde twice --
    through the scores and directly in [ctx ; h] -- so its two gradients add;
    so do hs's (as values here, and as keys through attention_keys_backward).
    """
    # EXERCISE attention_backward: begin
    score, output, score_cache, alpha, ctx_cache, out_cache = cache
    grads = {}
    if output == "luong":
        dctx, dh_direct, grads["Wc"] = attention_output_backward(dh_tilde, out_cache)
    else:                                         # the concatenation splits its gradient
        He = out_cache.He
        dctx, dh_direct = dh_tilde[..., :He], dh_tilde[..., He:]
    dalpha, dhs = context_backward(dctx, ctx_cache)
    dscores = masked_softmax_backward(dalpha, alpha)
    if score == "dot":
        dh_score, dkeys = dot_score_backward(dscores, score_cache)
    elif score == "general":
        dh_score, dkeys, grads["Wa"] = general_score_backward(dscores, score_cache)
    else:
        dh_score, dkeys, grads["Wq"], grads["v"] = additive_score_backward(dscores, score_cache)
    dh = dh_direct + dh_score
    return dh, dhs, dkeys, grads
    # EXERCISE attention_backward: end
