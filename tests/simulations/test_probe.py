"""Probes on the exact population loss, against scikit-learn and an independent SciPy solver."""

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

import simulations as sim
import theory
from tests.tolerances import PROBE_LOSS_ATOL


def _problem(seed, n=80, k=6):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(n, k))
    w = rng.normal(size=k)
    eta = 1 / (1 + np.exp(-(3 * g @ w + 0.3)))
    p_T = rng.dirichlet(np.ones(n))
    return g, p_T, eta


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_l2_probe_matches_sklearn(seed):
    g, p_T, eta = _problem(seed)
    ridge = 1e-2
    fit = sim.fit_probe(g, p_T, eta, l2=ridge)
    assert fit.converged
    # Same objective as weighted logistic regression on standardised
    # features (p_T-weighted mean m and std c): each context appears once per
    # label with weight p_T·η and p_T·(1−η); C = 1/λ; the ridge is on c·v.
    m = p_T @ g
    c = np.sqrt(p_T @ g**2 - m**2)
    X = np.vstack([(g - m) / c, (g - m) / c])
    y = np.r_[np.ones(len(g)), np.zeros(len(g))]
    sw = np.r_[p_T * eta, p_T * (1 - eta)]
    clf = LogisticRegression(C=1 / ridge, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    clf.fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(fit.v * c, clf.coef_[0], atol=1e-5)
    assert fit.b == pytest.approx(clf.intercept_[0] - m @ fit.v, abs=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_box_probe_matches_independent_solver(seed):
    g, p_T, eta = _problem(seed)
    B = 0.5  # binding: the unconstrained optimum is near 3·w
    fit = sim.fit_probe(g, p_T, eta, box=B)
    assert fit.converged and np.max(np.abs(fit.v)) <= B + 1e-12
    assert np.sum(np.isclose(np.abs(fit.v), B)) >= 1

    def fun(x):
        z = g @ x[:-1] + x[-1]
        return np.sum(p_T * (eta * np.logaddexp(0, -z) + (1 - eta) * np.logaddexp(0, z)))

    ref = minimize(
        fun,
        np.zeros(g.shape[1] + 1),
        method="SLSQP",
        bounds=[(-B, B)] * g.shape[1] + [(None, None)],
        options=dict(ftol=1e-14, maxiter=1000),
    )
    assert fit.loss == pytest.approx(ref.fun, abs=PROBE_LOSS_ATOL)
    assert fit.loss <= ref.fun + 1e-10


def test_vocab_dim_probe_on_simplex_features(small):
    world, task = small.world, small.task
    fit = sim.fit_probe(world.p_star, task.p_T, task.eta, box=task.B, init=(task.v, task.b))
    assert fit.converged and fit.loss <= task.tau_planted + 1e-12 and fit.gap <= sim.GAP_TOL


def test_probe_rejects_bad_input():
    g, p_T, eta = _problem(0)
    with pytest.raises(ValueError, match="features must be"):
        sim.fit_probe(g[:5], p_T, eta)
    with pytest.raises(ValueError, match="box must be > 0"):
        sim.fit_probe(g, p_T, eta, box=0.0)
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        sim.fit_probe(g, p_T, eta, l2=-1.0)


def _loss(g, p_T, eta, v, b):
    z = g @ v + b
    return np.sum(p_T * (eta * np.logaddexp(0, -z) + (1 - eta) * np.logaddexp(0, z)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_polytope_probe_matches_an_independent_solver_and_its_certificate_holds(seed):
    rng = np.random.default_rng(seed)
    d, V, N, B = 3, 12, 40, 1.0
    phi = rng.normal(size=(d, V))
    q = rng.dirichlet(np.full(V, 0.5), size=N)
    p_T = rng.dirichlet(np.ones(N))
    eta = 1 / (1 + np.exp(-(q @ phi.T @ (3 * rng.normal(size=d)))))
    fit = sim.fit_polytope_probe(q, phi, p_T, eta, B)
    assert fit.converged and np.abs(phi.T @ fit.v).max() <= B * (1 + 1e-9)  # in the class ‖Φᵀλ‖∞ <= B
    G = q @ phi.T
    ref = minimize(
        lambda x: _loss(G, p_T, eta, x[:-1], x[-1]),
        np.zeros(d + 1),
        method="SLSQP",
        constraints=[
            dict(type="ineq", fun=lambda x: B - phi.T @ x[:-1]),
            dict(type="ineq", fun=lambda x: B + phi.T @ x[:-1]),
        ],
        options=dict(ftol=1e-15, maxiter=2000),
    )
    assert fit.loss == pytest.approx(ref.fun, abs=PROBE_LOSS_ATOL)
    # the certificate bounds the distance to the optimum; SLSQP may step outside the polytope by a hair, and
    # scaling it back inside moves each margin, hence the 1-Lipschitz loss, by at most that much
    outside = max(np.abs(phi.T @ ref.x[:-1]).max() - B, 0.0)
    assert fit.loss - fit.gap <= ref.fun + outside + 1e-13


def test_box_certificate_bounds_the_distance_to_the_optimum_even_when_stopped_early():
    g, p_T, eta = _problem(3)
    best = sim.fit_probe(g, p_T, eta, box=0.5)
    early = sim.fit_probe(g, p_T, eta, box=0.5, max_iter=1)  # 8 restarts of one iteration each
    assert best.converged and best.gap <= sim.GAP_TOL
    assert not early.converged and early.gap > 1e3 * sim.GAP_TOL
    assert early.objective - best.objective <= early.gap + 1e-12  # valid when unconverged, too


def test_unconstrained_class_has_no_certificate():
    g, p_T, eta = _problem(4)
    fit = sim.fit_probe(g, p_T, eta)
    assert np.isnan(fit.gap)


@pytest.mark.parametrize("kw", [dict(l2=1e-2), dict(box=0.5)])
def test_the_fitted_bias_is_the_best_bias_for_the_fitted_weights(kw):
    """The solver stops on the weights' certificate and then sets the free bias by a 1-D Newton; SciPy's
    bounded scalar search over b, with the weights fixed, finds no better bias."""
    from scipy.optimize import minimize_scalar

    import theory

    g, p_T, eta = _problem(7, n=200, k=12)
    fit = sim.fit_probe(g, p_T, eta, **kw)
    assert fit.converged
    res = minimize_scalar(lambda b: theory.probe_loss(g, fit.v, b, p_T, eta), bracket=(fit.b - 1, fit.b + 1),
                          tol=1e-12)  # fmt: skip
    assert fit.loss <= res.fun + 1e-14
    assert fit.b == pytest.approx(res.x, abs=1e-6)


def test_labels_all_of_one_class_get_no_certificate():
    """Every η = 1: the loss's infimum is approached as b → ∞ and never attained, so no fit is certified,
    even where the bias step makes the computed ∂ℓ/∂b round to 0."""
    g, p_T, _ = _problem(3)
    fit = sim.fit_probe(g, p_T, np.ones(len(g)), box=1.0)
    assert fit.gap == np.inf and not fit.converged


def test_the_multiclass_certificate_covers_a_bias_far_from_optimal():
    """The certificate of a K-class probe whose weights are optimal but whose bias is far off must exceed its
    true suboptimality, found by an independent fit (SciPy L-BFGS-B on the raw features, box on W, free b)."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(4)
    n, v, k, box = 40, 6, 3, 2.0
    g = rng.dirichlet(np.ones(v), size=n)
    eta = rng.dirichlet(np.ones(k), size=n)
    p_T = np.full(n, 1 / n)
    fit = sim.fit_multiclass_probe(g, p_T, eta, box=box)
    assert fit.converged and fit.gap <= sim.MULTI_GAP_TOL

    def loss(x):
        W, b = x[: k * v].reshape(k, v), x[k * v :]
        return theory.multiclass_probe_loss(g, W, b, p_T, eta)

    best = min(
        minimize(loss, rng.uniform(-box, box, size=k * v + k), method="L-BFGS-B",
                 bounds=[(-box, box)] * (k * v) + [(None, None)] * k, options=dict(ftol=1e-15, gtol=1e-12)).fun
        for _ in range(4)
    )  # fmt: skip
    assert fit.loss <= best + 1e-7  # ours is as good as an independent solver's best
    for shift in (np.array([3.0, -1.0, 0.0]), np.array([-8.0, 4.0, 1.0])):
        b = fit.b + shift
        true_gap = theory.multiclass_probe_loss(g, fit.W, b, p_T, eta) - best
        gap = sim.multiclass_certificate(g, p_T, eta, fit.W, b, box)
        assert gap >= true_gap > 0.01, (gap, true_gap)
    one_class_never = eta.copy()
    one_class_never[:, 2] = 0
    one_class_never /= one_class_never.sum(axis=1, keepdims=True)
    assert sim.multiclass_certificate(g, p_T, one_class_never, fit.W, fit.b, box) == np.inf
