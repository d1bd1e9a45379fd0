"""The exercise checker: right answers pass, typical mistakes fail and are named.

The checker's oracle is a numerical gradient (or minis2s.optim.Adam), never the
reference solutions -- so "every solution passes" is a real test of both.
"""
import numpy as np
import pytest

import minis2s.functional as F
from minis2s.exercises import EXERCISES, check, list_exercises, solutions
from minis2s.exercises.softmax import cross_entropy_loss

NAMES = ["lstm_step_backward", "lstm_backward", "embedding_backward",
         "softmax_cross_entropy", "peeky_concat", "adam_update"]


def solution(name):
    return getattr(solutions, EXERCISES[name].stub.__name__)


def test_the_exercises_are_listed():
    assert list_exercises() == NAMES


# --- right answers pass, stubs fail politely ----------------------------------

@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", NAMES)
def test_every_reference_solution_passes(name, seed):
    result = check(name, solution(name), seed=seed, verbose=False)
    assert result.passed, str(result)
    assert list(result.errors) == list(EXERCISES[name].outputs)


@pytest.mark.parametrize("name", NAMES)
def test_every_stub_fails_as_not_implemented(name, capsys):
    result = check(name, EXERCISES[name].stub)
    out = capsys.readouterr().out
    assert not result.passed and result.errors == {}
    assert "not implemented yet" in result.problem
    assert "Hint" in out and out.rstrip().splitlines()[-1].startswith("FAIL")


def test_report_has_one_line_per_output_and_a_verdict(capsys):
    check("lstm_step_backward", solutions.lstm_step_backward)
    lines = capsys.readouterr().out.rstrip().splitlines()
    assert len(lines) == 1 + 6 + 1                       # header, six outputs, verdict
    for line, name in zip(lines[1:7], ["dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"]):
        assert line.split()[0] == name and line.endswith("ok")
    assert lines[-1].startswith("PASS")


# --- typical mistakes are caught and named ----------------------------------------

def _replace(outputs, k, value):
    outputs = list(outputs)
    outputs[k] = value
    return tuple(outputs)


def test_dWh_from_h_instead_of_h_prev_is_named(capsys):
    def wrong(dh, dc, cache):
        x, h_prev, c_prev, Wx, Wh, gates, tanh_c = cache
        H = h_prev.shape[1]
        h = gates[:, 3 * H:] * tanh_c                     # the step's output, not its input
        bad = solutions.lstm_step_backward(dh, dc, (x, h, c_prev, Wx, Wh, gates, tanh_c))
        return _replace(solutions.lstm_step_backward(dh, dc, cache), 4, bad[4])
    result = check("lstm_step_backward", wrong)
    assert result.failed == ["dWh"]
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert last.startswith("FAIL") and "dWh" in last


def test_transposed_dWh_is_named_with_its_shape(capsys):
    def wrong(dh, dc, cache):
        good = solutions.lstm_step_backward(dh, dc, cache)
        return _replace(good, 4, good[4].T)               # (4H, H) instead of (H, 4H)
    result = check("lstm_step_backward", wrong)
    assert result.failed == ["dWh"]
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert "dWh has shape (16, 4), expected (H, 4H) = (4, 16)" in last


def test_missing_dc_term_is_named():
    def wrong(dh, dc, cache):                             # forgets the dc flowing in from t+1
        return solutions.lstm_step_backward(dh, np.zeros_like(dc), cache)
    result = check("lstm_step_backward", wrong, verbose=False)
    assert not result.passed and "dc_prev" in result.failed


def test_lstm_backward_forgetting_the_mask_fails():
    def wrong(dhs, dhT, dcT, cache):
        return solutions.lstm_backward(dhs, dhT, dcT, cache[:-1] + (None,))
    result = check("lstm_backward", wrong, verbose=False)
    assert not result.passed and "dx" in result.failed


def test_embedding_without_accumulation_is_named():
    def wrong(dout, ids, V):
        dW = np.zeros((V, dout.shape[-1]))
        dW[ids] += dout                                   # repeated ids: only one of them counts
        return dW
    result = check("embedding_backward", wrong, verbose=False)
    assert result.failed == ["dW"]


def test_softmax_counting_padding_rows_fails():
    def wrong(logits, targets, ignore_index):
        return solutions.softmax_cross_entropy(logits, targets, None)
    result = check("softmax_cross_entropy", wrong, verbose=False)
    assert set(result.failed) == {"loss", "dlogits"}


def test_softmax_dividing_by_all_rows_fails():
    def wrong(logits, targets, ignore_index):
        loss, dz = solutions.softmax_cross_entropy(logits, targets, ignore_index)
        real, rows = (targets != ignore_index).sum(), targets.size
        return loss * real / rows, dz * real / rows       # mean over N*T instead of M'
    result = check("softmax_cross_entropy", wrong, verbose=False)
    assert set(result.failed) == {"loss", "dlogits"}


def test_peeky_dctx_not_summed_over_time_is_a_shape_error(capsys):
    result = check("peeky_concat", lambda dout, E: (dout[..., :E], dout[..., E:]))
    assert result.failed == ["dctx"]
    assert "dctx has shape (3, 4, 2), expected (N, H) = (3, 2)" in capsys.readouterr().out


def test_adam_without_bias_correction_fails():
    def wrong(p, g, m, v, t, lr, beta1, beta2, eps):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        return p - lr * m / (np.sqrt(v) + eps), m, v
    result = check("adam_update", wrong, verbose=False)
    assert result.failed == ["p_new"]


def test_adam_with_eps_inside_the_root_fails():
    def wrong(p, g, m, v, t, lr, beta1, beta2, eps):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        return p - lr * m_hat / np.sqrt(v_hat + eps), m, v
    assert check("adam_update", wrong, verbose=False).failed == ["p_new"]


# --- the checker survives broken functions and cannot be fooled ---------------------

def test_a_function_that_raises_fails_with_the_exception(capsys):
    def broken(dh, dc, cache):
        return dh @ cache[3]                              # (N, H) @ (D, 4H): a shape bug
    result = check("lstm_step_backward", broken)
    out = capsys.readouterr().out
    assert not result.passed and "ValueError" in result.problem
    assert "Traceback" in out and "in broken" in out


def test_returning_None_is_not_implemented_yet():
    def forgot_return(dout, ids, V):
        np.zeros((V, dout.shape[-1]))
    result = check("embedding_backward", forgot_return, verbose=False)
    assert not result.passed and "not implemented yet" in result.problem


def test_wrong_number_of_outputs_fails():
    result = check("lstm_step_backward",
                   lambda dh, dc, cache: solutions.lstm_step_backward(dh, dc, cache)[:5],
                   verbose=False)
    assert not result.passed and "expected 6 outputs" in result.problem and "db (4H,)" in result.problem


def test_an_output_that_is_not_an_array_fails():
    result = check("peeky_concat", lambda dout, E: (dout[..., :E], None), verbose=False)
    assert result.failed == ["dctx"]


def test_scribbling_on_the_arguments_changes_nothing():
    """The oracle is computed first and the function gets copies: in-place writes are harmless."""
    def scribbler(dh, dc, cache):
        grads = solutions.lstm_step_backward(dh, dc, cache)
        for a in (dh, dc) + tuple(cache):
            a[...] = 0.0
        return grads
    assert check("lstm_step_backward", scribbler, verbose=False).passed
    zeros = check("lstm_step_backward",
                  lambda dh, dc, cache: tuple(np.zeros_like(a) for a in cache[:5]) + (np.zeros(16),),
                  verbose=False)
    assert set(zeros.failed) == {"dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"}


def test_unknown_exercise_is_a_key_error():
    with pytest.raises(KeyError, match="lstm_step_backward"):
        check("lstm_step_backwards", solutions.lstm_step_backward)


def test_the_given_loss_is_the_library_loss(rng):
    logits = rng.standard_normal((2, 3, 5))
    targets = np.array([[1, 2, 0], [4, 0, 0]])
    loss, _ = F.softmax_cross_entropy(logits, targets, ignore_index=0)
    assert abs(float(cross_entropy_loss(logits, targets, 0)) - float(loss)) < 1e-12
