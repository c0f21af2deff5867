"""simulations.strategies: the public strategies and the bound checker a user can point at a bound of their own."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulations as sim
import theory
from simulations.strategies import find_counterexample, instances, lms_at_eps, natural_task_instance


@given(natural_task_instance())
def test_instances_are_consistent(x):
    np.testing.assert_allclose(x.p_star.sum(1), 1.0)
    np.testing.assert_allclose(x.q.sum(1), 1.0)
    assert np.all(np.abs(x.v) <= x.B + 1e-12) and 0 < x.gamma <= 1.0 + 1e-12
    assert x.tau == pytest.approx(theory.probe_loss(x.p_star, x.v, x.b, x.p_T, x.eta))
    assert x.eps == pytest.approx(theory.expected_kl(x.p_star, x.q, x.p_L))


def test_the_paper_bound_survives_the_search():
    assert find_counterexample(theory.natural_task_bound, max_examples=300, seed=0) is None


TEMPTING = [
    ("the theorem without its √2", lambda tau, B, eps, gamma: tau + math.sqrt(B * B * eps / gamma)),
    ("the theorem without γ", lambda tau, B, eps, gamma: tau + math.sqrt(2 * B * B * eps)),
]


@pytest.mark.parametrize("name, bound", TEMPTING)
def test_tempting_bounds_are_refuted_fast_without_shrinking(name, bound):
    """Negative controls of the search: each tempting per-classifier bound is refuted (first example found),
    and the counterexample obeys the paper's bound.

    The budget is the search's power, not a tuned number: hypothesis seeds its draws with constants read
    from every loaded module, so the sequence seed 0 gives changes with the code and the test order. With
    the CLI's modules loaded, 60 searches (seeds 0-29, both bounds) found the first counterexample between
    the 4th and the 1,114th example; without them, 1 of 40 searches (seeds 0-19) missed at 1,000."""
    x = find_counterexample(bound, max_examples=3000, seed=0, shrink=False)
    assert x is not None, name
    assert x.loss > bound(x.tau, x.B, x.eps, x.gamma) and x.loss <= theory.natural_task_bound(
        x.tau, x.B, x.eps, x.gamma
    )


def test_bad_bounds_and_budgets_are_refused():
    with pytest.raises(ValueError, match="the bound returned nan"):
        find_counterexample(lambda tau, B, eps, gamma: math.nan, max_examples=5)
    with pytest.raises(ValueError, match="max_examples must be"):
        find_counterexample(theory.natural_task_bound, max_examples=0)


@pytest.mark.slow
@pytest.mark.parametrize("name, bound", TEMPTING)
def test_tempting_wrong_bounds_are_caught(name, bound):
    x = find_counterexample(bound, max_examples=3000, seed=0)
    assert x is not None, name
    assert x.loss > bound(x.tau, x.B, x.eps, x.gamma) and x.loss <= theory.natural_task_bound(
        x.tau, x.B, x.eps, x.gamma
    )


@settings(max_examples=25)
@given(lms_at_eps())
def test_the_theorem_on_package_worlds(drawn):
    """Every drawn world, natural task and tilted LM at ε: the probe stays under τ + √(2B²ε/γ)."""
    inst, lm = drawn
    report = sim.probe_vs_bound(inst, lm)
    assert report.holds, report
    assert report.tau_fitted <= inst.task.tau_planted + 1e-9  # the fitted τ is never above the planted one


@settings(max_examples=4)
@given(lms_at_eps(instances(vocab=(30, 30), contexts=(40, 40), dims=(3, 3)), ("trained",), st.floats(1e-3, 1e-1)))
def test_trained_lms_from_the_strategy_obey_the_bound(drawn):
    inst, lm = drawn
    assert lm.family == "trained" and lm.F is not None and math.isfinite(lm.eps)
    assert sim.probe_vs_bound(inst, lm).holds
