r"""Grading a notebook: export its functions, grade them in the sandbox.

In a notebook, a student's cell runs in the same process as any check that
follows it, so a cell such as ``checker.rel_error = lambda a, b: 0.0`` can make
an in-notebook ``check`` pass anything. A grade is therefore never taken inside
the notebook: ``minis2s grade notebook.ipynb`` (what nbgrader's or otter's
autograding step runs, docs/teaching.md) reads the notebook's code cells and
keeps only the imports and the function definitions -- every other statement,
the monkeypatching included, is dropped, and so is every import of minis2s
(``from minis2s.exercises import check`` is for the notebook, not for grading:
minis2s cannot be imported where the grade is taken) -- and grades that source in
a fresh sandboxed process, exactly like a submission file.

Only the standard library is used: the notebook is JSON (nbformat 4).
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

__all__ = ["export_notebook", "export_source"]

KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _cell_code(cell) -> str:
    src = cell.get("source", "")
    text = "".join(src) if isinstance(src, list) else str(src)
    # IPython's magics and shell escapes are not Python: blank those lines
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in text.splitlines())


def _is_minis2s(name: str) -> bool:
    return name == "minis2s" or name.startswith("minis2s.")


def _keep(node) -> bool:
    """Imports (but none of minis2s: its check and hint, models and plots are for the notebook,
    not for grading) and definitions."""
    if isinstance(node, ast.Import):
        return not any(_is_minis2s(a.name) for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return not _is_minis2s(node.module or "")
    return isinstance(node, KEPT)


def export_source(code: str) -> str:
    """The imports and definitions of ``code`` (top level only), in order; the rest dropped."""
    tree = ast.parse(code)
    kept = [node for node in tree.body if _keep(node)]
    return ast.unparse(ast.Module(body=kept, type_ignores=[])) + "\n"


def export_notebook(path) -> str:
    """The gradable source of the notebook at ``path``: each code cell's imports and definitions.

    A cell that is not valid Python (half-written code) is skipped whole, with a comment
    saying so; the later cells still count.
    """
    nb = json.loads(Path(path).read_text())
    parts = [f"# exported from {Path(path).name} by minis2s.grading.notebook: "
             "imports and definitions only\n"]
    for k, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        code = _cell_code(cell)
        try:
            kept = export_source(code)
        except SyntaxError as e:
            parts.append(f"# cell {k} skipped: it is not valid Python ({e.msg}, line {e.lineno})\n")
            continue
        if kept.strip():
            parts.append(f"# cell {k}\n{kept}")
    return "\n".join(parts)
