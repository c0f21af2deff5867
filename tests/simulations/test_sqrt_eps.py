"""End-to-end checks of `sqrt_eps` beyond what every experiment is tested for (test_experiments.py)."""

import dataclasses
import math

import pytest

import simulations as sim


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    exp = sim.get_experiment("sqrt_eps")
    cfg = dataclasses.replace(
        exp.profiles["quick"],
        world=sim.WorldConfig(vocab_size=80, num_contexts=160, dim=4),
        lm=sim.TrainConfig(steps=60, checkpoints=3, corpus_size=4000, batch_size=256),
        eps_targets=(1e-5, 1e-4, 1e-3, 1e-2),
        seeds=(0, 1),
        bootstrap=50,
    )
    rows, summary, *_ = sim.run_experiment("sqrt_eps", cfg, tmp_path_factory.mktemp("sqrt_eps"), progress=False)
    return cfg, rows, summary


def test_rows_are_consistent(run):
    _, rows, summary = run
    assert summary["n_rows"] == len(rows)
    for r in rows:
        if not math.isnan(r.bound):
            assert r.slack == pytest.approx(r.bound - r.probe_loss, abs=1e-15)
        assert r.probe_error == pytest.approx(r.probe_loss / math.log(2))
        assert r.excess == pytest.approx(r.probe_loss - r.tau_ref, abs=1e-15)


def test_no_violations_and_adversarial_sqrt_rate(run):
    _, rows, summary = run
    assert summary["violations"] == 0
    assert summary["not_converged"] == 0
    assert summary["max_eps_rel_disagreement"] < 1e-9
    adv = summary["slopes"]["box/adversarial/p_f"]
    assert 0.4 < adv["slope"] < 0.65
    for r in sim.select(rows, family=sim.TILT_FAMILIES):
        assert abs(r.eps / r.target_eps - 1) <= sim.EPS_TARGET_RTOL  # tilt targets hit to 1%
    assert sim.claims_by_id(summary)["bound_holds"]["verdict"] == "PASS"
