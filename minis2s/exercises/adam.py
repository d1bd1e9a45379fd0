r"""Exercise 14, an extra: one Adam update, with bias correction.

Write the update of one parameter array (all the arithmetic of
:class:`minis2s.optim.Adam`, none of the bookkeeping) and check it with
``check("adam_update", my_adam_update)``. There is no forward pass to
differentiate here: the outputs are compared with the values
``torch.optim.Adam`` computes (minis2s's own :class:`minis2s.optim.Adam`, which agrees with
it, where torch is not installed: :mod:`minis2s.exercises.references`), to a
relative error of 1e-12.
The maths is in docs/derivations.md, section "Adam".
"""
from __future__ import annotations

from . import _cases, stored
from .checker import Case, Exercise
from .references import ADAM, adam_reference

__all__ = ["adam_update", "EXERCISES"]


def adam_update(p, g, m, v, t, lr, beta1, beta2, eps):
    """One Adam step for the parameter array p.

    p, g, m, v: arrays of one shape -- the parameter, its gradient, and the first
    and second moment averages *before* this step (zeros before the first step).
    t: the number of this step, counting from 1 (the bias corrections use it).
    lr, beta1, beta2, eps: the hyper-parameters; eps is added to sqrt(v_hat),
    outside the square root, after the bias correction (as torch.optim.Adam does).
    Returns (p_new, m_new, v_new); m_new and v_new are the moments *without*
    bias correction (the next step continues from them).
    """
    raise NotImplementedError


HINTS = (
    """
    Adam keeps two running averages per parameter, of the gradient and of its square, and
    steps along the first divided by the root of the second. Both averages start at zero, so
    early on they are too small: a bias correction divides that out.
    """,
    """
    Everything is elementwise: m, v, m_hat, v_hat and p_new all have p's shape. t is a number
    (1 on the first step); beta1**t and beta2**t are numbers.
    """,
    """
    Four stages, all elementwise. (1) Update the first moment as an exponential moving average of
    the gradient with rate beta1, and the second moment as one of the squared gradient with rate
    beta2. (2) Bias-correct each by dividing by one minus its beta to the power t. (3) Step the
    parameter against the corrected first moment divided by the square root of the corrected
    second moment, with eps added after the square root, times lr. (4) Return the new parameter
    and the *uncorrected* moments: the next step continues from those.
    """,
)


def _case(rng) -> Case:
    shape = tuple(_cases.sizes(rng, "AB", 2, 6).values())
    p = rng.standard_normal(shape)
    g = rng.standard_normal(shape)
    m = rng.standard_normal(shape) * 0.1
    v = rng.random(shape) * 0.01
    # Row 0 is a rarely-updated parameter (think: the embedding of a rare word):
    # its moments are ~0, so where eps sits decides the size of its step.
    g[0] *= 1e-6
    m[0] *= 1e-6
    v[0] *= 1e-12
    t = int(rng.integers(1, 6))                   # early steps: bias correction matters
    lr, beta1, beta2, eps = 3e-3, 0.85, 0.98, 1e-7  # not the defaults, so none can be hard-coded
    args = (p, g, m, v, t, lr, beta1, beta2, eps)

    def compute():
        return dict(zip(("p_new", "m_new", "v_new"), adam_reference(*args)))
    return Case(args=args, oracle=stored.oracle("adam_update", args, compute),  # stored in an edition
                sizes=f"shape={shape}, t={t}, lr={lr}, beta1={beta1}, beta2={beta2}, eps={eps}")


EXERCISES = [
    Exercise(
        name="adam_update",
        signature="adam_update(p, g, m, v, t, lr, beta1, beta2, eps) -> (p_new, m_new, v_new)",
        outputs={"p_new": "p.shape", "m_new": "p.shape", "v_new": "p.shape"},
        make_case=_case, stub=adam_update, hints=HINTS, level=1, minutes=20,
        oracle=ADAM, tol=1e-12),
]
