"""Results store (atomic, resumable, reused) and the command line's errors."""

import dataclasses
import subprocess
import sys

import pytest

import simulations as sim
from simulations import cli

TINY = sim.get_experiment("sqrt_eps").profiles["tiny"]


@pytest.fixture
def counting(monkeypatch):
    """Replace sqrt_eps.run_seed by one that counts calls and can be interrupted on a seed."""
    calls, fail_on = [], set()
    exp = sim.get_experiment("sqrt_eps")
    real = exp.run_seed

    def run_seed(cfg, seed, tick=lambda: None):
        if seed in fail_on:
            raise KeyboardInterrupt
        calls.append(seed)
        return real(cfg, seed, tick)

    monkeypatch.setattr(exp, "run_seed", run_seed)
    return calls, fail_on


def test_interrupted_run_keeps_finished_seeds_and_resumes(tmp_path, counting):
    calls, fail_on = counting
    fail_on.add(1)
    with pytest.raises(KeyboardInterrupt):
        sim.run_experiment("sqrt_eps", TINY, tmp_path, progress=False)
    store = sim.RunStore(tmp_path, "sqrt_eps", TINY, sim.get_experiment("sqrt_eps").Row)
    assert store.has_part(0) and not store.has_part(1) and not store.finished()
    assert not list(tmp_path.rglob(".tmp-*"))  # no partial files
    fail_on.clear()
    rows, summary, _ = sim.run_experiment("sqrt_eps", TINY, tmp_path, progress=False)
    assert calls == [0, 1]  # seed 0 was not recomputed
    assert {r.seed for r in rows} == {0, 1} and summary["n_rows"] == len(rows)
    # a finished run is reused whole; --force recomputes
    sim.run_experiment("sqrt_eps", TINY, tmp_path, progress=False)
    assert calls == [0, 1]
    rows2, _, _ = sim.run_experiment("sqrt_eps", TINY, tmp_path, force=True, progress=False)
    assert calls == [0, 1, 0, 1]
    assert list(map(repr, rows2)) == list(map(repr, rows))  # deterministic (repr: NaN != NaN)


def test_store_folder_keyed_by_config(tmp_path):
    row = sim.get_experiment("sqrt_eps").Row
    a = sim.RunStore(tmp_path, "sqrt_eps", TINY, row).path
    b = sim.RunStore(tmp_path, "sqrt_eps", dataclasses.replace(TINY, seeds=(5,)), row).path
    assert a != b and a.name.startswith("sqrt_eps-")


def test_config_overrides():
    cfg = sim.override(TINY, ["world.vocab_size=50", "eps_targets=1e-3,1e-2", "lm.learn_phi=true"])
    assert cfg.world.vocab_size == 50 and cfg.eps_targets == (1e-3, 1e-2) and cfg.lm.learn_phi
    for bad, match in [
        ("world.vocab_size=abc", "expected an integer"),
        ("world=3", "is a group"),
        ("nokey", "expects key=value"),
        ("families=random,bogus", "families must be one of"),
        ("eps_targets=-1", "eps_targets must be in"),
    ]:
        with pytest.raises(ValueError, match=match):
            sim.override(TINY, [bad])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "nope"], "unknown experiment 'nope'"),
        (["run", "sqrt_eps", "--set", "world.vocab_size=1"], "world.vocab_size must be in"),
        (["run", "sqrt_eps", "--set", "task.alpha=x"], "expected a number"),
        (["run", "sqrt_eps", "--seed", "-3"], "seed must be in"),
        (["bound", "--tau", "0.1", "--B", "1", "--eps", "-1"], "must be a finite number >= 0"),
        (["bound", "--tau", "0.1", "--B", "0", "--eps", "1"], "must be > 0"),
        (["reproduce", "--only", "nope"], "unknown experiment"),
        (["reproduce", "--profile", "huge"], "invalid choice"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        code = cli.main(argv)
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_cli_unwritable_results_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = cli.main(["run", "sqrt_eps", "--results", str(blocker / "sub")])
    assert code == 2 and "not writable" in capsys.readouterr().err


def test_cli_bound_and_list(capsys):
    assert cli.main(["bound", "--tau", "0.3", "--B", "1", "--eps", "0.005"]) == 0
    out = capsys.readouterr().out
    assert "bound               = 0.4" in out
    assert cli.main(["list"]) == 0
    assert "sqrt_eps" in capsys.readouterr().out


def test_console_script_installed():
    out = subprocess.run(
        [sys.executable, "-m", "simulations.cli", "bound", "--tau", "0", "--B", "1", "--eps", "0.5"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and "bound               = 1" in out.stdout
