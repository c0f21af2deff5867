"""Nothing but the path the user named is written, and nothing there is replaced that natural-tasks did not write.

Every case runs in its own temporary folder; none touches /dev or a path outside it. A FIFO stands for every
file that is not a regular one (devices, sockets): the check refuses them by their type, never by opening them.
"""

import os
import pathlib
import subprocess
import sys

import pytest

import simulations as sim
from simulations.cli import main
from simulations.core import MARKS, check_output_file, mark_html
from simulations.runs import check_output_path, results_folder_of

COMMAND = str(pathlib.Path(sys.executable).with_name("natural-tasks"))


def _cli(*argv, timeout=120):
    return subprocess.run([COMMAND, *argv], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def places(tmp_path):
    """Paths of every kind: someone's notes, a script, a folder, a FIFO, a link, and a page and a figure written
    by natural-tasks."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    script = tmp_path / "script.py"
    script.write_text("print('mine')\n")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    fifo = tmp_path / "a-fifo.html"
    os.mkfifo(fifo)
    link = tmp_path / "link.html"
    link.symlink_to(notes)
    page = tmp_path / "ours.html"
    page.write_text(mark_html("<!doctype html><html><head><title>t</title></head><body></body></html>"))
    foreign_page = tmp_path / "theirs.html"
    foreign_page.write_text("<!doctype html><html><head><title>someone's page</title></head></html>")
    return dict(notes=notes, script=script, folder=folder, fifo=fifo, link=link, page=page, foreign=foreign_page)


@pytest.mark.parametrize(
    "key, why",
    [
        ("notes", "was not written by natural-tasks"),
        ("script", "was not written by natural-tasks"),
        ("foreign", "was not written by natural-tasks"),
        ("folder", "is a folder"),
        ("fifo", "is a device, FIFO or socket"),
        ("link", "is a symbolic link"),
    ],
)
def test_a_file_that_is_not_ours_is_refused_and_left_as_it_is(places, key, why):
    path = places[key]
    before = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    with pytest.raises(ValueError, match=why):
        check_output_file(path, "report --out")
    if before is not None:
        assert path.read_bytes() == before


def test_a_new_path_and_our_own_page_may_be_written(places, tmp_path):
    assert check_output_file(tmp_path / "new.html", "report --out") == tmp_path / "new.html"
    assert check_output_file(places["page"], "report --out") == places["page"]
    assert not (tmp_path / "new.html").exists()  # the check writes nothing


@pytest.mark.parametrize("text", ["", "   ", "some/folder/"])
def test_an_empty_path_or_a_folder_name_is_refused(text):
    with pytest.raises(ValueError, match="empty|names a folder"):
        check_output_file(text, "report --out")


def test_every_mark_is_what_the_writers_write(tmp_path):
    """The page, the PNG and the PDF the package writes carry their marks (and so may be replaced by a rerun)."""
    import matplotlib

    matplotlib.use("Agg")
    from simulations.experiments.kit import new_figure, save_figure

    fig, _ = new_figure(1)
    png, pdf = save_figure(fig, tmp_path / "fig")
    assert MARKS[".png"] in png.read_bytes() and MARKS[".pdf"] in pdf.read_bytes()
    fig, _ = new_figure(1)
    assert save_figure(fig, tmp_path / "fig") == [png, pdf]  # a rerun replaces its own figure
    other = tmp_path / "other.png"
    other.write_bytes(png.read_bytes().replace(MARKS[".png"], b"tEXtSoftware\x00someone-else"))
    fig, _ = new_figure(1)
    with pytest.raises(ValueError, match="not written by natural-tasks"):
        save_figure(fig, tmp_path / "other")
    assert b"someone-else" in other.read_bytes()


def test_a_path_inside_a_results_folder_is_refused(tmp_path):
    run = sim.run_experiment("transferability", sim.get_experiment("transferability").profiles["tiny"],
                             tmp_path / "results", progress=False)  # fmt: skip
    for inside in (run.store.path / "page.html", run.store.path / "gen-1" / "x.html", tmp_path / "results" / "a.html"):
        assert results_folder_of(inside) is not None
        with pytest.raises(ValueError, match="inside the results folder"):
            check_output_path(inside, "report --out")
    assert results_folder_of(tmp_path / "build" / "index.html") is None


@pytest.mark.parametrize("key", ["notes", "script", "folder", "fifo", "link", "foreign"])
def test_report_out_never_replaces_what_it_did_not_write(places, key, tmp_path, capsys):
    sim.run_experiment("transferability", sim.get_experiment("transferability").profiles["tiny"],
                       tmp_path / "results", progress=False)  # fmt: skip
    path = places[key]
    before = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    assert main(["report", "--results", str(tmp_path / "results"), "--out", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0]
    if before is not None:
        assert path.read_bytes() == before
    assert path.is_fifo() if key == "fifo" else True


def test_report_out_replaces_its_own_page_and_refuses_a_results_part(tmp_path, capsys):
    run = sim.run_experiment("transferability", sim.get_experiment("transferability").profiles["tiny"],
                             tmp_path / "results", progress=False)  # fmt: skip
    out = tmp_path / "report.html"
    argv = ["report", "--results", str(tmp_path / "results"), "--out", str(out)]
    assert main(argv) == 0 and MARKS[".html"] in out.read_bytes()
    assert main(argv) == 0  # its own page, written again
    part = next(run.store.path.glob("gen-*/parts/seed-0.csv"))
    before = part.read_bytes()
    assert main(["report", "--results", str(tmp_path / "results"), "--out", str(part)]) == 2
    assert part.read_bytes() == before
    assert main(["report", "--results", str(tmp_path / "results"), "--out", ""]) == 2
    capsys.readouterr()


def test_the_commands_refuse_before_any_work(places, tmp_path):
    """lesson, demo --plot and run --figures each refuse someone else's file at once (exit 2, one line), before
    computing anything, and leave it as it was."""
    (tmp_path / "lessons").mkdir()
    theirs = tmp_path / "lessons" / "3-prompts.html"
    theirs.write_text("<html><head></head>a page of mine</html>")
    (tmp_path / "figs").mkdir()
    fig = tmp_path / "figs" / "transferability.png"
    fig.write_bytes(b"\x89PNG\r\n\x1a\nnot from natural-tasks")
    cases = [
        (["lesson", "prompts", "--out", str(tmp_path / "lessons")], theirs),
        (["demo", "--plot", str(places["notes"].with_suffix(".png"))], None),
        (["run", "transferability", "--profile", "tiny", "--no-progress", "--results", str(tmp_path / "r"),
          "--figures", str(tmp_path / "figs")], fig),
    ]  # fmt: skip
    places["notes"].with_suffix(".png").write_bytes(b"\x89PNG\r\n\x1a\nmine")
    for argv, path in cases:
        path = path or places["notes"].with_suffix(".png")
        before = path.read_bytes()
        out = _cli(*argv)
        assert out.returncode == 2, (argv, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1 and "not written by natural-tasks" in out.stderr
        assert path.read_bytes() == before
    assert not (tmp_path / "r").exists()  # refused before the run made its results folder
