r"""Exercise: the embedding's backward pass -- a scatter-add.

The forward pass is given, :func:`minis2s.functional.embedding_forward`::

    out[n, t] = W[ids[n, t]]          ids (N, T) int, W (V, E) -> out (N, T, E)

Check your backward with ``check("embedding_backward", my_embedding_backward)``.
The maths is in docs/derivations.md, section "Embedding".
"""
from __future__ import annotations

from ..gradcheck import numerical_gradient
from .checker import Case, Exercise

__all__ = ["embedding_backward", "EXERCISES"]


def embedding_backward(dout, ids, V):
    """Gradient of the embedding table.

    dout (N, T, E): the gradient flowing into ``out = W[ids]``.
    ids (N, T) int: the token ids looked up (the same id can occur many times).
    V: the vocabulary size (the number of rows of W).
    Returns dW (V, E).
    """
    raise NotImplementedError(
        "embedding_backward is yours to write. Hint: row W[v] was copied to every position "
        "where ids == v, so dW[v] is the *sum* of dout over those positions; rows no id "
        "points at get 0. Careful: dW[ids] += dout does not add up repeated ids (np.add.at does).")


def _case(rng) -> Case:
    N, T, V, E = 2, 5, 7, 3
    W = rng.standard_normal((V, E))
    # ids from 0..V-2 only: 10 positions and 6 ids, so some ids repeat (pigeonhole)
    # and row V-1 is never used -- its gradient must be exactly 0.
    ids = rng.integers(0, V - 1, size=(N, T))
    ids[1, -1] = ids[0, 0]
    dout = rng.standard_normal((N, T, E))
    num = numerical_gradient(lambda W: W[ids], {"W": W}, dout)
    return Case(args=(dout, ids, V), oracle={"dW": num["W"]}, sizes=f"N={N}, T={T}, V={V}, E={E}")


EXERCISES = [
    Exercise(
        name="embedding_backward",
        signature="embedding_backward(dout, ids, V) -> dW",
        outputs={"dW": "(V, E)"},
        make_case=_case, stub=embedding_backward,
        oracle="the numerical gradient of W[ids]"),
]
