"""The results store: resumable, safe under interruption and damage, shared safely by processes."""

import ast
import dataclasses
import json
import os
import stat
import subprocess
import sys

import pytest

import simulations as sim

NAME = "transferability"
EXP = sim.get_experiment(NAME)
CFG = dataclasses.replace(EXP.profiles["tiny"], seeds=(0, 1, 2))


@pytest.fixture
def counting(monkeypatch):
    """Replace run_seed by one that counts calls and can be interrupted (or fail) on chosen seeds."""
    calls, fail_on = [], {}
    real = EXP.run_seed

    def run_seed(cfg, seed, tick=lambda: None):
        if seed in fail_on:
            raise fail_on[seed]
        calls.append(seed)
        return real(cfg, seed, tick)

    monkeypatch.setattr(EXP, "run_seed", run_seed)
    return calls, fail_on


def _run(tmp_path, **kw):
    return sim.run_experiment(NAME, CFG, tmp_path, progress=False, **kw)


def test_interrupted_run_keeps_finished_seeds_and_resumes(tmp_path, counting):
    calls, fail_on = counting
    fail_on[1] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path)
    assert calls == [0] and not list(tmp_path.rglob(".tmp-*"))  # no partial files
    del fail_on[1]
    run = _run(tmp_path)
    assert calls == [0, 1, 2] and run.status == "resumed" and run.computed == [1, 2]
    assert {r.seed for r in run.rows} == {0, 1, 2} and run.summary["n_rows"] == len(run.rows)
    # the work reported is the sum over every seed's part, not only the resumed ones
    parts = sorted(run.store.path.glob("gen-*/parts/seed-*.json"))
    assert len(parts) == 3
    assert run.summary["seconds"] == pytest.approx(sum(json.loads(p.read_text())["seconds"] for p in parts), abs=0.02)
    again = _run(tmp_path)
    assert again.status == "reused" and calls == [0, 1, 2]
    assert list(map(repr, again.rows)) == list(map(repr, run.rows))


def test_force_replaces_results_only_when_complete(tmp_path, counting):
    calls, fail_on = counting
    first = _run(tmp_path)
    fail_on[1] = KeyboardInterrupt()  # Ctrl-C in the middle of a --force run
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, force=True)
    kept = _run(tmp_path)  # the finished results are intact and still in use
    assert kept.status == "reused" and list(map(repr, kept.rows)) == list(map(repr, first.rows))
    del fail_on[1]
    forced = _run(tmp_path, force=True)  # the next --force resumes the interrupted one
    assert forced.computed == [1, 2] and forced.status == "resumed"
    assert calls == [0, 1, 2, 0, 1, 2]
    assert list(map(repr, forced.rows)) == list(map(repr, first.rows))  # deterministic
    assert sorted(p.name for p in forced.store.path.glob("gen-*")) == ["gen-2"]  # the old generation is gone


def test_a_failed_first_run_leaves_no_empty_folder(tmp_path, counting):
    _, fail_on = counting
    fail_on[0] = ValueError("boom")
    with pytest.raises(ValueError, match="boom"):
        _run(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_damaged_part_is_named_and_force_recovers(tmp_path):
    run = _run(tmp_path)
    part = next(run.store.path.glob("gen-*/parts/seed-1.csv"))
    lines = part.read_text().splitlines(keepends=True)
    part.write_text("".join(lines[:-2]))  # cut at a line boundary: still valid CSV, two rows short
    with pytest.raises(ValueError, match=r"seed-1\.csv is damaged .*--force") as err:
        _run(tmp_path)
    assert len(str(err.value).splitlines()) == 1
    again = _run(tmp_path, force=True)
    assert list(map(repr, again.rows)) == list(map(repr, run.rows))


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated mid-line
        lambda text: text.replace(text.splitlines()[1].split(",")[1], "x", 1),  # a non-number cell
        lambda text: "",
    ],
)
def test_damaged_rows_csv_is_rebuilt_from_the_parts(tmp_path, damage):
    run = _run(tmp_path)
    good = run.store.rows_path.read_text()
    run.store.rows_path.write_text(damage(good))
    again = _run(tmp_path)
    assert again.status == "reused" and again.rebuilt == ["rows.csv"] and run.store.rows_path.read_text() == good


def test_damaged_summary_is_recomputed(tmp_path):
    run = _run(tmp_path)
    good = run.store.summary_path.read_text()
    run.store.summary_path.write_text("[]")
    again = _run(tmp_path)
    assert again.rebuilt == ["summary.json"] and run.store.summary_path.read_text() == good


def test_files_are_world_readable(tmp_path):
    run = _run(tmp_path)
    paths = sim.draw(NAME, run.rows, run.summary, tmp_path / "figures")
    umask = os.umask(0)
    os.umask(umask)
    for p in [run.store.rows_path, run.store.summary_path, *run.store.path.glob("gen-*/parts/*"), *paths]:
        if not p.name.startswith("."):
            assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p


def test_only_temporaries_of_dead_processes_are_cleaned(tmp_path):
    run = _run(tmp_path)
    host = os.uname().nodename.replace("-", "_")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    mine = run.store.path / f".tmp-{host}-{os.getpid()}-inflight"
    stale = run.store.path / f".tmp-{host}-{dead.stdout.strip()}-left"
    mine.write_text("being written")
    stale.write_text("left by a killed process")
    run.store.prepare()
    assert mine.exists() and not stale.exists()


_WORKER = """
import sys, simulations as sim, dataclasses
exp = sim.get_experiment("transferability")
cfg = dataclasses.replace(exp.profiles["tiny"], seeds=tuple(range(6)))
run = sim.run_experiment("transferability", cfg, sys.argv[1], force=sys.argv[2] == "force", progress=False)
print(repr(run.computed), run.summary["n_rows"])
"""


@pytest.mark.parametrize("mode", ["plain", "force"])
def test_two_processes_share_the_seeds_of_one_folder(tmp_path, mode):
    if mode == "force":
        _worker_pair(tmp_path, "plain")
    (a, rows_a), (b, rows_b) = _worker_pair(tmp_path, mode)
    assert set(a).isdisjoint(b) and set(a) | set(b) == set(range(6))  # each seed computed exactly once
    assert rows_a == rows_b  # and both return every row


def _worker_pair(tmp_path, mode):
    """Two processes started together on one results folder: [(seeds each computed, its row count)]."""
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(tmp_path), mode], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=180)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    return [(ast.literal_eval(o.rsplit(" ", 1)[0]), int(o.rsplit(" ", 1)[1])) for o in outs]


def test_store_folder_keyed_by_config(tmp_path):
    a = sim.RunStore(tmp_path, NAME, CFG, EXP.Row).path
    b = sim.RunStore(tmp_path, NAME, dataclasses.replace(CFG, seeds=(5,)), EXP.Row).path
    assert a != b and a.name.startswith(f"{NAME}-")
