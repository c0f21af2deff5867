"""The notebooks in notebooks/: stored without outputs, each executed here, each asserting what it tells
the student to expect (its cells tagged "check" end by printing "all checks passed")."""

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_five_notebooks_in_order():
    assert [p.name.split("_")[0] for p in NOTEBOOKS] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_what_it_promises(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "stored with outputs: clear them"
    assert "What you should see" in nb.cells[0].source
    checks = [c for c in code if "check" in c.metadata.get("tags", [])]
    assert checks and all("assert" in c.source for c in checks)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for c in checks for o in c.outputs if o.get("output_type") == "stream")
    assert "all checks passed" in printed
