"""Optimisers, clipping and schedules.

The optimiser tests take the ``backend`` fixture, so they run on NumPy, on the
strict device double (which refuses what CuPy refuses) and on CuPy where a GPU
exists, all in float64. PyTorch, where installed, is the independent oracle.
"""
import math

import numpy as np
import pytest

import minis2s
from minis2s.testing import strict_device
from minis2s.optim import (SGD, Adam, ConstantSchedule, StepSchedule, clip_grad_norm,
                           global_norm, make_optimizer)

SHAPES = {"W": (3, 4), "b": (4,), "E": (5, 2, 3)}


def host_params(rng):
    return {k: rng.standard_normal(s) for k, s in SHAPES.items()}


def host_grads(rng, scale=1.0):
    return {k: scale * rng.standard_normal(s) for k, s in SHAPES.items()}


def on_device(d):
    # copy: on NumPy to_device returns the very array, and steps update in place
    return {k: minis2s.to_device(v.copy()) for k, v in d.items()}


def on_host(d):
    return {k: minis2s.to_cpu(v).copy() for k, v in d.items()}


def max_diff(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


# --- Adam --------------------------------------------------------------------

def test_adam_eps_is_outside_the_root_of_bias_corrected_v(backend):
    # One step from zero state with gradient g: m_hat = g, v_hat = g^2, so the
    # step is lr * g / (|g| + eps). With g = eps this is exactly lr / 2; eps
    # inside the root, or before the bias correction, would give something else.
    eps = 1e-3
    p = minis2s.to_device(np.zeros(1))
    Adam({"p": p}, lr=1.0, eps=eps).step({"p": minis2s.to_device(np.full(1, eps))})
    assert minis2s.to_cpu(p)[0] == pytest.approx(-0.5, rel=1e-12)


def test_adam_matches_torch(backend, rng):
    torch = pytest.importorskip("torch")
    params0 = host_params(rng)
    params = on_device(params0)
    opt = Adam(params, lr=0.05, beta1=0.9, beta2=0.999, eps=1e-8)
    tparams = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
               for k, v in params0.items()}
    topt = torch.optim.Adam(list(tparams.values()), lr=0.05, betas=(0.9, 0.999), eps=1e-8)
    for _ in range(5):
        grads = host_grads(rng)
        opt.step(on_device(grads))
        for k, tp in tparams.items():
            tp.grad = torch.tensor(grads[k], dtype=torch.float64)
        topt.step()
    want = {k: tp.detach().numpy() for k, tp in tparams.items()}
    assert max_diff(on_host(params), want) < 1e-12


def test_adam_step_stays_on_device(backend, rng):
    params = on_device(host_params(rng))
    grads = on_device(host_grads(rng))
    opt = Adam(params)
    before = dict(strict_device.transfers)
    opt.step(grads)
    assert strict_device.transfers == before  # no sync, no copy


# --- SGD ---------------------------------------------------------------------

@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch(backend, rng, momentum):
    torch = pytest.importorskip("torch")
    params0 = host_params(rng)
    params = on_device(params0)
    opt = SGD(params, lr=0.1, momentum=momentum)
    tparams = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
               for k, v in params0.items()}
    topt = torch.optim.SGD(list(tparams.values()), lr=0.1, momentum=momentum)
    for step in range(5):
        if step == 3:  # a schedule changing lr mid-run must change both alike
            opt.lr = 0.05
            topt.param_groups[0]["lr"] = 0.05
        grads = host_grads(rng)
        opt.step(on_device(grads))
        for k, tp in tparams.items():
            tp.grad = torch.tensor(grads[k], dtype=torch.float64)
        topt.step()
    want = {k: tp.detach().numpy() for k, tp in tparams.items()}
    assert max_diff(on_host(params), want) < 1e-12


def test_sgd_momentum_formula(backend):
    # v1 = g1, p1 = p0 - lr g1;  v2 = mu g1 + g2, p2 = p1 - lr v2
    p = minis2s.to_device(np.array([1.0]))
    opt = SGD({"p": p}, lr=0.5, momentum=0.5)
    opt.step({"p": minis2s.to_device(np.array([2.0]))})
    assert minis2s.to_cpu(p)[0] == 0.0
    opt.step({"p": minis2s.to_device(np.array([4.0]))})
    assert minis2s.to_cpu(p)[0] == -2.5


# --- the shared contract: in place, validation, checkpoints -------------------

@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_updates_the_same_arrays_in_place(backend, rng, name):
    params = on_device(host_params(rng))
    held = dict(params)  # what a model would hold
    before = on_host(params)
    opt = make_optimizer(name, params, lr=0.1)
    opt.step(on_device(host_grads(rng)))
    for k in params:
        assert params[k] is held[k] and opt.params[k] is held[k]
        assert not np.array_equal(minis2s.to_cpu(held[k]), before[k])


@pytest.mark.parametrize("name,kwargs", [("sgd", {"momentum": 0.9}), ("sgd", {}), ("adam", {})])
def test_state_dict_round_trip_is_bit_identical(backend, rng, name, kwargs):
    params0 = host_params(rng)
    grads_seq = [host_grads(rng) for _ in range(6)]

    # Run A: 3 steps, checkpoint, 3 more steps.
    params_a = on_device(params0)
    opt_a = make_optimizer(name, params_a, lr=0.05, **kwargs)
    for g in grads_seq[:3]:
        opt_a.step(on_device(g))
    state = opt_a.state_dict()
    saved_params = on_host(params_a)
    for g in grads_seq[3:]:
        opt_a.step(on_device(g))

    # The checkpoint is host data and did not change while A went on.
    for key, value in state.items():
        assert isinstance(value, (int, float, np.ndarray)), key
    state_again = make_optimizer(name, on_device(saved_params), lr=0.05, **kwargs)
    state_again.load_state_dict(state)

    # Run B: fresh optimiser from the checkpoint (through npz-like 0-d arrays for scalars).
    params_b = on_device(saved_params)
    opt_b = make_optimizer(name, params_b, lr=123.0, **kwargs)
    opt_b.load_state_dict({k: np.asarray(v) for k, v in state.items()})
    assert opt_b.lr == 0.05
    for g in grads_seq[3:]:
        opt_b.step(on_device(g))
    a, b = on_host(params_a), on_host(params_b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_mismatched_grads_raise_naming_the_key(backend, rng, name):
    params = on_device(host_params(rng))
    opt = make_optimizer(name, params, lr=0.1)
    before = on_host(params)
    grads = on_device(host_grads(rng))

    missing = dict(grads)
    del missing["b"]
    with pytest.raises(ValueError, match="'b'"):
        opt.step(missing)
    with pytest.raises(ValueError, match="'extra'"):
        opt.step({**grads, "extra": grads["b"]})
    with pytest.raises(ValueError, match=r"grads\['W'\].*\(4, 3\)"):
        opt.step({**grads, "W": minis2s.to_device(np.zeros((4, 3)))})
    # Nothing moved: validation happens before any update.
    assert max_diff(on_host(params), before) == 0.0


def test_grads_on_another_backend_raise_naming_the_key(rng):
    saved = dict(minis2s.backend._state)
    try:
        minis2s.use("strict", dtype="float64")
        params = on_device(host_params(rng))
        grads = on_device(host_grads(rng))
        grads["E"] = minis2s.to_cpu(grads["E"])  # a NumPy array among device arrays
        with pytest.raises(TypeError, match="grads\\['E'\\]"):
            Adam(params).step(grads)
    finally:
        minis2s.backend._state.update(saved)


@pytest.mark.parametrize("name,kwargs,buffer", [("sgd", {"momentum": 0.9}, "velocity"),
                                                ("adam", {}, "m")])
def test_bad_state_dict_raises_naming_the_key(backend, rng, name, kwargs, buffer):
    opt = make_optimizer(name, on_device(host_params(rng)), lr=0.1, **kwargs)
    good = opt.state_dict()

    wrong_shape = {**good, f"{buffer}.W": np.zeros((2, 2))}
    with pytest.raises(ValueError, match=f"'{buffer}.W'.*\\(2, 2\\)"):
        opt.load_state_dict(wrong_shape)
    missing = {k: v for k, v in good.items() if k != f"{buffer}.E"}
    with pytest.raises(ValueError, match=f"'{buffer}.E'"):
        opt.load_state_dict(missing)
    with pytest.raises(ValueError, match=f"'{buffer}.other'"):
        opt.load_state_dict({**good, f"{buffer}.other": np.zeros(1)})
    with pytest.raises(ValueError, match="'lr'"):
        opt.load_state_dict({k: v for k, v in good.items() if k != "lr"})


def test_make_optimizer():
    params = {"w": np.zeros(2)}
    assert isinstance(make_optimizer("Adam", params, lr=1e-3), Adam)
    sgd = make_optimizer("sgd", params, lr=0.7, momentum=0.5)
    assert isinstance(sgd, SGD) and sgd.lr == 0.7 and sgd.momentum == 0.5
    with pytest.raises(ValueError, match="rmsprop"):
        make_optimizer("rmsprop", params, lr=0.1)


# --- clipping ----------------------------------------------------------------

def test_global_norm(backend, rng):
    grads = host_grads(rng)
    want = math.sqrt(sum(float(np.sum(g ** 2)) for g in grads.values()))
    assert global_norm(on_device(grads)) == pytest.approx(want, rel=1e-14)
    assert global_norm({}) == 0.0


def test_clip_scales_only_above_threshold(backend, rng):
    host = host_grads(rng)
    norm = math.sqrt(sum(float(np.sum(g ** 2)) for g in host.values()))

    grads = on_device(host)
    assert clip_grad_norm(grads, max_norm=norm * 1.01) == pytest.approx(norm, rel=1e-14)
    assert max_diff(on_host(grads), host) == 0.0  # untouched below the threshold

    grads = on_device(host)
    held = dict(grads)
    returned = clip_grad_norm(grads, max_norm=1.0)
    assert isinstance(returned, float)
    assert returned == pytest.approx(norm, rel=1e-14)  # the norm *before* clipping
    scale = 1.0 / (norm + 1e-6)
    assert max_diff(on_host(held), {k: g * scale for k, g in host.items()}) < 1e-15
    assert global_norm(grads) == pytest.approx(1.0, abs=1e-6)


def test_clip_costs_one_sync(backend, rng):
    grads = on_device(host_grads(rng))
    before = strict_device.transfers["to_cpu"]
    clip_grad_norm(grads, max_norm=0.5)
    if backend.name == "strict":
        assert strict_device.transfers["to_cpu"] - before == 1


def test_clip_matches_torch(backend, rng):
    torch = pytest.importorskip("torch")
    for scale, max_norm in [(1.0, 1.0), (10.0, 5.0), (0.01, 5.0)]:
        host = host_grads(rng, scale)
        grads = on_device(host)
        norm = clip_grad_norm(grads, max_norm)
        tensors = [torch.zeros(host[k].shape, dtype=torch.float64, requires_grad=True)
                   for k in SHAPES]
        for t, k in zip(tensors, SHAPES):
            t.grad = torch.tensor(host[k], dtype=torch.float64)
        tnorm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
        assert abs(norm - float(tnorm)) < 1e-12
        want = {k: t.grad.numpy() for k, t in zip(SHAPES, tensors)}
        assert max_diff(on_host(grads), want) < 1e-12


# --- schedules -----------------------------------------------------------------

def test_step_schedule_halves_every_half_epoch_after_five():
    opt = SGD({"w": np.zeros(1)}, lr=0.7)
    sched = StepSchedule(opt)  # the paper's: start 5, every 0.5, factor 0.5
    expected = [(0.0, 0.7), (4.99, 0.7), (5.0, 0.7), (5.49, 0.7), (5.5, 0.35),
                (5.99, 0.35), (6.0, 0.175), (6.5, 0.0875), (7.25, 0.0875 / 2)]
    for epoch, lr in expected:
        assert sched.update(epoch) == pytest.approx(lr, rel=1e-15)
        assert opt.lr == pytest.approx(lr, rel=1e-15)


def test_step_schedule_fractional_epochs_at_exact_boundaries():
    # Epochs computed as batches_seen / batches_per_epoch: 53/10 must count 3
    # completed 0.1-intervals past 5.0 even though (5.3 - 5.0) / 0.1 < 3 in floats.
    opt = SGD({"w": np.zeros(1)}, lr=1.0)
    sched = StepSchedule(opt, start_epoch=5.0, every=0.1, factor=0.5)
    assert sched.decays_at(53 / 10) == 3
    assert sched.decays_at(5.29) == 2
    assert sched.update(53 / 10) == 0.125


def test_schedule_state_dict_round_trip():
    opt = SGD({"w": np.zeros(1)}, lr=0.7)
    sched = StepSchedule(opt, start_epoch=1.0, every=0.25, factor=0.1)
    sched.update(1.6)
    state = sched.state_dict()

    opt2 = SGD({"w": np.zeros(1)}, lr=99.0)
    sched2 = StepSchedule(opt2)
    sched2.load_state_dict(state)
    assert (sched2.start_epoch, sched2.every, sched2.factor, sched2.base_lr) == (1.0, 0.25, 0.1, 0.7)
    assert opt2.lr == pytest.approx(0.7 * 0.1 ** 2)
    assert sched2.update(2.0) == sched.update(2.0)
    with pytest.raises(ValueError, match="'factor'"):
        StepSchedule(opt2).load_state_dict({k: v for k, v in state.items() if k != "factor"})


def test_constant_schedule():
    opt = Adam({"w": np.zeros(1)}, lr=0.01)
    sched = ConstantSchedule(opt)
    opt.lr = 5.0  # whatever happened in between, update sets the base rate back
    assert sched.update(100.0) == 0.01 and opt.lr == 0.01
    sched2 = ConstantSchedule(Adam({"w": np.zeros(1)}, lr=1.0))
    sched2.load_state_dict(sched.state_dict())
    assert sched2.optimizer.lr == 0.01


def test_clip_leaves_non_finite_gradients_alone(backend):
    grads = {"g": minis2s.to_device(np.array([np.inf, 1.0]))}
    assert clip_grad_norm(grads, 1.0) == math.inf
    np.testing.assert_array_equal(minis2s.to_cpu(grads["g"]), [np.inf, 1.0])


def test_adam_refuses_eps_zero(rng):
    """eps = 0 makes every always-zero gradient (the <pad> embedding row) 0/0 = NaN."""
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        Adam({"w": np.zeros(3)}, eps=0.0)
