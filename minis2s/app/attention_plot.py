"""Pictures of attention: which source tokens each output token looked at.

Two functions::

    alpha = attention_matrix(model, src_ids, out_ids)      # (len(out_ids) + 1, len(src_ids))
    plot_attention(alpha, src_tokens, out_tokens + ["<eos>"], "attention.png")

``attention_matrix`` runs the attention model's teacher-forced pass on the
output the model produced (``<sos>`` + out_ids): without input feeding the
weights of step t depend only on the tokens before it, so they are exactly the
weights the search computed. Row t is the attention while predicting output
token t (the last row: while predicting ``<eos>``); the columns are the source
tokens in reading order -- a model that reverses its source is un-reversed here.

``minis2s translate --attention FILE.png "..."`` draws one such picture per
input sentence.
"""
from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np

from ..backend import to_cpu, to_device

__all__ = ["attention_matrix", "plot_attention"]


def attention_matrix(model, src_ids, out_ids) -> np.ndarray:
    """The attention weights of one translation, on the host.

    model: a Seq2Seq with an attention decoder; src_ids: the source's ids in reading
    order (no padding); out_ids: the output's ids (no <sos>, no <eos>).
    Returns alpha (len(out_ids) + 1, len(src_ids)); each row sums to 1.
    """
    decoder = model.decoder
    if not hasattr(decoder, "forward_with_attention"):
        raise ValueError("this model has no attention (its decoder is "
                         f"{model.config.get('decoder')!r}): there are no weights to draw; "
                         "train one with --model attention")
    src_ids, out_ids = list(src_ids), list(out_ids)
    if not src_ids:
        raise ValueError("attention_matrix: the source is empty")
    was_training = model.training
    model.eval()
    try:
        src = to_device(np.array([src_ids], dtype=np.int64), model.backend)
        y_in = to_device(np.array([[model.sos_id] + out_ids], dtype=np.int64), model.backend)
        _, alpha, _ = decoder.forward_with_attention(y_in, model.encode(src))
    finally:
        model.train(was_training)
    alpha = to_cpu(alpha)[0]                      # (T, S), columns in the encoder's order
    return alpha[:, ::-1].copy() if model.reverse else alpha


def plot_attention(alpha, src_tokens, out_tokens, path=None, title: str | None = None, ax=None):
    """Draw alpha (T, S) as a heatmap: output tokens down the side, source tokens along the top.

    Returns the matplotlib Figure; with ``path``, also saves it there as a PNG.
    """
    if (not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND")
            and "matplotlib.pyplot" not in sys.modules and sys.platform.startswith("linux")):
        import matplotlib
        matplotlib.use("Agg")                     # no display: draw to files only
    import matplotlib.pyplot as plt

    alpha = np.asarray(alpha)
    T, S = alpha.shape
    if len(src_tokens) != S or len(out_tokens) != T:
        raise ValueError(f"plot_attention: alpha is {T} x {S} but there are {len(out_tokens)} "
                         f"output and {len(src_tokens)} source tokens")
    font = _font_for(list(src_tokens) + list(out_tokens))
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(3.0, 0.45 * S + 1.8), max(2.5, 0.4 * T + 1.5)))
    else:
        fig = ax.figure
    image = ax.imshow(alpha, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(S))
    long_words = S > 8 and max(len(t) for t in src_tokens) > 2     # characters stay upright
    ax.set_xticklabels([_show(t) for t in src_tokens], rotation=90 if long_words else 0,
                       fontfamily=font)
    ax.set_yticks(range(T))
    ax.set_yticklabels([_show(t) for t in out_tokens], fontfamily=font)
    ax.xaxis.tick_top()
    ax.set_xlabel("source")
    ax.xaxis.set_label_position("top")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title, pad=28)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="attention weight")
    with warnings.catch_warnings():   # one warning from _font_for, not one per missing glyph
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        fig.tight_layout()
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=120)
    return fig


# Fonts that cover Hangul and CJK, tried in order when a label needs them.
_WIDE_FONTS = ("Noto Sans CJK KR", "Noto Sans CJK JP", "Noto Sans CJK SC", "NanumGothic",
               "Malgun Gothic", "AppleGothic", "Apple SD Gothic Neo", "Arial Unicode MS", "Unifont")


def _font_for(labels):
    """The font family for the labels: None (matplotlib's default) for Latin-like text,
    else an installed font that has Hangul/CJK, if any (with one warning if none)."""
    if all(ord(ch) < 0x2E80 for label in labels for ch in label):
        return None
    from matplotlib import font_manager
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in _WIDE_FONTS:
        if name in installed:
            return name
    warnings.warn("plot_attention: no installed font has the Hangul/CJK characters of these "
                  "labels, so they are drawn as boxes; install one (e.g. the fonts-noto-cjk "
                  "package) to see them", stacklevel=3)
    return None


def _show(token: str) -> str:
    """A token as a label: spaces made visible (character-level tasks have them)."""
    return "␣" if token == " " else token
