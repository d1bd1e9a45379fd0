"""Weights to and from PyTorch: the same model as ``nn.Embedding``, ``nn.LSTM`` (or ``nn.GRU``) and ``nn.Linear``.

minis2s lays weights out for reading the maths (``x @ W``); PyTorch stores
the transpose (``x @ W.T``). The gate order is the same, i, f, g, o, so only
transposes are needed -- no reshuffling of gate blocks::

    minis2s                            PyTorch                                  shape
    encoder.embed.W                    encoder.embed.weight                     (V, E)
    encoder.lstm.<l>.Wx   (D, 4H)      encoder.lstm.weight_ih_l<l> = Wx.T       (4H, D)
    encoder.lstm.<l>.Wh   (H, 4H)      encoder.lstm.weight_hh_l<l> = Wh.T       (4H, H)
    encoder.lstm.<l>.b    (4H,)        encoder.lstm.bias_ih_l<l>   = b          (4H,)
                                       encoder.lstm.bias_hh_l<l>   = 0          (4H,)
    decoder.embed / decoder.lstm       the same names under decoder.
    decoder.fc.W          (K, V)       decoder.fc.weight           = W.T        (V, K)
    decoder.fc.b          (V,)         decoder.fc.bias             = b          (V,)

PyTorch's LSTM has two bias vectors that are always added together
(``x W_ih^T + b_ih + h W_hh^T + b_hh``); minis2s has one. Export puts it all
in ``bias_ih`` and zeros in ``bias_hh``; import adds the two.

A model built with ``cell="gru"`` has ``encoder.gru`` and ``decoder.gru`` instead; the
GRU's gate order is PyTorch's too (r, z, n), and its two biases are two parameters
in minis2s as well (they cannot be merged: docs/derivations.md, "GRU")::

    encoder.gru.<l>.Wx    (D, 3H)      encoder.gru.weight_ih_l<l>  = Wx.T       (3H, D)
    encoder.gru.<l>.Wh    (H, 3H)      encoder.gru.weight_hh_l<l>  = Wh.T       (3H, H)
    encoder.gru.<l>.bx    (3H,)        encoder.gru.bias_ih_l<l>    = bx         (3H,)
    encoder.gru.<l>.bh    (3H,)        encoder.gru.bias_hh_l<l>    = bh         (3H,)

For the peeky decoder, ``weight_ih_l0`` has ``E + H`` columns (the embedding,
then the context) and ``decoder.fc.weight`` has ``2H`` (the LSTM output, then
the context), in that order -- build the PyTorch forward pass concatenating
the same way. Values may be NumPy arrays or torch tensors; torch itself is not
needed to export::

    sd = to_torch_state_dict(model)                       # {name: np.ndarray}
    lstm = torch.nn.LSTM(E, H, num_layers=L, batch_first=True)
    lstm.load_state_dict({k[len("encoder.lstm."):]: torch.from_numpy(v)
                          for k, v in sd.items() if k.startswith("encoder.lstm.")})
"""
from __future__ import annotations

import re

import numpy as np

__all__ = ["to_torch_state_dict", "from_torch_state_dict"]

_LSTM_KEY = re.compile(r"^(encoder|decoder)\.lstm\.(\d+)\.(Wx|Wh|b)$")
_GRU_KEY = re.compile(r"^(encoder|decoder)\.gru\.(\d+)\.(Wx|Wh|bx|bh)$")
_GRU_NAMES = {"Wx": "weight_ih", "Wh": "weight_hh", "bx": "bias_ih", "bh": "bias_hh"}


def to_torch_state_dict(model) -> dict:
    """``{PyTorch name: host NumPy array}`` for every weight of a Seq2Seq (table in the module docstring)."""
    out = {}
    for name, value in model.state_dict().items():
        m = _LSTM_KEY.match(name)
        if m:
            part, layer, kind = m.groups()
            prefix = f"{part}.lstm."
            if kind == "Wx":
                out[f"{prefix}weight_ih_l{layer}"] = value.T.copy()
            elif kind == "Wh":
                out[f"{prefix}weight_hh_l{layer}"] = value.T.copy()
            else:
                out[f"{prefix}bias_ih_l{layer}"] = value.copy()
                out[f"{prefix}bias_hh_l{layer}"] = np.zeros_like(value)
        elif _GRU_KEY.match(name):
            part, layer, kind = _GRU_KEY.match(name).groups()
            torch_name = f"{part}.gru.{_GRU_NAMES[kind]}_l{layer}"
            out[torch_name] = value.T.copy() if kind in ("Wx", "Wh") else value.copy()
        elif name.endswith(".embed.W"):
            out[name[:-1] + "weight"] = value
        elif name == "decoder.fc.W":
            out["decoder.fc.weight"] = value.T.copy()
        elif name == "decoder.fc.b":
            out["decoder.fc.bias"] = value
        else:   # a parameter this table does not know: better to say so than to drop it
            raise ValueError(f"to_torch_state_dict: no PyTorch name for parameter {name!r}")
    return out


def _to_numpy(value) -> np.ndarray:
    """A torch tensor (on any device) or array-like -> a NumPy array, without importing torch."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def from_torch_state_dict(model, state: dict) -> None:
    """Load PyTorch-named weights (as made by :func:`to_torch_state_dict`) into ``model``, in place.

    ``bias_ih`` and ``bias_hh`` are summed into minis2s's single LSTM bias (a GRU keeps both). Missing or
    unexpected names and wrong shapes raise ``ValueError`` naming them; the
    model is changed only when everything fits.
    """
    state = {k: _to_numpy(v) for k, v in state.items()}
    expected = set(to_torch_state_dict(model))
    missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or extra:
        raise ValueError(f"from_torch_state_dict: names differ from this model's: "
                         f"missing {missing}, unexpected {extra}")
    ours = {}
    for name in model.params:
        m = _LSTM_KEY.match(name)
        if m:
            part, layer, kind = m.groups()
            prefix = f"{part}.lstm."
            if kind == "Wx":
                ours[name] = state[f"{prefix}weight_ih_l{layer}"].T
            elif kind == "Wh":
                ours[name] = state[f"{prefix}weight_hh_l{layer}"].T
            else:
                ours[name] = state[f"{prefix}bias_ih_l{layer}"] + state[f"{prefix}bias_hh_l{layer}"]
        elif _GRU_KEY.match(name):
            part, layer, kind = _GRU_KEY.match(name).groups()
            value = state[f"{part}.gru.{_GRU_NAMES[kind]}_l{layer}"]
            ours[name] = value.T if kind in ("Wx", "Wh") else value
        elif name.endswith(".embed.W"):
            ours[name] = state[name[:-1] + "weight"]
        elif name == "decoder.fc.W":
            ours[name] = state["decoder.fc.weight"].T
        else:   # decoder.fc.b
            ours[name] = state["decoder.fc.bias"]
    params = model.params
    for name, value in ours.items():    # check every shape before changing anything
        if tuple(value.shape) != tuple(params[name].shape):
            raise ValueError(f"from_torch_state_dict: {name} would get shape {tuple(value.shape)} "
                             f"from the PyTorch weights, the model expects {tuple(params[name].shape)}")
    model.load_state_dict({k: np.ascontiguousarray(v) for k, v in ours.items()})
