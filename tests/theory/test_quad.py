"""(R7): the Quad objective, its minimiser, excess identity and bound."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theory
from tests.tolerances import CLOSED_FORM_RTOL, INEQUALITY_SLACK


def _instance(seed, n=6, d=3, v=8):
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=(d, v))
    p_star = rng.dirichlet(np.ones(v), size=n)
    w = rng.dirichlet(np.ones(n))
    return rng, phi, p_star, w


@given(st.integers(0, 2**32 - 1))
def test_minimizer_and_excess_identity(seed):
    rng, phi, p_star, w = _instance(seed)
    f_star = theory.quad_minimizer(phi, p_star)
    f = f_star + rng.normal(size=f_star.shape)
    excess = theory.quad_loss(f, phi, p_star, w) - theory.quad_loss(f_star, phi, p_star, w)
    expected = 0.5 * np.sum(w * np.sum((f - f_star) @ phi * ((f - f_star) @ phi), -1))
    assert excess == pytest.approx(expected, rel=CLOSED_FORM_RTOL, abs=1e-10)
    # gradient of the Quad loss vanishes at f*: Φ(Φᵀf* − P*) = 0
    np.testing.assert_allclose(phi @ (phi.T @ f_star.T - p_star.T), 0.0, atol=1e-10)


def test_minimizer_rank_deficient_phi():
    _, phi, p_star, w = _instance(7)
    phi = np.vstack([phi, phi[0] + phi[1]])  # d = 4 with rank 3
    f_star = theory.quad_minimizer(phi, p_star)
    other = f_star + np.array([1.0, 1.0, 0.0, -1.0])  # null direction of Φᵀ
    assert theory.quad_loss(other, phi, p_star, w) == pytest.approx(theory.quad_loss(f_star, phi, p_star, w), abs=1e-10)


@given(st.integers(0, 2**32 - 1), st.floats(0.01, 2.0))
def test_quad_bound_holds(seed, scale):
    rng, phi, p_star, w = _instance(seed)
    lam = rng.normal(size=phi.shape[0])
    v = phi.T @ lam
    b = float(rng.normal())
    eta = rng.uniform(size=p_star.shape[0])
    tau = theory.probe_loss(p_star, v, b, w, eta)
    f_star = theory.quad_minimizer(phi, p_star)
    f = f_star + scale * rng.normal(size=f_star.shape)
    eps_quad = theory.quad_loss(f, phi, p_star, w) - theory.quad_loss(f_star, phi, p_star, w)
    loss_f = theory.probe_loss(f, phi @ phi.T @ lam, b, w, eta)
    assert loss_f <= theory.quad_bound(tau, np.linalg.norm(v), max(eps_quad, 0.0)) + INEQUALITY_SLACK


def test_validation():
    with pytest.raises(ValueError, match="F must have shape"):
        theory.quad_loss(np.ones((2, 2)), np.ones((3, 4)), np.full((2, 4), 0.25), [0.5, 0.5])
    with pytest.raises(ValueError, match="V = 4 columns"):
        theory.quad_minimizer(np.ones((3, 4)), np.full((2, 3), 1 / 3))
