"""The CUDA sources of :mod:`minis2s.kernels.cuda`, as plain data (no CuPy needed to read them).

Each entry is what ``cupy.ElementwiseKernel(in_params, out_params, operation, name)``
or ``cupy.ReductionKernel(...)`` takes. ``T`` is the float type of the arrays
(float32 or float64), fixed by CuPy at the first call. The formulas are those
of :mod:`minis2s.kernels.ufunc` (whose docstrings derive them), one thread per
element instead of one NumPy pass per operation.

They live apart from the module that builds the kernels so that the test suite
can compile these very strings without a GPU: with the host C++ compiler, to run
them and compare with the NumPy kernels, and with ``nvcc`` where it is installed,
to check they are valid CUDA (tests/test_cuda_sources.py).
"""
from __future__ import annotations

__all__ = ["ELEMENTWISE", "REDUCTION"]

# name: (in_params, out_params, operation)
ELEMENTWISE = {
    # Activates the four gates in place (a_i ... a_o become i, f, g, o) and writes the state.
    "minis2s_lstm_cell_forward": (
        "T c_prev",
        "T a_i, T a_f, T a_g, T a_o, T c, T tanh_c, T h",
        """
        const T half = 0.5;
        a_i = half * tanh(half * a_i) + half;     // i = sigmoid(a_i), via tanh: never overflows
        a_f = half * tanh(half * a_f) + half;     // f
        a_g = tanh(a_g);                          // g
        a_o = half * tanh(half * a_o) + half;     // o
        c = a_f * c_prev + a_i * a_g;
        tanh_c = tanh(c);
        h = a_o * tanh_c;
        """,
    ),
    # (In a CuPy kernel `i` is the element's index, so the gates are ig, fg, gg, og here.)
    "minis2s_lstm_cell_backward": (
        "T dh, T dc, T ig, T fg, T gg, T og, T c_prev, T tanh_c",
        "T da_i, T da_f, T da_g, T da_o, T dc_prev",
        """
        const T one = 1;
        const T dc_total = dc + dh * og * (one - tanh_c * tanh_c);
        da_i = dc_total * gg * ig * (one - ig);
        da_f = dc_total * c_prev * fg * (one - fg);
        da_g = dc_total * ig * (one - gg * gg);
        da_o = dh * tanh_c * og * (one - og);
        dc_prev = dc_total * fg;
        """,
    ),
    # Adam with the bias corrections folded into eps_hat and step_hat (see optim/adam.py).
    "minis2s_adam_update": (
        "T g, float64 beta1, float64 beta2, float64 eps_hat, float64 step_hat",
        "T p, T m, T v",
        """
        m = (T)beta1 * m + (T)(1.0 - beta1) * g;
        v = (T)beta2 * v + (T)(1.0 - beta2) * g * g;
        p -= (T)step_hat * m / (sqrt(v) + (T)eps_hat);
        """,
    ),
    # dz = scale * (softmax(z) - onehot(y)) for one element of row r, column i % V, given
    # the row's max m and sum s of exp(z - m) (broadcast along the row).
    "minis2s_softmax_xent_grad": (
        "T z, T m, T s, int64 y, T scale, int64 V",
        "T dz",
        """
        const T onehot = (i % V == y) ? (T)1 : (T)0;
        dz = scale * (exp(z - m) / s - onehot);
        """,
    ),
}

# name: (in_params, out_params, map_expr, reduce_expr, post_map_expr, identity)
REDUCTION = {
    # sum(x^2) accumulated in double whatever T is.
    "minis2s_sum_of_squares": ("T x", "float64 y", "(double)x * (double)x", "a + b", "y = a", "0"),
    # sum over a row of exp(z - m), m the row max (broadcast).
    "minis2s_sum_exp": ("T z, T m", "T y", "exp(z - m)", "a + b", "y = a", "0"),
}
