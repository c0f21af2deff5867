"""(R1): KL, expected KL = excess cross-entropy, Pinsker."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.special import log_softmax, rel_entr

import theory
from tests import strategies as S
from tests.tolerances import CLOSED_FORM_ATOL, CLOSED_FORM_RTOL, INEQUALITY_SLACK, KL_ULPS

UNIFORM = (np.full((1, 4), 0.25), np.full((1, 4), 0.25))
ONE_HOT = (np.array([[1.0, 0.0, 0.0]]), np.array([[0.5, 0.25, 0.25]]))
TWO_POINT = (np.array([[0.9, 0.1]]), np.array([[0.5, 0.5]]))


@given(S.nested_pair())
@example(UNIFORM)
@example(ONE_HOT)
@example(TWO_POINT)
def test_kl_matches_scipy_rel_entr(pq):
    p, q = pq
    expected = rel_entr(p, q).sum(-1)
    np.testing.assert_allclose(theory.kl_divergence(p, q), expected, rtol=CLOSED_FORM_RTOL, atol=CLOSED_FORM_ATOL)


@given(S.nested_pair())
def test_kl_nonnegative_and_zero_iff_equal(pq):
    p, q = pq
    kl = theory.kl_divergence(p, q)
    assert np.all(kl >= 0)
    assert np.all(theory.kl_divergence(p, p) == 0)
    differs = np.abs(p - q).sum(-1) > 1e-6
    assert np.all(kl[differs] > 0)


def _kl_50_digits(p_row, q_row):
    """KL of the float inputs in 50-digit arithmetic (an independent computation), and |Σq − Σp|.

    Float rows sum to 1 only up to rounding; Σ p·log(p/q) and the generalised
    form Σ [p·log(p/q) − p + q] then differ by Σq − Σp (a few 1e-17).
    """
    with mpmath.workdps(50):
        kl = sum(
            mpmath.mpf(a) * mpmath.log(mpmath.mpf(a) / mpmath.mpf(b))
            for a, b in zip(p_row, q_row, strict=True)
            if a > 0
        )
    gap = abs(sum(map(Fraction, q_row.tolist())) - sum(map(Fraction, p_row.tolist())))  # exact
    return float(kl), float(gap)


@given(S.nested_pair())
@example(TWO_POINT)
@example((np.array([[0.5, 0.5]]), np.array([[1.0 - 1e-17, 1e-17]])))
@example((np.array([[0.5, 0.5]]), np.array([[1.0, 5e-324]])))
@example((np.array([[1.0, 1e-300]]), np.array([[1e-320, 1.0]])))
def test_kl_matches_50_digit_arithmetic(pq):
    p, q = pq
    ours = theory.kl_divergence(p, q)
    for row in range(p.shape[0]):
        exact, gap = _kl_50_digits(p[row], q[row])
        # each term p·(e^d − 1 − d) = (q − p) − p·d carries the rounding of its parts: a few ulps of |q − p| + p·|d|
        on = p[row] > 0
        scale = np.sum(np.abs(q[row] - p[row])) + np.sum(p[row][on] * np.abs(np.log(q[row][on]) - np.log(p[row][on])))
        assert np.isfinite(ours[row])
        # plus the rounding of this comparison itself
        tol = CLOSED_FORM_RTOL * abs(exact) + KL_ULPS * np.finfo(float).eps * (scale + abs(exact)) + gap
        assert abs(ours[row] - exact) <= tol


def test_kl_finite_for_every_representable_ratio():
    # q/p below 1e-16 used to round u = q/p − 1 to −1 and give +inf
    for tiny, expected in ((1e-17, 18.87882610988944), (1e-300, 344.69461676854695)):
        kl = theory.kl_divergence([0.5, 0.5], [1.0 - tiny, tiny])
        assert kl == pytest.approx(expected, rel=1e-14)
        assert kl == pytest.approx(rel_entr([0.5, 0.5], [1.0 - tiny, tiny]).sum(), rel=1e-14)


@given(S.nested_pair(), st.data())
def test_expected_kl_from_logs_matches_probabilities(pq, data):
    p, q = pq
    w = data.draw(S.weights(p.shape[0]))
    with np.errstate(divide="ignore"):
        lp, lq = np.log(p), np.log(q)
    a, b = theory.expected_kl(p, q, w), theory.expected_kl_log(lp, lq, w)
    assert b == pytest.approx(a, rel=1e-9, abs=1e-13)


@given(S.nested_pair())
@example(UNIFORM)
@example(ONE_HOT)
def test_kl_from_logs_per_row_matches_scipy(pq):
    p, q = pq
    with np.errstate(divide="ignore"):
        lp, lq = np.log(p), np.log(q)
    expected = rel_entr(p, q).sum(-1)
    np.testing.assert_allclose(theory.kl_divergence_log(lp, lq), expected, rtol=1e-9, atol=1e-13)


def test_kl_from_logs_per_row_stays_finite_where_probabilities_underflow():
    log_q = log_softmax(np.array([[0.0, -800.0], [0.0, 0.0]]), axis=-1)
    log_p = np.log(np.full((2, 2), 0.5))
    kl = theory.kl_divergence_log(log_p, log_q)
    assert kl[0] == pytest.approx(0.5 * (log_p[0, 0] - log_q[0, 0]) + 0.5 * (log_p[0, 1] - log_q[0, 1]), rel=1e-12)
    assert kl[1] == 0.0
    with pytest.raises(ValueError, match="log_q rows must be log-probabilities"):
        theory.kl_divergence_log(log_p, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="same shape|shape"):
        theory.kl_divergence_log(log_p, log_q[:1])


def test_expected_kl_log_stays_finite_where_probabilities_underflow():
    log_q = log_softmax(np.array([[0.0, -800.0]]), axis=-1)  # exp(−800) rounds to 0
    log_p = np.log(np.array([[0.5, 0.5]]))
    eps = theory.expected_kl_log(log_p, log_q, [1.0])
    assert eps == pytest.approx(0.5 * (log_p[0, 0] - log_q[0, 0]) + 0.5 * (log_p[0, 1] - log_q[0, 1]), rel=1e-12)
    assert np.isinf(theory.expected_kl(np.exp(log_p), np.exp(log_q), [1.0]))  # what the probabilities give
    with pytest.raises(ValueError, match="log_q rows must be log-probabilities"):
        theory.expected_kl_log(log_p, np.array([[0.0, 0.0]]), [1.0])
    with pytest.raises(ValueError, match="log_q contains NaN"):
        theory.expected_kl_log(log_p, np.array([[np.nan, 0.0]]), [1.0])


def test_kl_infinite_where_q_misses_support():
    p = np.array([[0.5, 0.5], [1.0, 0.0]])
    q = np.array([[1.0, 0.0], [0.5, 0.5]])
    kl = theory.kl_divergence(p, q)
    assert np.isinf(kl[0]) and kl[1] == pytest.approx(np.log(2))


def test_kl_keeps_relative_accuracy_near_equal_rows():
    # KL(p‖p e^{tu}/Z) = t²Var_p(u)/2 + O(t³): the naive Σ p log(p/q) loses all
    # digits at t = 1e-7, the stable form must not.
    p = np.array([0.1, 0.2, 0.3, 0.4])
    u = np.array([1.0, -1.0, 0.5, 0.0])
    t = 1e-7
    q = p * np.exp(t * u)
    q /= q.sum()
    var = p @ u**2 - (p @ u) ** 2
    assert theory.kl_divergence(p, q) == pytest.approx(t * t * var / 2, rel=1e-6)


@given(S.nested_pair(), st.data())
def test_excess_cross_entropy_equals_expected_kl(pq, data):
    p, q = pq
    w = data.draw(S.weights(p.shape[0]))
    with np.errstate(divide="ignore"):
        logq = np.where(p > 0, np.log(q), 0.0)
        logp = np.where(p > 0, np.log(p), 0.0)
    xent_q = -np.sum(w * np.sum(p * logq, -1))
    xent_opt = -np.sum(w * np.sum(p * logp, -1))
    assert theory.expected_kl(p, q, w) == pytest.approx(xent_q - xent_opt, rel=1e-9, abs=1e-12)


@given(S.nested_pair())
@example(ONE_HOT)
@example(TWO_POINT)
def test_pinsker(pq):
    p, q = pq
    l1 = np.abs(p - q).sum(-1)
    assert np.all(l1 <= theory.pinsker_bound(theory.kl_divergence(p, q)) + INEQUALITY_SLACK)
    np.testing.assert_allclose(theory.total_variation(p, q), l1 / 2, rtol=CLOSED_FORM_RTOL)


def test_pinsker_equality_approached_by_two_point():
    ratios = []
    for delta in [0.2, 0.05, 0.01, 0.001]:
        p = np.array([0.5 + delta, 0.5 - delta])
        q = np.array([0.5, 0.5])
        ratios.append(np.abs(p - q).sum() / theory.pinsker_bound(theory.kl_divergence(p, q)))
    assert np.all(np.diff(ratios) > 0) and ratios[-1] > 0.999999


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: theory.kl_divergence([[0.5, 0.6]], [[0.5, 0.5]]), "p rows must sum to 1"),
        (lambda: theory.kl_divergence([[0.5, 0.5]], [[1.5, -0.5]]), "q has negative"),
        (lambda: theory.kl_divergence([[0.5, 0.5]], [[1.0, 0.0, 0.0]]), "same shape"),
        (lambda: theory.kl_divergence([[np.nan, 1.0]], [[0.5, 0.5]]), "NaN"),
        (lambda: theory.kl_divergence("abc", [[0.5, 0.5]]), "numeric"),
        (lambda: theory.expected_kl([[0.5, 0.5]], [[0.5, 0.5]], [0.5, 0.5]), "length 1"),
        (lambda: theory.expected_kl([[0.5, 0.5]], [[0.5, 0.5]], [-1.0]), "negative"),
        (lambda: theory.pinsker_bound(-1e-3), "kl must be >= 0"),
        (lambda: theory.total_variation([0.5, 0.5], [0.2, 0.2]), "q rows must sum"),
    ],
)
def test_validation_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
