"""Every course notebook runs top to bottom (in the fast setting, MINIS2S_FAST=1).

The notebooks live as paired files: ``NN_name.py`` (jupytext percent format, the
diff-friendly source) and ``NN_name.ipynb`` (the same cells, outputs stripped).
The test executes the .py source and checks the .ipynb holds the same code.
"""
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.py"))


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
