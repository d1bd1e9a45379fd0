r"""Exercises 10-12: attention -- the masked softmax forward and backward, then the whole backward.

Luong's global attention with the dot score and the tanh output layer, as
minis2s's AttentionDecoder computes it with ``score="dot"`` (docs/derivations.md,
section "Attention")::

    scores  = h @ keys^T                      (N, T, S)   keys = hs for the dot score
    alpha   = masked_softmax(scores, mask)    (N, T, S)   padding: weight exactly 0
    ctx     = alpha @ hs                      (N, T, H)   hs as the values
    ctx_h   = [ctx ; h]                       (N, T, 2H)
    h_tilde = tanh(ctx_h @ Wc)                (N, T, H)

``^T`` swaps the last two axes. The caches you receive are minis2s's own, made by
:func:`minis2s.functional.masked_softmax_forward` and :func:`minis2s.functional.attention_forward`;
``masked_softmax_forward`` is checked against the engine's own (stored answers in a student edition).
Shapes: N batch, T decoder steps, S source positions, H hidden size.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..gradcheck import numerical_gradient
from . import _cases, stored
from .checker import Case, Exercise

__all__ = ["masked_softmax_forward", "masked_softmax_backward", "attention_backward", "EXERCISES"]


def masked_softmax_forward(scores, mask):
    """The attention weights: a softmax of ``scores`` over the source positions s.

    scores (N, T, S); mask (N, S), 1 = real token, 0 = padding (every row has a real token).
    A padded position may hold any score, even a huge one: it must get weight exactly 0,
    and the weights of each (n, t) must sum to 1 over s.
    Returns alpha (N, T, S).
    """
    raise NotImplementedError


def masked_softmax_backward(dalpha, cache):
    """Backward of the masked softmax: minis2s's own
    :func:`minis2s.functional.masked_softmax_backward`, on its cache.

    dalpha (N, T, S): the gradient flowing into the weights alpha.
    cache: what minis2s's ``masked_softmax_forward`` keeps: alpha (N, T, S), the weights
    themselves, exactly 0 at padding.
    Returns dscores (N, T, S) -- exactly 0 at the padded positions.
    """
    raise NotImplementedError


def attention_backward(dh_tilde, cache):
    """Backward of minis2s's ``attention_forward(h, hs, keys, mask, {"Wc": Wc}, "dot")``:
    minis2s's own :func:`minis2s.functional.attention_backward`, for the dot score and
    Luong's output (the module docstring).

    dh_tilde (N, T, H): the gradient flowing into the attentional hidden state.
    cache: the engine's ``AttentionCache(score="dot", output="luong", score_cache, alpha,
    context, out)``: score_cache = DotScoreCache(h (N, T, H), keys (N, S, H)); alpha (N, T, S),
    exactly 0 at padding; context = ContextCache(alpha, hs (N, S, H)); out =
    OutputCache(ctx_h (N, T, 2H): [ctx ; h], Wc (2H, H), h_tilde (N, T, H), He = H).

    Returns (dh (N, T, H), dhs (N, S, H): through the values, dkeys (N, S, H): through the
    scores, grads: {"Wc": dWc (2H, H)}); dhs and dkeys are exactly 0 at the padded source
    positions. You may call your own masked_softmax_backward.
    """
    raise NotImplementedError


SOFTMAX_FORWARD_HINTS = (
    """
    A softmax over s, except that padded positions must get weight exactly 0, whatever their
    score. Give them a score that exp turns into exactly 0 before the softmax. And subtract
    each row's maximum first, so that exp cannot overflow -- the maximum over the real
    positions: a huge padded score must not push the real ones down to exp(-1000) = 0.
    """,
    """
    scores and alpha are (N, T, S). mask is (N, S), the same for every step t:
    mask[:, None, :] is (N, 1, S) and broadcasts against (N, T, S). The row maximum and the
    row sum are (N, T, 1) (keepdims=True), so they broadcast back over s.
    """,
    """
    Three steps. (1) Replace the score of every padded position by a value whose exponential is
    exactly 0 (not merely tiny): minus infinity is such a value, and np.where with the mask (made
    (N, 1, S) so it broadcasts over t) puts it there. (2) Subtract, per (n, t) row, the largest of
    the remaining scores -- every row has a real position, so the largest is finite, and huge
    padded scores no longer matter. (3) Exponentiate and divide each row by its sum.
    """,
)

SOFTMAX_BACKWARD_HINTS = (
    """
    Every weight of a row depends on every score of that row (they share the denominator), so
    the gradient of one score collects a term from every weight of its row: the softmax's
    whole Jacobian, not only its diagonal. Padding needs no special case once you use the
    weights: where a weight is exactly 0, so is its score's gradient.
    """,
    """
    dalpha, alpha and dscores are (N, T, S). Each (n, t) row has one number sum_s dalpha*alpha,
    shape (N, T, 1) with keepdims=True, which broadcasts back over s.
    """,
    """
    Within one (n, t) row, every weight depends on every score. The Jacobian of a softmax is
    alpha_s (delta_sj - alpha_j), so the gradient of score j collects alpha_j times (dalpha_j
    minus the row's alpha-weighted average of dalpha). Compute that weighted average once per row
    (a sum over s, kept as a (N, T, 1) column) and combine elementwise. Padding needs no special
    case: where alpha is exactly 0, so is the product.
    """,
)

ATTENTION_HINTS = (
    """
    Run the forward pass backwards, one line at a time: tanh, the concatenation [ctx ; h],
    the context ctx = alpha @ hs, the masked softmax, the dot score. h is used twice (in the
    scores and in [ctx ; h]) and gets the sum of its two gradients; the values hs and the keys
    get one each (the layer adds them when the keys are hs itself).
    """,
    """
    dpre (N, T, H): the gradient before the tanh. dctx_h = dpre @ Wc.T is (N, T, 2H): its
    first H columns are dctx (N, T, H), the rest the direct part of dh. dWc (2H, H) sums
    ctx_h^T dpre over all N*T rows. dalpha and dscores are (N, T, S). For the batched
    products, x.transpose(0, 2, 1) swaps the last two axes: (N, T, S) -> (N, S, T).
    dh (N, T, H) collects two terms; dhs and dkeys are (N, S, H); grads holds dWc.
    """,
    """
    Undo the forward pass line by line, from h_tilde back to h, hs and Wc. (1) Through the tanh,
    using h_tilde. (2) Through the product with Wc: the weight gradient sums ctx_h against that
    gradient over all N T rows; the gradient of ctx_h splits at column H into the gradient of ctx
    and a first, direct gradient of h. (3) ctx = alpha hs is a batched matrix product: it gives the
    gradient of alpha and a first gradient of hs (hs as the values). (4) Through the masked softmax
    (your masked_softmax_backward) to the gradient of the scores. (5) scores = h keys^T is another
    batched product: it gives the second gradient of h and the gradient of the keys. Add the two
    gradients of h; batched transposes swap the last two axes.
    """,
)


def _padded_mask(rng, N, S):
    """(mask (N, S) float, lengths): right-padded, one row full and one of length 1."""
    lengths = _cases.lengths(rng, N, S)
    return (np.arange(S)[None, :] < lengths[:, None]).astype(np.float64), lengths


def _softmax_forward_case(rng) -> Case:
    s = _cases.sizes(rng, "NTS")
    N, T, S = s["N"], s["T"], s["S"]
    mask, lengths = _padded_mask(rng, N, S)
    scores = _cases.randn(rng, N, T, S, scale=2.0)
    # padding may hold anything: here scores far above the real ones, so that a maximum
    # taken over the padded positions too sends every real exp to 0 (and the row to 0/0)
    scores = np.where(mask[:, None, :] > 0, scores, 800.0 + scores)
    args = (scores, mask)
    oracle = stored.oracle("masked_softmax_forward", args,
                           lambda: {"alpha": F.masked_softmax_forward(scores, mask)[0]})
    padded = np.broadcast_to(mask[:, None, :] == 0, scores.shape)
    return Case(args=args, oracle=oracle,
                sizes=f"{_cases.spell(s)}, source lengths={lengths.tolist()}",
                exact={"alpha": (padded, "the padded positions")})


def _softmax_backward_case(rng) -> Case:
    s = _cases.sizes(rng, "NTS")
    N, T, S = s["N"], s["T"], s["S"]
    mask, lengths = _padded_mask(rng, N, S)
    scores = _cases.randn(rng, N, T, S, scale=2.0)
    _, cache = F.masked_softmax_forward(scores, mask)
    dalpha = _cases.randn(rng, N, T, S)
    num = numerical_gradient(lambda scores: F.masked_softmax_forward(scores, mask)[0],
                             {"scores": scores}, dalpha)
    padded = np.broadcast_to(mask[:, None, :] == 0, scores.shape)
    return Case(args=(dalpha, cache), oracle={"dscores": num["scores"]},
                sizes=f"{_cases.spell(s)}, source lengths={lengths.tolist()}",
                exact={"dscores": (padded, "the padded positions")})


def _large_softmax_backward_case(rng) -> Case:
    """Realistic sizes: checked along random directions, padding still exactly 0."""
    N, T, S = int(rng.integers(36, 44)), int(rng.integers(40, 56)), int(rng.integers(88, 104))
    mask, lengths = _padded_mask(rng, N, S)
    scores = _cases.randn(rng, N, T, S, scale=2.0)
    _, cache = F.masked_softmax_forward(scores, mask)
    dalpha = _cases.randn(rng, N, T, S)
    dirs = _cases.directional_oracle(lambda scores: F.masked_softmax_forward(scores, mask)[0],
                                     {"scores": scores}, dalpha, rng)
    padded = np.broadcast_to(mask[:, None, :] == 0, scores.shape)
    return Case(args=(dalpha, cache), oracle={"dscores": None},
                sizes=f"large: N={N}, T={T}, S={S}", directional={"dscores": dirs["scores"]},
                exact={"dscores": (padded, "the padded positions")})


def _attention_problem(rng, N, T, S, H, scale):
    """Padded sources; the dot score's inputs (keys = hs; h and Wc drawn at ``scale["h"]`` and
    ``scale["Wc"]``), the engine's cache, a random upstream gradient, the forward pass, and the
    entries that padding must leave exactly 0."""
    mask, lengths = _padded_mask(rng, N, S)
    hs = _cases.randn(rng, N, S, H)
    inputs = {"h": _cases.randn(rng, N, T, H, scale=scale["h"]), "hs": hs, "keys": hs.copy(),
              "Wc": _cases.randn(rng, 2 * H, H, scale=scale["Wc"])}

    def forward(h, hs, keys, Wc):
        return F.attention_forward(h, hs, keys, mask, {"Wc": Wc}, "dot")[0]
    _, _, cache = F.attention_forward(inputs["h"], hs, inputs["keys"], mask, {"Wc": inputs["Wc"]},
                                      "dot")
    dh_tilde = _cases.randn(rng, N, T, H)
    padded = np.broadcast_to(mask[:, :, None] == 0, (N, S, H))
    exact = {"dhs": (padded, "the padded source positions"),
             "dkeys": (padded, "the padded source positions")}
    return mask, lengths, inputs, cache, dh_tilde, forward, exact


def _attention_case(rng) -> Case:
    s = _cases.sizes(rng, "NTSH")
    mask, lengths, inputs, cache, dh_tilde, forward, exact = _attention_problem(
        rng, s["N"], s["T"], s["S"], s["H"], {"h": 1.0, "Wc": 0.5})
    num = numerical_gradient(forward, inputs, dh_tilde)
    return Case(args=(dh_tilde, cache), oracle={"d" + k: g for k, g in num.items()},
                sizes=f"{_cases.spell(s)}, source lengths={lengths.tolist()}",
                exact=exact, context={"mask": mask})


def _large_attention_case(rng) -> Case:
    """Realistic sizes (hundreds of thousands of inputs, padded sources): checked along random
    directions, padding still exactly 0."""
    N, T, S = int(rng.integers(16, 24)), int(rng.integers(24, 32)), int(rng.integers(36, 44))
    H = int(rng.integers(176, 208))
    # h scaled so that the scores (sums of H products) stay O(1): a softmax, not an argmax
    mask, _, inputs, cache, dh_tilde, forward, exact = _attention_problem(
        rng, N, T, S, H, {"h": 0.1, "Wc": 0.1})
    dirs = _cases.directional_oracle(forward, inputs, dh_tilde, rng)
    return Case(args=(dh_tilde, cache), oracle={"d" + k: None for k in inputs},
                sizes=f"large: N={N}, T={T}, S={S}, H={H}, {int((mask == 0).sum())} padded sources",
                directional={"d" + k: v for k, v in dirs.items()}, exact=exact,
                context={"mask": mask})


def unpack_attention(out):
    """(dh, dhs, dkeys, grads) -> (dh, dhs, dkeys, dWc): the weight gradient out of its dict."""
    if not isinstance(out, (tuple, list)) or len(out) != 4 or not isinstance(out[3], dict) \
            or "Wc" not in out[3]:
        raise ValueError("expected 4 outputs (dh (N, T, H), dhs (N, S, H), dkeys (N, S, H), "
                         "grads {'Wc': dWc (2H, H)}), as minis2s's attention_backward returns")
    return tuple(out[:3]) + (out[3]["Wc"],)


EXERCISES = [
    Exercise(
        name="masked_softmax_forward",
        signature="masked_softmax_forward(scores, mask) -> alpha",
        outputs={"alpha": "(N, T, S)"},
        make_case=_softmax_forward_case, stub=masked_softmax_forward,
        hints=SOFTMAX_FORWARD_HINTS, level=1, minutes=15,
        oracle="minis2s.functional.masked_softmax_forward", tol=1e-12),
    Exercise(
        name="masked_softmax_backward",
        signature="masked_softmax_backward(dalpha, cache) -> dscores",
        outputs={"dscores": "(N, T, S)"},
        make_case=_softmax_backward_case, stub=masked_softmax_backward,
        hints=SOFTMAX_BACKWARD_HINTS, level=1, minutes=20,
        oracle="the numerical gradient of masked_softmax_forward",
        make_large_case=_large_softmax_backward_case),
    Exercise(
        name="attention_backward",
        signature="attention_backward(dh_tilde, cache) -> (dh, dhs, dkeys, {'Wc': dWc})",
        outputs={"dh": "(N, T, H)", "dhs": "(N, S, H)", "dkeys": "(N, S, H)", "dWc": "(2H, H)"},
        unpack=unpack_attention,
        make_case=_attention_case, stub=attention_backward, hints=ATTENTION_HINTS,
        level=2, minutes=45,
        oracle="the numerical gradient of attention_forward (dot score, masked)",
        make_large_case=_large_attention_case),
]
