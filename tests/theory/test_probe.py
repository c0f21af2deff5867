"""Logistic loss and the population probe loss ℓ_T(g, v, b)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import theory
from tests.tolerances import CLOSED_FORM_RTOL


@given(hnp.arrays(np.float64, 5, elements=st.floats(-30, 30)))
def test_logistic_loss_matches_naive_formula(z):
    np.testing.assert_allclose(theory.logistic_loss(z), np.log1p(np.exp(-z)), rtol=CLOSED_FORM_RTOL)


def test_logistic_loss_stable_for_large_margins():
    assert theory.logistic_loss(1000.0) == 0.0
    assert theory.logistic_loss(-1000.0) == pytest.approx(1000.0)
    assert theory.logistic_loss(40.0) == pytest.approx(np.exp(-40.0), rel=1e-12)


def test_probe_loss_brute_force():
    rng = np.random.default_rng(0)
    g = rng.normal(size=(7, 3))
    v, b = rng.normal(size=3), 0.3
    p_t = rng.dirichlet(np.ones(7))
    eta = rng.uniform(size=7)
    expected = 0.0
    for s in range(7):
        z = g[s] @ v + b
        expected += p_t[s] * (eta[s] * np.log1p(np.exp(-z)) + (1 - eta[s]) * np.log1p(np.exp(z)))
    assert theory.probe_loss(g, v, b, p_t, eta) == pytest.approx(expected, rel=CLOSED_FORM_RTOL)


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.ones((2, 3)), np.ones(2), 0.0, [0.5, 0.5], [0.5, 0.5]), "v must have length 3"),
        ((np.ones((2, 3)), np.ones(3), 0.0, [0.5, 0.6], [0.5, 0.5]), "p_T rows must sum"),
        ((np.ones((2, 3)), np.ones(3), 0.0, [0.5, 0.5], [0.5, 1.5]), r"eta must lie in \[0, 1\]"),
        ((np.ones((2, 3)), np.ones(3), 0.0, [0.5, 0.5], [0.5]), "eta must have length 2"),
        ((np.ones(3), np.ones(3), 0.0, [1.0], [0.5]), "features must have 2"),
        ((np.ones((2, 3)), np.ones(3), np.nan, [0.5, 0.5], [0.5, 0.5]), "b contains NaN"),
    ],
)
def test_probe_loss_validation(args, match):
    with pytest.raises(ValueError, match=match):
        theory.probe_loss(*args)


def test_probe_residual_brute_force():
    rng = np.random.default_rng(1)
    g = rng.normal(size=(9, 4))
    v, b = rng.normal(size=4), -0.2
    p_T = rng.dirichlet(np.ones(9))
    eta = rng.uniform(size=9)
    total = 0.0
    for s in range(9):
        total += p_T[s] * (1 / (1 + np.exp(-(g[s] @ v + b))) - eta[s]) ** 2
    assert theory.probe_residual(g, p_T, eta, v, b) == pytest.approx(np.sqrt(total), rel=CLOSED_FORM_RTOL)
    # calibrated labels: the probe is Bayes-optimal and its residual vanishes
    eta_cal = 1 / (1 + np.exp(-(g @ v + b)))
    assert theory.probe_residual(g, p_T, eta_cal, v, b) < 1e-15


def test_trivial_loss_is_the_best_constant_predictor():
    from scipy.optimize import minimize_scalar

    rng = np.random.default_rng(2)
    p_T = rng.dirichlet(np.ones(7))
    eta = rng.uniform(size=7)
    best = minimize_scalar(lambda b: theory.probe_loss(np.zeros((7, 1)), [0.0], b, p_T, eta), tol=1e-12).fun
    assert theory.trivial_loss(p_T, eta) == pytest.approx(best, abs=1e-10)
    assert theory.trivial_loss([0.5, 0.5], [1.0, 0.0]) == pytest.approx(np.log(2))
    assert theory.trivial_loss([1.0], [1.0]) == 0.0


@given(
    hnp.arrays(np.float64, 5, elements=st.floats(-4, 4)),
    st.floats(-3, 3),
    hnp.arrays(np.float64, 3, elements=st.floats(0.0, 1.0)),
    hnp.arrays(np.float64, (3, 5), elements=st.floats(-20, 20)),
)
def test_fixed_probe_cap_is_reached_at_a_vertex_and_bounds_every_q(v, b, eta, logits):
    p_T = np.full(3, 1 / 3)
    cap = theory.fixed_probe_cap(v, b, p_T, eta)
    # brute force: every choice of one word per context (the simplex's vertices), the largest loss among them
    best = 0.0
    for words in np.ndindex(5, 5, 5):
        q = np.eye(5)[list(words)]
        best = max(best, theory.probe_loss(q, v, b, p_T, eta))
    assert cap == pytest.approx(best, rel=1e-12, abs=1e-12)
    q = np.exp(logits - logits.max(1, keepdims=True))
    q /= q.sum(1, keepdims=True)
    assert theory.probe_loss(q, v, b, p_T, eta) <= cap + 1e-12
