"""Training curves as PNG files: one run's history, or several runs side by side.

A *history* is the list of per-epoch dicts the trainer keeps (and writes to
``history.json``)::

    [{"epoch": 1, "train_loss": 1.86, "val_loss": 1.71, "val_token_accuracy": 38.2,
      "val_exact_match": 0.7, ...}, ...]

Accuracies and BLEU are percentages. Two functions::

    plot_history(history, "runs/addition-peeky/curves.png")      # loss, accuracy (and BLEU) panels
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
from matplotlib.ticker import MaxNLocator  # noqa: E402

__all__ = ["plot_history", "plot_runs", "run_title"]

# What each curve is, in words a student can read off the figure.
_LOSSES = {"train_loss": "training loss (mean over the epoch's batches)",
           "val_loss": "validation loss (after the epoch, no dropout)"}
_ACCURACIES = {"val_token_accuracy": "token accuracy: next token right, given the true previous ones",
               "val_exact_match": "exact match: whole output right, the model decoding alone (greedy)"}
_LABELS = {"val_exact_match": "validation exact match (%)", "val_token_accuracy":
           "validation token accuracy (%)", "val_bleu": "validation BLEU-4 (0-100)",
           "val_loss": "validation loss", "train_loss": "training loss",
           "val_perplexity": "validation perplexity"}


def _series(history, key):
    """(epochs, values) for the records of ``history`` that have ``key``."""
    points = [(h["epoch"], h[key]) for h in history if h.get(key) is not None]
    return [e for e, _ in points], [v for _, v in points]


def run_title(config: dict) -> str:
    """A figure title from a run's settings (``config.json``'s ``config``): the data, then every
    model option that changes what is trained, e.g. ::

        dates task: attention decoder (general score, input feeding), bidirectional encoder,
        reversed source
        1 layer, emb 16, hidden 128, init uniform

    (two lines; options missing from an old config are left out)."""
    data = (Path(config["data"]).name + (" (--swap: column 2 -> 1)" if config.get("swap") else "")
            if config.get("data") else f"{config.get('task', '?')} task")
    model = config.get("model", "?")
    decoder = f"{model} decoder"
    if model == "attention":
        extras = [f"{config.get('score', 'dot')} score"]
        if config.get("input_feeding"):
            extras.append("input feeding")
        if config.get("attention_output", "luong") != "luong":
            extras.append(f"{config['attention_output']} output")
        decoder += f" ({', '.join(extras)})"
    parts = [decoder]
    if config.get("bidirectional"):
        parts.append("bidirectional encoder")
    if "reverse" in config:
        parts.append("reversed source" if config["reverse"] else "source in order")
    sizes = []
    if "layers" in config:
        sizes.append(f"{config['layers']} layer{'s' if config['layers'] != 1 else ''}")
    sizes += [f"{k} {config[k]}" for k in ("emb", "hidden") if k in config]
    if config.get("dropout"):
        sizes.append(f"dropout {config['dropout']:g}")
    if config.get("teacher_forcing_schedule"):
        sizes.append(f"teacher forcing {config['teacher_forcing_schedule']}")
    elif config.get("teacher_forcing", 1.0) != 1.0:
        sizes.append(f"teacher forcing {config['teacher_forcing']:g}")
    if "init" in config:
        sizes.append(f"init {config['init']}")
    return f"{data}: {', '.join(parts)}" + (f"\n{', '.join(sizes)}" if sizes else "")


def _mark_lr_halvings(ax, history) -> None:
    """Dotted vertical lines at the epochs whose learning rate ended lower than the epoch
    before's (one line, "from here on", when the schedule keeps lowering it)."""
    x, lr = _series(history, "lr")
    drops = [e for e, a, b in zip(x[1:], lr, lr[1:]) if b < a]
    if len(drops) > 3:
        ax.axvline(drops[0], color="grey", ls=":", lw=1.2,
                   label=f"learning rate lowered from this epoch on ({lr[0]:g} to {lr[-1]:.2g})")
        return
    for i, e in enumerate(drops):
        ax.axvline(e, color="grey", ls=":", lw=1.2,
                   label="learning rate lowered in this epoch" if i == 0 else None)


def plot_history(history: list, path, title: str | None = None) -> Path:
    """Save one run's curves as a PNG: loss (left), validation accuracy (middle) and, when the
    history has BLEU, validation BLEU in a panel of its own (right), so that a near-zero exact
    match on a real corpus is not drawn under the BLEU line.

    Returns the path. Keys missing from the history (no validation set, no
    BLEU) are simply not drawn.
    """
    if not history:
        raise ValueError("plot_history: the history is empty (no epoch finished yet)")
    has_bleu = bool(_series(history, "val_bleu")[0])
    has_acc = any(_series(history, k)[0] for k in _ACCURACIES)
    panels = 1 + has_acc + has_bleu
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 5.0), squeeze=False)
    axes = list(axes[0])
    try:
        ax = axes.pop(0)
        for (key, label), marker in zip(_LOSSES.items(), "os"):
            x, y = _series(history, key)
            if x:
                ax.plot(x, y, marker=marker, ms=4, label=label)
        _mark_lr_halvings(ax, history)
        ax.set(xlabel="epoch", ylabel="cross-entropy per target token (nats)",
               title="Loss (lower is better)")
        if has_acc:
            ax = axes.pop(0)
            for (key, label), marker in zip(_ACCURACIES.items(), "o^"):
                x, y = _series(history, key)
                if x:
                    ax.plot(x, y, marker=marker, ms=4, label=label)
            ax.set(xlabel="epoch", ylabel="% of validation tokens / sentences", ylim=(-2, 102),
                   title="Validation accuracy (higher is better)")
        if has_bleu:
            ax = axes.pop(0)
            x, y = _series(history, "val_bleu")
            ax.plot(x, y, marker="D", ms=4, color="tab:green",
                    label="BLEU-4 of the greedy outputs (n-gram overlap with the references)")
            ax.set(xlabel="epoch", ylabel="BLEU-4 (0-100)", ylim=(0, max(10.0, 1.15 * max(y))),
                   title="Validation BLEU (higher is better)")
        for ax in fig.axes:
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if ax.get_legend_handles_labels()[0]:   # below the panel: never over a curve
                ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16))
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
