"""Layer objects: every parameter and input gradient checked in float64, every backend."""
import numpy as np
import pytest

import minis2s
from minis2s.errors import InputError
from minis2s.gradcheck import check_gradients, check_model
from conftest import dev, randomised
from minis2s.init import init_param
from minis2s.layers import LSTM, Dropout, Embedding, Linear
from minis2s.models import Seq2Seq

TOL = 1e-7


class Probe:
    """Turns a layer into a scalar loss sum(out * dout) so check_model can drive it.

    forward() -> (out, cache); backward(dout, cache) adds the gradients, which the
    probe zeroes first (as a model's backward does).
    """

    def __init__(self, layer, forward, backward):
        self.layer, self._forward, self._backward = layer, forward, backward
        self.params, self.grads = layer.params, layer.grads
        shape = forward()[0].shape
        self.dout = minis2s.to_device(np.random.default_rng(7).standard_normal(shape))
        self._cache = None

    def loss(self):
        out, self._cache = self._forward()
        return (out * self.dout).sum()

    def backward(self):
        self.layer.zero_grad()
        self._backward(self.dout, self._cache)


def randomise(layer, rng, scale=0.5):
    randomised(layer, seed=int(rng.integers(2**31)), scale=scale)


def test_embedding_layer(backend, rng):
    emb = Embedding(6, 3, rng)
    ids = minis2s.to_device(np.array([[1, 2, 2, 5], [0, 5, 5, 5]]))
    probe = Probe(emb, lambda: emb.forward(ids), emb.backward)
    check_model(probe, probe.loss, TOL).assert_passed()


def test_linear_layer(backend, rng):
    lin = Linear(4, 3, rng)
    randomise(lin, rng)
    x = dev(rng, 2, 5, 4)
    probe = Probe(lin, lambda: lin.forward(x), lin.backward)
    check_model(probe, probe.loss, TOL).assert_passed()
    out, cache = lin.forward(x)
    dout = dev(rng, *out.shape)
    check_gradients(lambda x: lin.forward(x)[0], {"x": x}, dout, {"x": lin.backward(dout, cache)},
                    TOL).assert_passed()


def _seeded(lstm):
    """Give every dropout of ``lstm`` a generator seeded alike: each pass draws the same masks
    (what a model's per-step re-seeding gives a gradient check)."""
    for d in lstm.dropouts:
        d.rng = minis2s.current().random_generator(3)


@pytest.mark.parametrize("n_layers,masked,dropout", [(1, False, 0.0), (2, True, 0.0), (3, True, 0.4)])
def test_stacked_lstm(backend, rng, n_layers, masked, dropout):
    N, T, D, H = 3, 4, 2, 5
    lstm = LSTM(D, H, rng, n_layers=n_layers, dropout=dropout)
    randomise(lstm, rng)
    x = dev(rng, N, T, D)
    state = (dev(rng, n_layers, N, H), dev(rng, n_layers, N, H))
    mask = minis2s.to_device(np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], bool)) if masked else None
    dhT, dcT = dev(rng, n_layers, N, H), dev(rng, n_layers, N, H)

    def outputs(x, h0, c0):
        _seeded(lstm)
        hs, (hT, cT), _ = lstm.forward(x, (h0, c0), mask)
        return hs, hT, cT

    _seeded(lstm)
    hs, (hT, cT), cache = lstm.forward(x, state, mask)
    dhs = dev(rng, N, T, H)
    dx, (dh0, dc0) = lstm.backward(dhs, (dhT, dcT), cache)
    check_gradients(outputs, {"x": x, "h0": state[0], "c0": state[1]}, [dhs, dhT, dcT],
                    {"x": dx, "h0": dh0, "c0": dc0}, TOL).assert_passed()

    def run():
        _seeded(lstm)
        hs, (hT, cT), cache = lstm.forward(x, state, mask)
        return hs, ((hT, cT), cache)

    class Stacked(Probe):
        def loss(self):
            hs, ((hT, cT), self._cache) = run()
            return (hs * dhs).sum() + (hT * dhT).sum() + (cT * dcT).sum()

        def backward(self):
            lstm.zero_grad()
            lstm.backward(dhs, (dhT, dcT), self._cache)

    probe = Stacked(lstm, run, None)
    check_model(probe, probe.loss, TOL).assert_passed()


def test_dropout_layer_train_and_eval(backend, rng):
    d = Dropout(0.5)
    d.rng = minis2s.current().random_generator(0)
    x = minis2s.to_device(np.ones((50, 40)))
    y, mask = d.forward(x)
    assert set(np.unique(minis2s.to_cpu(y))) == {0.0, 2.0}
    np.testing.assert_array_equal(minis2s.to_cpu(d.backward(x, mask)), minis2s.to_cpu(y))
    d.eval()
    out, mask = d.forward(x)
    assert out is x and mask is None
    for p in (1.0, -0.1, float("nan")):
        with pytest.raises(InputError, match="dropout must be finite and in"):
            Dropout(p)


def test_params_and_grads_share_names_and_identity(rng):
    lstm = LSTM(3, 4, rng, n_layers=2)
    assert list(lstm.params) == ["0.Wx", "0.Wh", "0.b", "1.Wx", "1.Wh", "1.b"]
    assert list(lstm.grads) == list(lstm.params)
    g = lstm.grads["0.Wx"]
    x = np.random.default_rng(0).standard_normal((2, 3, 3)).astype(lstm.params["0.Wx"].dtype)
    hs, _, cache = lstm.forward(x)
    lstm.backward(np.ones_like(hs), None, cache)
    assert lstm.grads["0.Wx"] is g and np.abs(g).sum() > 0
    lstm.zero_grad()
    assert lstm.grads["0.Wx"] is g and not g.any()


def test_a_layer_used_twice_collects_both_gradients(backend, rng):
    """One Linear applied to two inputs in one pass: its weight gradient is the sum of both
    uses' (the chain rule), not the last use's."""
    lin = randomised(Linear(3, 2, rng))
    x1, x2, d1, d2 = dev(rng, 4, 3), dev(rng, 5, 3), dev(rng, 4, 2), dev(rng, 5, 2)
    (_, c1), (_, c2) = lin.forward(x1), lin.forward(x2)
    lin.backward(d2, c2)
    lin.backward(d1, c1)
    expected = minis2s.to_cpu(x1.T @ d1 + x2.T @ d2)
    np.testing.assert_allclose(minis2s.to_cpu(lin.grads["W"]), expected, rtol=1e-12)


def test_step_by_step_equals_the_whole_sequence(backend, rng):
    """The LSTM run on T sequences of length 1 (as the input-feeding decoder runs it), and its
    backward on the T caches in reverse, compute what one forward/backward over T computes."""
    N, T, D, H, L = 3, 4, 5, 6, 2
    lstm = randomised(LSTM(D, H, rng, n_layers=L))
    x, h0, c0 = dev(rng, N, T, D), dev(rng, L, N, H), dev(rng, L, N, H)
    dhs, dhT, dcT = dev(rng, N, T, H), dev(rng, L, N, H), dev(rng, L, N, H)
    hs, (hT, cT), cache = lstm.forward(x, (h0, c0))
    dx, (dh0, dc0) = lstm.backward(dhs, (dhT, dcT), cache)
    whole = {k: minis2s.to_cpu(g).copy() for k, g in lstm.grads.items()}
    lstm.zero_grad()

    state, caches, outs = (h0, c0), [], []
    for t in range(T):
        h_t, state, cache_t = lstm.forward(x[:, t:t + 1], state)
        outs.append(h_t)
        caches.append(cache_t)
    np.testing.assert_allclose(minis2s.to_cpu(outs[-1][:, 0]), minis2s.to_cpu(hs[:, -1]), rtol=1e-12)
    np.testing.assert_allclose(minis2s.to_cpu(state[1]), minis2s.to_cpu(cT), rtol=1e-12)
    dstate, dxs = (dhT, dcT), [None] * T
    for t in reversed(range(T)):
        dxs[t], dstate = lstm.backward(dhs[:, t:t + 1], dstate, caches[t])
    for k in whole:
        np.testing.assert_allclose(minis2s.to_cpu(lstm.grads[k]), whole[k], rtol=1e-10, atol=1e-12,
                                   err_msg=k)
    np.testing.assert_allclose(np.concatenate([minis2s.to_cpu(d) for d in dxs], axis=1),
                               minis2s.to_cpu(dx), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(minis2s.to_cpu(dstate[0]), minis2s.to_cpu(dh0), rtol=1e-10)
    np.testing.assert_allclose(minis2s.to_cpu(dstate[1]), minis2s.to_cpu(dc0), rtol=1e-10)


def test_uniform_init_range(rng):
    lstm = LSTM(3, 50, rng)
    w = minis2s.to_cpu(lstm.params["0.Wh"])
    assert -0.08 <= w.min() < -0.07 and 0.07 < w.max() <= 0.08


def test_fan_in_init_gives_every_layer_unit_variance_inputs():
    """"fan_in": weights N(0, 1/fan-in) with fan-in = shape[0], biases 0, embeddings N(0, 1)."""
    model = Seq2Seq(50, 40, emb=16, hidden=200, decoder="attention", score="general",
                    init="fan_in", seed=0)
    fan_ins = {"Wx": 16, "Wh": 200, "fc.W": 200, "Wc": 400, "Wa": 200}
    seen = set()
    for name, p in model.params.items():
        w = minis2s.to_cpu(p)
        if name.endswith(".b"):
            assert not w.any(), name
        elif name.endswith("embed.W"):
            assert abs(w.std() - 1.0) < 0.05 and abs(w.mean()) < 0.05, name
        else:
            key = next(k for k in fan_ins if name.endswith(k))
            seen.add(key)
            assert abs(w.std() * np.sqrt(fan_ins[key]) - 1.0) < 0.05, (name, w.std())
    assert seen == set(fan_ins)


def test_the_older_inits_are_unchanged():
    """"uniform" and "scaled" draw what they always drew (checkpoints' runs stay reproducible)."""
    rng = np.random.default_rng(7)
    expected = np.random.default_rng(7).uniform(-0.08, 0.08, size=(3, 4))
    np.testing.assert_array_equal(minis2s.to_cpu(init_param(rng, (3, 4), "uniform", kind="bias")),
                                  expected.astype(minis2s.to_cpu(init_param(rng, (1,))).dtype))
    rng = np.random.default_rng(7)
    expected = np.random.default_rng(7).uniform(-0.5, 0.5, size=(4,))
    got = minis2s.to_cpu(init_param(rng, (4,), "scaled", fan=4, kind="embedding"))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    with pytest.raises(ValueError, match="unknown parameter kind 'bais'"):
        init_param(rng, (4,), "fan_in", kind="bais")
    with pytest.raises(ValueError, match="unknown init 'xavier'"):
        init_param(rng, (4,), "xavier")


def test_state_dict_round_trip_and_errors(rng):
    a, b = Linear(3, 2, rng), Linear(3, 2, rng)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(minis2s.to_cpu(a.params["W"]), minis2s.to_cpu(b.params["W"]))
    with pytest.raises(ValueError, match="W has shape"):
        b.load_state_dict({"W": np.zeros((2, 2)), "b": np.zeros(2)})
    with pytest.raises(ValueError, match="missing"):
        b.load_state_dict({"W": np.zeros((3, 2))})
