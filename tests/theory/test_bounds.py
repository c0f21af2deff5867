"""(R2): the natural-task bound and every step of its proof chain; (R5) forms."""

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import logsumexp

import theory
from tests import strategies as S
from tests.tolerances import INEQUALITY_SLACK


def fitted_box_probe_loss(g, p_T, eta, B, v0, b0):
    """Independent fit (scipy L-BFGS-B) of min over ‖v‖_∞ <= B, b free, of ℓ_T."""

    def fun(x):
        z = g @ x[:-1] + x[-1]
        loss = np.sum(p_T * (eta * np.logaddexp(0, -z) + (1 - eta) * np.logaddexp(0, z)))
        r = p_T * (1 / (1 + np.exp(-z)) - eta)
        return loss, np.append(g.T @ r, r.sum())

    bounds = [(-B, B)] * g.shape[1] + [(None, None)]
    res = minimize(fun, np.append(v0, b0), jac=True, method="L-BFGS-B", bounds=bounds)
    return res.fun


@given(S.finite_world())
def test_natural_task_bound_and_proof_chain(w):
    p_star, q, p_L, p_T, eta, v, b, B = (w[k] for k in ("p_star", "q", "p_L", "p_T", "eta", "v", "b", "B"))
    tau = theory.probe_loss(p_star, v, b, p_T, eta)
    eps = theory.expected_kl(p_star, q, p_L)
    gamma = theory.transferability_ratio(p_L, p_T)
    delta = q - p_star
    proj = delta @ v
    planted = theory.probe_loss(q, v, b, p_T, eta)
    s = INEQUALITY_SLACK
    lipschitz = tau + np.sum(p_T * np.abs(proj))
    assert planted <= lipschitz + s
    assert np.sum(p_T * np.abs(proj)) <= np.sqrt(np.sum(p_T * proj**2)) + s  # Jensen
    assert np.sum(p_T * proj**2) <= np.sum(p_L * proj**2) / gamma + s  # γ
    assert np.sum(p_L * proj**2) <= B**2 * np.sum(p_L * np.abs(delta).sum(-1) ** 2) + s  # Hölder
    assert np.sum(p_L * np.abs(delta).sum(-1) ** 2) <= 2 * eps + s  # Pinsker
    bound = theory.natural_task_bound(tau, B, eps, gamma)
    fitted = fitted_box_probe_loss(q, p_T, eta, B, v, b)
    assert fitted <= planted + s
    assert fitted <= bound + s
    # the tight γ(Δ) is also valid in the γ step
    tight = theory.transferability(p_L, p_T, delta)
    assert np.sum(p_T * proj**2) <= np.sum(p_L * proj**2) / tight + 1e-9


def test_overstated_gamma_breaks_the_chain():
    # Task on context 0 only, which has 10% of the pretraining mass, and the
    # LM's error sits there, pushing the planted classifier to the wrong side.
    p_L = np.array([0.1, 0.9])
    p_T = np.array([1.0, 0.0])
    p_star = np.array([[0.5, 0.5], [0.5, 0.5]])
    d = 0.05
    q = np.array([[0.5 - d, 0.5 + d], [0.5, 0.5]])
    v, b, B = np.array([1.0, -1.0]), 0.0, 1.0
    eta = np.array([1.0, 1.0])
    tau = theory.probe_loss(p_star, v, b, p_T, eta)
    eps = theory.expected_kl(p_star, q, p_L)
    proj = (q - p_star) @ v
    true_gamma = theory.transferability_ratio(p_L, p_T)
    assert true_gamma == pytest.approx(0.1)
    # with γ = 1 the γ step fails ...
    assert np.sum(p_T * proj**2) > np.sum(p_L * proj**2) / 1.0
    # ... and so does the bound for the planted probe, while the true γ holds.
    planted = theory.probe_loss(q, v, b, p_T, eta)
    assert planted > theory.natural_task_bound(tau, B, eps, gamma=1.0)
    assert planted <= theory.natural_task_bound(tau, B, eps, gamma=true_gamma)


def test_required_eps_inverts_bound():
    for excess, B, gamma in [(0.1, 1.0, 1.0), (0.01, 3.0, 0.2), (0.0, 1.0, 1.0)]:
        eps = theory.required_eps(excess, B, gamma)
        assert theory.natural_task_bound(0.3, B, eps, gamma) - 0.3 == pytest.approx(excess, abs=1e-15)


def test_infinite_gamma_means_no_transfer():
    # γ(Δ) = +inf when the LM errs only off the task's contexts: the bound is τ
    assert theory.natural_task_bound(0.2, 1.0, 1e-3, float("inf")) == 0.2
    with pytest.raises(ValueError, match="gamma contains NaN or infinite"):
        theory.natural_task_bound(0.2, 1.0, 1e-3, float("-inf"))


def test_bound_monotone():
    base = theory.natural_task_bound(0.2, 1.0, 1e-3, 0.5)
    assert theory.natural_task_bound(0.2, 2.0, 1e-3, 0.5) > base
    assert theory.natural_task_bound(0.2, 1.0, 1e-2, 0.5) > base
    assert theory.natural_task_bound(0.2, 1.0, 1e-3, 1.0) < base


@given(st.integers(0, 2**32 - 1), st.floats(0.01, 2.0))
def test_conditional_mean_and_quadratic_partition_bounds_hold(seed, scale):
    # (R5): a softmax LM with fixed Φ, its conditional means probed by λ in ‖Φᵀλ‖∞ <= B; (R6): the same
    # probe carried to f(s) through a linear fit of the conditional means, paying ‖λ‖₂ E_T‖r‖₂
    rng = np.random.default_rng(seed)
    d, V, N, B = 2, 7, 12, 1.0
    phi = rng.normal(size=(d, V))
    p_star = rng.dirichlet(np.ones(V), size=N)
    w = np.full(N, 1 / N)
    lam = rng.normal(size=d)
    lam *= B / np.abs(phi.T @ lam).max()
    eta = 1 / (1 + np.exp(-3 * (p_star @ phi.T @ lam)))
    opt = theory.softmax_optimum(phi, p_star, w)
    F = opt.theta + scale * rng.normal(size=opt.theta.shape)
    q = np.exp(F @ phi - logsumexp(F @ phi, axis=1, keepdims=True))
    split = theory.softmax_split(phi, p_star, F, w, optimum=opt)
    tau = theory.probe_loss(p_star @ phi.T, lam, 0.0, w, eta)
    loss_phi = theory.probe_loss(q @ phi.T, lam, 0.0, w, eta)
    assert loss_phi <= theory.conditional_mean_bound(tau, B, split.eps_phi) + INEQUALITY_SLACK
    assert (
        theory.probe_loss(q, phi.T @ lam, 0.0, w, eta)
        <= theory.conditional_mean_bound(
            theory.probe_loss(p_star, phi.T @ lam, 0.0, w, eta), B, split.eps_phi, eps_phi_star=split.eps_phi_star
        )
        + INEQUALITY_SLACK
    )
    gmap = theory.fit_gradient_map(phi, F, w)
    loss_f = theory.probe_loss(F, gmap.A.T @ lam, float(lam @ gmap.c), w, eta)
    bound = theory.quadratic_partition_bound(tau, B, split.eps_phi, np.linalg.norm(lam), gmap.delta_mean)
    assert loss_f <= bound + INEQUALITY_SLACK


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: theory.natural_task_bound(0.1, 1.0, -1e-9), "eps must be >= 0"),
        (lambda: theory.natural_task_bound(0.1, 0.0, 1e-3), "B must be > 0"),
        (lambda: theory.natural_task_bound(0.1, 1.0, 1e-3, gamma=0), "gamma must be > 0"),
        (lambda: theory.natural_task_bound(-0.1, 1.0, 1e-3), "tau must be >= 0"),
        (lambda: theory.natural_task_bound(0.1, 1.0, float("nan")), "eps contains NaN"),
        (lambda: theory.conditional_mean_bound(0.1, 1.0, -1.0), "eps_phi must be >= 0"),
        (lambda: theory.conditional_mean_bound(0.1, 1.0, 1.0, eps_phi_star=-1), "eps_phi_star"),
        (lambda: theory.required_eps(-0.1, 1.0), "excess must be >= 0"),
        (lambda: theory.quad_bound(0.1, 0.0, 1e-3), "v_norm2 must be > 0"),
        (lambda: theory.quad_bound(0.1, 1.0, -1e-3), "eps_quad must be >= 0"),
        (lambda: theory.quadratic_partition_bound(0.1, 1.0, 1e-3, 1.0, -1.0), "delta must be >= 0"),
        (lambda: theory.natural_task_bound([0.1, 0.2], 1.0, 1e-3), "tau must have 0 dimensions"),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _r9_parts(w):
    """(ℓ_T(Q, v, b), τ = ℓ_T(P*, v, b), ρ, ε, γ) of a drawn world, for the classifier (v, b) it carries."""
    p_star, q, p_L, p_T, eta, v, b = (w[k] for k in ("p_star", "q", "p_L", "p_T", "eta", "v", "b"))
    return (
        theory.probe_loss(q, v, b, p_T, eta),
        theory.probe_loss(p_star, v, b, p_T, eta),
        theory.probe_residual(p_star, p_T, eta, v, b),
        theory.expected_kl(p_star, q, p_L),
        theory.transferability_ratio(p_L, p_T),
    )


@given(S.finite_world())
def test_residual_bound_and_its_proof_chain(w):
    p_star, q, p_L, p_T, eta, v, b, B = (w[k] for k in ("p_star", "q", "p_L", "p_T", "eta", "v", "b", "B"))
    loss_q, tau, rho, eps, gamma = _r9_parts(w)
    s = INEQUALITY_SLACK
    m = p_star @ v + b
    delta = (q - p_star) @ v
    phi_prime = 1 / (1 + np.exp(-m)) - eta
    per_q = eta * np.logaddexp(0, -(m + delta)) + (1 - eta) * np.logaddexp(0, m + delta)
    per_p = eta * np.logaddexp(0, -m) + (1 - eta) * np.logaddexp(0, m)
    assert np.all(per_q <= per_p + phi_prime * delta + delta**2 / 8 + s)  # φ'' <= 1/4 (Taylor)
    assert np.sum(p_T * phi_prime * delta) <= rho * np.sqrt(np.sum(p_T * delta**2)) + s  # Cauchy–Schwarz
    x = 2 * B**2 * eps / gamma
    assert np.sum(p_T * delta**2) <= x + s  # γ, Hölder, Pinsker
    assert loss_q <= theory.residual_bound(tau, rho, B, eps, gamma) + s
    # the probe refitted on Q (independent SciPy fit) is at least as good as (v, b) on Q
    assert fitted_box_probe_loss(q, p_T, eta, B, v, b) <= theory.residual_bound(tau, rho, B, eps, gamma) + s


def test_first_order_term_alone_is_not_a_bound():
    # Where the classifier is Bayes-optimal on P* (η = σ(m), so ρ = 0), any error costs a
    # second-order amount that τ + ρ√X (= τ) misses; the X/8 term covers it.
    def violated(w):
        loss_q, tau, rho, eps, gamma = _r9_parts(w)
        x = 2 * w["B"] ** 2 * eps / gamma
        return loss_q > tau + rho * np.sqrt(x) + 1e-9

    calibrated = S.finite_world().map(lambda w: {**w, "eta": 1 / (1 + np.exp(-(w["p_star"] @ w["v"] + w["b"])))})
    w = find(calibrated, violated, settings=settings(database=None, max_examples=2000))
    loss_q, tau, rho, eps, gamma = _r9_parts(w)
    assert rho < 1e-12 and loss_q > tau  # the first-order form fails here ...
    assert loss_q <= theory.residual_bound(tau, rho, w["B"], eps, gamma) + INEQUALITY_SLACK  # ... R9 does not


def test_residual_bound_is_below_the_papers_for_small_x():
    for rho in (0.0, 0.3, 0.5, 0.9):
        for eps in (1e-6, 1e-4, 1e-3):
            x = 2 * eps
            r9 = theory.residual_bound(0.2, rho, 1.0, eps)
            assert r9 == pytest.approx(0.2 + rho * np.sqrt(x) + x / 8, rel=1e-15)
            assert r9 < theory.natural_task_bound(0.2, 1.0, eps)  # ρ + √X/8 < 1 here
    assert theory.residual_bound(0.2, 0.5, 1.0, 1e-3, float("inf")) == 0.2
    with pytest.raises(ValueError, match="rho must be in"):
        theory.residual_bound(0.2, 1.5, 1.0, 1e-3)
