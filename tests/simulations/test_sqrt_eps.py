"""End-to-end checks of `sqrt_eps` beyond what every experiment is tested for (test_experiments.py)."""

import dataclasses

import numpy as np
import pytest
from scipy.optimize import minimize

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


def test_a_row_matches_an_independent_refit(run):
    # one adversarial LM's p_f box probe, refitted by SciPy's SLSQP from scratch
    cfg, rows, _ = run
    inst = sim.make_instance(0, cfg.world, cfg.task)
    lm = sim.tilted_lms(inst, "adversarial", [cfg.eps_targets[-1]])[0]
    (row,) = [r for r in rows if r.seed == 0 and r.family == "adversarial" and r.target_eps == cfg.eps_targets[-1]
              and r.feature == "p_f" and r.probe == "box"]  # fmt: skip
    task, k = inst.task, lm.q.shape[1]

    def loss(x):
        z = lm.q @ x[:k] + x[k]
        return np.sum(task.p_T * (task.eta * np.logaddexp(0, -z) + (1 - task.eta) * np.logaddexp(0, z)))

    bounds = [(-task.B, task.B)] * k + [(None, None)]
    res = minimize(
        loss, np.append(task.v, task.b), method="SLSQP", bounds=bounds, options=dict(ftol=1e-15, maxiter=3000)
    )
    # the certified fit is at least as good as the independent solver's, and certified within GAP_TOL of the optimum
    assert row.probe_loss <= res.fun + 1e-10 and row.gap <= sim.GAP_TOL
    assert row.probe_loss == pytest.approx(res.fun, abs=1e-4)


def test_no_violations_and_adversarial_sqrt_rate(run):
    _, rows, summary = run
    assert summary["violations"] == 0
    assert summary["unconverged"] == 0 and summary["unresolved"] == 0
    assert summary["max_eps_rel_disagreement"] < 1e-9
    adv = summary["slopes"]["box/adversarial/p_f"]
    assert 0.4 < adv["slope"] < 0.65
    for r in sim.select(rows, family=sim.TILT_FAMILIES):
        assert abs(r.eps / r.target_eps - 1) <= sim.EPS_TARGET_RTOL  # tilt targets hit to 1%
    assert sim.claims_by_id(summary)["bound_holds"]["verdict"] == "PASS"
