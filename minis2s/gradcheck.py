r"""Gradient checking: is a hand-written backward pass right?

The analytic gradient of a function f with respect to an input x, given an
upstream gradient ``dout`` (the vector-Jacobian product ``dout^T J``), is
compared with a central difference of the scalar ``L(x) = sum(f(x) * dout)``::

    dL/dx[i] ~ (L(x + h e_i) - L(x - h e_i)) / (2 h)

The error of a central difference is O(h^2) (truncation) + O(eps / h)
(rounding); in float64 with h = 1e-5 both are ~1e-10 relative, so a correct
backward scores ~1e-9 or better and a wrong one ~1e-1. Checks therefore refuse
float32, where rounding alone is ~1e-3.

The relative error of two arrays is::

    rel_error(a, b) = max |a - b| / max(max |a|, max |b|, tiny)

-- the largest absolute disagreement measured against the gradient's own
scale. (An element-by-element ratio is dominated by entries that are ~0 in both,
where rounding noise is all there is.)

Every perturbed evaluation gets *fresh copies* of the inputs passed as
arguments: a function that ignores its arguments (say, a lambda that closes
over the original array) sees no change, scores a zero numerical gradient and
fails -- it cannot pass by accident because the checker mutated an array it
happened to read.

Use it on your own functions::

    from minis2s.gradcheck import check_gradients
    out, cache = my_forward(x, W)
    dout = np.random.randn(*out.shape)
    dx, dW = my_backward(dout, cache)
    report = check_gradients(lambda x, W: my_forward(x, W)[0],
                             {"x": x, "W": W}, dout, {"x": dx, "W": dW})
    print(report)             # one row per input: max relative error, pass/fail
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .backend import get_array_module, to_cpu

__all__ = ["numerical_gradient", "rel_error", "check_gradients", "check_model",
           "GradcheckReport", "DEFAULT_TOL", "standard_cases"]

DEFAULT_TOL = 1e-7


def _flatten(out):
    """Outputs as a flat list of arrays (tuples and lists are walked; None dropped)."""
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flatten(o)]
    return [] if out is None else [out]


def _objective(outputs, douts) -> float:
    outputs = _flatten(outputs)
    if len(outputs) != len(douts):
        raise ValueError(f"the function returned {len(outputs)} arrays but {len(douts)} "
                         "upstream gradients were given")
    total = 0.0
    for o, d in zip(outputs, douts):
        if o.shape != d.shape:
            raise ValueError(f"output of shape {o.shape} has an upstream gradient of shape {d.shape}")
        total += float((o * d).sum())
    return total


def _require_float64(name, a):
    if getattr(a, "dtype", None) is None or a.dtype.kind != "f":
        raise TypeError(f"gradcheck: {name} must be a float array, got {getattr(a, 'dtype', type(a))}")
    if a.dtype.itemsize < 8:
        raise TypeError(f"gradcheck: {name} is {a.dtype}; gradient checks need float64 "
                        "(float32 rounding alone is ~1e-3). Use minis2s.use(dtype='float64').")


def numerical_gradient(f, inputs: dict, dout, h: float = 1e-5) -> dict:
    """Central-difference gradient of ``sum(f(**inputs) * dout)`` w.r.t. each input.

    f: called as ``f(**inputs)``; returns an array or a (nested) tuple of arrays
    (None entries are skipped). dout: an array or a list matching f's outputs.
    Returns {name: gradient}, same shapes and backend as the inputs.
    """
    douts = _flatten(dout)
    grads = {}
    for name, x in inputs.items():
        _require_float64(name, x)
        xp = get_array_module(x)
        g = xp.zeros(x.shape, dtype=x.dtype)    # C order: g.reshape(-1) must be a view
        g_flat = g.reshape(-1)
        for i in range(x.size):
            values = []
            for step in (+h, -h):
                args = {k: v.copy() for k, v in inputs.items()}  # fresh copies every call
                flat = args[name].reshape(-1)
                flat[i] = flat[i] + step
                values.append(_objective(f(**args), douts))
            g_flat[i] = (values[0] - values[1]) / (2.0 * h)
        grads[name] = g
    return grads


def rel_error(a, b) -> float:
    """max |a - b| / max(max |a|, max |b|, 1e-300), computed on the host in float64."""
    a, b = to_cpu(a).astype("float64"), to_cpu(b).astype("float64")
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(abs(a).max(), abs(b).max(), 1e-300)
    return float(abs(a - b).max() / scale)


@dataclass
class GradcheckReport:
    """Per-input maximum relative errors, and whether all are within ``tol``."""
    errors: dict
    tol: float = DEFAULT_TOL
    title: str = ""
    shapes: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every input's error is within the tolerance."""
        return all(e <= self.tol for e in self.errors.values())

    @property
    def failed(self) -> list:
        """The names of the inputs whose gradient is wrong."""
        return [k for k, e in self.errors.items() if not e <= self.tol]

    @property
    def max_error(self) -> float:
        """The worst relative error over all inputs."""
        return max(self.errors.values(), default=0.0)

    def __str__(self) -> str:
        width = max([len(k) for k in self.errors] + [5])
        lines = [self.title] if self.title else []
        lines.append(f"{'input':<{width}}  {'shape':<16} {'max rel. error':>14}  result")
        for k, e in self.errors.items():
            shape = str(tuple(self.shapes.get(k, ())))
            lines.append(f"{k:<{width}}  {shape:<16} {e:>14.2e}  {'ok' if e <= self.tol else 'FAIL'}")
        verdict = "PASS" if self.passed else f"FAIL: wrong gradient for {', '.join(self.failed)}"
        lines.append(f"{verdict} (tolerance {self.tol:.0e})")
        return "\n".join(lines)

    def assert_passed(self) -> "GradcheckReport":
        """Raise AssertionError naming every input whose gradient is wrong."""
        if not self.passed:
            raise AssertionError("gradient check failed:\n" + str(self))
        return self


def check_gradients(f, inputs: dict, dout, analytic: dict, tol: float = DEFAULT_TOL,
                    h: float = 1e-5, title: str = "") -> GradcheckReport:
    """Compare ``analytic`` gradients with numerical ones for every input.

    inputs: {name: float64 array} -- what f is differentiated with respect to.
    analytic: {name: gradient} for the same names (missing names are an error).
    """
    missing = set(inputs) - set(analytic)
    if missing:
        raise ValueError(f"check_gradients: no analytic gradient given for {sorted(missing)}")
    numeric = numerical_gradient(f, inputs, dout, h)
    errors = {k: rel_error(analytic[k], numeric[k]) for k in inputs}
    return GradcheckReport(errors, tol, title, {k: v.shape for k, v in inputs.items()})


def check_model(model, loss_fn, tol: float = DEFAULT_TOL, h: float = 1e-5,
                names=None, max_elements: int | None = None, seed: int = 0,
                title: str = "") -> GradcheckReport:
    """Gradient-check a model's parameters in place.

    ``loss_fn()`` runs the model's forward pass and returns the scalar loss; it
    is called once and followed by ``model.backward()`` to get the analytic
    gradients, then once per perturbation. Each parameter element is nudged
    in place (the model reads its own arrays) and restored exactly afterwards.
    ``max_elements`` checks a random sample of that many elements per parameter
    (all of them when None). Dropout must be off or its masks fixed, so that
    every call computes the same function.
    """
    params = model.params
    names = list(params) if names is None else list(names)
    for n in names:
        _require_float64(n, params[n])
    float(loss_fn())
    model.backward()
    analytic = {n: to_cpu(model.grads[n]).copy() for n in names}
    rng = np.random.default_rng(seed)
    errors, shapes = {}, {}
    for n in names:
        p = params[n]
        flat = p.reshape(-1)
        idx = range(p.size) if max_elements is None or p.size <= max_elements else \
            sorted(rng.choice(p.size, max_elements, replace=False))
        num, ana = [], []
        for i in idx:
            old = float(flat[i])
            flat[i] = old + h
            lp = float(loss_fn())
            flat[i] = old - h
            lm = float(loss_fn())
            flat[i] = old
            num.append((lp - lm) / (2.0 * h))
            ana.append(analytic[n].reshape(-1)[i])
        errors[n] = rel_error(np.array(ana), np.array(num))
        shapes[n] = p.shape
    return GradcheckReport(errors, tol, title, shapes)


def standard_cases():
    """(group, name, run) for every functional op, layer and model; run() -> GradcheckReport.

    Small odd sizes, non-zero biases and initial states, padded masks: the
    settings under which a wrong term in a backward pass cannot hide. Runs on
    the current backend, which must be in float64. ``minis2s gradcheck`` prints
    these; the test suite runs the same list on every backend.
    """
    from . import functional as F
    from .backend import current, to_device
    from .layers import GRU, LSTM, Embedding, Linear
    from .models import Seq2Seq

    rng = np.random.default_rng(0)
    N, T, D, H, V = 3, 4, 5, 3, 6

    def r(*shape, scale=1.0):
        return to_device(rng.standard_normal(shape) * scale)

    mask = to_device(np.arange(T)[None, :] < np.array([[4], [2], [3]]))   # three lengths

    def check(fn, names, values, douts, backward):
        """Forward fn(**inputs) once, backward with random douts, compare."""
        inputs = dict(zip(names, values))
        return check_gradients(fn, inputs, douts, dict(zip(names, backward(douts))))

    def lstm_step():   # the step's inputs; its weights' gradients are formed by the sequence
        Wh = r(H, 4 * H, scale=.5)
        args = (r(N, 4 * H), r(N, H), r(N, H))
        cache = F.lstm_step_forward(*args, Wh)[2]
        return check(lambda **a: F.lstm_step_forward(Wh=Wh, **a)[:2],
                     ["a_x", "h_prev", "c_prev"], args, [r(N, H), r(N, H)],
                     lambda d: F.lstm_step_backward(*d, cache))

    def lstm_sequence(forward, backward):
        def run():
            args = (r(N, T, D), r(N, H), r(N, H), r(D, 4 * H, scale=.5), r(H, 4 * H, scale=.5),
                    r(4 * H))
            cache = forward(*args, mask)[2]

            def f(**a):
                hs, (hT, cT), _ = forward(mask=mask, **a)
                return hs, hT, cT
            return check(f, ["x", "h0", "c0", "Wx", "Wh", "b"], args, [r(N, T, H), r(N, H), r(N, H)],
                         lambda d: backward(*d, cache))
        return run

    def gru_step():    # the step's inputs; its weights' gradients are formed by the sequence
        Wh, bh = r(H, 3 * H, scale=.5), r(3 * H)
        args = (r(N, 3 * H), r(N, H))
        cache = F.gru_step_forward(*args, Wh, bh)[1]
        return check(lambda **a: F.gru_step_forward(Wh=Wh, bh=bh, **a)[0], ["a_x", "h_prev"],
                     args, r(N, H), lambda d: F.gru_step_backward(d, cache)[:2])

    def gru_sequence():
        args = (r(N, T, D), r(N, H), r(D, 3 * H, scale=.5), r(H, 3 * H, scale=.5), r(3 * H),
                r(3 * H))
        cache = F.gru_forward(*args, mask)[2]

        def f(**a):
            hs, hT, _ = F.gru_forward(mask=mask, **a)
            return hs, hT
        return check(f, ["x", "h0", "Wx", "Wh", "bx", "bh"], args, [r(N, T, H), r(N, H)],
                     lambda d: F.gru_backward(*d, cache))

    def peek():
        args = (r(N, T, D), r(N, H))
        cache = F.peek_forward(*args)[1]
        return check(lambda **a: F.peek_forward(**a)[0], ["a", "ctx"], args, r(N, T, D + H),
                     lambda d: F.peek_backward(d, cache))

    def rnn_step():
        Wh = r(H, H, scale=.5)
        args = (r(N, H), r(N, H))
        cache = F.rnn_step_forward(*args, Wh)[1]
        return check(lambda **a: F.rnn_step_forward(Wh=Wh, **a)[0], ["a_x", "h_prev"],
                     args, r(N, H), lambda d: F.rnn_step_backward(d, cache))

    def rnn_sequence():
        args = (r(N, T, D), r(N, H), r(D, H, scale=.5), r(H, H, scale=.5), r(H))
        cache = F.rnn_forward(*args, mask)[2]
        return check(lambda **a: F.rnn_forward(mask=mask, **a)[:2], ["x", "h0", "Wx", "Wh", "b"],
                     args, [r(N, T, H), r(N, H)], lambda d: F.rnn_backward(*d, cache))

    def embedding():
        ids = to_device(np.array([[1, 2, 2, 5], [0, 5, 5, 5], [3, 3, 1, 0]]))  # repeats accumulate
        W = r(V, D)
        cache = F.embedding_forward(ids, W)[1]
        return check(lambda W: F.embedding_forward(ids, W)[0], ["W"], [W], r(N, T, D),
                     lambda d: [F.embedding_backward(d, cache)])

    def linear():
        args = (r(N, T, D), r(D, V), r(V))
        cache = F.linear_forward(*args)[1]
        return check(lambda **a: F.linear_forward(**a)[0], ["x", "W", "b"], args, r(N, T, V),
                     lambda d: F.linear_backward(d, cache))

    def dropout():   # a generator re-seeded for every pass draws the same mask
        x = r(N, D)
        keep = F.dropout_forward(x, 0.3, current().random_generator(0))[1]
        return check(lambda x: F.dropout_forward(x, 0.3, current().random_generator(0))[0],
                     ["x"], [x], r(N, D), lambda d: [F.dropout_backward(d, keep)])

    def softmax_ce():
        z, y = r(N, T, V, scale=3.0), to_device(np.array([[1, 2, 0, 0], [3, 4, 5, 0], [0, 1, 1, 1]]))
        dz = F.softmax_cross_entropy(z, y, ignore_index=0)[1]
        return check(lambda z: F.softmax_cross_entropy(z, y, 0)[0], ["z"], [z],
                     to_device(np.array(1.0)), lambda d: [dz])

    def randomised(module, scale=0.5):
        for p in module.params.values():   # weights well away from zero: every term matters
            p[...] = r(*p.shape, scale=scale)
        return module

    def layer(module, run, backward):
        """run() -> (loss, cache); backward(cache) adds the gradients of that loss."""
        kept = {}

        def loss():
            value, kept["cache"] = run()
            return value

        class AsModel:   # what check_model needs: params, grads, backward()
            params = property(lambda self: module.params)
            grads = property(lambda self: module.grads)

            def backward(self):
                module.zero_grad()
                backward(kept["cache"])
        return check_model(AsModel(), loss)

    def embedding_layer():
        emb, ids, dout = Embedding(V, D, rng), to_device(np.array([[1, 2, 2, 5], [0, 5, 5, 5]])), r(2, 4, D)

        def run():
            out, cache = emb.forward(ids)
            return (out * dout).sum(), cache
        return layer(emb, run, lambda cache: emb.backward(dout, cache))

    def linear_layer():
        lin, x, dout = randomised(Linear(D, V, rng)), r(N, T, D), r(N, T, V)

        def run():
            out, cache = lin.forward(x)
            return (out * dout).sum(), cache
        return layer(lin, run, lambda cache: lin.backward(dout, cache))

    def lstm_layer():
        lstm = randomised(LSTM(D, H, rng, n_layers=2))
        x, state = r(N, T, D), (r(2, N, H), r(2, N, H))
        dhs, dstate = r(N, T, H), (r(2, N, H), r(2, N, H))

        def run():
            hs, (hT, cT), cache = lstm.forward(x, state, mask)
            return (hs * dhs).sum() + (hT * dstate[0]).sum() + (cT * dstate[1]).sum(), cache
        return layer(lstm, run, lambda cache: lstm.backward(dhs, dstate, cache))

    def gru_layer():
        gru = randomised(GRU(D, H, rng, n_layers=2))
        x, h0, dhs, dhT = r(N, T, D), r(2, N, H), r(N, T, H), r(2, N, H)

        def run():
            hs, (hT, _), cache = gru.forward(x, (h0, None), mask)
            return (hs * dhs).sum() + (hT * dhT).sum(), cache
        return layer(gru, run, lambda cache: gru.backward(dhs, (dhT, None), cache))

    src = np.array([[4, 5, 6, 7, 8], [5, 6, 0, 0, 0], [8, 3, 4, 0, 0]])
    tgt = np.array([[1, 3, 4, 2, 0], [1, 5, 2, 0, 0], [1, 6, 7, 5, 2]])

    def model(decoder, cell="lstm"):
        def run():
            # One layer (stacking is checked above): through a whole model the
            # gradients of early encoder weights get small, and a deeper model
            # brings them close to the float64 rounding floor of the numerical
            # derivative (~1e-8 relative), leaving less margin below the tolerance.
            m = randomised(Seq2Seq(9, 8, emb=3, hidden=4, decoder=decoder, cell=cell).to(current()),
                           scale=1.0)
            return check_model(m, lambda: m.forward(src, tgt))
        return run

    def attention(score):
        def run():   # keys -> scores -> masked softmax -> context -> output, every input
            He = H if score == "dot" else D
            h, hs = r(N, T, H), r(N, T, He)        # T source positions, padded as ``mask``
            p = {"Wc": r(He + H, H, scale=.5), "Wa": r(H, He, scale=.5), "Wq": r(H, V, scale=.5),
                 "Wk": r(He, V, scale=.5), "v": r(V, scale=.5)}
            p = {k: w for k, w in p.items() if k == "Wc" or (score == "general" and k == "Wa")
                 or (score == "additive" and k in ("Wq", "Wk", "v"))}
            keys, kcache = F.attention_keys_forward(hs, p, score)
            cache = F.attention_forward(h, hs, keys, mask, p, score)[2]
            dh_tilde = r(N, T, H)
            dh, dhs, dkeys, grads = F.attention_backward(dh_tilde, cache)
            dhs_k, kgrads = F.attention_keys_backward(dkeys, kcache, score)

            def f(h, hs, **w):
                return F.attention_forward(h, hs, F.attention_keys_forward(hs, w, score)[0], mask,
                                           w, score)[0]
            return check_gradients(f, {"h": h, "hs": hs, **p}, dh_tilde,
                                   {"h": dh, "hs": dhs + dhs_k, **grads, **kgrads})
        return run

    def attention_model():
        m = randomised(Seq2Seq(9, 8, emb=3, hidden=4, decoder="attention", score="additive",
                               bidirectional=True).to(current()), scale=1.0)
        # h = 1e-4: the score weights' gradients are small next to the loss, and the
        # rounding error of a central difference (eps * loss / h) must stay below them
        return check_model(m, lambda: m.forward(src, tgt), h=1e-4)

    return [("functional", "lstm_step_forward/backward", lstm_step),
            ("functional", "lstm_forward/backward (masked)",
             lstm_sequence(F.lstm_forward, F.lstm_backward)),
            ("functional", "gru_step_forward/backward", gru_step),
            ("functional", "gru_forward/backward (masked)", gru_sequence),
            ("functional", "peek_forward/backward", peek),
            ("functional", "rnn_step_forward/backward", rnn_step),
            ("functional", "rnn_forward/backward (masked)", rnn_sequence),
            ("functional", "embedding_forward/backward", embedding),
            ("functional", "linear_forward/backward", linear),
            ("functional", "dropout_forward/backward", dropout),
            ("functional", "softmax_cross_entropy", softmax_ce),
            ("functional", "attention (dot score, masked)", attention("dot")),
            ("functional", "attention (general score, masked)", attention("general")),
            ("functional", "attention (additive score, masked)", attention("additive")),
            ("layer", "Embedding", embedding_layer),
            ("layer", "Linear", linear_layer),
            ("layer", "LSTM (2 layers, masked)", lstm_layer),
            ("layer", "GRU (2 layers, masked)", gru_layer),
            ("model", "Seq2Seq, plain decoder", model("plain")),
            ("model", "Seq2Seq, peeky decoder", model("peeky")),
            ("model", "Seq2Seq, peeky decoder, GRU", model("peeky", "gru")),
            ("model", "Seq2Seq, attention, bidirectional", attention_model)]
