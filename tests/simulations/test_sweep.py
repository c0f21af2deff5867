"""Sweeps: grid parsing, the serial run, a 2-process Dask LocalCluster (identical results, a killed
worker's task retried), resuming after an interruption, and the command line."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from simulations import RunStore, get_experiment, sweep

NAME = "random_errors"  # its tiny profile computes a seed in well under a second
GRID = [("world.vocab_size", ["30", "40"]), ("directions", ["4", "6"])]
COMMAND = str(pathlib.Path(sys.executable).with_name("natural-tasks"))


def _points(seeds=(0, 1)):
    return sweep.expand(NAME, GRID, "tiny", seeds=seeds)


def _stored(results: pathlib.Path) -> dict[str, str]:
    """Every stored file's text, by relative path; manifests and summaries without the records of where they
    ran (seconds, and the thread settings, which list every BLAS/OpenMP library the process happened to load)."""
    out = {}
    for path in sorted(results.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and path.name not in ("current", "pending"):
            text = path.read_text()
            if path.suffix == ".json":
                data = json.loads(text)
                if isinstance(data, dict):
                    data.pop("seconds", None)
                    data.pop("threads", None)
                text = json.dumps(data, sort_keys=True)
            out[str(path.relative_to(results))] = text
    return out


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The serial sweep every cluster run is compared with."""
    results = tmp_path_factory.mktemp("serial")
    return results, sweep.run_sweep(NAME, _points(), results, progress=False)


def test_parse_grid_and_seeds():
    assert sweep.parse_grid(["a=1,2", "b.c=x"]) == [("a", ["1", "2"]), ("b.c", ["x"])]
    assert sweep.parse_grid(["eps_targets=1e-3,1e-2;1e-4"]) == [("eps_targets", ["1e-3,1e-2", "1e-4"])]
    assert sweep.parse_seeds("0-3,7") == (0, 1, 2, 3, 7)
    assert sweep.parse_seeds("5") == (5,)
    for bad, words in [([], "at least one"), (["a"], "key=v1"), (["a="], "key=v1"), (["a=1,1"], "repeated"),
                       (["a=1", "a=2"], "given twice")]:  # fmt: skip
        with pytest.raises(ValueError, match=words):
            sweep.parse_grid(bad)
    for bad in ["", "3-1", "x", "0-2,1", "-1", "0-99999999999", "2147483648"]:
        with pytest.raises(ValueError, match="--seeds"):
            sweep.parse_seeds(bad)


def test_expand_validates_every_point_before_work():
    points = _points()
    assert [p.values for p in points] == [
        (("world.vocab_size", a), ("directions", b)) for a in ("30", "40") for b in ("4", "6")
    ]
    assert {(p.cfg.world.vocab_size, p.cfg.directions, p.cfg.seeds) for p in points} == {
        (30, 4, (0, 1)), (30, 6, (0, 1)), (40, 4, (0, 1)), (40, 6, (0, 1))}  # fmt: skip
    with pytest.raises(ValueError, match="world.vocab_size must be in"):
        sweep.expand(NAME, [("world.vocab_size", ["30", "1"])], "tiny")
    with pytest.raises(ValueError, match="unknown key"):
        sweep.expand(NAME, [("nope", ["1"])], "tiny")
    with pytest.raises(ValueError, match="also given with --set"):
        sweep.expand(NAME, [("directions", ["4"])], "tiny", sets=["directions=5"])
    with pytest.raises(ValueError, match="--seeds"):
        sweep.expand(NAME, [("seeds", ["1"])], "tiny")
    with pytest.raises(ValueError, match="repeats an earlier point"):
        sweep.expand(NAME, [("directions", ["2", "02"])], "tiny")


def test_a_listener_that_is_not_a_scheduler_is_refused_in_time(monkeypatch, tmp_path):
    """A port that accepts the connection but never answers as Dask (the dashboard's, say) is one clear error."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    monkeypatch.setattr(sweep, "CONNECT_SECONDS", 2)
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with pytest.raises(ValueError, match="cannot reach the Dask scheduler"):
            sweep.run_sweep(NAME, _points(seeds=(0,)), tmp_path, scheduler=address, progress=False)
    finally:
        listener.close()


def test_serial_sweep_is_the_runs_of_its_points(serial, tmp_path):
    results, result = serial
    assert result.statuses == ["computed"] * 4
    point = result.points[3]
    alone = sweep._runner.run_experiment(NAME, point.cfg, tmp_path, progress=False)
    assert alone.store.rows_path.read_text() == (results / alone.store.path.name / "rows.csv").read_text()
    row = result.table[3]
    assert (row["world.vocab_size"], row["directions"]) == ("40", "6")
    verdicts = {c["id"]: c["verdict"] for c in alone.summary["claims"]}
    assert {cid: row[f"claim:{cid}"] for cid in verdicts} == verdicts
    assert row["error_exponent.slope"] == alone.summary["error_exponent"]["slope"]
    assert sweep.metrics(alone.summary)["excess_exponent.slope"] == alone.summary["excess_exponent"]["slope"]


def _dies_holding_the_lock(name, cfg, results, seed, force, threads=None):
    """A task that kills its worker process the first time it runs (point directions=6, seed 1),
    while holding that seed's lock; the rescheduled task must still compute the part."""
    marker = pathlib.Path(results) / f".died-{cfg.directions}-{seed}"
    if cfg.directions == 6 and seed == 1 and not marker.exists():
        marker.write_text("")
        store = RunStore(results, name, cfg, get_experiment(name).Row)
        store.prepare()
        with store.folder_lock():
            gen = store.generation(force)
        with store.seed_lock(gen, seed, blocking=True):
            os._exit(1)
    return sweep.seed_task(name, cfg, results, seed, force, threads)


def test_dask_cluster_gives_the_serial_results_and_retries_a_killed_worker(serial, tmp_path):
    results, expected = serial
    got = sweep.run_sweep(NAME, _points(), tmp_path, workers=2, progress=False, task=_dies_holding_the_lock)
    assert sorted(p.name for p in tmp_path.glob(".died-*")) == [".died-6-1"]  # a worker was killed
    assert _stored(tmp_path) == _stored(results)  # every part, rows.csv and summary (timings aside)
    assert [r for r in got.table if r.pop("seconds")] == [r for r in expected.table if r.pop("seconds")]
    assert got.failed() == expected.failed()


def test_interrupted_sweep_keeps_finished_parts_and_resumes(serial, tmp_path):
    results, _ = serial
    done = []

    def stops_after_three(*args):
        if len(done) == 3:
            raise KeyboardInterrupt
        done.append(sweep.seed_task(*args))

    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(NAME, _points(), tmp_path, progress=False, task=stops_after_three)
    assert len(list(tmp_path.glob("*/gen-*/parts/seed-*.json"))) == 3
    again = sweep.run_sweep(NAME, _points(), tmp_path, progress=False)
    assert again.statuses[0] == "resumed" and _stored(tmp_path) == _stored(results)


def _cli(*argv, cwd):
    return subprocess.run([COMMAND, *argv], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_command_line_sweep_on_two_workers(tmp_path):
    """With Dask's default dashboard port taken (held here, or by someone else already), the sweep prints no
    warning about it: the local cluster asks for any free port."""
    import contextlib
    import socket

    with contextlib.closing(socket.socket()) as port:
        with contextlib.suppress(OSError):  # already taken: the condition holds all the same
            port.bind(("127.0.0.1", 8787))
            port.listen(1)
        out = _cli("sweep", NAME, "--profile", "tiny", "--no-progress", "--grid", "world.vocab_size=30,40",
                   "--grid", "directions=4,6", "--seeds", "0-1", "--workers", "2", "--metric", "error_exponent.slope",
                   "--axis", "world.vocab_size", cwd=tmp_path)  # fmt: skip
    assert "already in use" not in out.stderr and "Warning" not in out.stderr, out.stderr
    # four or six random directions and two seeds are too few to decide random_sign everywhere: exit 3, not 1
    assert out.returncode in (0, 3) and "FAILED" not in out.stderr, out.stderr
    assert "4 point(s) x 2 seed(s) = 8 task(s), on a local Dask cluster of 2 worker(s)" in out.stdout
    table = (tmp_path / "build/sweeps/random_errors-sweep.csv").read_text().splitlines()
    assert len(table) == 5 and table[0].startswith("point,seeds,status,seconds,world.vocab_size,directions,claim:")
    assert (tmp_path / "build/sweeps/random_errors-sweep.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--grid", "directions"], "--grid expects key=v1"),
        (["--grid", "nope=1,2"], "--grid nope: unknown key 'nope'"),
        (["--grid", "directions=4", "--seeds", "2-1"], "--seeds expects a range"),
        (["--grid", "directions=4", "--axis", "world.dim"], "--axis 'world.dim' is not swept"),
        (["--grid", "directions=4", "--workers", "0"], "worker count must be in"),
        (["--grid", "directions=4,100000000000000000000000"], "directions must be in [1, 1000000]"),
        (["--grid", "directions=4", "--workers", "1", "--scheduler", "tcp://x:1"], "not both"),
        (["--grid", "directions=4", "--metric", "nope"], "unknown metric 'nope'"),
    ],
)
def test_command_line_sweep_bad_input(tmp_path, capsys, argv, words):
    from simulations import cli

    base = ["sweep", NAME, "--profile", "tiny", "--no-progress", "--results", str(tmp_path), "--out", str(tmp_path)]
    try:
        code = cli.main([*base, *argv])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert words in err


def test_workers_beyond_the_cores_or_the_memory_are_refused_before_any_work(tmp_path, capsys, monkeypatch):
    import os

    import simulations.runs
    from simulations import cli

    base = ["sweep", NAME, "--profile", "tiny", "--no-progress", "--results", str(tmp_path), "--out", str(tmp_path),
            "--grid", "directions=4,6"]  # fmt: skip
    cores = os.cpu_count() or 1
    assert cli.main([*base, "--workers", str(cores + 1)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"exceeds this machine's {cores} cores" in err[0]
    monkeypatch.setattr(simulations.runs, "available_memory", lambda: 2**30)  # 1 GiB: not two workers' worth
    assert cli.main([*base, "--workers", str(min(2, cores))]) == 2 or cores == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert cores == 1 or (len(err) == 1 and "GiB are available: use --workers 1 or less" in err[0])
    assert not list(tmp_path.glob(f"{NAME}-*"))  # nothing computed
