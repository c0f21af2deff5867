"""Transferability: γ_ratio and the tight γ(Δ)."""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

import theory
from tests import strategies as S
from tests.tolerances import CLOSED_FORM_RTOL


@given(st.data())
def test_tight_gamma_at_least_ratio(data):
    n = data.draw(st.integers(1, 6))
    v = data.draw(st.integers(2, 6))
    p_star = data.draw(S.simplex_rows(n, v))
    q = data.draw(S.simplex_rows(n, v))
    p_L, p_T = data.draw(S.nested_weights(n))
    gamma = theory.transferability(p_L, p_T, q - p_star)
    assert gamma >= theory.transferability_ratio(p_L, p_T) * (1 - 1e-9)


def test_gamma_one_when_task_is_pretraining():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(8))
    delta = rng.dirichlet(np.ones(5), size=8) - rng.dirichlet(np.ones(5), size=8)
    assert theory.transferability_ratio(p, p) == pytest.approx(1.0)
    assert theory.transferability(p, p, delta) == pytest.approx(1.0, rel=1e-9)


@given(st.integers(1, 200), st.integers(0, 2**32 - 1))
def test_ratio_is_exactly_one_for_a_renormalised_copy(n, seed):
    """The task p_T = p_L / Σp_L (a slice of every context) has γ_ratio exactly 1, not 1 − ulp."""
    p_L = np.random.default_rng(seed).dirichlet(np.ones(n))
    assert theory.transferability_ratio(p_L, p_L / p_L.sum()) == 1.0
    assert theory.transferability_ratio(p_L, p_L) == 1.0


def test_ratio_below_one_is_not_rounded_away():
    p_L = np.array([0.5, 0.5 - 1e-12, 1e-12])
    p_T = np.array([0.5, 0.5, 0.0])
    assert theory.transferability_ratio(p_L, p_T) == pytest.approx(1 - 2e-12, abs=1e-15)
    assert theory.transferability_ratio(p_L, p_T) < 1.0


def test_ratio_is_mass_of_slice_for_restriction():
    rng = np.random.default_rng(2)
    p_L = rng.dirichlet(np.ones(10))
    slice_ = np.arange(10) < 4
    p_T = np.where(slice_, p_L, 0.0) / p_L[slice_].sum()
    assert theory.transferability_ratio(p_L, p_T) == pytest.approx(p_L[slice_].sum(), rel=CLOSED_FORM_RTOL)


def test_tight_gamma_matches_generalised_eigenvalue():
    # Full-rank case: Δ with N >= V rows in general position, so both Gram
    # matrices restricted to {u : Σu = 0}... we avoid that subtlety by using
    # unconstrained (not row-sum-zero) Δ, whose Gram matrices are positive definite.
    rng = np.random.default_rng(3)
    n, v = 9, 4
    delta = rng.normal(size=(n, v))
    p_L = rng.dirichlet(np.ones(n))
    p_T = rng.dirichlet(np.ones(n))
    a = delta.T @ (p_L[:, None] * delta)
    b = delta.T @ (p_T[:, None] * delta)
    expected = scipy.linalg.eigh(a, b, eigvals_only=True)[0]
    assert theory.transferability(p_L, p_T, delta) == pytest.approx(expected, rel=1e-9)


def test_tight_gamma_rank_deficient_and_off_task():
    p_L = np.array([0.25, 0.25, 0.5])
    p_T = np.array([0.5, 0.5, 0.0])
    delta = np.zeros((3, 3))
    delta[2] = [0.1, -0.1, 0.0]  # error only outside the task's contexts
    assert theory.transferability(p_L, p_T, delta) == np.inf
    delta[0] = [0.2, -0.2, 0.0]  # rank 1 Δ: γ = Σp_L w² / Σp_T w² for w = Δu
    expected = (0.25 * 0.2**2 + 0.5 * 0.1**2) / (0.5 * 0.2**2)
    assert theory.transferability(p_L, p_T, delta) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("share, finite", [(1e-10, True), (1e-14, False)])
def test_an_error_too_small_to_reach_the_task_is_infinite_transfer(share, finite):
    """γ(Δ) is reported infinite above 1e12·γ_ratio: when the task's contexts carry less than 1e-12 of the errors'
    square (the rounding of a Δ that vanishes there), not when they carry 1e-10 of it."""
    p_L = np.array([0.25, 0.25, 0.5])
    p_T = np.array([0.5, 0.5, 0.0])
    delta = np.zeros((3, 3))
    delta[2] = [0.1, -0.1, 0.0]
    delta[0] = np.sqrt(share) * delta[2] * np.sqrt(p_L[2] / p_L[0])  # the task's share of Σ p_L (uᵀΔ)²
    gamma = theory.transferability(p_L, p_T, delta)
    # rank 1: γ = Σp_L w² / Σp_T w², w the error along its one direction
    expected = (p_L[0] * delta[0, 0] ** 2 + p_L[2] * delta[2, 0] ** 2) / (p_T[0] * delta[0, 0] ** 2)
    ratio = theory.transferability_ratio(p_L, p_T)
    assert (gamma == pytest.approx(expected, rel=1e-9)) if finite else gamma == np.inf
    assert (expected < 1e12 * ratio) == finite


def test_validation():
    with pytest.raises(ValueError, match="supp p_T must lie inside supp p_L"):
        theory.transferability_ratio([1.0, 0.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="delta must have 2 rows"):
        theory.transferability([0.5, 0.5], [0.5, 0.5], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="p_T must have length 2"):
        theory.transferability_ratio([0.5, 0.5], [1.0])
