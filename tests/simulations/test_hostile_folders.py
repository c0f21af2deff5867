"""Result folders that cannot hang or crash the tools, nor drive the terminal: `results` and `report` on folders
edited by hand or by someone hostile. Every case lives in its own temporary folder; nothing touches /dev."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simulations import runs
from simulations.core import printable

COMMAND = str(Path(sys.executable).with_name("natural-tasks"))


def _cli(*argv, timeout=120):
    return subprocess.run([COMMAND, *argv], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """Two finished tiny runs (quad and transferability) in a results folder."""
    root = tmp_path_factory.mktemp("hostile") / "results"
    made = {name: runs.run_experiment(name, runs.make_config(name, "tiny"), root, progress=False).store.path
            for name in ("quad", "transferability")}  # fmt: skip
    return root, made


def _copy(finished, tmp_path):
    root, made = finished
    res = tmp_path / "results"
    shutil.copytree(root, res)
    return res, {k: res / v.name for k, v in made.items()}


def _edit_summary(path: Path, change) -> None:
    summary = json.loads(path.read_text())
    change(summary)
    path.write_text(json.dumps(summary))


@pytest.mark.parametrize(
    "case",
    ["fifo", "link outside", "nan literal", "huge"],
)
def test_a_summary_that_is_not_a_regular_strict_json_file_is_damaged_and_nothing_hangs(finished, tmp_path, case):
    res, made = _copy(finished, tmp_path)
    summary = made["quad"] / "summary.json"
    summary.unlink()
    if case == "fifo":
        os.mkfifo(summary)
    elif case == "link outside":
        outside = tmp_path / "elsewhere.json"
        outside.write_text((made["transferability"] / "summary.json").read_text())
        summary.symlink_to(outside)
    elif case == "nan literal":
        summary.write_text('{"claims": [{"id": "r7_holds", "verdict": "PASS"}], "n_rows": NaN}')
    else:  # larger than any summary the store writes
        summary.write_text('{"claims": [], "pad": "' + "x" * (17 * 2**20) + '"}')
    out = _cli("results", "--results", str(res), timeout=60)
    assert out.returncode == 0 and "damaged (summary)" in out.stdout, out.stdout + out.stderr
    page = tmp_path / "page.html"
    out = _cli("report", "--results", str(res), "--out", str(page), timeout=300)
    assert out.returncode == 0, out.stderr
    assert 'id="transferability-' in page.read_text()  # the other run is drawn


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda s: s.pop("n_rows"), "n_rows"),
        (lambda s: s.update(n_rows="many"), "n_rows"),
        (lambda s: s["claims"][0].update(measured=None), "claims.0.measured"),
        (lambda s: s.update(slopes=None), "slopes"),
    ],
)
def test_a_hand_edited_summary_is_a_damaged_entry_naming_the_field(finished, tmp_path, change, field):
    res, made = _copy(finished, tmp_path)
    _edit_summary(made["transferability"] / "summary.json", change)
    page = tmp_path / "page.html"
    out = _cli("report", "--results", str(res), "--out", str(page), timeout=300)
    assert out.returncode == 0, out.stderr
    text = page.read_text()
    assert f"summary: {field} differs from its rows" in text
    assert 'id="quad-' in text and 'id="transferability-' not in text  # the rest drawn, the damaged run listed


def test_escape_sequences_in_a_results_folder_never_reach_the_terminal(finished, tmp_path):
    res, made = _copy(finished, tmp_path)
    evil = "\x1b]0;owned\x07\x1b[2J"
    # a FAILed claim's id is printed in the verdicts column
    _edit_summary(made["quad"] / "summary.json", lambda s: s["claims"][0].update(id="r7" + evil, verdict="FAIL"))
    config = made["transferability"] / "config.json"
    config.write_text(config.read_text().replace('"seeds"', '"seeds\\u001b[2J"', 1))
    out = _cli("results", "--results", str(res), timeout=60)
    assert out.returncode == 0
    assert not any(ord(c) < 32 and c not in "\n\t" for c in out.stdout + out.stderr)
    assert "r7\\x1b]0;owned\\x07" in out.stdout  # shown, made printable
    assert "\x1b" not in printable(evil) and printable(evil).count("\\x1b") == 2


#: A tiny sequence run trained for a few steps: two models, two checkpoints each.
SHORT = ("train.warmup=10", "train.steps=60", "train.checkpoints=2", "random_controls=0")


@pytest.fixture(scope="module")
def with_checkpoints(tmp_path_factory):
    """A finished tiny `sequence` run (two models, checkpoints beside the rows)."""
    root = tmp_path_factory.mktemp("checkpoints") / "results"
    cfg = runs.make_config("sequence", "tiny", None, SHORT)
    run = runs.run_experiment("sequence", cfg, root, progress=False)
    return root, run.store.path, cfg


@pytest.mark.parametrize("damage", ["truncated", "another model's", "another step's"])
def test_a_checkpoint_that_is_not_the_one_written_is_named(with_checkpoints, tmp_path, damage):
    root, folder, cfg = with_checkpoints
    res = tmp_path / "results"
    shutil.copytree(root, res)
    (files,) = (res / folder.name).glob("gen-*/parts/seed-0")
    target = files / "transformer-16-step60.eqx"
    if damage == "truncated":
        target.write_bytes(target.read_bytes()[:10])
    elif damage == "another model's":
        shutil.copyfile(files / "gru-16-step60.eqx", target)
    else:
        other = sorted(files.glob("transformer-16-step*.eqx"))[0]
        assert other != target
        shutil.copyfile(other, target)
    out = _cli("results", "--results", str(res), timeout=60)
    assert out.returncode == 0 and "damaged (files)" in out.stdout, out.stdout
    sets = [a for s in SHORT for a in ("--set", s)]
    out = _cli("run", "sequence", "--profile", "tiny", *sets, "--results", str(res), "--no-progress", timeout=120)
    err = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(err) == 1 and "transformer-16-step60.eqx" in err[0], out.stderr
