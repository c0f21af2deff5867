"""(R10) the multi-class natural-task bound: each proof step, the whole bound, and why its constant is 2B."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import logsumexp, softmax
from sklearn.metrics import log_loss

import theory
from tests import strategies as S
from tests.tolerances import INEQUALITY_SLACK

SCORE = st.floats(-30.0, 30.0, allow_nan=False)


def test_context_loss_matches_sklearn_on_hard_labels():
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(50, 4)) * 3, rng.integers(0, 4, 50)
    eta = np.eye(4)[y]
    ours = theory.multiclass_context_loss(z, eta)
    assert ours.mean() == pytest.approx(log_loss(y, softmax(z, axis=1), labels=range(4)), rel=1e-12)


@given(st.data())
def test_context_loss_on_soft_labels_by_logsumexp(data):
    n, k = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 5))
    z = data.draw(hnp.arrays(np.float64, (n, k), elements=SCORE))
    eta = data.draw(S.simplex_rows(n, k))
    expected = np.array([logsumexp(z[i]) - eta[i] @ z[i] for i in range(n)])
    np.testing.assert_allclose(theory.multiclass_context_loss(z, eta), expected, rtol=1e-10, atol=1e-12)


@given(st.data())
def test_lipschitz_in_the_range_of_the_score_change(data):
    k = data.draw(st.integers(2, 5))
    z = data.draw(hnp.arrays(np.float64, (1, k), elements=SCORE))
    z2 = data.draw(hnp.arrays(np.float64, (1, k), elements=SCORE))
    eta = data.draw(S.simplex_rows(1, k))
    change = abs(theory.multiclass_context_loss(z, eta)[0] - theory.multiclass_context_loss(z2, eta)[0])
    assert change <= np.ptp(z - z2) * (1 + INEQUALITY_SLACK) + INEQUALITY_SLACK


@given(st.data())
def test_holder_step_range_of_w_times_delta(data):
    k, v = data.draw(st.integers(2, 4)), data.draw(st.integers(2, 6))
    B = data.draw(st.floats(0.1, 5.0))
    W = data.draw(hnp.arrays(np.float64, (k, v), elements=st.floats(-1.0, 1.0))) * B
    p, q = data.draw(S.simplex_rows(2, v))
    assert np.ptp(W @ (p - q)) <= 2 * B * np.abs(p - q).sum() * (1 + INEQUALITY_SLACK) + INEQUALITY_SLACK


@given(st.data())
def test_bound_holds_on_random_worlds(data):
    n, v, k = data.draw(st.integers(1, 5)), data.draw(st.integers(2, 6)), data.draw(st.integers(2, 4))
    p_star, q = data.draw(S.simplex_rows(n, v)), data.draw(S.simplex_rows(n, v))
    p_L, p_T = data.draw(S.nested_weights(n))
    eta = data.draw(S.simplex_rows(n, k))
    B = data.draw(st.floats(0.1, 5.0))
    W = data.draw(hnp.arrays(np.float64, (k, v), elements=st.floats(-1.0, 1.0))) * B
    b = data.draw(hnp.arrays(np.float64, k, elements=st.floats(-3.0, 3.0)))
    gamma = theory.transferability_ratio(p_L, p_T)  # min p_L/p_T, snapped to 1 within rounding
    eps = theory.expected_kl(p_star, q, p_L)
    tau = theory.multiclass_probe_loss(p_star, W, b, p_T, eta)
    loss = theory.multiclass_probe_loss(q, W, b, p_T, eta)
    assert loss <= theory.multiclass_task_bound(tau, B, eps, gamma) + INEQUALITY_SLACK


def _two_word_counterexample(delta: float):
    """Two classes, two words: W = B·[[1, −1], [−1, 1]], labels all on class 0 while the bias predicts class 1
    (so the loss moves at slope ≈ 1 in the score difference), P* = (½, ½), Q moved by δ."""
    B = 1.0
    W = B * np.array([[1.0, -1.0], [-1.0, 1.0]])
    p_star, q = np.array([[0.5, 0.5]]), np.array([[0.5 - delta, 0.5 + delta]])
    eta, p_T = np.array([[1.0, 0.0]]), np.array([1.0])
    b = np.array([-5.0, 5.0])
    tau = theory.multiclass_probe_loss(p_star, W, b, p_T, eta)
    loss = theory.multiclass_probe_loss(q, W, b, p_T, eta)
    return loss, tau, theory.expected_kl(p_star, q, p_T), B


def test_the_binary_constant_is_too_small_for_k_classes():
    # the score difference moves by 4Bδ while ‖P* − Q‖₁ = 2δ: the constant must be 2B, not B
    loss, tau, eps, B = _two_word_counterexample(0.05)
    assert loss > theory.natural_task_bound(tau, B, eps)  # τ + √(2B²ε): violated
    assert loss <= theory.multiclass_task_bound(tau, B, eps)  # τ + 2B√(2ε): holds
    assert (loss - tau) / (theory.multiclass_task_bound(tau, B, eps) - tau) > 0.9  # and nearly tight


def test_k2_with_half_weights_is_the_binary_bound():
    assert theory.multiclass_task_bound(0.2, 0.5, 1e-3, 0.5) == pytest.approx(
        theory.natural_task_bound(0.2, 1.0, 1e-3, 0.5)
    )


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: theory.multiclass_context_loss(np.ones((2, 3)), np.ones((2, 2)) / 2), "one column per class"),
        (lambda: theory.multiclass_context_loss(np.ones((2, 3)), [[1.0, 0, 0], [0.5, 0.6, 0]]), "sum to 1"),
        (
            lambda: theory.multiclass_probe_loss(np.ones((2, 3)), np.ones((2, 2)), np.ones(2), [0.5, 0.5], np.eye(2)),
            "K × D = K × 3",
        ),  # fmt: skip
        (lambda: theory.multiclass_task_bound(0.1, 1.0, -1e-3), "eps"),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- (R11) the residual-weighted multi-class bound -----------------------------------------------------------------


def _k_class_world(data, n_max=4, v_max=6, k_max=4):
    n, v, k = data.draw(st.integers(1, n_max)), data.draw(st.integers(2, v_max)), data.draw(st.integers(2, k_max))
    p_star, q = data.draw(S.simplex_rows(n, v)), data.draw(S.simplex_rows(n, v))
    p_L, p_T = data.draw(S.nested_weights(n))
    eta = data.draw(S.simplex_rows(n, k))
    B = data.draw(st.floats(0.1, 5.0))
    W = data.draw(hnp.arrays(np.float64, (k, v), elements=st.floats(-1.0, 1.0))) * B
    b = data.draw(hnp.arrays(np.float64, k, elements=st.floats(-3.0, 3.0)))
    gamma = theory.transferability_ratio(p_L, p_T)  # min p_L/p_T, snapped to 1 within rounding
    return p_star, q, p_L, p_T, eta, W, b, B, gamma


@given(st.data())
def test_residual_bound_holds_for_every_classifier_in_the_box(data):
    p_star, q, p_L, p_T, eta, W, b, B, gamma = _k_class_world(data)
    eps = theory.expected_kl(p_star, q, p_L)
    tau = theory.multiclass_probe_loss(p_star, W, b, p_T, eta)
    rho1 = theory.multiclass_residual(p_star, W, b, p_T, eta)
    bound = theory.multiclass_residual_bound(tau, rho1, B, eps, gamma)
    loss = theory.multiclass_probe_loss(q, W, b, p_T, eta)
    assert loss <= bound + INEQUALITY_SLACK
    assert bound <= theory.multiclass_task_bound(tau, B, eps, gamma) + 0.5 * B * B * 2 * eps / gamma + 1e-12


def test_the_first_order_part_alone_is_not_a_bound():
    # a Bayes-optimal probe (softmax(z) = η, so ρ₁ = 0): every change of Q costs at second order, above τ + 0
    W = np.array([[1.0, -1.0], [-1.0, 1.0]])
    p_star, q = np.array([[0.5, 0.5]]), np.array([[0.6, 0.4]])
    eta, p_T = softmax(p_star @ W.T, axis=1), np.array([1.0])
    b = np.zeros(2)
    rho1 = theory.multiclass_residual(p_star, W, b, p_T, eta)
    tau = theory.multiclass_probe_loss(p_star, W, b, p_T, eta)
    eps = theory.expected_kl(p_star, q, p_T)
    loss = theory.multiclass_probe_loss(q, W, b, p_T, eta)
    first_order = tau + 1.0 * rho1 * np.sqrt(2 * eps)
    assert rho1 < 1e-12 and loss > first_order + 1e-4
    assert loss <= theory.multiclass_residual_bound(tau, rho1, 1.0, eps)


@given(st.data())
def test_the_second_order_step_variance_at_most_a_quarter_of_the_range_squared(data):
    k = data.draw(st.integers(2, 5))
    z = data.draw(hnp.arrays(np.float64, (1, k), elements=st.floats(-10.0, 10.0)))
    dz = data.draw(hnp.arrays(np.float64, (1, k), elements=st.floats(-3.0, 3.0)))
    eta = data.draw(S.simplex_rows(1, k))
    g = (softmax(z, axis=1) - eta)[0]
    after = theory.multiclass_context_loss(z + dz, eta)[0]
    before = theory.multiclass_context_loss(z, eta)[0]
    # φ(z + Δz) ≤ φ(z) + gᵀΔz + range(Δz)²/8, and |gᵀΔz| ≤ ½‖g‖₁ range(Δz)
    assert after <= before + float(g @ dz[0]) + np.ptp(dz) ** 2 / 8 + INEQUALITY_SLACK
    assert abs(float(g @ dz[0])) <= 0.5 * np.abs(g).sum() * np.ptp(dz) + INEQUALITY_SLACK


def test_residual_by_hand_and_two_classes_give_r9():
    rng = np.random.default_rng(5)
    p_star, p_T = softmax(rng.normal(size=(6, 5)), axis=1), np.full(6, 1 / 6)
    eta = softmax(rng.normal(size=(6, 3)), axis=1)
    W, b = rng.uniform(-1, 1, size=(3, 5)), rng.normal(size=3)
    by_hand = np.sqrt(sum(p_T[s] * np.abs(softmax(W @ p_star[s] + b) - eta[s]).sum() ** 2 for s in range(6)))
    assert theory.multiclass_residual(p_star, W, b, p_T, eta) == pytest.approx(by_hand, rel=1e-12)
    # K = 2 with W = (v/2, −v/2): ‖g‖₁ = 2|σ(m) − η|, so ρ₁ = 2ρ, and the box B/2 gives (R9) with box B
    v, bb, y = rng.uniform(-2, 2, size=5), 0.3, rng.uniform(size=6)
    W2, b2, eta2 = np.stack([v / 2, -v / 2]), np.array([bb / 2, -bb / 2]), np.stack([y, 1 - y], axis=1)
    rho1 = theory.multiclass_residual(p_star, W2, b2, p_T, eta2)
    rho = theory.probe_residual(p_star, p_T, y, v, bb)
    assert rho1 == pytest.approx(2 * rho, rel=1e-10)
    assert theory.multiclass_residual_bound(0.3, rho1, 1.0, 1e-3, 0.5) == pytest.approx(
        theory.residual_bound(0.3, rho, 2.0, 1e-3, 0.5), rel=1e-12
    )
    with pytest.raises(ValueError, match="rho1 must be in"):
        theory.multiclass_residual_bound(0.3, 2.5, 1.0, 1e-3)


def test_k_class_bounds_take_gamma_ratio_only():
    """γ_ratio ≤ 1 always; the tight γ(Δ) (which may exceed 1) does not carry the K-class ‖Δ‖₁² step."""
    for bound in (
        lambda g: theory.multiclass_task_bound(0.1, 1.0, 1e-3, g),
        lambda g: theory.multiclass_residual_bound(0.1, 0.5, 1.0, 1e-3, g),
    ):
        assert bound(0.5) > bound(1.0)
        with pytest.raises(ValueError, match="γ_ratio"):
            bound(1.5)
        with pytest.raises(ValueError, match="γ_ratio"):
            bound(math.inf)


def test_multiclass_fixed_cap_is_the_worst_vertex_and_bounds_every_q():
    rng = np.random.default_rng(0)
    W, b = rng.uniform(-3, 3, size=(3, 4)), rng.normal(size=3)
    eta = rng.dirichlet(np.ones(3), size=2)
    p_T = np.array([0.4, 0.6])
    cap = theory.multiclass_fixed_cap(W, b, p_T, eta)
    best = max(theory.multiclass_probe_loss(np.eye(4)[[i, j]], W, b, p_T, eta) for i in range(4) for j in range(4))
    assert cap == pytest.approx(best, rel=1e-12)
    for _ in range(200):
        q = rng.dirichlet(np.full(4, 0.3), size=2)
        assert theory.multiclass_probe_loss(q, W, b, p_T, eta) <= cap + 1e-12
    # on a subset of the words (Σq ≤ 1) the origin is a vertex too, so the cap can only grow
    assert theory.multiclass_fixed_cap(W, b, p_T, eta, subset=True) >= cap
    zero = theory.multiclass_probe_loss(np.zeros((2, 4)), W, b, p_T, eta)
    assert theory.multiclass_fixed_cap(W, b, p_T, eta, subset=True) >= zero
