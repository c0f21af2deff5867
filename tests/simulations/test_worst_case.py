"""Worst-case search at a fixed ε budget and the analytic tight family."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit

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


def _naive_loss(q, v, b, p_T, eta):
    z = q @ v + b
    return float(np.sum(p_T * (eta * np.log1p(np.exp(-z)) + (1 - eta) * np.log1p(np.exp(z)))))


def test_reported_excesses_match_independent_computations(searched, small):
    planted, refit, tau_fit = searched
    task = small.task
    p = planted[1]
    naive = _naive_loss(p.q, task.v, task.b, task.p_T, task.eta) - _naive_loss(
        small.world.p_star, task.v, task.b, task.p_T, task.eta
    )
    assert p.excess == pytest.approx(naive, rel=1e-9)
    # the refitted excess, with both box probes refitted by SciPy's SLSQP (an independent solver)
    r = refit[1]
    k = r.q.shape[1]

    def box_fit(g):
        res = minimize(
            lambda x: _naive_loss(g, x[:k], x[k], task.p_T, task.eta),
            np.append(task.v, task.b),
            method="SLSQP",
            bounds=[(-task.B, task.B)] * k + [(None, None)],
            options=dict(ftol=1e-15, maxiter=3000),
        )
        return res.fun

    assert r.excess == pytest.approx(box_fit(r.q) - box_fit(small.world.p_star), abs=1e-6)


def test_fixed_classifier_chain_is_tight_for_its_classifier_only():
    chain = sim.fixed_classifier_chain(12)
    ratios = np.array([p.ratio for p in chain])
    assert np.all(np.diff(ratios) >= 0) and ratios[-1] > 0.9 and np.all(ratios <= 1.0)
    # the closed form of the ratio, independently: [ℓ(−M−2δ) − ℓ(−M)] / √(2ε) with ε the two-point KL
    p = chain[3]
    kl = 0.5 * np.log(0.5 / (0.5 + p.delta)) + 0.5 * np.log(0.5 / (0.5 - p.delta))
    closed = (np.logaddexp(0, p.margin + 2 * p.delta) - np.logaddexp(0, p.margin)) / np.sqrt(2 * kl)
    assert p.ratio == pytest.approx(closed, rel=1e-10)
    # the theorem's quantity, the refitted excess, is 0 on every member: the refit reaches loss 0 on P* and on Q
    assert all(abs(p.refit_excess) < 1e-12 for p in chain)


def test_general_search_stays_in_budget_and_never_loses_its_start(searched, small):
    _, refit, tau_fit = searched
    world, task = small.world, small.task
    general = sim.search_general(world, task, BUDGETS, refit, rounds=1, steps=20)
    for budget, start, g in zip(BUDGETS, refit, general, strict=True):
        assert g.eps <= budget and g.excess >= start.excess
        assert theory.expected_kl(world.p_star, g.q, world.p_L) == pytest.approx(g.eps, rel=1e-12)


@pytest.mark.parametrize("B, kappa", [(32.0, 0.5), (32.0, 0.1)])
def test_refit_family_is_built_as_stated(B, kappa):
    fam = sim.refit_family(B, kappa)
    p, task = fam.world.p_star, fam.task
    masses = p[:, :4].sum(1)
    np.testing.assert_allclose(np.abs(masses - 0.5), kappa / B, rtol=1e-12)  # the + group holds ½ ± κ/B
    ref = sim.reference_probe(fam, "p_f")
    np.testing.assert_allclose(ref.v, task.v, atol=1e-9)  # the best box probe is ±B on the groups ...
    margins = p @ ref.v + ref.b
    np.testing.assert_allclose(np.abs(margins), 2 * kappa, atol=1e-8)  # ... with margins ±2κ
    rho = theory.probe_residual(p, task.p_T, task.eta, ref.v, ref.b)
    assert rho == pytest.approx(expit(-2 * kappa), rel=1e-8)


def test_refit_family_reaches_the_first_order_term_and_pinsker_limits_it():
    def ratio(B, kappa, eps=1e-9):
        fam = sim.refit_family(B, kappa)
        (lm,) = sim.tilted_lms(fam, "adversarial", [eps])
        (m,) = sim.measure(fam, lm, "p_f")
        return m.excess / (expit(-2 * kappa) * np.sqrt(2 * B * B * lm.eps))

    assert ratio(32.0, 0.5) == pytest.approx(1.0, abs=0.01)
    # with B = 2 the group masses are ½ ± ¼, where Pinsker loses √(4a(1 − a)) = √(3/4)
    assert ratio(2.0, 0.5) == pytest.approx(np.sqrt(0.75), abs=0.01)
