"""The notebooks in notebooks/: stored without outputs, each executed here, each asserting what it tells
the student to expect (its cells tagged "check" end by printing "all checks passed"), each drawing its figure
and explaining its words in a glossary; and every "try" a notebook suggests, done once (slow)."""

import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: The words every notebook's glossary explains (its first column; markdown escapes dropped).
GLOSSARY_WORDS = {"ε", "KL", "P*", "Q", "τ", "B", "γ", "probe", "zero-shot", "vacuous bound"}
#: Every "# try:" of the notebooks, done once: (notebook number, the text as stored, the text the student writes).
TRIES = [
    ("1", "SEED = 0", "SEED = 2"),
    ("1", "V = 60", "V = 200"),
    ("1", "s = 7", "s = 42"),
    ("1", "EPS = 1e-3", "EPS = 1e-5"),
    ("1", "EPS = 1e-3", "EPS = 1e-1"),
    ("1", 'KIND = "adversarial"', 'KIND = "random"'),
    ("1", 'KIND = "adversarial"', 'KIND = "trained"'),
    ("2", "EPS_GRID = np.geomspace(1e-6, 1e-2, 5)", "EPS_GRID = np.geomspace(1e-8, 1e-1, 8)"),
    ("3", "EXTRA_DIMS = 3", "EXTRA_DIMS = 0"),
    ("3", "EXTRA_DIMS = 3", "EXTRA_DIMS = 6"),
    ("4", "B = 4.0", "B = 1.0"),
    ("4", "B = 4.0", "B = 16.0"),
    ("4", "EPS = 1e-3", "EPS = 1e-5"),
    ("5", "SEED = 0", "SEED = 1"),
    ("5", "SEED = 0", "SEED = None"),
    ("5", "SHRINK = False", "SHRINK = True"),
    ("5", "return tau + 2 * B * B * eps / gamma", "return tau + 2 * math.sqrt(2 * B * B * eps / gamma)"),
]


def _execute(nb, tmp_path: pathlib.Path) -> tuple[str, int]:
    """Run the notebook; return what its check cells printed and how many PNG images it displayed."""
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    checks = [c for c in nb.cells if c.cell_type == "code" and "check" in c.metadata.get("tags", [])]
    printed = "".join(o.get("text", "") for c in checks for o in c.outputs if o.get("output_type") == "stream")
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return printed, images


def _glossary(nb) -> set[str]:
    """The words in the first column of the notebook's glossary table (a markdown cell headed '## Glossary')."""
    cells = [c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Glossary")]
    assert len(cells) == 1, "one markdown cell headed '## Glossary'"
    rows = [line.split("|") for line in cells[0].source.splitlines() if line.startswith("|")]
    return {row[1].strip().replace("\\", "") for row in rows[2:]}  # past the header and its --- line


def _tries_in(nb) -> list[str]:
    return [line for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines() if "# try:" in line]


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
    missing = GLOSSARY_WORDS - _glossary(nb)
    assert not missing, f"the glossary does not explain {sorted(missing)}"
    printed, images = _execute(nb, tmp_path)
    assert "all checks passed" in printed
    assert images >= 1, "the notebook draws no figure"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_try_of_the_notebook_is_tried_below(path):
    """Each '# try:' line has an entry in TRIES, so a new suggestion cannot go untried."""
    nb = nbformat.read(path, as_version=4)
    number = path.name.split("_")[0]
    lines = _tries_in(nb)
    assert lines, "a notebook suggests at least one change"
    for line in lines:
        assert any(n == number and old in line for n, old, _ in TRIES), f"untried: {line!r}"


@pytest.mark.slow
@pytest.mark.parametrize("number, old, new", TRIES, ids=[f"{n}:{new}" for n, _, new in TRIES])
def test_a_try_keeps_the_checks_true(number, old, new, tmp_path):
    """Do what a '# try:' says in a copy of the notebook and run it from the top: its checks still pass."""
    (path,) = [p for p in NOTEBOOKS if p.name.split("_")[0] == number]
    nb = nbformat.read(path, as_version=4)
    stored = re.compile(rf"^(\s*){re.escape(old)}(?=\s|$)", re.M)  # at the start of a line, as a whole
    cells = [c for c in nb.cells if c.cell_type == "code" for _ in stored.finditer(c.source)]
    assert len(cells) == 1, f"{old!r} is not in exactly one place"
    cells[0].source = stored.sub(lambda m: m.group(1) + new, cells[0].source)
    nbformat.write(nb, tmp_path / path.name)
    printed, images = _execute(nb, tmp_path)
    assert "all checks passed" in printed and images >= 1
