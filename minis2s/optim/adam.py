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

The code computes the same thing with the bias corrections folded into two
scalars, so that they cost nothing per element: with ``step_size = lr / (1 - b1^t)``
and ``s2 = sqrt(1 - b2^t)``,

    sqrt(v_hat) + eps = (sqrt(v) + eps * s2) / s2
    p    <- p - (step_size * s2) * m / (sqrt(v) + eps * s2)

The elementwise work is :func:`minis2s.kernels.ufunc.adam_update` on NumPy --
in-place ufuncs over cache-sized chunks, into one shared scratch buffer, so a
step allocates nothing -- and a single fused kernel on CuPy. The
in-place/``state_dict`` contract is :mod:`minis2s.optim.sgd`'s; the state adds
the step count ``t`` and the buffers ``m.<name>``, ``v.<name>``.
"""
from __future__ import annotations

import math

from ..backend import get_array_module, get_kernels
from ..kernels.ufunc import CHUNK
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
        for name, p in self.params.items():
            if not p.flags.c_contiguous:
                raise ValueError(f"Adam: params[{name!r}] is not C-contiguous (a transposed or "
                                 "sliced view?); Adam updates parameters in place through flat "
                                 "views, so pass the array itself (or a contiguous copy)")
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(beta1), float(beta2), float(eps)
        self.t = 0  # steps taken; the bias corrections depend on it
        self.m = {k: get_array_module(p).zeros_like(p) for k, p in self.params.items()}
        self.v = {k: get_array_module(p).zeros_like(p) for k, p in self.params.items()}
        self._scratch = None                      # made at the first step, on the params' backend
        self._scratch_size = min(max((p.size for p in self.params.values()), default=0), CHUNK)

    def step(self, grads: dict) -> None:
        """One Adam update of every parameter, in place (no host <-> device traffic)."""
        check_grads(self.params, grads)
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # Python floats: the bias corrections are the same for every element. Folding
        # sqrt(1 - b2^t) into both scalars saves a pass over every parameter:
        #   step_size * m / (sqrt(v) / s2 + eps) = (step_size * s2) * m / (sqrt(v) + eps * s2)
        step_size = self.lr / (1.0 - b1 ** self.t)
        s2 = math.sqrt(1.0 - b2 ** self.t)
        for name, p in self.params.items():
            # NumPy: chunked in-place ufuncs; CuPy: one fused kernel (minis2s.kernels)
            get_kernels(p).adam_update(p, grads[name], self.m[name], self.v[name],
                                       self._scratch_for(p), b1, b2, self.eps * s2,
                                       step_size * s2)

    def _scratch_for(self, p):
        """The shared scratch buffer (flat), made on first use on the parameters' backend."""
        xp = get_array_module(p)
        if self._scratch is None or self._scratch.dtype != p.dtype \
                or get_array_module(self._scratch) is not xp:
            self._scratch = xp.empty(self._scratch_size, dtype=p.dtype)
        return self._scratch

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
