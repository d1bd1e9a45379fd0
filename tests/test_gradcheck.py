"""The checker itself: it must pass right gradients and fail wrong ones, loudly."""
import numpy as np
import pytest

import minis2s.functional as F
from minis2s.gradcheck import check_gradients, numerical_gradient, rel_error


def _lstm_case(rng, N=3, H=5):
    """One LSTM step's inputs (the projected input a_x, h_prev, c_prev); Wh held fixed."""
    a_x, h, c = rng.standard_normal((N, 4 * H)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wh = rng.standard_normal((H, 4 * H))
    return dict(a_x=a_x, h_prev=h, c_prev=c), Wh


def test_numerical_gradient_of_a_known_function(rng):
    x = rng.standard_normal((3, 4))
    dout = rng.standard_normal((3, 4))
    g = numerical_gradient(lambda x: x ** 3, {"x": x}, dout)["x"]
    assert rel_error(g, 3 * x ** 2 * dout) < 1e-9


def test_wrong_backward_fails_and_names_the_input(rng):
    inputs, Wh = _lstm_case(rng)
    _, _, cache = F.lstm_step_forward(**inputs, Wh=Wh)
    dh, dc = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    grads = dict(zip(inputs, F.lstm_step_backward(dh, dc, cache)))
    grads["h_prev"] = grads["h_prev"] * 1.01          # a 1 % error in one gradient
    report = check_gradients(lambda **a: F.lstm_step_forward(Wh=Wh, **a)[:2], inputs, [dh, dc],
                             grads)
    assert not report.passed
    assert report.failed == ["h_prev"]
    with pytest.raises(AssertionError, match="h_prev"):
        report.assert_passed()
    assert "FAIL" in str(report)


def test_missing_dc_term_is_caught(rng):
    """The classic mistake: forgetting the dc flowing in from the next step."""
    inputs, Wh = _lstm_case(rng)
    _, _, cache = F.lstm_step_forward(**inputs, Wh=Wh)
    dh, dc = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    wrong = dict(zip(inputs, F.lstm_step_backward(dh, np.zeros_like(dc), cache)))
    report = check_gradients(lambda **a: F.lstm_step_forward(Wh=Wh, **a)[:2], inputs, [dh, dc],
                             wrong)
    assert not report.passed and "c_prev" in report.failed


def test_a_function_ignoring_its_argument_cannot_pass(rng):
    """cs231n's pitfall: a lambda that closes over x instead of using its argument."""
    x = rng.standard_normal((2, 3))
    dout = rng.standard_normal((2, 3))
    report = check_gradients(lambda x_arg: np.tanh(x), {"x_arg": x}, dout,
                             {"x_arg": dout * (1 - np.tanh(x) ** 2)})
    assert not report.passed


def test_float32_is_refused(rng):
    x = rng.standard_normal((2, 2)).astype(np.float32)
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda x: x, {"x": x}, np.ones((2, 2)))


def test_rel_error():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert abs(rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) - 0.2 / 2.2) < 1e-15
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.ones(2), np.ones(3))


from minis2s.gradcheck import standard_cases  # noqa: E402

CASES = [(g, n) for g, n, _ in standard_cases()]


@pytest.mark.parametrize("group,name", CASES, ids=[f"{g}: {n}" for g, n in CASES])
def test_the_standard_cases_pass_on_every_backend(backend, group, name):
    """The rows `minis2s gradcheck` prints, run here on every backend present."""
    run = dict(((g, n), r) for g, n, r in standard_cases())[(group, name)]
    report = run()
    assert report.passed, str(report)


def test_numerical_gradient_of_a_fortran_ordered_input(rng):
    """A transposed (F-ordered) input gets its numerical gradient too (not zeros)."""
    x = rng.standard_normal((3, 4)).T                       # F-ordered view
    num = numerical_gradient(lambda x: x * 2.0, {"x": x}, np.ones((4, 3)))["x"]
    np.testing.assert_allclose(num, np.full((4, 3), 2.0), rtol=1e-8)
