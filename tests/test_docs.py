"""The docs stay true to the code: the generated API reference is current, and every
`minis2s.<name>` the Markdown docs cite exists."""
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_api_reference_is_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "make_api.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_cited_names_exist(path):
    missing = []
    for dotted in set(re.findall(r"`(minis2s(?:\.\w+)+)", path.read_text())):
        parts = dotted.split(".")
        obj, i = None, len(parts)
        while i > 0:                       # the longest importable prefix, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:i]))
                break
            except ImportError:
                i -= 1
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
        if obj is None:
            missing.append(dotted)
    assert not missing, f"{path.name} cites names that do not exist: {missing}"


def test_readme_links_resolve():
    text = (ROOT / "README.md").read_text()
    broken = [link for link in re.findall(r"\]\(([^)#]+)\)", text)
              if not link.startswith("http") and not (ROOT / link).exists()]
    assert not broken, f"README links to missing files: {broken}"


# --- the derivations and the code use the same names ------------------------------------
# Each derivation in docs/derivations.md that a function implements ends with two lines:
#
#     Implemented in `minis2s.functional.lstm_cell_forward`, `...backward`.
#     Symbols: `i`, `f`, `g`, `o`, `c_prev`, `tanh_c`, `dc_total`, ...
#
# Every symbol must be a name the implementing functions actually compute or take (an
# argument or an assigned variable, found by parsing their source): rename a variable in
# the code, or a symbol in the text, and this fails.

def _sections(text):
    """(title, body) for every '## ' section of a Markdown text."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


def _names_in(obj):
    """Arguments and assigned names (including tuple targets) of a function or class."""
    import ast
    import inspect
    import textwrap
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    return names


def _resolve(dotted):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


DERIVATIONS = _sections((ROOT / "docs" / "derivations.md").read_text())
WITH_SYMBOLS = [(t, b) for t, b in DERIVATIONS if re.search(r"^Symbols:", b, flags=re.M)]


def test_the_core_derivations_list_their_symbols():
    titled = {t for t, _ in WITH_SYMBOLS}
    for needed in ("The affine map", "LSTM: one step", "LSTM through time (BPTT), with masks",
                   "Softmax cross-entropy, with padding ignored", "The peeky decoder", "Adam",
                   "Gradient clipping by global norm"):
        assert needed in titled, f"docs/derivations.md: section {needed!r} has no 'Symbols:' line"


@pytest.mark.parametrize("title,body", WITH_SYMBOLS, ids=[t for t, _ in WITH_SYMBOLS])
def test_derivation_symbols_appear_in_the_code(title, body):
    implemented = re.search(r"^Implemented in (.+?)(?:\n\n|\nSymbols:)", body, flags=re.M | re.S)
    assert implemented, f"section {title!r}: a 'Symbols:' line needs an 'Implemented in' line"
    targets = re.findall(r"`(minis2s(?:\.\w+)+)`", implemented.group(1))
    assert targets, f"section {title!r}: 'Implemented in' names no minis2s function"
    names = set().union(*(_names_in(_resolve(t)) for t in targets))
    line = re.search(r"^Symbols:(.+)$", body, flags=re.M).group(1)
    symbols = re.findall(r"`(\w+)`", line)
    missing = [s for s in symbols if s not in names]
    assert symbols and not missing, (
        f"section {title!r}: symbols {missing} of the derivation do not appear in {targets}")
