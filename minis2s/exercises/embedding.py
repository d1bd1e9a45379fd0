r"""Exercise 2: the embedding's backward pass -- a scatter-add.

This is minis2s's own :func:`minis2s.functional.embedding_backward`: the stub has its
signature, and its cache is the engine's ``EmbeddingCache(ids, V)``, made by
:func:`minis2s.functional.embedding_forward`::

    out[n, t] = W[ids[n, t]]          ids (N, T) int, W (V, E) -> out (N, T, E)

Check your backward with ``check("embedding_backward", my_embedding_backward)``.
"""
from __future__ import annotations

from .. import functional as F
from ..gradcheck import numerical_gradient
from . import _cases
from .checker import Case, Exercise

__all__ = ["embedding_backward", "EXERCISES"]


def embedding_backward(dout, cache):
    """Gradient of the embedding table.

    dout (N, T, E): the gradient flowing into ``out = W[ids]``.
    cache: ``EmbeddingCache(ids, V)``: ids (N, T) int, the token ids looked up (the same id can
    occur many times); V, the vocabulary size (the number of rows of W).
    Returns dW (V, E).
    """
    raise NotImplementedError


HINTS = (
    """
    The forward copies rows of W. A row that was copied to several positions receives the
    gradient of every copy; a row nobody looked up receives nothing.
    """,
    """
    dout is (N, T, E); flattened, (N*T, E) against ids.reshape(-1), (N*T,). dW is (V, E) and
    starts at zero. Beware: fancy-index assignment with repeated indices keeps only one write.
    """,
    """
    dW starts as zeros of shape (V, E). Every position (n, t) sends its whole row of dout to the
    row of dW named by ids[n, t]; when an id occurs k times, its row receives the sum of k rows of
    dout. Plain fancy-index assignment (or +=) writes each repeated index only once, so you need
    an operation that adds once per occurrence -- NumPy has an unbuffered "add at these indices",
    or loop over the positions. Rows no position looked up stay exactly zero.
    """,
)


def _case(rng) -> Case:
    s = _cases.sizes(rng, "NTVE", 2, 8)
    N, T, V, E = s["N"], s["T"], s["V"], s["E"]
    W = rng.standard_normal((V, E))
    # ids from 0..V-2 only, so row V-1 is never used -- its gradient must be exactly 0 --
    # and one id is forced to repeat.
    ids = rng.integers(0, V - 1, size=(N, T))
    ids[-1, -1] = ids[0, 0]
    _, cache = F.embedding_forward(ids, W)
    dout = rng.standard_normal((N, T, E))
    num = numerical_gradient(lambda W: F.embedding_forward(ids, W)[0], {"W": W}, dout)
    return Case(args=(dout, cache), oracle={"dW": num["W"]}, sizes=_cases.spell(s),
                context={"ids": ids})


def _large_case(rng) -> Case:
    """Realistic sizes (a vocabulary of thousands): checked along random directions."""
    N, T = int(rng.integers(56, 72)), int(rng.integers(16, 24))
    V, E = int(rng.integers(7000, 9000)), int(rng.integers(80, 112))
    W = rng.standard_normal((V, E))
    ids = rng.integers(0, V - 1, size=(N, T))
    ids[-1, -1] = ids[0, 0]
    _, cache = F.embedding_forward(ids, W)
    dout = rng.standard_normal((N, T, E))
    dirs = _cases.directional_oracle(lambda W: F.embedding_forward(ids, W)[0], {"W": W}, dout, rng)
    return Case(args=(dout, cache), oracle={"dW": None}, sizes=f"large: N={N}, T={T}, V={V}, E={E}",
                directional={"dW": dirs["W"]})


EXERCISES = [
    Exercise(
        name="embedding_backward",
        signature="embedding_backward(dout, cache) -> dW",
        outputs={"dW": "(V, E)"},
        make_case=_case, stub=embedding_backward, hints=HINTS, level=1, minutes=15,
        oracle="the numerical gradient of W[ids]", explain={"dW": "rows"},
        make_large_case=_large_case),
]
