"""Worst-case search, the tight family, and the transferability placements (issue: tightness)."""

import dataclasses

import numpy as np
import pytest

import simulations as sim
import theory
from simulations import _worst_case as wc
from simulations.experiments import transferability

BUDGETS = np.array([1e-5, 1e-3, 1e-1])


@pytest.fixture(scope="module")
def searched(small):
    keys, world, task = small
    planted = wc.search_fixed(world, task, (task.v, task.b), BUDGETS)
    refit, tau_fit = wc.search_refit(world, task, BUDGETS, rounds=2)
    return world, task, planted, refit, tau_fit


def test_search_never_exceeds_budget(searched):
    world, _, planted, refit, _ = searched
    for budget, p, r in zip(BUDGETS, planted, refit, strict=True):
        for res in (p, r):
            assert res.eps <= budget
            assert theory.expected_kl(world.p_star, res.q, world.p_L) == pytest.approx(res.eps, rel=1e-12)
            assert res.eps > 0.9 * budget  # and it uses the budget


def test_search_never_worse_than_adversarial(searched, small):
    keys, world, task = small
    _, _, planted, refit, tau_fit = searched
    u = sim.tilt_direction(keys["tilt"], world, task, "adversarial")
    ts, _ = sim.calibrate_tilts(world, u, BUDGETS * (1 - wc.BUDGET_RTOL), rtol=wc.BUDGET_RTOL)
    for t, p, r in zip(ts, planted, refit, strict=True):
        q = sim.tilt_model(world, u, t)
        adv_planted = theory.probe_loss(q, task.v, task.b, task.p_T, task.eta) - task.tau_planted
        ref = sim.fit_probe(world.p_star, task.p_T, task.eta, box=task.B, init=(task.v, task.b))
        adv_refit = sim.fit_probe(q, task.p_T, task.eta, box=task.B, init=(ref.v, ref.b)).loss - tau_fit
        assert p.excess >= adv_planted - 1e-12
        assert r.excess >= adv_refit - 1e-12


def test_search_stays_under_the_bound(searched):
    _, task, planted, refit, tau_fit = searched
    for p, r in zip(planted, refit, strict=True):
        assert task.tau_planted + p.excess <= theory.natural_task_bound(task.tau_planted, task.B, p.eps)
        assert tau_fit + r.excess <= theory.natural_task_bound(tau_fit, task.B, r.eps)


def test_excess_of_planted_worst_case_is_the_reported_one(searched):
    world, task, planted, _, _ = searched
    p = planted[1]
    assert p.excess == pytest.approx(theory.probe_loss(p.q, task.v, task.b, task.p_T, task.eta) - task.tau_planted)


def test_tight_family_approaches_one():
    fam = wc.tight_family(12)
    ratios = np.array([p.ratio for p in fam])
    assert np.all(np.diff(ratios) >= 0) and ratios[-1] > 0.9 and np.all(ratios <= 1.0)
    # the closed form of the ratio, independently: [ℓ(−M−2δ) − ℓ(−M)] / √(2ε)
    p = fam[3]
    closed = (np.logaddexp(0, p.margin + 2 * p.delta) - np.logaddexp(0, p.margin)) / np.sqrt(2 * p.eps)
    assert p.ratio == pytest.approx(closed, rel=1e-12)


def test_transferability_placements(small):
    cfg = dataclasses.replace(
        transferability.PROFILES["quick"],
        world=sim.WorldConfig(vocab_size=40, num_contexts=100, dim=3),
        gammas=(1.0, 0.1),
        seeds=(0,),
        bootstrap=10,
    )
    rows = transferability.run_seed(cfg, 0)
    outside = [r for r in rows if r["placement"] == "outside"]
    assert outside and all(abs(r["excess"]) < 1e-12 and abs(r["planted_excess"]) < 1e-12 for r in outside)
    assert all(r["gamma_tight"] == np.inf for r in outside)
    for r in rows:
        assert r["gamma_ratio"] <= r["gamma_tight"] * (1 + 1e-9)
        assert r["slack_ratio"] >= -1e-9 and r["slack_tight"] >= -1e-9
    conc = [r for r in rows if r["placement"] == "concentrated" and r["gamma_target"] == 0.1]
    assert conc[0]["gamma_tight"] == pytest.approx(conc[0]["gamma_ratio"], rel=1e-6)  # errors only on S_T


def test_tightness_end_to_end(tmp_path):
    from simulations.experiments import tightness

    cfg = dataclasses.replace(
        tightness.PROFILES["quick"],
        world=sim.WorldConfig(vocab_size=40, num_contexts=80, dim=3),
        lm=sim.TrainConfig(steps=30, checkpoints=2, corpus_size=2000, batch_size=128),
        eps_targets=(1e-4, 1e-2),
        strip_eps=(1e-3,),
        n_random=2,
        n_mixed=1,
        train_seeds=1,
        corpus_sizes=(1000,),
        rounds=1,
        bootstrap=10,
    )
    rows, summary, _ = sim.run_experiment("tightness", cfg, tmp_path / "r", progress=False)
    verdicts = {c["claim"]: c["verdict"] for c in summary["claims"]}
    assert verdicts["(R2) no LM above the bound (any family, either classifier)"] == "PASS"
    assert summary["worst_case_beats_adversarial"] and summary["tight_limit"] > 0.9
    strip = [r for r in rows if r["kind"] == "strip"]
    assert {r["family"] for r in strip} == {"random", "mixed", "adversarial", "trained", "worst_case"}
    assert all(abs(r["eps"] / 1e-3 - 1) <= sim.EPS_TARGET_RTOL for r in strip)
    assert all(p.exists() for p in sim.draw("tightness", rows, summary, tmp_path / "f"))
