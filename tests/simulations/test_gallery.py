"""`natural-tasks results` and `natural-tasks report`: the stored runs of a results folder, listed as a table and
shown on one self-contained page, checked against what the runs stored (summary.json, config.json, the folder's
hash), read here independently of the gallery."""

import base64
import datetime
import hashlib
import html
import json
import os
import re
import shutil
import time
from html.parser import HTMLParser

import pytest

from simulations import runs
from simulations.cli import main
from simulations.runs import sweep

PNG = b"\x89PNG\r\n\x1a\n"
COLUMNS = ["experiment", "profile", "overrides", "seeds", "verdicts", "when", "folder"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A results folder as a day of work leaves it: finished runs (every verdict among them: quad PASSes, α = 1
    makes a transferability claim FAIL, one seed leaves random_errors INCONCLUSIVE), an interrupted first run,
    a damaged folder, one of an experiment no longer registered, and things that are no results folders."""
    root = tmp_path_factory.mktemp("gallery") / "results"
    made = {}
    for key, name, seed, sets in [
        ("quad", "quad", None, []),
        ("alpha", "transferability", None, ["task.alpha=1"]),
        ("one_seed", "random_errors", 1, []),
        ("stopped", "random_errors", None, []),
    ]:
        cfg = runs.make_config(name, "tiny", seed, sets)
        made[key] = runs.run_experiment(name, cfg, root, progress=False).store.path
    stopped = made["stopped"]  # interrupted after two of its three seeds, before its first generation was in use
    (stopped / "summary.json").unlink()
    (gen,) = stopped.glob("gen-*")
    (gen / "parts" / "seed-2.csv").unlink()
    (stopped / "current").rename(stopped / "pending")
    made["damaged"] = root / f"quad-{'0' * 12}"
    shutil.copytree(made["quad"], made["damaged"])
    (made["damaged"] / "config.json").write_text('{"seeds": [0], "world": {"vocab_si')
    made["retired"] = root / "retired_experiment-0123456789ab"
    shutil.copytree(made["quad"], made["retired"])
    (root / "notes").mkdir()
    (root / "notes" / "config.json").write_text("{}")
    (root / "sweep-table.csv").write_text("a,b\n")
    (root / "quad-not-a-hash").mkdir()
    (root / "quad-abcdef012345").mkdir()  # named like one, but empty: the store never leaves an empty folder
    return root, made


def table(text: str) -> dict[str, dict[str, str]]:
    """{folder: {column: cell}} of the printed table, its cells cut at the header's column starts."""
    lines = text.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.split() == COLUMNS]
    starts = [m.start() for m in re.finditer(r"\S+", lines[at])]
    rows = {}
    for line in lines[at + 1 :]:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows[cells[-1]] = dict(zip(COLUMNS, cells, strict=True))
    return rows


def summary_of(folder) -> dict:
    return json.loads((folder / "summary.json").read_text())


def verdict_cell(summary: dict) -> str:
    """What the verdicts column says of a finished run: every count, and the ids of the claims that did not PASS."""
    out = []
    for verdict in ("PASS", "FAIL", "INCONCLUSIVE"):
        ids = [c["id"] for c in summary["claims"] if c["verdict"] == verdict]
        out.append(f"{len(ids)} {verdict}" + (f" ({', '.join(ids)})" if ids and verdict != "PASS" else ""))
    return ", ".join(out)


def results_table(root, capsys) -> tuple[dict[str, dict[str, str]], str]:
    assert main(["results", "--results", str(root)]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    return table(out.out), out.out


def test_the_table_names_every_finished_run(stored, capsys):
    root, made = stored
    rows, _ = results_table(root, capsys)
    expect = {"quad": ("quad", "-", "0"), "alpha": ("transferability", "task.alpha=1", "0,1"),
              "one_seed": ("random_errors", "-", "1")}  # fmt: skip
    for key, (name, overrides, seeds) in expect.items():
        folder = made[key]
        row = rows[folder.name]
        summary = summary_of(folder)
        written = datetime.datetime.fromtimestamp((folder / "summary.json").stat().st_mtime)
        assert row == dict(experiment=name, profile="tiny", overrides=overrides, seeds=seeds,
                           verdicts=verdict_cell(summary), when=written.strftime("%Y-%m-%d %H:%M"),
                           folder=folder.name), key  # fmt: skip
        assert sweep.parse_seeds(row["seeds"]) == tuple(summary["seeds"])
    # between them the three runs show every verdict, each claim that did not PASS named
    assert "1 FAIL (concentrated_rate)" in rows[made["alpha"].name]["verdicts"]
    assert "0 PASS" in rows[made["one_seed"].name]["verdicts"]


def test_the_overrides_and_seeds_shown_give_back_the_stored_config(stored, capsys):
    root, made = stored
    rows, _ = results_table(root, capsys)
    for key in ("quad", "alpha", "one_seed", "stopped"):
        row = rows[made[key].name]
        sets = [] if row["overrides"] == "-" else row["overrides"].split()
        seeds = ",".join(map(str, sweep.parse_seeds(row["seeds"])))
        cfg = runs.make_config(row["experiment"], row["profile"], sets=[*sets, f"seeds={seeds}"])
        assert f"{row['experiment']}-{runs.config_hash(cfg)}" == made[key].name, key


def test_a_config_closer_to_another_profile_is_named_by_it(stored, capsys, tmp_path):
    # the quick profile's config with two fields of tiny: quick, with those two as overrides
    tiny = runs.to_dict(runs.make_config("quad", "tiny"))
    sets = [f"bootstrap={tiny['bootstrap']}", f"world.dim={tiny['world']['dim']}"]
    cfg = runs.make_config("quad", "quick", seed=3, sets=sets)
    folder = tmp_path / f"quad-{runs.config_hash(cfg)}"
    folder.mkdir()
    (folder / "config.json").write_text(runs.dumps(runs.to_dict(cfg)))
    rows, _ = results_table(tmp_path, capsys)
    assert rows[folder.name] == dict(experiment="quad", profile="quick", overrides=" ".join(sorted(sets)), seeds="3",
                                     verdicts="incomplete: 0/1 seeds done", when="-", folder=folder.name)  # fmt: skip


def test_interrupted_damaged_and_unregistered_runs_are_listed_as_such(stored, capsys):
    root, made = stored
    rows, text = results_table(root, capsys)
    stopped = rows[made["stopped"].name]
    assert (stopped["experiment"], stopped["profile"], stopped["seeds"]) == ("random_errors", "tiny", "0-2")
    assert stopped["verdicts"] == "incomplete: 2/3 seeds done" and stopped["when"] == "-"
    assert rows[made["damaged"].name]["verdicts"] == "damaged (config)"
    assert rows[made["retired"].name]["experiment"] == "retired_experiment"
    assert rows[made["retired"].name]["verdicts"] == "experiment no longer registered"
    # nothing else: the notes, a sweep's table and a folder whose name has no config hash are no results folders
    assert set(rows) == {p.name for p in made.values()}
    assert "Traceback" not in text and "notes" not in text and "quad-not-a-hash" not in text
    assert "quad-abcdef012345" not in text


def test_a_damaged_summary_or_pointer_is_one_word_not_a_traceback(stored, capsys, tmp_path):
    root, made = stored
    res = tmp_path / "results"
    cut, other = res / made["quad"].name, res / made["alpha"].name
    shutil.copytree(made["quad"], cut)
    (cut / "summary.json").write_text('{"claims": [{"id": "r7_holds"')  # cut short
    shutil.copytree(made["alpha"], other)
    (other / "summary.json").write_text('{"experiment": "transferability", "claims": [{"id": "bound_holds"}]}')
    bare = res / made["one_seed"].name
    shutil.copytree(made["one_seed"], bare)
    (bare / "summary.json").write_text('{"n_rows": 56}')  # JSON, but no claims
    lost = res / made["stopped"].name
    shutil.copytree(made["stopped"], lost)
    (lost / "current").write_text("gen-\n")  # a pointer naming no generation
    rows, _ = results_table(res, capsys)
    assert {rows[f.name]["verdicts"] for f in (cut, other, bare)} == {"damaged (summary)"}
    assert rows[lost.name]["verdicts"] == "damaged (pointer)"
    assert main(["report", "--results", str(res), "--out", str(tmp_path / "page.html")]) == 0
    assert "<section" not in (tmp_path / "page.html").read_text()  # listed in the contents, shown nowhere


def test_a_finished_run_missing_a_part_is_incomplete(stored, capsys, tmp_path):
    _, made = stored
    copy = tmp_path / made["alpha"].name
    shutil.copytree(made["alpha"], copy)
    next(copy.glob("gen-*/parts/seed-1.csv")).unlink()  # its summary.json is still there
    rows, _ = results_table(tmp_path, capsys)
    assert rows[copy.name]["verdicts"] == "incomplete: 1/2 seeds done"


def test_an_edited_config_is_damaged_and_one_of_another_version_is_named_so(stored, capsys, tmp_path):
    _, made = stored
    config = json.loads((made["quad"] / "config.json").read_text())
    edited = tmp_path / made["quad"].name  # its config no longer hashes to its folder's name
    shutil.copytree(made["quad"], edited)
    (edited / "config.json").write_text(json.dumps({**config, "bootstrap": 21}))
    older = {**config, "retired_field": 1}  # a field this version's config has not: named by its own hash
    digest = hashlib.sha256(json.dumps(older, sort_keys=True).encode()).hexdigest()[:12]
    other = tmp_path / f"quad-{digest}"
    shutil.copytree(made["quad"], other)
    (other / "config.json").write_text(json.dumps(older))
    rows, _ = results_table(tmp_path, capsys)
    assert rows[edited.name]["verdicts"] == "damaged (config)"
    assert rows[other.name]["verdicts"] == "other version: " + verdict_cell(summary_of(made["quad"]))
    assert rows[other.name]["profile"] == "tiny" and rows[other.name]["overrides"] == "retired_field=1"


def test_when_is_local_time(stored, capsys):
    root, made = stored
    old = os.environ.get("TZ")
    os.environ["TZ"] = "XST-05:30"  # POSIX: five and a half hours east of UTC, whatever zone this machine is in
    time.tzset()
    try:
        rows, _ = results_table(root, capsys)
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()
    zone = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    written = datetime.datetime.fromtimestamp((made["quad"] / "summary.json").stat().st_mtime, zone)
    assert rows[made["quad"].name]["when"] == written.strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("command", ["results", "report"])
def test_a_missing_results_folder_is_one_line_and_exit_2(command, capsys, tmp_path):
    assert main([command, "--results", str(tmp_path / "nope")]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    (line,) = out.err.strip().splitlines()
    assert line.startswith("natural-tasks: error: ") and str(tmp_path / "nope") in line and "does not exist" in line


def test_the_folder_of_one_run_is_refused_naming_its_parent(stored, capsys):
    root, made = stored
    assert main(["results", "--results", str(made["quad"])]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "the folder of one run" in line and line.endswith(f"--results {root}")


def test_an_empty_results_folder_says_how_to_make_runs(capsys, tmp_path):
    (tmp_path / "results").mkdir()
    assert main(["results", "--results", str(tmp_path / "results")]) == 0
    out = capsys.readouterr().out
    assert "no stored runs" in out and "make quick" in out
    assert main(["report", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "r.html")]) == 0
    assert "no stored runs" in capsys.readouterr().out and not (tmp_path / "r.html").exists()


class Page(HTMLParser):
    """The parts of the report the tests read: section ids, each section's images, and its claims table's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.toc: list[list[str]] = []
        self._where: dict | None = None
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._header = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            assert a["id"] not in self.sections, f"two sections {a['id']}"
            self._where = self.sections[a["id"]] = dict(images=[], claims=[])
        elif tag == "img":
            assert self._where is not None, "an image outside a run's section"
            self._where["images"].append(a)
        elif tag == "table":
            self._table = a.get("class")
        elif tag == "tr" and self._table in ("claims", "toc"):
            self._row, self._header = [a.get("class") or ""], False
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._header = self._header or tag == "th"

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._table == "claims" and self._where is not None and not self._header:
                self._where["claims"].append(self._row)
            elif self._table == "toc":
                self.toc.append(self._row[1:])
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "section":
            self._where = None


@pytest.fixture(scope="module")
def report(stored, tmp_path_factory):
    root, made = stored
    out = tmp_path_factory.mktemp("report") / "sub" / "index.html"
    assert main(["report", "--results", str(root), "--out", str(out)]) == 0
    page = Page()
    page.feed(out.read_text())
    return out, page


def test_the_report_has_one_section_per_finished_run(stored, report, capsys):
    root, made = stored
    out, page = report
    assert set(page.sections) == {made[k].name for k in ("quad", "alpha", "one_seed")}
    # the contents list every run with the table's columns, the unfinished and damaged ones too
    rows, _ = results_table(root, capsys)
    assert page.toc[0] == COLUMNS
    assert {r[-1]: dict(zip(COLUMNS, r, strict=True)) for r in page.toc[1:]} == rows


def test_every_figure_is_an_embedded_png_with_alt_text(report):
    _, page = report
    for folder, section in page.sections.items():
        assert section["images"], folder
        for img in section["images"]:
            src = img["src"]
            assert src.startswith("data:image/png;base64,"), src[:40]
            assert base64.b64decode(src.split(",", 1)[1], validate=True).startswith(PNG)
            assert img.get("alt", "").strip(), folder


def test_the_claims_tables_show_the_stored_verdicts(stored, report):
    _, made = stored
    out, page = report
    for key in ("quad", "alpha", "one_seed"):
        claims = summary_of(made[key])["claims"]
        shown = page.sections[made[key].name]["claims"]
        assert [(r[1], r[2]) for r in shown] == [(c["id"], c["verdict"]) for c in claims], key
        for row, claim in zip(shown, claims, strict=True):
            assert ("fail" in row[0].split()) == (claim["verdict"] == "FAIL")  # FAIL rows are marked
            assert claim["statement"] in row[3] and claim["measured"] in row[4]
            if claim["verdict"] == "INCONCLUSIVE":
                assert claim["reason"] and claim["reason"] in row[5]
    assert any(r[2] == "FAIL" for r in page.sections[made["alpha"].name]["claims"])


def test_the_report_shows_each_runs_config_difference_and_escapes_text(stored, report):
    _, made = stored
    text = report[0].read_text()
    section = text.split(f'id="{made["alpha"].name}"', 1)[1].split("</section>", 1)[0]
    assert "<code>task.alpha=1</code>" in section and "tiny" in section
    assert "<script" not in text and "http://" not in text and "https://" not in text  # nothing to run or fetch
    # the statements hold characters that HTML must escape (an apostrophe, '<', '&'): each is on the page escaped
    statements = [c["statement"] for k in ("quad", "alpha", "one_seed") for c in summary_of(made[k])["claims"]]
    assert any(html.escape(s) != s for s in statements)
    assert all(html.escape(s) in text for s in statements)


def test_the_report_prints_its_path_and_size(stored, capsys, tmp_path):
    root, _ = stored
    out = tmp_path / "r.html"
    assert main(["report", "--results", str(root), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed
    size = re.search(r"([0-9.]+) (kB|MB)", printed)
    assert size, printed
    assert float(size.group(1)) * {"kB": 1e3, "MB": 1e6}[size.group(2)] == pytest.approx(out.stat().st_size, rel=0.06)
