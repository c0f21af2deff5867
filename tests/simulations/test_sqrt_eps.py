"""A quick end-to-end run of the `sqrt_eps` experiment."""

import dataclasses
import math

import pytest

import simulations as sim
from simulations.experiments import sqrt_eps

COLUMNS = {
    "family",
    "target_eps",
    "eps",
    "feature",
    "probe",
    "probe_loss",
    "probe_error",
    "tau",
    "B",
    "gamma",
    "bound",
    "slack",
    "seed",
    "converged",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    cfg = dataclasses.replace(
        sqrt_eps.PROFILES["quick"],
        world=sim.WorldConfig(vocab_size=80, num_contexts=160, dim=4),
        lm=sim.TrainConfig(steps=60, checkpoints=3, corpus_size=4000, batch_size=256),
        eps_targets=(1e-5, 1e-4, 1e-3, 1e-2),
        seeds=(0, 1),
        bootstrap=50,
    )
    tmp = tmp_path_factory.mktemp("sqrt_eps")
    rows, summary, store = sim.run_experiment("sqrt_eps", cfg, tmp / "results", progress=False)
    paths = sim.draw("sqrt_eps", rows, summary, tmp / "figures")
    return cfg, rows, summary, paths


def test_rows_have_the_promised_columns(run):
    _, rows, summary, _ = run
    assert COLUMNS <= set(rows[0])
    assert summary["n_rows"] == len(rows)
    for r in rows:
        if not math.isnan(r["bound"]):
            assert r["slack"] == pytest.approx(r["bound"] - r["probe_loss"], abs=1e-15)
        assert r["probe_error"] == pytest.approx(r["probe_loss"] / math.log(2))


def test_no_violations_and_adversarial_sqrt_rate(run):
    _, rows, summary, _ = run
    assert summary["violations"] == 0
    assert summary["not_converged"] == 0
    assert summary["max_eps_rel_disagreement"] < 1e-9
    adv = summary["slopes"]["box/adversarial/p_f"]
    assert 0.4 < adv["slope"] < 0.65
    # tilt targets hit to 1%
    for r in rows:
        if r["family"] in sim.TILT_KINDS:
            assert abs(r["eps"] / r["target_eps"] - 1) <= sim.EPS_TARGET_RTOL


def test_claims_and_figure(run):
    _, _, summary, paths = run
    verdicts = {c["claim"]: c["verdict"] for c in summary["claims"]}
    assert verdicts["(R2/R5/R6) no box probe above its bound"] == "PASS"
    assert all(p.exists() and p.stat().st_size > 10_000 for p in paths)


def test_figure_is_byte_identical_on_redraw(run, tmp_path):
    _, rows, summary, paths = run
    again = sim.draw("sqrt_eps", rows, summary, tmp_path)
    for a, b in zip(paths, again, strict=True):
        assert a.read_bytes() == b.read_bytes()
