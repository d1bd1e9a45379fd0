"""How many threads the BLAS library behind NumPy (OpenBLAS or MKL) may use.

minis2s's matrix products are small: at the default sizes (batch 128, hidden 128)
one GEMM takes tens of microseconds, too little to share between threads. On an idle
2-core machine two BLAS threads are hardly faster than one; on a machine whose cores
are busy with something else (a browser, a second training run) they are much
slower, because OpenBLAS's threads wait for each other by spinning, and a thread
that has lost its core stalls every product. ``benchmarks/bench_threads.py``
measures both cases; the numbers are in docs/benchmarks.md.

So the ``minis2s`` command limits BLAS to ``DEFAULT_THREADS`` thread(s) unless told
otherwise (``--threads N``; ``--threads 0`` leaves the library's own setting, e.g.
``OPENBLAS_NUM_THREADS`` or one thread per core). From Python::

    from minis2s.app.threads import blas_threads
    with blas_threads(1):
        trainer.fit(8)

The limit is set through ``threadpoolctl``, which finds the BLAS library NumPy has
loaded, whichever it is; on the CuPy backend it only affects the little work left
on the CPU.
"""
from __future__ import annotations

from contextlib import nullcontext

from threadpoolctl import threadpool_info, threadpool_limits

__all__ = ["DEFAULT_THREADS", "blas_threads", "blas_description"]

DEFAULT_THREADS = 1   # chosen by measurement: see the module docstring


def blas_threads(n: int | None = DEFAULT_THREADS):
    """A context manager that limits BLAS to ``n`` threads while it is open.

    ``n`` None or 0: change nothing (the library's own setting stays).
    """
    if n is not None and (int(n) != n or n < 0):
        raise ValueError(f"the number of BLAS threads must be an integer >= 0, got {n!r}")
    if not n:
        return nullcontext()
    return threadpool_limits(limits=int(n), user_api="blas")


def blas_description() -> str:
    """One line naming NumPy's BLAS libraries and their current thread counts."""
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not infos:
        return "no BLAS library found by threadpoolctl"
    return "; ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} "
                     f"thread{'s' if i.get('num_threads') != 1 else ''})" for i in infos)
