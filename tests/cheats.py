"""Submissions that try to earn points without doing the exercises (issue 20), for tests/test_grading_cheats.py.

Each function returns the text of a submission file. Every one of them scored
before the grader was hardened (the numbers are in the commit that added them).
"""
import hashlib

import numpy as np

from minis2s.exercises import EXERCISES

SOLUTIONS_PATH = "instructor/solutions.py"


def pickle_judge() -> str:
    """1. A returned object whose __reduce__ replaces the judge when the grader unpickles it."""
    return '''\
import numpy as np

class Judge:
    def __init__(self, shape):
        self.shape = shape
    def __reduce__(self):
        code = ("(setattr(__import__('minis2s.exercises.checker', fromlist=['x']), 'rel_error',"
                " lambda a, b: 0.0), __import__('numpy').zeros(%r))[1]" % (self.shape,))
        return (eval, (code,))

def embedding_backward(dout, cache):
    return Judge((cache[1], dout.shape[-1]))

def softmax_cross_entropy(logits, targets, ignore_index):
    return Judge(()), Judge(tuple(logits.shape))
'''


def key_of(first_arg) -> str:
    return hashlib.sha256(np.ascontiguousarray(first_arg, dtype=np.float64).tobytes()).hexdigest()


def lookup_table(names, seeds=(0, 1, 2)) -> str:
    """2. The public seeds' cases, built with the package's make_case, answered from a table."""
    table = {}
    for name in names:
        ex = EXERCISES[name]
        for seed in seeds:
            case = ex.make_case(np.random.default_rng(seed))
            table[key_of(case.args[0])] = [np.asarray(case.oracle[o], dtype=np.float64).tolist()
                                           for o in ex.outputs]
    lines = ["import hashlib", "import numpy as np", f"TABLE = {table!r}", "",
             "def _answer(first, n):",
             "    key = hashlib.sha256(np.ascontiguousarray(first, dtype=np.float64).tobytes()).hexdigest()",
             "    outs = [np.array(v) for v in TABLE[key]]",
             "    return outs[0] if n == 1 else tuple(outs)", ""]
    for name in names:
        ex = EXERCISES[name]
        lines += [f"def {ex.stub.__name__}(first, *rest):",
                  f"    return _answer(first, {len(ex.outputs)})", ""]
    return "\n".join(lines)


def append_to_run_autograder(script: str) -> str:
    """3a. At load time, append a line to the running run_autograder that forges results.json."""
    return f'''\
forged = "\\necho '{{\\"score\\": 999, \\"output\\": \\"forged\\"}}' > \\"$ROOT/results/results.json\\"\\n"
try:
    with open({script!r}, "a") as fh:
        fh.write(forged)
except OSError:
    pass

def softmax_cross_entropy(logits, targets, ignore_index):
    raise NotImplementedError
'''


def detached_forger(results: str, delay: float = 3.0) -> str:
    """3b. At load time, leave a process in a session of its own that rewrites results.json later."""
    return f'''\
import subprocess, sys
code = ("import time, json; time.sleep({delay}); "
        "open({results!r}, 'w').write(json.dumps({{'score': 999, 'output': 'forged'}}))")
try:
    subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
except Exception:
    pass

def softmax_cross_entropy(logits, targets, ignore_index):
    raise NotImplementedError
'''


def library_by_path() -> str:
    """4. The package loaded by path under another name: its clip_grad_norm. (The folder came
    from the given forward passes' module once; the sandbox's job.json names a file of it too.)"""
    return '''\
import importlib, importlib.util, json, sys
from pathlib import Path

root = Path(json.load(open("job.json"))["prepare"]).parents[1]
spec = importlib.util.spec_from_file_location("notminis2s", root / "__init__.py",
                                              submodule_search_locations=[str(root)])
lib = importlib.util.module_from_spec(spec)
sys.modules["notminis2s"] = lib
spec.loader.exec_module(lib)
optim = importlib.import_module("notminis2s.optim")

def clip_gradients(dWx, dWh, db, max_norm):
    g = {"a": dWx, "b": dWh, "c": db}
    norm = optim.clip_grad_norm(g, max_norm)
    return g["a"], g["b"], g["c"], norm
'''


def given_forward_answers_the_forward() -> str:
    """5. Exercise 5 answered by a forward pass the exercises' package holds. (It scored 2 / 2
    with the given lstm_step_forward, before the given forward passes went; now the oracle's
    own function is the one within reach -- and nothing of minis2s can be imported.)"""
    return '''\
from minis2s.exercises import lstm

def lstm_step_forward(a_x, h_prev, c_prev, Wh):
    h, c, _ = lstm.F.lstm_step_forward(a_x, h_prev, c_prev, Wh)
    return h, c
'''


def finite_differences() -> str:
    """6. Exercise 1 answered by central differences of the oracle's loss (what the oracle does;
    it scored 2 / 2 on the given loss, before the given forward passes went)."""
    return '''\
import numpy as np
from minis2s.exercises.softmax import cross_entropy_loss

def softmax_cross_entropy(logits, targets, ignore_index):
    loss = float(cross_entropy_loss(logits, targets, ignore_index))
    flat = logits.reshape(-1).copy()
    d = np.zeros_like(flat)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + 1e-5
        up = float(cross_entropy_loss(flat.reshape(logits.shape), targets, ignore_index))
        flat[k] = old - 1e-5
        down = float(cross_entropy_loss(flat.reshape(logits.shape), targets, ignore_index))
        flat[k] = old
        d[k] = (up - down) / 2e-5
    return loss, d.reshape(logits.shape)
'''


def finite_differences_of_a_copy() -> str:
    """6b. Exercise 3 by central differences of a forward pass copied into the submission
    (nothing of minis2s is imported)."""
    return '''\
import numpy as np

def _forward(a_x, h_prev, Wh):
    return np.tanh(a_x + h_prev @ Wh)

def rnn_step_backward(dh, cache):
    h_prev, Wh, h = cache
    inputs = [np.arctanh(h) - h_prev @ Wh, h_prev.copy()]       # a_x, recovered from h
    grads = []
    for a in inputs:
        g = np.zeros_like(a)
        flat, gflat = a.reshape(-1), g.reshape(-1)
        for k in range(flat.size):
            old = flat[k]
            flat[k] = old + 1e-5
            up = (_forward(*inputs, Wh) * dh).sum()
            flat[k] = old - 1e-5
            down = (_forward(*inputs, Wh) * dh).sum()
            flat[k] = old
            gflat[k] = (up - down) / 2e-5
        grads.append(g)
    return tuple(grads)
'''


def softmax_without_the_max() -> str:
    """7. Softmax cross-entropy that does not subtract the row maximum (overflows on large logits)."""
    return '''\
import numpy as np

def softmax_cross_entropy(logits, targets, ignore_index):
    V = logits.shape[-1]
    z, y = logits.reshape(-1, V), targets.reshape(-1)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    real = y != ignore_index
    count = max(int(real.sum()), 1)
    rows = np.arange(len(y))[real]
    loss = -np.log(p[rows, y[real]]).sum() / count
    d = p.copy()
    d[rows, y[real]] -= 1.0
    d[~real] = 0.0
    return loss, (d / count).reshape(logits.shape)
'''


def finite_differences_of_copied_sequences() -> str:
    """6c. Exercises 4, 7, 9 and 12 (rnn_backward, lstm_backward, peeky_decoder_backward,
    attention_backward) by central differences of forward passes copied into the submission,
    their inputs read back from the caches (nothing of minis2s is imported). Before these
    exercises had large cases, each scored full marks."""
    return '''\
import numpy as np


def _numgrad(loss, arrays):
    """Central differences of loss() over every element of every array (changed in place)."""
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        flat, gflat = a.reshape(-1), g.reshape(-1)
        for k in range(flat.size):
            old = flat[k]
            flat[k] = old + 1e-5
            up = loss()
            flat[k] = old - 1e-5
            down = loss()
            flat[k] = old
            gflat[k] = (up - down) / 2e-5
        grads.append(g)
    return grads


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p):
    return np.log(p) - np.log1p(-p)


def _x(proj, hs):                               # time-major rows back to (N, T, D)
    T, N, _ = hs.shape
    return proj[0].reshape(T, N, -1).transpose(1, 0, 2).copy()     # C order: written in place


def _rnn(x, h0, Wx, Wh, b, mask):
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = np.where(mask[:, t, None] > 0, np.tanh(x[:, t] @ Wx + b + h @ Wh), h)
        hs.append(h)
    return np.stack(hs, axis=1), h


def rnn_backward(dhs, dhT, cache):
    proj, h0, Wh, steps, hs, mask = cache
    x, Wx = _x(proj, hs), np.array(proj[2])
    a_x = np.arctanh(steps[0].h) - h0 @ Wh             # step 0 runs on every row
    b = (a_x - x[:, 0] @ Wx).mean(axis=0)
    h0, Wh = np.array(h0), np.array(Wh)

    def loss():
        out, hT = _rnn(x, h0, Wx, Wh, b, mask)
        return (out * dhs).sum() + (hT * dhT).sum()
    return tuple(_numgrad(loss, [x, h0, Wx, Wh, b]))


def _lstm(x, h0, c0, Wx, Wh, b, mask):
    H = h0.shape[1]
    h, c, hs = h0, c0, []
    for t in range(x.shape[1]):
        a = x[:, t] @ Wx + b + h @ Wh
        i, f, o = (_sigmoid(a[:, k * H:(k + 1) * H]) for k in (0, 1, 3))
        c_new = f * c + i * np.tanh(a[:, 2 * H:3 * H])
        real = np.ones((x.shape[0], 1), bool) if mask is None else mask[:, t, None] > 0
        h, c = np.where(real, o * np.tanh(c_new), h), np.where(real, c_new, c)
        hs.append(h)
    return np.stack(hs, axis=1), h, c


def _lstm_inputs(cache):
    proj, h0, Wh, steps, hs, mask = cache
    x, Wx = _x(proj, hs), np.array(proj[2])
    s = steps[0]
    a = np.concatenate([_logit(s.i), _logit(s.f), np.arctanh(s.g), _logit(s.o)], axis=1)
    b = (a - s.h_prev @ Wh - x[:, 0] @ Wx).mean(axis=0)
    return x, np.array(h0), np.array(s.c_prev), Wx, np.array(Wh), b, mask


def lstm_backward(dhs, dhT, dcT, cache):
    x, h0, c0, Wx, Wh, b, mask = _lstm_inputs(cache)

    def loss():
        out, hT, cT = _lstm(x, h0, c0, Wx, Wh, b, mask)
        return (out * dhs).sum() + (hT * dhT).sum() + (cT * dcT).sum()
    return tuple(_numgrad(loss, [x, h0, c0, Wx, Wh, b]))


def peeky_decoder_backward(cache):
    p = {k: np.array(v) for k, v in cache["params"].items()}
    y_in, y_out, pad = cache["y_in"], cache["y_out"], cache["pad_id"]
    h0 = np.array(cache["ctx"])
    c0 = np.array(cache["lstm"].steps[0].c_prev)
    T = y_in.shape[1]

    def loss():
        e = p["W_emb"][y_in]
        ctx = np.repeat(h0[:, None], T, axis=1)
        hs, _, _ = _lstm(np.concatenate([e, ctx], axis=2), h0, c0, p["Wx"], p["Wh"], p["b"], None)
        logits = np.concatenate([hs, ctx], axis=2) @ p["W_out"] + p["b_out"]
        z = logits - logits.max(axis=2, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=2, keepdims=True))
        real = y_out != pad
        return -logp[real, y_out[real]].sum() / max(int(real.sum()), 1)
    names = ["W_emb", "Wx", "Wh", "b", "W_out", "b_out"]
    return tuple(_numgrad(loss, [p[k] for k in names] + [h0, c0]))


def _attention(h, hs, keys, Wc, real):
    scores = np.where(real[:, None, :], h @ keys.transpose(0, 2, 1), -np.inf)
    e = np.exp(scores - scores.max(axis=2, keepdims=True))
    ctx = (e / e.sum(axis=2, keepdims=True)) @ hs
    return np.tanh(np.concatenate([ctx, h], axis=2) @ Wc)


def attention_backward(dh_tilde, cache):
    (h, keys), alpha, (_, hs), (_, Wc, _, _) = cache[2], cache[3], cache[4], cache[5]
    h, keys, hs, Wc = (np.array(a) for a in (h, keys, hs, Wc))
    real = alpha[:, 0, :] > 0                           # padding got weight exactly 0

    def loss():
        return (_attention(h, hs, keys, Wc, real) * dh_tilde).sum()
    dh, dhs, dkeys, dWc = _numgrad(loss, [h, hs, keys, Wc])
    return dh, dhs, dkeys, {"Wc": dWc}
'''
