"""Every course notebook runs top to bottom (in the fast setting, MINIS2S_FAST=1).

The notebooks live as paired files: ``NN_name.py`` (jupytext percent format, the
diff-friendly source) and ``NN_name.ipynb`` (the same cells, committed *executed*,
with their outputs and figures, by notebooks/refresh.py). The tests execute the
.py source, check that the .ipynb holds the same code, and that its outputs were
computed from the current source (a hash refresh.py stores in its metadata).
"""
import importlib.util
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch, tmp_path):
    monkeypatch.setenv("MINIS2S_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("MINIS2S_RUNS", str(tmp_path))
    nb = jupytext.read(path)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_paired_ipynb_is_in_sync(path):
    ipynb = path.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run `jupytext --sync {path.name}`"
    src = [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]
    paired = [c.source for c in jupytext.read(ipynb).cells if c.cell_type == "code"]
    assert src == paired, f"{ipynb.name} differs from {path.name}: run `jupytext --sync {path.name}`"


def _refresh_module():
    spec = importlib.util.spec_from_file_location("refresh", Path(__file__).parents[1] / "notebooks" / "refresh.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_is_executed_and_current(path):
    """The .ipynb was executed from exactly this .py: outputs present, no errors, hash equal."""
    refresh = _refresh_module()
    nb = jupytext.read(path.with_suffix(".ipynb"))
    stamp = nb.metadata.get("minis2s", {})
    fix = f"run `python notebooks/refresh.py {path.stem[:2]}`"
    assert stamp.get("source_sha256") == refresh.source_hash(jupytext.read(path)), \
        f"{path.with_suffix('.ipynb').name} is stale (its outputs are from another version of {path.name}): {fix}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert any(c.get("outputs") for c in code), f"{path.stem} has no outputs: {fix}"
    assert not [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if "plt.show()" in path.read_text():
        assert any("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", [])), \
            f"{path.stem} shows figures but its .ipynb holds none: {fix}"


def test_the_staleness_check_fails_on_an_edited_source(tmp_path):
    """Break it: change one character of a notebook's source and the hash no longer matches."""
    refresh = _refresh_module()
    nb = jupytext.read(NOTEBOOKS[0])
    before = refresh.source_hash(nb)
    nb.cells[-1].source += " "
    assert refresh.source_hash(nb) != before
