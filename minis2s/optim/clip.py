"""Gradient clipping by global norm.

Recurrent networks occasionally produce an *exploding* gradient: one batch whose
gradient is orders of magnitude larger than usual, which throws the parameters
far from where training had brought them. Sutskever et al. (2014) guard
against it by rescaling the whole gradient whenever its norm is too large.

All gradients are treated as one long vector ``g`` (every array flattened and
concatenated). Its *global* L2 norm is

    ||g|| = sqrt( sum_k sum_i g_k[i]^2 )          (k runs over the arrays)

and when ``||g|| > max_norm`` every array is scaled by the same factor

    g_k <- g_k * max_norm / (||g|| + 1e-6)

so the direction of the step is kept and only its length is cut to (just
under) ``max_norm``. The ``1e-6`` is the epsilon ``torch.nn.utils.clip_grad_norm_``
uses; it changes nothing in practice and keeps the formula identical to
PyTorch's, so the two agree to rounding.

One difference from PyTorch, on purpose: PyTorch always multiplies by
``min(1, max_norm / (||g|| + 1e-6))`` (which scales, by a hair, gradients whose
norm lies within 1e-6 *below* ``max_norm``); here the gradients are left
untouched unless ``||g|| > max_norm``, as the definition above reads.

Scaling the norm as a whole, not each array on its own, matters: clipping each
array separately would change the direction of the update.
"""
from __future__ import annotations

import math
import numbers

from ..backend import get_array_module
from ..errors import InputError

__all__ = ["global_norm", "clip_grad_norm"]

# The epsilon of torch.nn.utils.clip_grad_norm_: keeps the scale finite when
# max_norm is compared with a norm of (almost) zero and matches PyTorch exactly.
_EPS = 1e-6


def global_norm(grads: dict) -> float:
    """The L2 norm of all gradient arrays taken together, as a Python float.

    ``grads`` maps names to arrays of any shape (all on one backend). Each sum of
    squares is accumulated in float64 (``dtype=``), so that millions of small
    float32 terms do not lose precision. Costs exactly one device -> host sync
    (the final ``float``); an empty dict gives 0.0.
    """
    if not grads:
        return 0.0
    xp = get_array_module(**{f"grads[{name!r}]": g for name, g in grads.items()})
    # 0-d device arrays until the end: no sync per array
    squares = sum(xp.sum(g * g, dtype=xp.float64) for g in grads.values())
    return math.sqrt(float(squares))  # the one sync


def clip_grad_norm(grads: dict, max_norm: float) -> float:
    """Rescale ``grads`` in place so their global norm is at most ``max_norm``.

    ``grads`` maps names to gradient arrays; when ``||g|| > max_norm`` each array
    is multiplied by ``max_norm / (||g|| + 1e-6)`` *in place* (the same array
    objects, so whoever holds them sees the clipped values). Below the threshold
    nothing is touched.

    Returns the norm *before* clipping as a Python float -- the number to log,
    since a rising pre-clip norm is the early sign of an unstable run. Costs
    one device -> host sync, inside :func:`global_norm`. A ``nan`` or ``inf``
    norm is returned as it is, with nothing scaled, for the caller to notice
    (and skip the step) rather than having the gradients silently turned to nan.
    """
    if not (isinstance(max_norm, numbers.Real) and math.isfinite(max_norm) and max_norm > 0):
        raise InputError(f"max_norm must be a finite number > 0, got {max_norm!r}")
    # EXERCISE clip_gradients: begin
    norm = global_norm(grads)
    if norm > max_norm and math.isfinite(norm):
        scale = max_norm / (norm + _EPS)  # a Python float: mixes with any backend
        for g in grads.values():
            g *= scale  # in place: never rebind, the model holds these arrays
    return norm
    # EXERCISE clip_gradients: end
