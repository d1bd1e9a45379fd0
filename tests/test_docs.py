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
