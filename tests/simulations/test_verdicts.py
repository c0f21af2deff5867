"""Verdicts a user can trust: three of them, settings that cannot decide refused, memory limits, LMs that know
their world, and the smaller promises of the command line."""

import math
import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from scipy.stats import binomtest

import simulations as sim
from simulations.experiments import REGISTRY
from simulations.experiments.kit import (
    Verdict,
    claims_title,
    layout_checks,
    overall,
    rate_verdict,
    share_verdict,
    threshold_verdict,
    wilson_interval,
)
from simulations.runs import cgroup_limits

COMMAND = str(pathlib.Path(sys.executable).with_name("natural-tasks"))
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _cli(*argv, cwd=None, timeout=180, env=None):
    return subprocess.run([COMMAND, *argv], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)


def _fit(slope, lo, hi, distinct=5, groups=3):
    return dict(slope=slope, lo=lo, hi=hi, n=distinct * groups, dropped=0, groups=groups, distinct=distinct)


# -- three verdicts --------------------------------------------------------------------------------------------


def test_a_claim_is_pass_fail_or_inconclusive_and_says_why():
    c = sim.Claim.check("x", "s", Verdict.undecided("one seed"), "m")
    assert c.verdict == "INCONCLUSIVE" and not c.passed and not c.failed and c.reason == "one seed"
    with pytest.raises(ValueError, match="needs a reason"):
        sim.Claim("x", "s", "INCONCLUSIVE", "m")
    with pytest.raises(ValueError, match="only it has one"):
        sim.Claim("x", "s", "PASS", "m", "a reason")
    assert overall(["PASS", "INCONCLUSIVE"]) == "INCONCLUSIVE" and overall(["INCONCLUSIVE", "FAIL"]) == "FAIL"
    both = Verdict.combine({"ε = 1": Verdict("PASS"), "ε = 2": Verdict.undecided("wide")})
    assert both == Verdict("INCONCLUSIVE", "ε = 2: wide")
    title, verdict = claims_title("what", [c, sim.Claim.check("y", "s", True, "m", "y in words")])
    assert title == "what\nx: INCONCLUSIVE  ·  y in words: PASS" and verdict == "INCONCLUSIVE"


@pytest.mark.parametrize(
    "fit, verdict",
    [
        (_fit(0.49, 0.47, 0.52), "PASS"),
        (_fit(-10.65, -10.65, 0.52), "INCONCLUSIVE"),  # the interval that says nothing
        (_fit(0.49, 0.10, 0.90), "INCONCLUSIVE"),  # the estimate is right, its interval too wide to decide
        (_fit(0.62, 0.55, 0.68), "INCONCLUSIVE"),  # outside the margin, interval not excluding the target
        (_fit(1.0, 0.9, 1.1), "FAIL"),  # the interval excludes 0.5 by the margin
        (_fit(0.5, 0.5, 0.5, groups=1), "INCONCLUSIVE"),  # one seed: no interval over seeds
        (_fit(0.5, 0.49, 0.51, distinct=2), "INCONCLUSIVE"),  # two points fix a line, they test nothing
        (_fit(math.nan, math.nan, math.nan), "INCONCLUSIVE"),
    ],
)
def test_rate_verdict(fit, verdict):
    got = rate_verdict(fit, 0.5, 0.1, 0.2)
    assert got.verdict == verdict and (bool(got.reason) == (verdict == "INCONCLUSIVE"))


def test_threshold_and_share_verdicts():
    assert threshold_verdict(_fit(1.0, 0.95, 1.05), 0.9).verdict == "PASS"
    assert threshold_verdict(_fit(0.5, 0.4, 0.6), 0.9).verdict == "FAIL"
    assert threshold_verdict(_fit(0.9, 0.8, 1.0), 0.9).verdict == "INCONCLUSIVE"
    assert share_verdict(0.3, 0.6, 0.2, 0.8).verdict == "PASS"
    assert share_verdict(0.0, 0.14, 0.2, 0.8).verdict == "FAIL"
    assert share_verdict(0.1, 0.5, 0.2, 0.8).verdict == "INCONCLUSIVE"


@pytest.mark.parametrize("k, n", [(0, 24), (13, 24), (24, 24), (7, 36), (1, 1)])
def test_wilson_interval_against_scipy(k, n):
    ci = binomtest(k, n).proportion_ci(method="wilson")
    assert wilson_interval(k / n, n) == pytest.approx((ci.low, ci.high), abs=1e-3)  # scipy's z is 1.95996…


def test_tiny_and_quick_registries_agree_with_the_experiments():
    for name, entry in REGISTRY.items():
        exp = sim.get_experiment(name)
        assert entry.title == exp.title and entry.profiles == tuple(exp.profiles)


# -- settings that cannot test a claim are refused up front ----------------------------------------------------

REFUSED = [
    (["run", "sqrt_eps", "--set", "eps_targets=1e-3,1.0001e-3"], "eps_targets: the claim adversarial_sqrt_rate"),
    (["run", "sqrt_eps", "--set", "eps_targets=1e-4,2e-4,3e-4"], "spanning a factor of 10"),
    (["run", "sqrt_eps", "--set", "eps_targets=1e-3"], "needs at least 3 distinct values"),
    (["run", "sqrt_eps", "--set", "eps_targets=1e-3,1e-3,1e-2,1e-1"], "eps_targets: 0.001 appears twice"),
    (["run", "random_errors", "--set", "directions=1"], "need at least 2 of them"),
    (["run", "sqrt_eps", "--set", "seeds=0,0"], "seeds: 0 appears twice"),
    (["run", "transferability", "--set", "gammas=1,0.3"], "gammas"),
    (["run", "log_partition", "--set", "vocab_sizes=100,200,300"], "spanning a factor of 10"),
    (["run", "conditional_mean", "--set", "lm.checkpoints=1"], "needs at least 2"),
    (["sweep", "sqrt_eps", "--grid", "eps_targets=1e-3;1e-2", "--profile", "tiny"], "eps_targets"),
    (["reproduce", "--profile", "tiny", "--only", "sqrt_eps", "--threads", "0"], "thread count must be in"),
]


@pytest.mark.parametrize("argv, words", REFUSED, ids=[" ".join(a[1:4]) for a, _ in REFUSED])
def test_settings_that_cannot_decide_a_claim_exit_2_before_any_work(argv, words, tmp_path):
    out = _cli(*argv, cwd=tmp_path)
    err = out.stderr.strip()
    assert out.returncode == 2, (out.stdout, err)
    assert words in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "results").exists()


def test_one_seed_leaves_the_rates_inconclusive_and_exits_3(tmp_path):
    out = _cli("run", "transferability", "--profile", "tiny", "--seed", "0", "--no-progress", "--results", tmp_path)
    assert out.returncode == 3, out.stderr
    assert "INCONCLUSIVE" in out.stdout and "1 seed(s): no interval over seeds" in out.stderr
    assert "FAILED" not in out.stderr


# -- memory ----------------------------------------------------------------------------------------------------


def test_cgroup_limits_read_v1_and_v2_and_every_ancestor(tmp_path):
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    root = tmp_path / "cg"
    (proc / "self" / "cgroup").write_text("4:memory:/job/step\n0::/slurm/job7\n")
    for folder, limit, usage in (("memory/job", 8 * 2**30, 2**30), ("memory/job/step", 2**62, 5)):
        (root / folder).mkdir(parents=True)
        (root / folder / "memory.limit_in_bytes").write_text(str(limit))
        (root / folder / "memory.usage_in_bytes").write_text(str(usage))
    (root / "slurm" / "job7").mkdir(parents=True)
    (root / "slurm" / "job7" / "memory.max").write_text(str(3 * 2**30))
    (root / "slurm" / "job7" / "memory.current").write_text(str(2**30))
    (root / "slurm" / "memory.max").write_text("max")
    found = {m.source: m.available for m in cgroup_limits(proc, root)}
    assert found == {
        "the memory cgroup's limit (v1 /job)": 7 * 2**30,
        "the memory cgroup's limit (v2 /slurm/job7)": 2**31,
    }


def test_a_run_under_ulimit_v_is_refused_with_one_line(tmp_path):
    code = "import resource; print(int(open('/proc/self/status').read().split('VmSize:')[1].split()[0]) * 1024)"
    base = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
    limit = base + 6 * 2**30  # far more than the interpreter, far less than the config's arrays
    argv = [
        "run",
        "sqrt_eps",
        "--set",
        "world.vocab_size=50000",
        "--set",
        "world.num_contexts=4000",
        "--results",
        tmp_path,
    ]
    # the limit is set by the shell (`ulimit -v`, in KiB), as a user would: a preexec_fn would make subprocess
    # fork this process, whose JAX warns at every fork (an error under the suite's filterwarnings)
    shell = ["bash", "-c", f'ulimit -v {limit // 1024} && exec "$@"', "bash", COMMAND, *map(str, argv)]
    out = subprocess.run(shell, capture_output=True, text=True, timeout=180)
    err = out.stderr.strip()
    assert out.returncode == 2 and "the address-space limit (ulimit -v)" in err and len(err.splitlines()) == 1, err


def test_a_tiny_run_under_a_small_address_space_is_refused_before_jax_starts():
    # XLA's CPU client reserves about 1 GiB of address space when JAX starts: below that it aborts in C++
    shell = ["bash", "-c", 'ulimit -v 1500000 && exec "$@"', "bash", COMMAND, "run", "tightness", "--profile", "tiny",
             "--results", "/nonexistent-never-written"]  # fmt: skip
    out = subprocess.run(shell, capture_output=True, text=True, timeout=180)
    err = out.stderr.strip()
    assert out.returncode == 2 and "JAX's start" in err and len(err.splitlines()) == 1, err


def test_a_memory_error_anywhere_is_one_line_naming_the_run(monkeypatch, capsys, tmp_path):
    exp = sim.get_experiment("transferability")

    def no_memory(*a, **k):
        raise MemoryError("Unable to allocate 7.2 GiB for an array with shape (8192, 50257)")

    monkeypatch.setattr(type(exp), "run_seed", no_memory)
    from simulations import cli

    assert cli.main(["run", "transferability", "--profile", "tiny", "--no-progress", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("natural-tasks: error: out of memory while running transferability (profile tiny, config")
    assert "7.2 GiB" in err and len(err.splitlines()) == 1


# -- identity --------------------------------------------------------------------------------------------------


def test_an_lm_of_another_world_is_refused_by_every_call_that_pairs_them():
    world = sim.WorldConfig(vocab_size=40, num_contexts=80, dim=3)
    a, b = sim.make_instance(0, world, sim.TaskConfig()), sim.make_instance(3, world, sim.TaskConfig())
    lm = sim.language_model(a, 1e-3)
    assert lm.world_id == a.world_id == "seed 0, world " + sim.config_hash(world)
    for call in (
        lambda: sim.probe_vs_bound(b, lm),
        lambda: sim.measure(b, lm, "p_f"),
        lambda: sim.probe_rows(b, lm, ("p_f",), ("box",)),
        lambda: sim.feature_values(b, lm, "p_f"),
    ):
        with pytest.raises(ValueError, match="made for another world"):
            call()
    other_task = a.with_task(sim.TaskConfig(structure="word_groups"))  # the same world: its LMs are welcome
    assert sim.probe_vs_bound(other_task, lm).holds
    with pytest.raises(ValueError, match="has shape"):
        sim.measure(a, lm._replace(q=lm.q[:10], world_id=""), "p_f")


# -- robust probes and degenerate worlds -----------------------------------------------------------------------


def test_the_ridge_polish_survives_saturated_margins():
    g = np.array([[200.0], [-200.0], [200.0], [-200.0]])  # margins saturate σ in float64: a singular Hessian
    fit = sim.fit_probe(g, np.full(4, 0.25), np.array([1.0, 0.0, 1.0, 0.0]), l2=1e-2)
    assert np.isfinite(fit.loss) and np.isfinite(fit.gap)


def test_a_one_hot_world_is_refused_naming_the_setting(tmp_path):
    out = _cli("run", "sqrt_eps", "--profile", "tiny", "--set", "world.theta_scale=100", "--set", "features=p_f",
               "--results", tmp_path)  # fmt: skip
    err = out.stderr.strip()
    assert out.returncode == 2 and "world.theta_scale=100" in err and len(err.splitlines()) == 1, err


# -- figures ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sim.experiment_names())
def test_figures_have_two_line_titles_and_no_overlapping_text(name, tiny_runs, tmp_path):
    run, _ = tiny_runs[name]
    with layout_checks() as found:
        sim.draw(name, run.rows, run.summary, tmp_path)
    assert found
    for stem, got in found.items():
        assert got["title_lines"] <= 2 and got["overlaps"] == [], (pathlib.Path(stem).name, got)


def test_the_layout_check_sees_an_overlap():
    from simulations.experiments.kit import new_figure, text_overlaps

    fig, axes = new_figure(1)
    axes[0][0].text(0.5, 0.5, "one label")
    axes[0][0].text(0.5, 0.5, "another label")
    axes[0][0].text(1.4, 0.5, "beyond the figure's edge", transform=fig.transFigure)
    found = text_overlaps(fig)
    assert ("one label", "another label") in found and ("outside the figure", "beyond the figure's edge") in found


# -- the smaller points ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sim.experiment_names())
def test_progress_ticks_match_the_declared_work(name):
    exp = sim.get_experiment(name)
    cfg = exp.profiles["tiny"]
    ticks = []
    exp.run_seed(cfg, cfg.seeds[0], lambda: ticks.append(1))
    assert len(ticks) == exp.work_units(cfg)


def test_a_damaged_current_pointer_is_named_and_force_recovers(tmp_path):
    cfg = sim.get_experiment("transferability").profiles["tiny"]
    run = sim.run_experiment("transferability", cfg, tmp_path, progress=False)
    (run.store.path / "current").write_text("garbage\n")
    with pytest.raises(ValueError, match="pointer current is damaged .*generations here: gen-1"):
        sim.run_experiment("transferability", cfg, tmp_path, progress=False)
    assert (run.store.path / "gen-1" / "parts" / "seed-0.csv").exists()  # the finished generation is kept
    again = sim.run_experiment("transferability", cfg, tmp_path, force=True, progress=False)
    assert again.status == "computed" and again.rows == run.rows


def test_list_into_a_closed_pipe_says_nothing_and_loads_no_jax():
    out = subprocess.run(f"'{COMMAND}' list | head -1", shell=True, capture_output=True, text=True)
    assert out.stdout.startswith("sqrt_eps") and out.stderr == ""
    code = "import sys; from simulations import cli; cli.main(['list']); print('jax' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split()[-1] == "False"


def test_threads_after_the_subcommand_and_a_bare_reproduce_runs_the_quick_profile():
    from simulations.cli import build_parser

    args = build_parser().parse_args(["run", "sqrt_eps", "--threads", "2"])
    assert args.sub_threads == 2
    assert build_parser().parse_args(["reproduce"]).profile == "quick"


def test_partition_refuses_too_few_thetas_draws_into_a_folder_and_says_its_verdict(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "e.npy", rng.normal(size=(300, 4)) / 2)
    out = _cli("partition", "--embeddings", tmp_path / "e.npy", "--n", "5")
    assert out.returncode == 2 and "at least 5(d + 1) = 25" in out.stderr
    (tmp_path / "figs").mkdir()
    out = _cli("partition", "--embeddings", tmp_path / "e.npy", "--figure", f"{tmp_path / 'figs'}/")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "figs" / "e-partition.png").exists() and "verdict: " in out.stdout
    from simulations import partition

    report = partition.partition_report(rng.normal(size=(4, 300)) / 2, n=25, spreads=(1.0,))
    plain = np.random.default_rng(0).normal(size=(25, 4))  # the θ stream is salted: not default_rng(0)'s numbers
    assert report[0].n == 25 and not np.allclose(np.abs(report[0].fit.residual[:3]), 0)
    assert not np.allclose(sim.sample_thetas(np.random.default_rng([0, partition.SEED_SALT]),
                                             rng.normal(size=(4, 300)), 1.0, 25), plain)  # fmt: skip


def test_an_unknown_sweep_metric_is_refused_after_the_first_point_only(tmp_path, monkeypatch):
    from simulations import sweep

    calls = []
    points = sweep.expand("transferability", [("task.B", ["1", "2"])], "tiny")

    def task(name, cfg, results, seed, force, threads=None):
        calls.append(cfg.task.B)
        return sweep.seed_task(name, cfg, results, seed, force, threads)

    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        sweep.run_sweep("transferability", points, tmp_path, metric="nope", progress=False, task=task)
    assert set(calls) == {1.0}  # the second point was never computed


def test_a_refused_scheduler_port_is_refused_at_once():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    from simulations import sweep

    start = time.perf_counter()
    with pytest.raises(ValueError, match="connection refused"):
        sweep._connect(object, f"tcp://127.0.0.1:{port}")
    assert time.perf_counter() - start < 5


def test_progress_in_a_log_file_has_no_carriage_returns(tmp_path):
    log = tmp_path / "log.txt"
    with open(log, "w") as fh:
        subprocess.run([COMMAND, "run", "transferability", "--profile", "tiny", "--results", str(tmp_path)],
                       stdout=fh, stderr=fh, timeout=120)  # fmt: skip
    text = log.read_text()
    assert "\r" not in text and "transferability: " in text and "(100%)" in text


def test_the_design_documents_worked_example_lints_and_runs(tmp_path, monkeypatch):
    import re
    import shutil

    text = (ROOT / "docs" / "design.md").read_text()
    code = re.search(r"```python\n(# simulations/experiments/random_tilts.py\n.*?)```", text, re.S).group(1)
    copy = tmp_path / "simulations"
    for package in ("simulations", "theory"):  # mypy reads the copy, with the example beside the experiments
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "experiments" / "random_tilts.py").write_text(code)
    bin_ = pathlib.Path(sys.executable).parent
    ruff = subprocess.run([bin_ / "ruff", "check", "--config", ROOT / "pyproject.toml", copy / "experiments" /
                           "random_tilts.py"], capture_output=True, text=True)  # fmt: skip
    assert ruff.returncode == 0, ruff.stdout
    env = dict(os.environ, MYPYPATH=str(tmp_path))
    mypy = subprocess.run([bin_ / "mypy", "--config-file", ROOT / "pyproject.toml", "--no-incremental", "-p",
                           "simulations.experiments.random_tilts"], capture_output=True, text=True, cwd=tmp_path,
                          env=env)  # fmt: skip
    assert mypy.returncode == 0, mypy.stdout
    module = type(sys)("simulations.experiments.random_tilts")
    module.__package__ = "simulations.experiments"
    exec(compile(code, "random_tilts.py", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(REGISTRY, "random_tilts", REGISTRY["quad"]._replace(module=".random_tilts"))
    run = sim.run_experiment("random_tilts", module.EXPERIMENT.profiles["tiny"], tmp_path / "r", progress=False)
    assert [c["verdict"] for c in run.summary["claims"]] == ["PASS"]


def test_a_claim_whose_data_a_config_leaves_out_is_inconclusive_not_dropped(tmp_path):
    out = _cli("run", "sqrt_eps", "--profile", "tiny", "--set", "families=random", "--results", tmp_path)
    assert out.returncode == 3, out.stderr
    assert "adversarial_sqrt_rate (this config measures nothing it is about" in out.stderr


def test_a_bound_that_no_row_can_violate_is_inconclusive(tmp_path):
    # ε = 1: every bound where the LM differs from P* is above the constant predictor's loss
    out = _cli("run", "transferability", "--profile", "tiny", "--set", "eps_targets=1", "--results", tmp_path)
    assert out.returncode == 3 and "transferability.bound_holds (every bound is at or above" in out.stderr, out.stderr
