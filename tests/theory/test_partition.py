"""(R6) how close log Z_θ is to quadratic: `partition_fit` against independent computations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import logsumexp
from sklearn.linear_model import LinearRegression

import theory
from tests import strategies as S


def _numerical_gradients(phi, thetas, h=1e-5):
    """∇ log Z_θ by central differences of SciPy's logsumexp (no softmax, no Φp_θ formula)."""
    d = phi.shape[0]
    out = np.empty_like(thetas)
    for j in range(d):
        e = np.zeros(d)
        e[j] = h
        out[:, j] = (logsumexp((thetas + e) @ phi, axis=1) - logsumexp((thetas - e) @ phi, axis=1)) / (2 * h)
    return out


@settings(max_examples=60)
@given(st.data())
def test_gradient_fit_matches_sklearn_on_finite_difference_gradients(data):
    d = data.draw(st.integers(1, 3))
    v = data.draw(st.integers(2, 8))
    n = data.draw(st.integers(d + 2, 12))
    phi = data.draw(hnp.arrays(np.float64, (d, v), elements=S.EMBEDDING))
    thetas = data.draw(hnp.arrays(np.float64, (n, d), elements=st.integers(-2000, 2000).map(lambda k: k / 1000)))
    w = np.array(data.draw(st.lists(st.floats(0.1, 1.0), min_size=n, max_size=n)))
    w = w / w.sum()
    if np.linalg.matrix_rank(np.hstack([thetas, np.ones((n, 1))])) < d + 1:
        with pytest.raises(ValueError, match="not determined"):
            theory.partition_fit(phi, thetas, w)
        return
    fit = theory.partition_fit(phi, thetas, w)
    grads = _numerical_gradients(phi, thetas)
    reg = LinearRegression().fit(thetas, grads, sample_weight=w)
    resid = np.linalg.norm(grads - reg.predict(thetas), axis=1)
    # the least-squares residual is unique even when the design is rank deficient
    assert fit.delta_max == pytest.approx(resid.max(), abs=1e-6)
    assert fit.delta_mean == pytest.approx(np.sum(w * resid), abs=1e-6)
    mu = phi.mean(axis=1)
    assert fit.grad_scale == pytest.approx(np.sum(w * np.linalg.norm(grads - mu, axis=1)), abs=1e-6)


@settings(max_examples=40)
@given(st.data())
def test_held_out_scores_the_map_fitted_elsewhere_against_sklearn(data):
    d = data.draw(st.integers(1, 3))
    v = data.draw(st.integers(3, 8))
    phi = data.draw(hnp.arrays(np.float64, (d, v), elements=S.EMBEDDING))
    grid = st.integers(-2000, 2000).map(lambda k: k / 1000)
    fit_at = data.draw(hnp.arrays(np.float64, (d + 1 + data.draw(st.integers(0, 4)), d), elements=grid))
    test_at = data.draw(hnp.arrays(np.float64, (data.draw(st.integers(1, 6)), d), elements=grid))
    if np.linalg.matrix_rank(np.hstack([fit_at, np.ones((fit_at.shape[0], 1))])) < d + 1:
        return
    fit = theory.partition_fit(phi, fit_at, held_out=test_at)
    reg = LinearRegression().fit(fit_at, _numerical_gradients(phi, fit_at))
    resid = np.linalg.norm(_numerical_gradients(phi, test_at) - reg.predict(test_at), axis=1)
    assert fit.delta_max == pytest.approx(resid.max(), abs=1e-6)
    assert fit.delta_mean == pytest.approx(resid.mean(), abs=1e-6)
    assert fit.logit_std == pytest.approx(np.mean(np.std(test_at @ phi, axis=1)), rel=1e-9)


def test_folds_score_every_point_by_a_map_fitted_without_it_against_sklearn():
    from sklearn.model_selection import KFold, cross_val_predict

    rng = np.random.default_rng(4)
    phi, thetas = rng.normal(size=(3, 60)) / 2, rng.normal(size=(23, 3))
    fit = theory.partition_fit(phi, thetas, folds=5)
    grads = _numerical_gradients(phi, thetas)
    predicted = cross_val_predict(LinearRegression(), thetas, grads, cv=KFold(5))  # contiguous folds, as ours
    resid = np.linalg.norm(grads - predicted, axis=1)
    assert fit.delta_max == pytest.approx(resid.max(), abs=1e-6)
    assert fit.delta_mean == pytest.approx(resid.mean(), abs=1e-6)
    assert fit.rel_delta > theory.partition_fit(phi, thetas).rel_delta  # out of sample is worse than in sample
    with pytest.raises(ValueError, match="folds must be"):
        theory.partition_fit(phi, thetas, folds=1)
    with pytest.raises(ValueError, match="do not determine"):
        theory.partition_fit(phi, thetas[:5], folds=3)


def test_a_map_through_d_plus_one_points_is_exact_there_and_not_between():
    rng = np.random.default_rng(3)
    phi = rng.normal(size=(4, 300)) / 2
    fit_at, test_at = rng.normal(size=(5, 4)), rng.normal(size=(40, 4))
    in_sample = theory.partition_fit(phi, fit_at)
    held = theory.partition_fit(phi, fit_at, held_out=test_at)
    assert in_sample.delta_max < 1e-12 < 1e-2 < held.rel_delta
    same = theory.partition_fit(phi, test_at, held_out=test_at)  # held out on its own points: the in-sample numbers
    assert same.rel_delta == pytest.approx(theory.partition_fit(phi, test_at).rel_delta, rel=1e-12)


def test_errors_of_both_forms_against_brute_force():
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(2, 40))
    thetas = rng.normal(size=(30, 2)) * 0.7
    fit = theory.partition_fit(phi, thetas)
    log_z = np.array([np.log(sum(np.exp(t @ phi[:, w]) for w in range(40))) for t in thetas])
    mu = phi.mean(axis=1)
    cov = np.cov(phi, bias=True)
    gauss = np.log(40) + thetas @ mu + 0.5 * np.einsum("ni,ij,nj->n", thetas, cov, thetas)
    curvature = np.mean(np.abs(log_z - np.log(40) - thetas @ mu))
    assert fit.gauss_rel_err == pytest.approx(np.mean(np.abs(log_z - gauss)) / curvature, rel=1e-9)
    # the quadratic integrated from the gradient map: ½θᵀ sym(A) θ + cᵀθ + k, k by least squares
    a = 0.5 * (fit.A + fit.A.T)
    q = 0.5 * np.einsum("ni,ij,nj->n", thetas, a, thetas) + thetas @ fit.c
    k = np.mean(log_z - q)
    assert fit.quad_rel_err == pytest.approx(np.mean(np.abs(log_z - q - k)) / curvature, rel=1e-9)
    grads = _numerical_gradients(phi, thetas)
    g_resid = np.linalg.norm(grads - mu - thetas @ cov, axis=1)
    assert fit.gauss_delta_mean == pytest.approx(np.mean(g_resid), abs=1e-6)
    assert fit.logit_std == pytest.approx(np.mean(np.std(thetas @ phi, axis=1)), rel=1e-12)


def test_chunks_change_nothing():
    rng = np.random.default_rng(1)
    phi, thetas = rng.normal(size=(3, 500)), rng.normal(size=(50, 3))
    whole = theory.partition_fit(phi, thetas)
    chunked = theory.partition_fit(phi, thetas, chunk_entries=1000)  # 2 θ's per chunk
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@settings(max_examples=40)
@given(st.data())
def test_quadratic_is_local_relative_delta_vanishes_near_zero(data):
    # log Z_θ = log V + θᵀμ + ½θᵀΣθ + O(‖θ‖³): the gradient map's relative error is O(‖θ‖)
    d = data.draw(st.integers(1, 3))
    v = data.draw(st.integers(3, 10))
    phi = data.draw(hnp.arrays(np.float64, (d, v), elements=S.EMBEDDING))
    if np.linalg.matrix_rank(phi - phi.mean(axis=1, keepdims=True)) < d:
        return  # a direction that moves no logit: no gradient to fit along it
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    u = rng.normal(size=(4 * d + 4, d))
    scale = np.std(u @ phi, axis=1).mean()
    big = theory.partition_fit(phi, 0.1 * u / scale)
    small = theory.partition_fit(phi, 0.001 * u / scale)
    assert small.rel_delta <= 0.05 * big.rel_delta + 1e-7


def test_gaussian_form_error_falls_like_one_over_root_v():
    # i.i.d. Gaussian embeddings: the mean of exp(θᵀφ) over V words has relative spread ~ 1/√V
    rng = np.random.default_rng(2)
    d, errs = 4, []
    for v in (300, 3000, 30000):
        e = []
        for _ in range(6):
            phi = rng.normal(size=(d, v)) / np.sqrt(d)
            u = rng.normal(size=(40, d))
            e.append(theory.partition_fit(phi, u / np.std(u @ phi, axis=1, keepdims=True)).gauss_rel_err)
        errs.append(np.mean(e))
    slope = np.polyfit(np.log([300, 3000, 30000]), np.log(errs), 1)[0]
    assert -0.7 < slope < -0.3


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: theory.partition_fit(np.ones((2, 3)), np.ones((4, 3))), "d = 2 columns"),
        (lambda: theory.partition_fit(np.ones((2, 3)), np.ones((2, 2))), "at least d \\+ 1 = 3"),
        (lambda: theory.partition_fit([[np.nan, 1.0]], np.ones((3, 1))), "Phi"),
        (lambda: theory.partition_fit(np.ones((1, 3)), np.ones((3, 1)), [0.5, 0.5]), "length 3"),
        (lambda: theory.partition_fit(np.ones((1, 3)), np.ones((3, 1)), chunk_entries=0), "chunk_entries"),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bias_against_brute_force():
    rng = np.random.default_rng(3)
    phi, b = rng.normal(size=(2, 50)), -np.log(1.0 + rng.permutation(50))
    thetas = rng.normal(size=(25, 2))
    fit = theory.partition_fit(phi, thetas, bias=b)
    log_z = np.array([np.log(sum(np.exp(t @ phi[:, w] + b[w]) for w in range(50))) for t in thetas])
    p0 = np.exp(b) / np.exp(b).sum()
    mu = phi @ p0
    cov = np.cov(phi, aweights=p0, bias=True)
    curvature = np.mean(np.abs(log_z - np.log(np.exp(b).sum()) - thetas @ mu))
    gauss = np.log(np.exp(b).sum()) + thetas @ mu + 0.5 * np.einsum("ni,ij,nj->n", thetas, cov, thetas)
    assert fit.gauss_rel_err == pytest.approx(np.mean(np.abs(log_z - gauss)) / curvature, rel=1e-9)
    assert fit.logit_std == pytest.approx(np.mean(np.std(thetas @ phi, axis=1)), rel=1e-12)


def test_undetermined_maps_and_overflow_are_refused():
    phi = np.random.default_rng(4).normal(size=(3, 20))
    with pytest.raises(ValueError, match="span 1 of the d \\+ 1 = 4"):
        theory.partition_fit(phi, np.ones((10, 3)))  # one θ repeated
    with pytest.raises(ValueError, match="overflow"):
        theory.partition_fit(phi, np.random.default_rng(5).normal(size=(10, 3)) * 1e306)
