r"""Grading a notebook: export its functions, grade them in the sandbox.

In a notebook, a student's cell runs in the same process as any check that
follows it, so a cell such as ``checker.rel_error = lambda a, b: 0.0`` can make
an in-notebook ``check`` pass anything. A grade is therefore never taken inside
the notebook: ``minis2s grade notebook.ipynb`` (what nbgrader's or otter's
autograding step runs, docs/teaching.md) reads the notebook's code cells and
keeps only the imports and the function definitions -- every other statement,
the monkeypatching included, is dropped -- and grades that source in a fresh
sandboxed process, exactly like a submission file.

Two rules make a course notebook gradable as it stands:

* **Imports**: only those the sandbox can provide are kept -- NumPy and the
  standard library (less the modules the sandbox refuses: ``sandbox.BLOCKED``).
  A notebook's ``matplotlib``, ``minis2s`` (its ``check``, models and plots are
  for the notebook, not for grading: minis2s cannot be imported where the grade
  is taken), ``torch`` ... are dropped, so they cannot stop the notebook from
  loading. A standard-library import that the sandbox refuses all the same (one
  that starts processes or opens sockets: ``subprocess``, ``asyncio`` ...) is
  kept inside ``try``. A name such an import bound, when a kept function uses
  it, becomes a placeholder that raises an ``ImportError`` naming the import the
  moment the function uses it: the function that plots is the one that fails,
  not the whole notebook. The engine's caches are plain named tuples, so
  ``F.LSTMStepCache`` (``import minis2s.functional as F``) is kept as one.
* **Names**: the course notebooks call their answers ``my_lstm_step_backward``,
  ``my_greedy_search`` ... (the stub name is the library's own function, which
  the notebook compares them with). When a notebook defines ``my_<stub>`` for an
  exercise's stub name and no ``<stub>``, the export adds ``<stub>``, calling
  ``my_<stub>``.

(``my_lstm_step_forward`` returns ``(h, c, cache)``, as the engine's own does, so that
the notebook can feed its backward: the exercise accepts that form, ``exercises.lstm.h_and_c``.)

Only the standard library is used to read the notebook: it is JSON (nbformat 4).
"""
from __future__ import annotations

import ast
import importlib.util
import json
import sys
import sysconfig
from pathlib import Path

from .sandbox import BLOCKED

__all__ = ["export_notebook", "export_source"]

DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
PREFIX = "my_"                              # the course notebooks' name for a student's answer

# the export's own helpers; names a notebook is unlikely to use
PRELUDE = '''\
import collections as _nb_collections


class _NotWhileGraded:
    """What a dropped import bound: using it raises an ImportError that names the import."""

    def __init__(self, name, statement, **kept):
        self._nb_name, self._nb_statement = name, statement
        self.__dict__.update(kept)

    def _nb_refuse(self, what):
        raise ImportError(f"{what}: the notebook's `{self._nb_statement}` is not there while "
                          "the notebook is graded: a graded function may use NumPy and the "
                          "standard library only")

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        self._nb_refuse(f"{self._nb_name}.{attr}")

    def __call__(self, *args, **kwargs):
        self._nb_refuse(f"{self._nb_name}()")

'''


# --- which imports stay ----------------------------------------------------------------------

def _stdlib_module(top: str) -> bool:
    names = getattr(sys, "stdlib_module_names", None)          # Python 3.10+
    if names is not None:
        return top in names
    try:                                                       # 3.9: where it would be found
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if spec.origin in ("built-in", "frozen"):
        return True
    stdlib = str(Path(sysconfig.get_paths()["stdlib"]).resolve())
    where = str(Path(spec.origin or "").resolve())
    return where.startswith(stdlib) and "site-packages" not in where


def _allowed(module: str) -> bool:
    """NumPy and the standard library, less what the sandbox refuses outright."""
    top = module.split(".")[0]
    if top in BLOCKED:
        return False
    return top == "numpy" or _stdlib_module(top)


def _kept_import(node) -> bool:
    if isinstance(node, ast.Import):
        return all(_allowed(a.name) for a in node.names)
    return node.level == 0 and node.module is not None and _allowed(node.module)


def _bound(node):
    """(name, module, attribute or None) for each name an import statement binds."""
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.asname:
                yield a.asname, a.name, None
            else:
                yield a.name.split(".")[0], a.name.split(".")[0], None
    else:
        module = "." * node.level + (node.module or "")
        for a in node.names:
            if a.name != "*":
                yield a.asname or a.name, module, a.name


def _named_tuple(obj):
    """The (name, fields) of a named tuple class (the engine's caches), else None."""
    if isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields"):
        return obj.__name__, list(obj._fields)
    return None


def _minis2s_attr(module: str, attr: str):
    """``module.attr`` of this minis2s (the engine's caches live in minis2s.functional), for its
    named tuples; None where it cannot be found."""
    if module.split(".")[0] != "minis2s":
        return None
    # only a module the grader has loaded already: a notebook's import names no module to run here
    return getattr(sys.modules.get(module), attr, None)


def _placeholder(name, module, attr, statement, attributes) -> str:
    """The source binding ``name`` for a dropped import: a named tuple where it is one (an engine
    cache), else a :class:`_NotWhileGraded` that keeps the module's named tuples the code uses."""
    if attr is not None:
        nt = _named_tuple(_minis2s_attr(module, attr))
        if nt is not None:
            return f"{name} = _nb_collections.namedtuple({nt[0]!r}, {nt[1]!r})"
    target = module if attr is None else f"{module}.{attr}"
    kept = []
    for a in sorted(attributes.get(name, ())):
        nt = _named_tuple(_minis2s_attr(target, a)) if attr is None else None
        if nt is not None:
            kept.append(f", {a}=_nb_collections.namedtuple({nt[0]!r}, {nt[1]!r})")
    return f"{name} = _NotWhileGraded({name!r}, {statement!r}{''.join(kept)})"


def _guarded(node) -> str:
    """A kept standard-library import inside ``try``: a module the sandbox refuses all the same
    (it starts processes, opens sockets) binds placeholders instead of stopping the load."""
    statement = ast.unparse(node)
    body = [f"    {name} = _NotWhileGraded({name!r}, {statement!r})" for name, _, _ in _bound(node)]
    return "\n".join([f"try:\n    {statement}\nexcept ImportError:", *body])


# --- the export ---------------------------------------------------------------------------------

def _one_import_each(body):
    """``import os, matplotlib`` as two statements: one may stay and the other go."""
    for node in body:
        if isinstance(node, ast.Import) and len(node.names) > 1:
            yield from (ast.Import(names=[alias]) for alias in node.names)
        else:
            yield node


def _stub_names():
    from ..exercises import EXERCISES
    return {ex.stub.__name__ for ex in EXERCISES.values()}


def _used_names(nodes):
    """The names the kept definitions read, and for each, the attributes read on it (``F.X``)."""
    names, attributes = set(), {}
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
            elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                attributes.setdefault(sub.value.id, set()).add(sub.attr)
    return names, attributes


def _export_cells(cells: list) -> tuple:
    """The exported text of each cell (None for a cell that is not valid Python), and the prelude
    the cells need."""
    trees = []
    for code in cells:
        try:
            trees.append(ast.parse(code))
        except SyntaxError as e:
            trees.append(e)
    bodies = [t.body for t in trees if isinstance(t, ast.Module)]
    definitions = [n for body in bodies for n in body if isinstance(n, DEFINITIONS)]
    used, attributes = _used_names(definitions)
    defined = {n.name for n in definitions}
    stubs = _stub_names()
    future, parts, prelude = [], [], False
    for tree in trees:
        if not isinstance(tree, ast.Module):
            parts.append(tree)
            continue
        out = []
        for node in _one_import_each(tree.body):
            if isinstance(node, DEFINITIONS):
                out.append(ast.unparse(node))
            elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
                future.append(ast.unparse(node))             # must come first in a module
            elif isinstance(node, (ast.Import, ast.ImportFrom)) and _kept_import(node):
                top = (node.names[0].name if isinstance(node, ast.Import) else node.module)
                if top.split(".")[0] == "numpy":
                    out.append(ast.unparse(node))
                else:
                    out.append(_guarded(node))
                    prelude = True
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                statement = ast.unparse(node)
                for name, module, attr in _bound(node):
                    # a stub name bound by an import is the library's function: not the student's
                    if name in used and name not in defined and name not in stubs:
                        out.append(_placeholder(name, module, attr, statement, attributes))
                        prelude = True
        parts.append("\n".join(out))
    aliases = []
    for stub in sorted(stubs):
        if PREFIX + stub in defined and stub not in defined:
            aliases.append(f"{stub} = {PREFIX}{stub}")
    return future, parts, aliases, prelude


def export_source(code: str) -> str:
    """The gradable source of ``code`` (one cell, top level only), by the rules of the module
    docstring; raises SyntaxError where ``code`` is not valid Python."""
    ast.parse(code)
    future, parts, aliases, prelude = _export_cells([code])
    return _join(future, [], prelude, [p for p in parts if p], aliases)


def _join(future, header, prelude, parts, aliases) -> str:
    blocks = list(dict.fromkeys(future)) + header + ([PRELUDE] if prelude else []) + parts
    if aliases:
        blocks.append("# the notebook's my_ functions under the exercises' names\n" +
                      "\n\n".join(aliases))
    return "\n\n".join(b.rstrip("\n") for b in blocks) + "\n"


def _cell_code(cell) -> str:
    src = cell.get("source", "")
    text = "".join(src) if isinstance(src, list) else str(src)
    # IPython's magics and shell escapes are not Python: blank those lines
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in text.splitlines())


def export_notebook(path) -> str:
    """The gradable source of the notebook at ``path``: each code cell's kept imports and
    definitions, by the rules of the module docstring.

    A cell that is not valid Python (half-written code) is skipped whole, with a comment
    saying so; the later cells still count.
    """
    nb = json.loads(Path(path).read_text())
    numbered = [(k, _cell_code(c)) for k, c in enumerate(nb.get("cells", []))
                if c.get("cell_type") == "code"]
    future, parts, aliases, prelude = _export_cells([code for _, code in numbered])
    cells = []
    for (k, _), part in zip(numbered, parts):
        if isinstance(part, SyntaxError):
            cells.append(f"# cell {k} skipped: it is not valid Python "
                         f"({part.msg}, line {part.lineno})")
        elif part:
            cells.append(f"# cell {k}\n{part}")
    header = (f"# exported from {Path(path).name} by minis2s.grading.notebook: "
              "imports and definitions only")
    return _join(future, [header], prelude, cells, aliases)
