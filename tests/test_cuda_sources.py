"""The fused CUDA kernels' sources, checked without a GPU.

minis2s/kernels/cuda_source.py holds the exact strings that minis2s/kernels/cuda.py
hands to cupy.ElementwiseKernel / ReductionKernel. Here each one is wrapped the
way CuPy wraps it (one loop iteration per element; inputs read, outputs bound by
reference; ``i`` the element's index) and

* compiled with the host C++ compiler, run on random data in float64 and float32,
  and compared with the NumPy kernels of minis2s/kernels/ufunc.py;
* compiled for the GPU with nvcc where it is installed (PTX only: nothing runs).

On a machine with a GPU the regular tests run the kernels themselves (the cupy
backend of every layer and model test); this file is what catches a wrong
formula or a CUDA syntax error on the machines that have none.
"""
import ctypes
import shutil
import subprocess

import numpy as np
import pytest

from minis2s.kernels import ufunc
from minis2s.kernels.cuda_source import ELEMENTWISE, REDUCTION

CXX = shutil.which("g++") or shutil.which("c++")
NVCC = shutil.which("nvcc")
CTYPES = {"float64": "double", "int64": "long long"}


def _params(spec: str):
    return [tuple(p.split()) for p in spec.split(",")]


def _elementwise(name, spec, cuda: bool) -> str:
    ins, outs, op = spec
    args, binds = ["long long n"], []
    for typ, arg in _params(ins):
        ctype = CTYPES.get(typ, typ)
        args.append(f"const {ctype}* {arg}_")
        binds.append(f"const {ctype} {arg} = {arg}_[i];")
    for typ, arg in _params(outs):
        ctype = CTYPES.get(typ, typ)
        args.append(f"{ctype}* {arg}_")
        binds.append(f"{ctype}& {arg} = {arg}_[i];")
    body = " ".join(binds) + "\n" + op
    if cuda:
        return (f'extern "C" __global__ void {name}({", ".join(args)}) {{\n'
                f"long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;\n"
                f"if (i < n) {{ {body} }}\n}}\n")
    return f'extern "C" void {name}({", ".join(args)}) {{\nfor (long long i = 0; i < n; ++i) {{ {body} }}\n}}\n'


def _reduction(name, spec, cuda: bool) -> str:
    """One thread, a sequential reduction: enough to check the expressions."""
    ins, outs, map_expr, reduce_expr, post_map, identity = spec
    (out_typ, out_arg), = _params(outs)
    acc = CTYPES.get(out_typ, out_typ)
    args, binds = ["long long n"], []
    for typ, arg in _params(ins):
        ctype = CTYPES.get(typ, typ)
        args.append(f"const {ctype}* {arg}_")
        binds.append(f"const {ctype} {arg} = {arg}_[i];")
    args.append(f"{acc}* {out_arg}_")
    body = (f"{acc} total = {identity};\n"
            f"for (long long i = 0; i < n; ++i) {{ {' '.join(binds)} "
            f"const {acc} a = total, b = ({map_expr}); total = ({reduce_expr}); }}\n"
            f"{{ {acc}& {out_arg} = *{out_arg}_; const {acc} a = total; {post_map}; }}\n")
    qualifier = "__global__ " if cuda else ""
    return f'extern "C" {qualifier}void {name}({", ".join(args)}) {{\n{body}}}\n'


def _source(T: str, cuda: bool) -> str:
    head = "" if cuda else "#include <cmath>\nusing std::exp; using std::log; using std::sqrt; using std::tanh;\n"
    head += f"typedef {T} T;\n"
    return head + "".join(
        [_elementwise(n, s, cuda) for n, s in ELEMENTWISE.items()]
        + [_reduction(n, s, cuda) for n, s in REDUCTION.items()])


@pytest.fixture(scope="module", params=["float64", "float32"])
def lib(request, tmp_path_factory):
    if CXX is None:
        pytest.skip("no C++ compiler on this machine")
    T = {"float64": "double", "float32": "float"}[request.param]
    d = tmp_path_factory.mktemp(f"kernels_{request.param}")
    (d / "k.cpp").write_text(_source(T, cuda=False))
    subprocess.run([CXX, "-O1", "-shared", "-fPIC", "-o", str(d / "k.so"), str(d / "k.cpp")],
                   check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(d / "k.so")), np.dtype(request.param)


def _call(lib, name, *arrays):
    """Run kernel ``name`` elementwise over equally long flat arrays (written in place)."""
    n = arrays[0].size
    for a in arrays:
        assert a.flags.c_contiguous and a.size in (n, 1)
    getattr(lib, name)(ctypes.c_longlong(n), *[a.ctypes.data_as(ctypes.c_void_p) for a in arrays])


def _tol(dt):
    return dict(rtol=1e-5, atol=1e-6) if dt == np.float32 else dict(rtol=1e-12, atol=1e-14)


def test_cell_forward_source(lib, rng):
    lib, dt = lib
    H, N = 3, 5
    a, c_prev = rng.standard_normal((4 * H, N)).astype(dt), rng.standard_normal((H, N)).astype(dt)
    want_a, want = a.copy(), [np.empty((H, N), dt) for _ in range(3)]       # c, tanh_c, h
    ufunc.lstm_cell_forward(want_a, c_prev, *want, gate_axis=0)
    got_gates = [np.ascontiguousarray(g) for g in np.split(a, 4)]
    got = [np.empty((H, N), dt) for _ in range(3)]
    _call(lib, "minis2s_lstm_cell_forward", c_prev, *got_gates, *got)
    np.testing.assert_allclose(np.concatenate(got_gates), want_a, **_tol(dt))
    for g_, w in zip(got, want):
        np.testing.assert_allclose(g_, w, **_tol(dt))


def test_cell_backward_source(lib, rng):
    lib, dt = lib
    H, N = 4, 3
    gates = (1 / (1 + np.exp(-rng.standard_normal((4 * H, N))))).astype(dt)
    dh, dc, c_prev, tanh_c = (rng.standard_normal((H, N)).astype(dt) for _ in range(4))
    want_da, want_dc = np.empty((4 * H, N), dt), np.empty((H, N), dt)
    ufunc.lstm_cell_backward(dh, dc, gates, c_prev, tanh_c, want_da, want_dc, gate_axis=0)
    got_da, got_dc = [np.empty((H, N), dt) for _ in range(4)], np.empty((H, N), dt)
    _call(lib, "minis2s_lstm_cell_backward", dh, dc, *[np.ascontiguousarray(g) for g in np.split(gates, 4)],
          c_prev, tanh_c, *got_da, got_dc)
    np.testing.assert_allclose(np.concatenate(got_da), want_da, **_tol(dt))
    np.testing.assert_allclose(got_dc, want_dc, **_tol(dt))


def test_adam_source(lib, rng):
    lib, dt = lib
    n = 50
    p, g = rng.standard_normal(n).astype(dt), rng.standard_normal(n).astype(dt)
    m, v = rng.standard_normal(n).astype(dt), rng.random(n).astype(dt)
    scalars = (0.9, 0.999, 1e-8 * 0.03, 1e-3 * 0.03)
    want = [x.copy() for x in (p, m, v)]
    ufunc.adam_update(want[0], g, want[1], want[2], np.empty(n, dt), *scalars)
    _call(lib, "minis2s_adam_update", g, *[np.full(n, s) for s in scalars], p, m, v)
    for got, w in zip((p, m, v), want):
        np.testing.assert_allclose(got, w, **_tol(dt))


def test_softmax_sources(lib, rng):
    lib, dt = lib
    M, V = 4, 7
    z = (3 * rng.standard_normal((M, V))).astype(dt)
    y = rng.integers(0, V, size=M)
    scale = np.array([0.25, 0.0, 0.25, 0.25], dt)
    want_dz = np.empty_like(z)
    want_loss = ufunc.softmax_cross_entropy_rows(z, y, scale, want_dz)
    m = z.max(axis=1, keepdims=True)
    s = np.empty((M, 1), dt)
    for r in range(M):                                   # the row-sum reduction, row by row
        _call(lib, "minis2s_sum_exp", np.ascontiguousarray(z[r]), np.full(V, m[r, 0], dt), s[r])
    full = lambda a: np.ascontiguousarray(np.broadcast_to(a, (M, V)))  # noqa: E731  (as CuPy broadcasts)
    dz = np.empty_like(z)
    _call(lib, "minis2s_softmax_xent_grad", z, full(m), full(s), full(y[:, None]).astype(np.int64),
          full(scale[:, None]), np.full((M, V), V, np.int64), dz)
    np.testing.assert_allclose(dz, want_dz, **_tol(dt))
    loss = ((np.log(s[:, 0]) - (z[np.arange(M), y] - m[:, 0])) * scale).sum()   # as cuda.py
    np.testing.assert_allclose(loss, float(want_loss), **_tol(dt))


def test_sum_of_squares_source(lib, rng):
    lib, dt = lib
    g = rng.standard_normal(1000).astype(dt)
    out = np.zeros(1)
    _call(lib, "minis2s_sum_of_squares", g, out)
    np.testing.assert_allclose(out[0], float(ufunc.sum_of_squares(g)), rtol=1e-6 if dt == np.float32 else 1e-13)


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
@pytest.mark.parametrize("T", ["float", "double"])
def test_sources_compile_for_the_gpu(tmp_path, T):
    """Every kernel, as CUDA device code, through nvcc to PTX (compile only: no GPU needed)."""
    src = tmp_path / "k.cu"
    src.write_text(_source(T, cuda=True))
    run = subprocess.run([NVCC, "--ptx", "-o", str(tmp_path / "k.ptx"), str(src)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    ptx = (tmp_path / "k.ptx").read_text()
    for name in list(ELEMENTWISE) + list(REDUCTION):
        assert f".entry {name}" in ptx
