"""The report page (`natural-tasks report`) in a real browser: opened from disk, offline, it shows every embedded
figure and the claim verdicts each run stored in its summary.json."""

import json

import pytest

from simulations import runs
from simulations.cli import main


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report of three tiny runs whose verdicts differ: quad PASSes, transferability with α = 1 FAILs a claim,
    random_errors on one seed is INCONCLUSIVE."""
    root = tmp_path_factory.mktemp("report")
    folders = []
    for name, seed, sets in [("quad", None, []), ("transferability", None, ["task.alpha=1"]), ("random_errors", 1, [])]:
        cfg = runs.make_config(name, "tiny", seed, sets)
        folders.append(runs.run_experiment(name, cfg, root / "results", progress=False).store.path)
    out = root / "report" / "index.html"
    assert main(["report", "--results", str(root / "results"), "--out", str(out)]) == 0
    return out, folders


def test_every_figure_loads_and_the_verdicts_are_the_stored_ones(report, open_page):
    out, folders = report
    page = open_page(out, bokeh=False)
    images = page.evaluate(
        "[...document.images].map((img) => [img.closest('section').id, img.complete, img.naturalWidth, img.alt])"
    )
    assert {section for section, *_ in images} == {f.name for f in folders}
    for section, complete, width, alt in images:
        assert complete and width > 0 and alt, (section, complete, width, alt)
    shown = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('section')].map((s) => [s.id, "
        "[...s.querySelectorAll('table.claims tbody tr')].map((tr) => [tr.cells[0].innerText, tr.cells[1].innerText, "
        "getComputedStyle(tr.cells[1]).color])]))"
    )
    colours = {}
    for folder in folders:
        claims = json.loads((folder / "summary.json").read_text())["claims"]
        assert [(cid, verdict) for cid, verdict, _ in shown[folder.name]] == [(c["id"], c["verdict"]) for c in claims]
        colours.update({verdict: colour for _, verdict, colour in shown[folder.name]})
    # every verdict occurs, and each one in a colour of its own: a FAIL stands out from a PASS
    assert set(colours) == {"PASS", "FAIL", "INCONCLUSIVE"} and len(set(colours.values())) == 3


def test_the_contents_link_to_each_section(report, open_page):
    out, folders = report
    page = open_page(out, bokeh=False)
    links = page.evaluate("[...document.querySelectorAll('table.toc a')].map((a) => a.getAttribute('href'))")
    assert sorted(links) == sorted(f"#{f.name}" for f in folders)
    for link in links:  # each one jumps to its section, which is then at the top of the window
        page.click(f"table.toc a[href='{link}']")
        assert page.evaluate(f"Math.abs(document.getElementById('{link[1:]}').getBoundingClientRect().top)") < 2
