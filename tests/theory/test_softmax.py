"""(R3) conditional mean at the optimum, (R4) row-space smoothness, (R6) log-partition."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import minimize
from scipy.special import log_softmax, logsumexp, softmax

import theory
from tests import strategies as S
from tests.tolerances import CONDITIONAL_MEAN_ATOL, INEQUALITY_SLACK


@given(st.data())
def test_conditional_mean_matches_at_optimum(data):
    d = data.draw(st.integers(1, 3))
    v = data.draw(st.integers(d + 2, 7))
    n = data.draw(st.integers(1, 4))
    phi = data.draw(hnp.arrays(np.float64, (d, v), elements=S.EMBEDDING))  # repeated entries allowed
    p_star = data.draw(S.simplex_rows(n, v, S.SHARP_LOGIT))  # probabilities down to ~1e-300
    opt = theory.softmax_optimum(phi, p_star)
    assert np.all(opt.residual < CONDITIONAL_MEAN_ATOL)
    np.testing.assert_allclose(opt.probs @ phi.T, p_star @ phi.T, atol=CONDITIONAL_MEAN_ATOL)
    # ℓ_s(θ*) = KL(P*‖p_θ*) + H(P*), computed independently of the solver's loss; both sides are sums of
    # terms as large as θ*ᵀφ_w, so rounding scales with ‖θ*‖₁·max|Φ|
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.sum(np.where(p_star > 0, p_star * np.log(p_star), 0.0), axis=1)
    scale = 1.0 + np.abs(opt.theta).sum(axis=1) * np.abs(phi).max()
    with np.errstate(divide="ignore"):
        log_p, log_opt = np.log(p_star), log_softmax(opt.theta @ phi, axis=-1)  # p_θ* may underflow: use logs
    kl = np.array([theory.expected_kl_log(log_p[s : s + 1], log_opt[s : s + 1], [1.0]) for s in range(n)])
    assert np.all(np.abs(opt.losses - kl - entropy) <= 1e-10 * scale)


def test_optimum_differs_from_p_star_when_d_below_v():
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(2, 6))
    p_star = rng.dirichlet(np.ones(6), size=3)
    opt = theory.softmax_optimum(phi, p_star, weights=[0.2, 0.3, 0.5])
    assert np.all(theory.kl_divergence(p_star, opt.probs) > 1e-3)
    assert np.all(opt.residual < CONDITIONAL_MEAN_ATOL)
    assert opt.ell_star == pytest.approx(np.dot([0.2, 0.3, 0.5], opt.losses))
    # independent optimiser on the same convex loss
    for s in range(3):
        target = phi @ p_star[s]
        res = minimize(lambda th, t=target: logsumexp(th @ phi) - th @ t, np.zeros(2), method="BFGS", tol=1e-12)
        assert res.fun == pytest.approx(opt.losses[s], abs=1e-9)


def test_optimum_with_logit_shift_direction():
    # A constant row makes the Hessian singular; least squares must cope.
    rng = np.random.default_rng(1)
    phi = np.vstack([rng.normal(size=(2, 5)), np.ones((1, 5))])
    p_star = rng.dirichlet(np.ones(5), size=2)
    assert np.all(theory.softmax_optimum(phi, p_star).residual < CONDITIONAL_MEAN_ATOL)


@given(st.data())
def test_row_space_smoothness_holds_for_row_space_directions(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    d, v = 3, 7
    phi = rng.normal(size=(d, v))
    p_star = rng.dirichlet(np.ones(v), size=1)
    opt = theory.softmax_optimum(phi, p_star)
    lam = rng.normal(size=d)
    vec = phi.T @ lam
    theta = opt.theta[0] + rng.normal(size=d) * data.draw(st.floats(0.01, 3.0))
    p_theta = softmax(phi.T @ theta)
    gap = theory.log_partition(phi, theta) - theta @ phi @ p_star[0] - opt.losses[0]
    lhs = (vec @ (p_theta - p_star[0])) ** 2
    assert lhs <= 2 * np.max(np.abs(vec)) ** 2 * gap + INEQUALITY_SLACK


def test_row_space_smoothness_fails_outside_row_space():
    rng = np.random.default_rng(4)
    phi = rng.normal(size=(2, 6))
    p_star = rng.dirichlet(np.ones(6), size=1)
    opt = theory.softmax_optimum(phi, p_star)
    # p_θ* − P* is orthogonal to the row space of Φ (R3), so it is the
    # direction that R4 cannot see: its lhs is > 0 while the gap is 0.
    vec = opt.probs[0] - p_star[0]
    assert np.abs(phi @ vec).max() < 1e-9
    theta = opt.theta[0]
    gap = theory.log_partition(phi, theta) - theta @ phi @ p_star[0] - opt.losses[0]  # 0 at the optimum
    lhs = (vec @ (opt.probs[0] - p_star[0])) ** 2
    rhs = 2 * np.max(np.abs(vec)) ** 2 * gap
    assert abs(gap) < 1e-12 and lhs > rhs + 1e-6


def test_log_partition_stable_and_correct():
    rng = np.random.default_rng(5)
    phi = rng.normal(size=(3, 10))
    th = rng.normal(size=(4, 3))
    np.testing.assert_allclose(theory.log_partition(phi, th), np.log(np.exp(th @ phi).sum(-1)), rtol=1e-12)
    assert np.isfinite(theory.log_partition(phi, 1e4 * th[0]))


def _gaussian_error(v, radius, seed):
    rng = np.random.default_rng(seed)
    d = 4
    phi = rng.normal(size=(d, v)) / np.sqrt(d)
    dirs = rng.normal(size=(8, d))
    th = radius * dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    g = theory.gaussian_log_partition(phi, th)
    return np.mean(np.abs(g.approx - theory.log_partition(phi, th)))


def test_gaussian_approximation_improves_with_vocabulary():
    errs = [np.mean([_gaussian_error(v, 1.0, s) for s in range(5)]) for v in (100, 1000, 10000, 100000)]
    assert np.all(np.diff(errs) < 0), errs


def test_gaussian_approximation_worsens_with_theta_norm():
    errs = [np.mean([_gaussian_error(5000, r, s) for s in range(5)]) for r in (0.25, 1.0, 2.0, 4.0)]
    assert np.all(np.diff(errs) > 0), errs


def test_quadratic_fit_recovers_gaussian_moments_and_small_delta():
    rng = np.random.default_rng(6)
    d, v = 3, 50000
    phi = rng.normal(size=(d, v)) / np.sqrt(d)
    th = rng.normal(size=(200, d)) * 0.3
    fit = theory.fit_quadratic_log_partition(phi, th)
    g = theory.gaussian_log_partition(phi)
    assert fit.r2 > 0.999
    np.testing.assert_allclose(fit.A, g.sigma, atol=0.05)
    np.testing.assert_allclose(fit.b, g.mu, atol=0.02)
    assert fit.c == pytest.approx(np.log(v), abs=0.01)
    assert fit.delta < 0.05
    # delta is the gradient mismatch, measured independently here
    grads = softmax(th @ phi, axis=-1) @ phi.T
    assert fit.delta == pytest.approx(np.max(np.linalg.norm(grads - th @ fit.A - fit.b, axis=1)))


def test_quadratic_fit_exact_on_two_word_vocab_near_zero():
    # sanity: exactly quadratic data is fitted with zero residual
    phi = np.array([[1.0, -1.0]])
    th = np.linspace(-1e-3, 1e-3, 7)[:, None]
    fit = theory.fit_quadratic_log_partition(phi, th)
    assert fit.max_abs_residual < 1e-12 and fit.A[0, 0] == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: theory.log_partition(np.ones((2, 3)), np.ones(3)), "last dimension d = 2"),
        (lambda: theory.softmax_optimum(np.ones((2, 3)), np.full((1, 4), 0.25)), "V = 3 columns"),
        (
            lambda: theory.fit_quadratic_log_partition(np.ones((2, 3)), np.ones((3, 2))),
            "at least 6 rows",
        ),
        (lambda: theory.gaussian_log_partition(np.ones(3)), "Phi must have 2 dimensions"),
        (
            lambda: theory.softmax_optimum(np.ones((1, 2)), [[0.5, 0.5]], weights=[0.3]),
            "rows must sum to 1",
        ),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_softmax_optimum_boundary_case_approaches_infimum():
    # P* with zeros that Φ can express: the infimum of ℓ_s (here 0) is only
    # approached as θ → −∞; Newton follows it until the gradient is negligible.
    phi = np.array([[1.0, 0.0, -1.0]])
    opt = theory.softmax_optimum(phi, [[0.0, 0.0, 1.0]])
    assert opt.theta[0, 0] < -20 and opt.losses[0] == pytest.approx(0.0, abs=1e-9)
    assert opt.residual[0] < CONDITIONAL_MEAN_ATOL


@settings(max_examples=100)  # two Newton solves per example: 100 keep the suite fast, the fuzz profile does more
@given(st.data())
def test_softmax_split_is_pythagorean(data):
    d = data.draw(st.integers(1, 3))
    v = data.draw(st.integers(d + 2, 7))
    n = data.draw(st.integers(1, 4))
    phi = data.draw(hnp.arrays(np.float64, (d, v), elements=S.EMBEDDING))
    p_star = data.draw(S.simplex_rows(n, v))
    F = data.draw(hnp.arrays(np.float64, (n, d), elements=st.floats(-5.0, 5.0)))
    w = data.draw(S.weights(n, zeros=False))
    split = theory.softmax_split(phi, p_star, F, w)
    # three separately computed KLs: ε = ε_Φ + ε*_Φ
    assert split.eps == pytest.approx(split.eps_phi + split.eps_phi_star, rel=1e-8, abs=1e-12)
    # and ε_Φ is the cross-entropy gap to the best model with this Φ, computed independently
    opt = theory.softmax_optimum(phi, p_star, w)
    xent_f = np.sum(w * (logsumexp(F @ phi, axis=-1) - np.sum(F * (p_star @ phi.T), axis=-1)))
    assert split.eps_phi == pytest.approx(xent_f - opt.ell_star, rel=1e-7, abs=1e-9)


def test_softmax_split_of_a_well_specified_world_has_no_bottleneck_price():
    rng = np.random.default_rng(8)
    phi = rng.normal(size=(3, 9))
    theta = rng.normal(size=(5, 3))
    p_star = softmax(theta @ phi, axis=-1)
    split = theory.softmax_split(phi, p_star, theta + 0.1, np.full(5, 0.2))
    assert split.eps_phi_star < 1e-14 and split.eps_phi == pytest.approx(split.eps, rel=1e-9)


def test_gradient_map_is_exact_on_linear_gradients_and_measures_delta():
    rng = np.random.default_rng(9)
    phi = np.array([[1.0, -1.0]])  # log Z_θ = log(2 cosh θ): nearly quadratic near 0
    th = np.linspace(-1e-3, 1e-3, 9)[:, None]
    fit = theory.fit_gradient_map(phi, th)
    assert fit.delta_max < 1e-9 and fit.A[0, 0] == pytest.approx(1.0, rel=1e-5)
    # a wide range of θ: the residual is what an independent least-squares fit leaves
    phi = rng.normal(size=(2, 40))
    th = rng.normal(size=(50, 2)) * 2
    w = rng.dirichlet(np.ones(50))
    fit = theory.fit_gradient_map(phi, th, w)
    grads = softmax(th @ phi, axis=-1) @ phi.T
    X = np.hstack([th, np.ones((50, 1))])
    coef = np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (w[:, None] * grads))
    np.testing.assert_allclose(fit.A, coef[:2].T, atol=1e-10)
    resid = np.linalg.norm(grads - X @ coef, axis=1)
    assert fit.delta_max == pytest.approx(resid.max(), rel=1e-8)
    assert fit.delta_mean == pytest.approx(np.sum(w * resid), rel=1e-8)
    with pytest.raises(ValueError, match="at least d \\+ 1 = 3 points"):
        theory.fit_gradient_map(phi, th[:2])


def test_gradient_map_ignores_offsets_and_the_rounding_of_a_constant_coordinate():
    """δ of the same points: shifted by 1000 (centring keeps their spread), and beside a coordinate fixed at 1 that
    carries only its rounding (it joins the constant: scaled up to a unit column, rounding would be fitted)."""
    rng = np.random.default_rng(11)
    phi = rng.normal(size=(3, 30))
    th = rng.normal(size=(40, 2))
    w = rng.dirichlet(np.ones(40))
    const = 1.0 + rng.choice([-1.0, 0.0, 1.0], size=40) * np.finfo(float).eps  # 1 to its last bit
    with_const = np.hstack([th, const[:, None]])
    grads = softmax(with_const @ phi, axis=-1) @ phi.T
    X = np.hstack([th, np.ones((40, 1))])  # the independent fit: normal equations on the varying coordinates
    coef = np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (w[:, None] * grads))
    want = np.sum(w * np.linalg.norm(grads - X @ coef, axis=1))
    assert theory.fit_gradient_map(phi, with_const, w).delta_mean == pytest.approx(want, rel=1e-9)
    shifted = with_const + np.array([1000.0, -1000.0, 0.0])
    shifted_phi = theory.fit_gradient_map(phi, shifted, w)
    grads_shifted = softmax(shifted @ phi, axis=-1) @ phi.T
    Xs = np.hstack([shifted[:, :2], np.ones((40, 1))])
    coef_s = np.linalg.lstsq(np.sqrt(w)[:, None] * Xs, np.sqrt(w)[:, None] * grads_shifted, rcond=None)[0]
    assert shifted_phi.delta_mean == pytest.approx(np.sum(w * np.linalg.norm(grads_shifted - Xs @ coef_s, axis=1)),
                                                   rel=1e-6)  # fmt: skip


def test_softmax_optimum_started_at_the_optimum_stays_there():
    rng = np.random.default_rng(10)
    phi = rng.normal(size=(3, 20))
    theta = rng.normal(size=(6, 3))
    p_star = softmax(theta @ phi, axis=-1)  # well specified: θ is the optimum
    opt = theory.softmax_optimum(phi, p_star, init=theta)
    np.testing.assert_allclose(opt.theta, theta, atol=1e-9)
    cold = theory.softmax_optimum(phi, p_star)
    np.testing.assert_allclose(cold.probs, opt.probs, atol=1e-12)
    with pytest.raises(ValueError, match="init must have shape"):
        theory.softmax_optimum(phi, p_star, init=theta[:2])


def test_constant_embeddings_leave_only_rounding():
    # every word alike: no direction moves a logit, θ* = 0, and Φ(p − P*) is rounding only (found by hypothesis)
    p_star = np.exp(log_softmax(np.array([[0.0, 1.0, 1.0]]), axis=-1))
    opt = theory.softmax_optimum(np.array([[0.003, 0.003, 0.003]]), p_star)
    assert opt.residual[0] < CONDITIONAL_MEAN_ATOL and np.all(opt.theta == 0)
