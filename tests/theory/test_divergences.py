"""(R1): KL, expected KL = excess cross-entropy, Pinsker."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.special import rel_entr

import theory
from tests import strategies as S
from tests.tolerances import CLOSED_FORM_ATOL, CLOSED_FORM_RTOL, INEQUALITY_SLACK

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
