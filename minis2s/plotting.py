"""Training curves as PNG files: one run's history, or several runs side by side.

A *history* is the list of per-epoch dicts the trainer keeps (and writes to
``history.json``)::

    [{"epoch": 1, "train_loss": 1.86, "val_loss": 1.71, "val_token_accuracy": 38.2,
      "val_exact_match": 0.7, ...}, ...]

Accuracies and BLEU are percentages. Two functions::

    plot_history(history, "runs/addition-peeky/curves.png")      # loss + accuracy panels
    plot_runs({"plain": h1, "reversed": h2, "peeky": h3}, "compare.png",
              reference={"peeky": {10: 88.4, 25: 98.14}})        # e.g. the book's figures

On a machine without a display (a server, CI, ``ssh``) matplotlib is switched
to its file-only ``Agg`` backend before pyplot is imported; in a notebook or on
a desktop the backend already chosen (``MPLBACKEND``) is left alone.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

if (not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND")
        and "matplotlib.pyplot" not in sys.modules and sys.platform.startswith("linux")):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend choice, on purpose)

__all__ = ["plot_history", "plot_runs"]

# Which history keys go in which panel, and how they are labelled.
_LOSSES = {"train_loss": "train loss", "val_loss": "validation loss"}
_SCORES = {"val_token_accuracy": "token accuracy (teacher forced)",
           "val_exact_match": "exact match (greedy)", "val_bleu": "BLEU-4"}
_LABELS = {"val_exact_match": "validation exact match (%)", "val_token_accuracy":
           "validation token accuracy (%)", "val_bleu": "validation BLEU-4",
           "val_loss": "validation loss", "train_loss": "training loss",
           "val_perplexity": "validation perplexity"}


def _series(history, key):
    """(epochs, values) for the records of ``history`` that have ``key``."""
    points = [(h["epoch"], h[key]) for h in history if h.get(key) is not None]
    return [e for e, _ in points], [v for _, v in points]


def plot_history(history: list, path, title: str | None = None) -> Path:
    """Save the loss curves (left) and accuracy / BLEU curves (right) of one run as a PNG.

    Returns the path. Keys missing from the history (no validation set, no
    BLEU) are simply not drawn.
    """
    if not history:
        raise ValueError("plot_history: the history is empty (no epoch finished yet)")
    fig, (ax_loss, ax_score) = plt.subplots(1, 2, figsize=(10, 4))
    try:
        for key, label in _LOSSES.items():
            x, y = _series(history, key)
            if x:
                ax_loss.plot(x, y, marker="o", ms=3, label=label)
        ax_loss.set(xlabel="epoch", ylabel="cross-entropy (nats / token)", title="loss")
        for key, label in _SCORES.items():
            x, y = _series(history, key)
            if x:
                ax_score.plot(x, y, marker="o", ms=3, label=label)
        ax_score.set(xlabel="epoch", ylabel="% (BLEU: 0-100)", ylim=(0, 100), title="validation")
        for ax in (ax_loss, ax_score):
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return _save(fig, path)
    finally:
        plt.close(fig)   # pyplot keeps every figure alive until closed


def plot_runs(runs: dict, path, metric: str = "val_exact_match", reference: dict | None = None,
              title: str | None = None) -> Path:
    """Draw ``metric`` for several runs in one figure, e.g. plain vs reversed vs peeky.

    runs: ``{label: history}``. reference: optional ``{label: {epoch: value}}``,
    drawn as crosses in the colour of the run with the same label (or in a
    colour of their own), in the metric's units -- e.g. the book's published
    exact-match percentages at epochs 10 and 25. Returns the path.
    """
    if not runs:
        raise ValueError("plot_runs: no runs given")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    try:
        colours = {}
        for label, history in runs.items():
            x, y = _series(history, metric)
            if not x:
                raise ValueError(f"plot_runs: the history of {label!r} has no {metric!r} values")
            line, = ax.plot(x, y, marker="o", ms=3, label=label)
            colours[label] = line.get_color()
        for label, points in (reference or {}).items():
            epochs = sorted(points, key=float)
            ax.scatter([float(e) for e in epochs], [points[e] for e in epochs], marker="x", s=70,
                       color=colours.get(label), zorder=3, label=f"{label} (reference)")
        ax.set(xlabel="epoch", ylabel=_LABELS.get(metric, metric), title=title or _LABELS.get(metric, metric))
        if "accuracy" in metric or "exact_match" in metric:
            ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        return _save(fig, path)
    finally:
        plt.close(fig)


def _save(fig, path) -> Path:
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise FileNotFoundError(f"cannot save the figure: the folder {str(path.parent)!r} does not exist")
    fig.savefig(path, dpi=110)
    return path
