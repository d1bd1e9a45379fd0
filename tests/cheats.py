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
