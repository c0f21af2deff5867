"""Worst-case search at a fixed ε budget and the analytic tight family."""

import numpy as np
import pytest

import simulations as sim
import theory

BUDGETS = np.array([1e-5, 1e-3, 1e-1])


@pytest.fixture(scope="module")
def searched(small):
    world, task = small.world, small.task
    planted = sim.search_fixed(world, task, (task.v, task.b), BUDGETS)
    refit, tau_fit = sim.search_refit(world, task, BUDGETS, rounds=2)
    return planted, refit, tau_fit


def test_search_never_exceeds_budget(searched, small):
    planted, refit, _ = searched
    for budget, p, r in zip(BUDGETS, planted, refit, strict=True):
        for res in (p, r):
            assert res.eps <= budget
            assert theory.expected_kl(small.world.p_star, res.q, small.world.p_L) == pytest.approx(res.eps, rel=1e-12)
            assert res.eps > 0.9 * budget  # and it uses the budget


def test_search_never_worse_than_adversarial(searched, small):
    planted, refit, tau_fit = searched
    task = small.task
    for lm, p, r in zip(sim.tilted_lms(small, "adversarial", BUDGETS), planted, refit, strict=True):
        adv_planted = theory.probe_loss(lm.q, task.v, task.b, task.p_T, task.eta) - task.tau_planted
        (adv_refit,) = sim.measure(small, lm, "p_f")
        # the tilt is calibrated to 1% (maybe above the budget): compare per unit of the bound's excess
        scale = np.sqrt(p.eps / lm.eps)
        assert p.excess >= adv_planted * scale - 1e-12
        assert r.excess >= adv_refit.excess * np.sqrt(r.eps / lm.eps) - 1e-12


def test_search_stays_under_the_bound(searched, small):
    planted, refit, tau_fit = searched
    task = small.task
    for p, r in zip(planted, refit, strict=True):
        assert task.tau_planted + p.excess <= theory.natural_task_bound(task.tau_planted, task.B, p.eps)
        assert tau_fit + r.excess <= theory.natural_task_bound(tau_fit, task.B, r.eps)


def test_reported_excesses_are_recomputed_exactly(searched, small):
    planted, refit, tau_fit = searched
    task = small.task
    p = planted[1]
    assert p.excess == pytest.approx(theory.probe_loss(p.q, task.v, task.b, task.p_T, task.eta) - task.tau_planted)
    r = refit[1]
    fit = sim.fit_probe(r.q, task.p_T, task.eta, box=task.B)
    assert r.excess == pytest.approx(fit.loss - tau_fit, abs=1e-9)


def test_tight_family_approaches_one():
    fam = sim.tight_family(12)
    ratios = np.array([p.ratio for p in fam])
    assert np.all(np.diff(ratios) >= 0) and ratios[-1] > 0.9 and np.all(ratios <= 1.0)
    # the closed form of the ratio, independently: [ℓ(−M−2δ) − ℓ(−M)] / √(2ε)
    p = fam[3]
    closed = (np.logaddexp(0, p.margin + 2 * p.delta) - np.logaddexp(0, p.margin)) / np.sqrt(2 * p.eps)
    assert p.ratio == pytest.approx(closed, rel=1e-12)
