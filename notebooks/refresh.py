r"""Execute the course notebooks and store them with their outputs (figures included).

    python notebooks/refresh.py                  # every notebook, the full setting
    python notebooks/refresh.py 02 04            # only these (by number or name)
    python notebooks/refresh.py --fast           # the fast setting (MINIS2S_FAST=1): seconds

Each ``NN_name.py`` (the jupytext source) is read, executed top to bottom with
nbclient in this folder, and written to ``NN_name.ipynb`` with its outputs,
keeping the jupytext pairing. The notebook's metadata records what was run:
``minis2s.source_sha256``, a hash of the cells' sources (code and Markdown, not
the jupytext header), and the setting. tests/test_notebooks.py compares that
hash with the ``.py`` of the commit: a notebook whose source changed since it was
last executed is *stale* and fails the test, without CI executing anything
beyond what it already does (the fast run of every notebook).

Refresh after editing a notebook, and after library changes that alter its
results. The full setting takes several minutes on a 2-core CPU; run it with
``flock /tmp/minis2s-heavy.lock nice -n 5 python notebooks/refresh.py`` on a
shared machine.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def source_hash(notebook) -> str:
    """sha256 of the cells' types and sources: what the outputs were computed from."""
    cells = [[c.cell_type, c.source] for c in notebook.cells]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode("utf-8")).hexdigest()


def notebooks(selected=()) -> list:
    paths = sorted(HERE.glob("[0-9][0-9]_*.py"))
    if selected:
        paths = [p for p in paths if any(p.stem == s or p.stem.startswith(s) for s in selected)]
    return paths


def refresh(path: Path, fast: bool, timeout: int = 3600) -> float:
    """Execute ``path`` (a .py) and write its .ipynb with outputs; returns the seconds taken."""
    import jupytext
    import nbclient

    nb = jupytext.read(path)
    digest = source_hash(nb)
    env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    if fast:
        env["MINIS2S_FAST"] = "1"
    old = {k: os.environ.get(k) for k in ("MINIS2S_FAST", "MPLBACKEND")}
    os.environ.pop("MINIS2S_FAST", None)
    os.environ.update(env)
    start = time.perf_counter()
    try:
        nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(HERE)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - start
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        raise RuntimeError(f"{path.name}: a cell raised {errors[0].get('ename')}: {errors[0].get('evalue')}")
    nb.metadata["minis2s"] = {"source_sha256": digest, "setting": "fast" if fast else "full"}
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    jupytext.write(nb, path.with_suffix(".ipynb"))
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="numbers or names (default: all)")
    parser.add_argument("--fast", action="store_true", help="the fast setting (MINIS2S_FAST=1)")
    args = parser.parse_args(argv)
    paths = notebooks(args.notebooks)
    if not paths:
        parser.error(f"no notebook matches {args.notebooks}")
    for path in paths:
        print(f"{path.name}: executing ({'fast' if args.fast else 'full'} setting) ...", flush=True)
        seconds = refresh(path, args.fast)
        print(f"{path.name}: done in {seconds:.0f} s -> {path.with_suffix('.ipynb').name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
