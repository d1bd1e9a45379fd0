r"""Independent references for the exercises whose oracle would otherwise be the engine itself.

Clipping, Adam and BLEU are checked against what a well-kept library computes:
``torch.nn.utils.clip_grad_norm_``, ``torch.optim.Adam`` and sacrebleu's corpus BLEU
(each agrees with minis2s's own -- tests/test_optim.py and tests/test_metrics.py check it).
In a student edition those engine functions are holes the student fills, so judging the
student's function against the package's own would judge it against itself (or, while the
hole is open, against nothing); the independent reference is what makes the check
mean something there. Where torch or sacrebleu is not installed, the reference is the
package's own function -- so a student edition stores these answers for the public seeds
when it is built (:mod:`minis2s.exercises.stored`), and its checks never fall back on the
student's own code, whatever the student's machine has installed.
"""
from __future__ import annotations

import numpy as np

__all__ = ["clip_reference", "adam_reference", "bleu_reference", "CLIP", "ADAM", "BLEU"]

#: what each check is compared with, as the ladder prints it
CLIP = "torch.nn.utils.clip_grad_norm_ (without torch: minis2s.optim.clip_grad_norm)"
ADAM = "torch.optim.Adam (without torch: minis2s.optim.Adam)"
BLEU = "sacrebleu's corpus BLEU (without sacrebleu: minis2s.metrics.bleu_details)"


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def clip_reference(grads: dict, max_norm: float):
    """(the arrays of ``grads`` clipped together by their global norm, the norm before)."""
    torch = _torch()
    if torch is None:
        from ..optim import clip_grad_norm
        clipped = {k: v.copy() for k, v in grads.items()}
        return clipped, float(clip_grad_norm(clipped, max_norm))
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in grads.items()}
    for k, t in tensors.items():
        t.grad = torch.tensor(grads[k], dtype=torch.float64)
    norm = torch.nn.utils.clip_grad_norm_(list(tensors.values()), max_norm)
    return {k: t.grad.numpy().copy() for k, t in tensors.items()}, float(norm)


def adam_reference(p, g, m, v, t, lr, beta1, beta2, eps):
    """(p_new, m_new, v_new) after step t of Adam from moments (m, v) after step t - 1."""
    torch = _torch()
    if torch is None:
        from ..optim import Adam
        opt = Adam({"p": p.copy()}, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
        opt.t = t - 1                                 # step() counts this step as t
        opt.m["p"][...] = m
        opt.v["p"][...] = v
        opt.step({"p": g.copy()})
        return opt.params["p"], opt.m["p"], opt.v["p"]
    param = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([param], lr=lr, betas=(beta1, beta2), eps=eps)
    opt.state[param] = {"step": torch.tensor(float(t - 1)),
                        "exp_avg": torch.tensor(m, dtype=torch.float64),
                        "exp_avg_sq": torch.tensor(v, dtype=torch.float64)}
    param.grad = torch.tensor(g, dtype=torch.float64)
    opt.step()
    state = opt.state[param]
    return (param.detach().numpy().copy(), state["exp_avg"].numpy().copy(),
            state["exp_avg_sq"].numpy().copy())


def bleu_reference(hyps, refs):
    """(BLEU in percent, the four modified precisions in [0, 1], the brevity penalty) of token lists."""
    try:
        from sacrebleu.metrics import BLEU as SacreBLEU
    except ImportError:
        from ..metrics import bleu_details
        d = bleu_details(hyps, refs)
        return d.score, list(d.precisions), d.brevity_penalty
    metric = SacreBLEU(tokenize="none", smooth_method="none")
    s = metric.corpus_score([" ".join(h) for h in hyps], [[" ".join(r) for r in refs]])
    return float(s.score), [p / 100.0 for p in s.precisions], float(s.bp)
