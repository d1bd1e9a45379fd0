"""Attention's functional pieces: finite differences on every backend, and PyTorch.

Sizes are odd and all different (N, T, S, H, He, A); masks pad some rows, and
one row is a single real token. Each piece is checked on its own and chained
(attention_forward), for each of the three scores.
"""
import numpy as np
import pytest

import minis2s
from minis2s.functional import attention as A
from minis2s.gradcheck import check_gradients

TOL = 1e-7
N, T, S, H, HE, AD = 3, 4, 5, 6, 7, 2     # batch, steps, source, hidden, encoder width, additive


def dev(rng, *shape, scale=1.0):
    return minis2s.to_device(rng.standard_normal(shape) * scale)


def padded_mask(n=N, s=S):
    """Lengths s, 2, 1, ... : one full row, one short, one a single token."""
    lengths = np.array([s, 2, 1, 3, 4][:n])
    return minis2s.to_device(np.arange(s)[None, :] < lengths[:, None])


def check(name, f, inputs, douts, analytic):
    report = check_gradients(f, inputs, douts, analytic, TOL)
    report.title = name
    report.assert_passed()


def score_params(rng, score, he=HE, scale=0.5):
    """The score's weights (and Wc) for query size H, value size he."""
    p = {"Wc": dev(rng, he + H, H, scale=scale)}
    if score == "general":
        p["Wa"] = dev(rng, H, he, scale=scale)
    if score == "additive":
        p.update(Wq=dev(rng, H, AD, scale=scale), Wk=dev(rng, he, AD, scale=scale),
                 v=dev(rng, AD, scale=scale))
    return p


# --- each piece against finite differences ---------------------------------------

def test_dot_score(backend, rng):
    h, keys = dev(rng, N, T, H), dev(rng, N, S, H)
    scores, cache = A.dot_score_forward(h, keys)
    assert scores.shape == (N, T, S)
    d = dev(rng, N, T, S)
    dh, dkeys = A.dot_score_backward(d, cache)
    check("dot score", lambda h, keys: A.dot_score_forward(h, keys)[0],
          {"h": h, "keys": keys}, d, {"h": dh, "keys": dkeys})


def test_general_score(backend, rng):
    h, keys, Wa = dev(rng, N, T, H), dev(rng, N, S, HE), dev(rng, H, HE)
    scores, cache = A.general_score_forward(h, keys, Wa)
    d = dev(rng, N, T, S)
    grads = A.general_score_backward(d, cache)
    check("general score", lambda **a: A.general_score_forward(**a)[0],
          {"h": h, "keys": keys, "Wa": Wa}, d, dict(zip(["h", "keys", "Wa"], grads)))


def test_additive_keys_and_score(backend, rng):
    hs, Wk = dev(rng, N, S, HE), dev(rng, HE, AD)
    keys, kcache = A.additive_keys_forward(hs, Wk)
    dk = dev(rng, N, S, AD)
    check("additive keys", lambda **a: A.additive_keys_forward(**a)[0],
          {"hs": hs, "Wk": Wk}, dk, dict(zip(["hs", "Wk"], A.additive_keys_backward(dk, kcache))))

    h, Wq, v = dev(rng, N, T, H), dev(rng, H, AD), dev(rng, AD)
    scores, cache = A.additive_score_forward(h, keys, Wq, v)
    d = dev(rng, N, T, S)
    grads = A.additive_score_backward(d, cache)
    check("additive score", lambda **a: A.additive_score_forward(**a)[0],
          {"h": h, "keys": keys, "Wq": Wq, "v": v}, d, dict(zip(["h", "keys", "Wq", "v"], grads)))


def test_masked_softmax(backend, rng):
    scores, mask = dev(rng, N, T, S, scale=3.0), padded_mask()
    alpha, cache = A.masked_softmax_forward(scores, mask)
    a, m = minis2s.to_cpu(alpha), minis2s.to_cpu(mask)
    assert np.all(a[~np.broadcast_to(m[:, None, :], a.shape)] == 0.0)   # exactly zero, not small
    np.testing.assert_allclose(a.sum(axis=2), 1.0, atol=1e-14)
    assert np.all(a[2, :, 0] == 1.0)                                  # one real token: all weight
    d = dev(rng, N, T, S)
    ds = A.masked_softmax_backward(d, cache)
    assert np.all(minis2s.to_cpu(ds)[~np.broadcast_to(m[:, None, :], a.shape)] == 0.0)
    check("masked softmax", lambda scores: A.masked_softmax_forward(scores, mask)[0],
          {"scores": scores}, d, {"scores": ds})


def test_masked_softmax_ignores_padded_scores(backend, rng):
    """Changing a padded position's score, even to a huge value, changes nothing."""
    scores, mask = dev(rng, N, T, S), padded_mask()
    alpha, _ = A.masked_softmax_forward(scores, mask)
    s = minis2s.to_cpu(scores).copy()
    s[1, :, 2:] = 1e300
    alpha2, _ = A.masked_softmax_forward(minis2s.to_device(s), mask)
    assert np.array_equal(minis2s.to_cpu(alpha), minis2s.to_cpu(alpha2))


def test_context(backend, rng):
    alpha, _ = A.masked_softmax_forward(dev(rng, N, T, S), padded_mask())
    hs = dev(rng, N, S, HE)
    ctx, cache = A.context_forward(alpha, hs)
    d = dev(rng, N, T, HE)
    grads = A.context_backward(d, cache)
    check("context", lambda **a: A.context_forward(**a)[0],
          {"alpha": alpha, "hs": hs}, d, dict(zip(["alpha", "hs"], grads)))


def test_attention_output(backend, rng):
    ctx, h, Wc = dev(rng, N, T, HE), dev(rng, N, T, H), dev(rng, HE + H, H, scale=0.5)
    out, cache = A.attention_output_forward(ctx, h, Wc)
    d = dev(rng, N, T, H)
    grads = A.attention_output_backward(d, cache)
    check("attention output", lambda **a: A.attention_output_forward(**a)[0],
          {"ctx": ctx, "h": h, "Wc": Wc}, d, dict(zip(["ctx", "h", "Wc"], grads)))


@pytest.mark.parametrize("output", A.OUTPUTS)
@pytest.mark.parametrize("score", A.SCORES)
def test_attention_chain(backend, rng, score, output):
    """keys -> scores -> masked softmax -> context -> output, every input and weight."""
    he = H if score == "dot" else HE
    h, hs, mask = dev(rng, N, T, H), dev(rng, N, S, he), padded_mask()
    params = score_params(rng, score, he)
    if output == "concat":
        del params["Wc"]

    def f(h, hs, **p):
        keys, _ = A.attention_keys_forward(hs, p, score)
        h_tilde, alpha, _ = A.attention_forward(h, hs, keys, mask, p, score, output)
        return h_tilde, alpha

    keys, kcache = A.attention_keys_forward(hs, params, score)
    h_tilde, alpha, cache = A.attention_forward(h, hs, keys, mask, params, score, output)
    d = dev(rng, N, T, H if output == "luong" else he + H)
    dh, dhs, dkeys, grads = A.attention_backward(d, cache)
    dhs_k, kgrads = A.attention_keys_backward(dkeys, kcache, score)
    analytic = {"h": dh, "hs": dhs + dhs_k, **grads, **kgrads}
    zero_alpha = minis2s.to_device(np.zeros((N, T, S)))   # h_tilde's gradient only
    check(f"attention ({score})", f, {"h": h, "hs": hs, **params}, [d, zero_alpha], analytic)
    # padding gets no gradient at all: the encoder never hears about its padded outputs
    m = minis2s.to_cpu(mask)
    assert np.all(minis2s.to_cpu(analytic["hs"])[~m] == 0.0)


def test_bad_arguments_are_named_at_the_layer(rng):
    """The functions hold the maths; the Attention layer checks what it is given, once."""
    from minis2s.errors import InputError
    from minis2s.models.attention import Attention
    with pytest.raises(InputError, match="score must be one of dot, general, additive, got 'cosine'"):
        Attention(H, HE, "cosine", rng)
    with pytest.raises(InputError, match="attention_output must be one of luong, concat"):
        Attention(H, HE, "general", rng, output="bahdanau")
    with pytest.raises(InputError, match="the sizes must agree"):
        Attention(H, HE, "dot", rng)                 # He != H
    layer = Attention(H, HE, "general", rng)
    hs = dev(rng, N, S, HE)
    with pytest.raises(InputError, match=r"hs must have shape \(N, S, He\)"):
        layer.keys_forward(dev(rng, N, S, H))
    keys, _ = layer.keys_forward(hs)
    with pytest.raises(InputError, match=r"Attention.attend_forward: mask must have shape \(N, S\)"):
        layer.attend_forward(dev(rng, N, T, H), hs, keys, padded_mask(N, S + 1))
    with pytest.raises(InputError, match=r"h must have shape \(N, T, H\)"):
        layer.attend_forward(dev(rng, N, T, HE), hs, keys, padded_mask())


# --- broken versions must fail -----------------------------------------------------

def _broken_softmax_backward(dalpha, alpha):
    return alpha * dalpha                             # forgot the -sum(dalpha * alpha) term


def _broken_additive_backward(dscores, cache):
    h, Wq, v, u = cache
    dz = dscores[..., None] * v                       # forgot tanh's derivative
    dq, dkeys = dz.sum(axis=2), dz.sum(axis=1)
    return dq @ Wq.T, dkeys, h.reshape(-1, h.shape[2]).T @ dq.reshape(-1, v.shape[0]), \
        u.reshape(-1, v.shape[0]).T @ dscores.reshape(-1)


@pytest.mark.parametrize("piece", ["softmax", "additive"])
def test_a_wrong_backward_fails(rng, monkeypatch, piece):
    """The chained check above catches a wrong piece (so it can fail)."""
    minis2s.use("numpy", dtype="float64")
    if piece == "softmax":
        monkeypatch.setattr(A, "masked_softmax_backward", _broken_softmax_backward)
    else:
        monkeypatch.setattr(A, "additive_score_backward", _broken_additive_backward)
    with pytest.raises(AssertionError, match="gradient check failed"):
        test_attention_chain(None, rng, "additive", "luong")


# --- PyTorch, the same attention written independently -----------------------------

torch = pytest.importorskip("torch")


def torch_attention(h, hs, mask, p, score, output="luong"):
    """Luong attention in PyTorch, from the papers' formulas (not from minis2s)."""
    if score == "dot":
        scores = torch.einsum("nth,nsh->nts", h, hs)
    elif score == "general":
        scores = torch.einsum("nth,he,nse->nts", h, p["Wa"], hs)
    else:
        u = torch.tanh((h @ p["Wq"]).unsqueeze(2) + (hs @ p["Wk"]).unsqueeze(1))
        scores = u @ p["v"]
    scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
    alpha = torch.softmax(scores, dim=2)
    ctx = alpha @ hs
    if output == "concat":
        return torch.cat([ctx, h], dim=2), alpha
    h_tilde = torch.tanh(torch.cat([ctx, h], dim=2) @ p["Wc"])
    return h_tilde, alpha


@pytest.mark.parametrize("output", A.OUTPUTS)
@pytest.mark.parametrize("score", A.SCORES)
def test_matches_pytorch(rng, score, output):
    minis2s.use("numpy", dtype="float64")
    he = H if score == "dot" else HE
    h, hs, mask = dev(rng, N, T, H), dev(rng, N, S, he), padded_mask()
    params = score_params(rng, score, he, scale=1.0)
    if output == "concat":
        del params["Wc"]
    keys, kcache = A.attention_keys_forward(hs, params, score)
    h_tilde, alpha, cache = A.attention_forward(h, hs, keys, mask, params, score, output)
    d = rng.standard_normal(h_tilde.shape)
    dh, dhs, dkeys, grads = A.attention_backward(d, cache)
    dhs_k, kgrads = A.attention_keys_backward(dkeys, kcache, score)
    ours = {"h": dh, "hs": dhs + dhs_k, **grads, **kgrads}

    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in {"h": h, "hs": hs, **params}.items()}
    t_out, t_alpha = torch_attention(leaves["h"], leaves["hs"], torch.tensor(mask), leaves, score,
                                     output)
    (t_out * torch.tensor(d)).sum().backward()
    np.testing.assert_allclose(h_tilde, t_out.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(alpha, t_alpha.detach().numpy(), rtol=1e-12, atol=1e-13)
    assert set(ours) == set(leaves)
    for k, t in leaves.items():
        np.testing.assert_allclose(ours[k], t.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("score", A.SCORES)
def test_float32_stays_float32(rng, score):
    """No float64 creeps in: every output and gradient keeps the inputs' float32."""
    minis2s.use("numpy", dtype="float32")
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)   # noqa: E731
    he = H if score == "dot" else HE
    h, hs, mask = f(N, T, H), f(N, S, he), minis2s.to_cpu(padded_mask())
    params = {k: v.astype(np.float32) for k, v in score_params(rng, score, he).items()}
    keys, kcache = A.attention_keys_forward(hs, params, score)
    h_tilde, alpha, cache = A.attention_forward(h, hs, keys, mask, params, score)
    dh, dhs, dkeys, grads = A.attention_backward(f(N, T, H), cache)
    dhs_k, kgrads = A.attention_keys_backward(dkeys, kcache, score)
    arrays = {"h_tilde": h_tilde, "alpha": alpha, "dh": dh, "dhs": dhs, "dhs_k": dhs_k,
              **grads, **kgrads}
    assert {k: a.dtype for k, a in arrays.items() if a.dtype != np.float32} == {}
