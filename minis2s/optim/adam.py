"""Adam: SGD with per-parameter step sizes from running gradient moments.

Adam (Kingma & Ba, 2015) keeps two running averages per parameter element, of
the gradient ``g`` and of its square, and divides one by the root of the other.
Elements with consistently large gradients take smaller steps; rarely-updated
ones (embedding rows of rare words) take larger ones. At step ``t = 1, 2, ...``:

    m     <- b1 * m + (1 - b1) * g              first moment  (mean of g)
    v     <- b2 * v + (1 - b2) * g^2            second moment (mean of g^2)
    m_hat  = m / (1 - b1^t)                     bias corrections: m and v start
    v_hat  = v / (1 - b2^t)                     at 0, so early averages are too small
    p     <- p - lr * m_hat / (sqrt(v_hat) + eps)

``eps`` is added **outside** the square root, to ``sqrt(v_hat)`` -- after the
bias correction -- exactly as ``torch.optim.Adam`` does, so the two agree to
rounding. (Placing it elsewhere, ``sqrt(v_hat + eps)`` or ``sqrt(v) + eps``
before correction, gives a slightly different optimiser whose early steps differ.)

The code computes the same thing in the order PyTorch does, which also saves
work: with ``step_size = lr / (1 - b1^t)``,

    denom = sqrt(v) / sqrt(1 - b2^t) + eps      (= sqrt(v_hat) + eps)
    p    <- p - step_size * m / denom

Every array operation is an in-place ufunc (``out=``) into one scratch buffer,
made once (as large as the largest parameter) and reused by every parameter at
every step: a step allocates nothing. (Fresh multi-megabyte arrays are not
free: the operating system hands out their pages on first touch.) The in-place/``state_dict`` contract is :mod:`minis2s.optim.sgd`'s;
the state adds the step count ``t`` and the buffers ``m.<name>``, ``v.<name>``.
"""
from __future__ import annotations

import math

from ..backend import get_array_module
from .state import (buffers_from_host, buffers_to_host, check_grads, check_no_extra_keys,
                    require_keys)

__all__ = ["Adam"]

_SCALARS = ["t", "lr", "beta1", "beta2", "eps"]


class Adam:
    """Adam with bias correction, matching ``torch.optim.Adam`` (see module docs).

    Parameters
    ----------
    params : dict[str, array]
        The model's parameter arrays, updated in place by :meth:`step`.
    lr : float
        Learning rate (a plain attribute: schedules change it).
    beta1, beta2 : float
        Decay rates of the first and second moment averages, in [0, 1).
    eps : float
        Added to ``sqrt(v_hat)`` so the division is safe where ``v`` is ~0.
    """

    def __init__(self, params: dict, lr: float = 1e-3, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8):
        if lr < 0:
            raise ValueError(f"lr must be >= 0, got {lr!r}")
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps!r}")
        self.params = dict(params)  # our own key set; the arrays are shared
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(beta1), float(beta2), float(eps)
        self.t = 0  # steps taken; the bias corrections depend on it
        self.m = {k: get_array_module(p).zeros_like(p) for k, p in self.params.items()}
        self.v = {k: get_array_module(p).zeros_like(p) for k, p in self.params.items()}
        self._scratch = None                      # made at the first step, on the params' backend
        self._scratch_size = max((p.size for p in self.params.values()), default=0)

    def step(self, grads: dict) -> None:
        """One Adam update of every parameter, in place (no host <-> device traffic)."""
        check_grads(self.params, grads)
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # Python floats: the bias corrections are the same for every element.
        step_size = self.lr / (1.0 - b1 ** self.t)
        sqrt_bias2 = math.sqrt(1.0 - b2 ** self.t)

        for name, p in self.params.items():
            g, m, v = grads[name], self.m[name], self.v[name]
            xp = get_array_module(p)
            tmp = self._scratch_for(p)

            # m <- b1 m + (1 - b1) g
            m *= b1
            xp.multiply(g, 1.0 - b1, out=tmp)
            m += tmp
            # v <- b2 v + (1 - b2) g^2
            v *= b2
            xp.multiply(g, g, out=tmp)
            tmp *= 1.0 - b2
            v += tmp
            # tmp <- sqrt(v_hat) + eps, computed as sqrt(v) / sqrt(1 - b2^t) + eps
            xp.sqrt(v, out=tmp)
            tmp /= sqrt_bias2
            tmp += self.eps
            # p <- p - lr m_hat / (sqrt(v_hat) + eps) = p - step_size * m / tmp
            xp.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp  # in place: the model holds this very array

    def _scratch_for(self, p):
        """A view of the shared scratch buffer with p's shape and dtype."""
        xp = get_array_module(p)
        if self._scratch is None or self._scratch.dtype != p.dtype \
                or get_array_module(self._scratch) is not xp:
            self._scratch = xp.empty(self._scratch_size, dtype=p.dtype)
        return self._scratch[:p.size].reshape(p.shape)

    # --- checkpointing ---------------------------------------------------------
    def state_dict(self) -> dict:
        """Step count, hyper-parameters and both moment buffers, on the host, flat."""
        state = {"t": self.t, "lr": self.lr, "beta1": self.beta1,
                 "beta2": self.beta2, "eps": self.eps}
        state.update(buffers_to_host("m", self.m))
        state.update(buffers_to_host("v", self.v))
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` saved; buffers go to the parameters' backend.

        Raises ``ValueError`` naming the key when an entry is missing, unexpected,
        or has the wrong shape for its parameter. Nothing changes unless all is well.
        """
        require_keys(state, _SCALARS)
        check_no_extra_keys(state, _SCALARS, ["m", "v"], self.params)
        m = buffers_from_host(state, "m", self.params)
        v = buffers_from_host(state, "v", self.params)
        self.t = int(state["t"])
        self.lr, self.beta1 = float(state["lr"]), float(state["beta1"])
        self.beta2, self.eps = float(state["beta2"]), float(state["eps"])
        self.m, self.v = m, v
