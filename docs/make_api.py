"""Write docs/api.md: the public functions and classes, from their signatures and docstrings.

    python docs/make_api.py            # rewrites docs/api.md
    python docs/make_api.py --check    # exit 1 if docs/api.md is out of date (the tests run this)

Generated, so the reference cannot drift from the code: a test fails when it does.
"""
from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

OUT = Path(__file__).with_name("api.md")

# (module, one-line purpose). Public names are the module's __all__.
MODULES = [
    ("minis2s.backend", "choosing NumPy or CuPy; the only host <-> device moves"),
    ("minis2s.functional", "every forward and backward pass, as functions"),
    ("minis2s.gradcheck", "numerical gradients and gradient-check reports"),
    ("minis2s.layers", "layer objects with named parameters and gradients"),
    ("minis2s.models", "encoder, decoders, Seq2Seq, decoding"),
    ("minis2s.optim", "optimisers, clipping, learning-rate schedules"),
    ("minis2s.data", "tasks, files, tokenizers, vocabularies, batches"),
    ("minis2s.data.corpora", "the corpora shipped with the package, by name; the cache folder"),
    ("minis2s.data.coverage", "is an input like the training sources? (translate's warning)"),
    ("minis2s.metrics", "BLEU and accuracies"),
    ("minis2s.app.trainer", "the training loop and evaluation"),
    ("minis2s.app.memory", "keeping freed memory for the next step (page faults of fresh arrays)"),
    ("minis2s.app.checkpoint", "atomic, resumable checkpoints"),
    ("minis2s.app.config", "the settings of a run: each type, range and default written once"),
    ("minis2s.torch_export", "weights to and from PyTorch state_dicts"),
    ("minis2s.app.plotting", "training curves"),
    ("minis2s.exercises", "backward passes for students, with an auto-checker"),
    ("minis2s.errors", "the family of user-input errors"),
    ("minis2s.testing", "test tools the core never imports: the strict CuPy-like double"),
]


def _summary(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    para = doc.split("\n\n")[0].strip()
    return " ".join(para.split())


def _signature(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return ""


def render() -> str:
    lines = ["# API reference", "",
             "Generated from the code by `python docs/make_api.py`; the first paragraph of each",
             "docstring. Shapes and equations are in the docstrings themselves (`help(...)`) and",
             "in [derivations.md](derivations.md).", ""]
    for modname, purpose in MODULES:
        mod = importlib.import_module(modname)
        lines += [f"## `{modname}` — {purpose}", "", _summary(mod), ""]
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.isclass(obj):
                lines.append(f"- **class `{name}{_signature(obj)}`** — {_summary(obj)}")
                for mname, member in inspect.getmembers(obj):
                    if mname.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
                        continue
                    if mname not in obj.__dict__:
                        continue  # inherited: documented on the base class
                    sig = "" if isinstance(member, property) else _signature(member)
                    lines.append(f"  - `{mname}{sig}` — {_summary(member)}")
            elif callable(obj):
                lines.append(f"- `{name}{_signature(obj)}` — {_summary(obj)}")
            else:
                lines.append(f"- `{name}` = `{obj!r}`" if isinstance(obj, (int, float, str, tuple)) else f"- `{name}`")
        lines.append("")
    return "\n".join(lines)


def main(argv) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != text:
            print("docs/api.md is out of date: run `python docs/make_api.py`")
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
