"""The proof ledger of (R2) and (R9): each link against a computation by hand, each inequality on drawn worlds,
the last links equal to the bounds, and the Hölder link's need for the box."""

import math

import numpy as np
import pytest
from hypothesis import given

import theory
from tests import strategies as S
from tests.theory.test_bounds import fitted_box_probe_loss
from tests.tolerances import CLOSED_FORM_ATOL, CLOSED_FORM_RTOL, INEQUALITY_SLACK


def _by_hand(p_star, q, p_T, eta, v, b, B, eps, gamma):
    """Each link context by context, in plain Python loops (an independent computation)."""
    sig = lambda z: 1.0 / (1.0 + math.exp(-z))  # noqa: E731
    loss = lambda z, e: e * math.log1p(math.exp(-z)) + (1 - e) * math.log1p(math.exp(z))  # noqa: E731
    tau = fixed = lip = d2 = l1 = kl = first = g2 = 0.0
    for s in range(p_star.shape[0]):
        m = sum(v[w] * p_star[s, w] for w in range(p_star.shape[1])) + b
        mq = sum(v[w] * q[s, w] for w in range(q.shape[1])) + b
        d = mq - m
        tau += p_T[s] * loss(m, eta[s])
        fixed += p_T[s] * loss(mq, eta[s])
        lip += p_T[s] * abs(d)
        d2 += p_T[s] * d * d
        l1 += p_T[s] * sum(abs(q[s, w] - p_star[s, w]) for w in range(q.shape[1])) ** 2
        # KL as Σ q·((1 + t) log1p(t) − t), t = p/q − 1: non-negative terms, no cancellation when p ≈ q
        kl += p_T[s] * math.fsum(
            q[s, w] * ((1 + t) * math.log1p(t) - t) if t > -1 else q[s, w]
            for w in range(q.shape[1])
            for t in [(p_star[s, w] - q[s, w]) / q[s, w]]
        )
        first += p_T[s] * (sig(m) - eta[s]) * d
        g2 += p_T[s] * (sig(m) - eta[s]) ** 2
    X_T, X = 2 * B * B * kl, 2 * B * B * eps / gamma
    rho = math.sqrt(g2)
    return dict(fixed=fixed - tau, lipschitz=lip, jensen=math.sqrt(d2), holder=B * math.sqrt(l1),
                pinsker=math.sqrt(X_T), transfer=math.sqrt(X), taylor=first + d2 / 8,
                cauchy_schwarz=rho * math.sqrt(d2) + d2 / 8, r9_pinsker=rho * math.sqrt(X_T) + X_T / 8,
                r9_transfer=rho * math.sqrt(X) + X / 8)  # fmt: skip


@given(S.finite_world())
def test_every_link_holds_and_matches_a_computation_by_hand(w):
    p_star, q, p_L, p_T, eta, v, b, B = (w[k] for k in ("p_star", "q", "p_L", "p_T", "eta", "v", "b", "B"))
    eps = theory.expected_kl(p_star, q, p_L)
    gamma = theory.transferability_ratio(p_L, p_T)
    refitted = fitted_box_probe_loss(q, p_T, eta, B, v, b)
    ledger = theory.proof_ledger(p_star, q, p_T, eta, v, b, B, eps, gamma, refitted_loss=refitted)
    tau = theory.probe_loss(p_star, v, b, p_T, eta)
    assert ledger.refitted == pytest.approx(refitted - tau, rel=CLOSED_FORM_RTOL, abs=CLOSED_FORM_ATOL)
    for name, value in _by_hand(p_star, q, p_T, eta, v, b, B, eps, gamma).items():
        assert getattr(ledger, name) == pytest.approx(value, rel=CLOSED_FORM_RTOL, abs=1e-12), name
    # each link of (R2) is at most the next (the refitted probe only up to its fit's tolerance), and so of (R9)
    r2 = ledger.r2()
    assert r2[0] <= r2[1] + 1e-7
    assert all(a <= b + INEQUALITY_SLACK for a, b in zip(r2[1:], r2[2:], strict=False))
    r9 = ledger.r9()
    assert all(a <= b + INEQUALITY_SLACK for a, b in zip(r9, r9[1:], strict=False))
    # the last links are the bounds' ε-terms, from their own closed forms
    rho = theory.probe_residual(p_star, p_T, eta, v, b)
    for link, bound in ((ledger.transfer, theory.natural_task_bound(tau, B, eps, gamma)),
                        (ledger.r9_transfer, theory.residual_bound(tau, rho, B, eps, gamma))):  # fmt: skip
        assert link == pytest.approx(bound - tau, rel=CLOSED_FORM_RTOL, abs=1e-12)


def test_on_the_tasks_own_contexts_pinsker_is_the_last_link():
    """With ε measured on p_T itself and γ = 1 the transfer link costs nothing."""
    rng = np.random.default_rng(0)
    p_star, q = rng.dirichlet(np.ones(6), 5), rng.dirichlet(np.ones(6), 5)
    p_T, eta, v = np.full(5, 0.2), rng.random(5), rng.uniform(-2, 2, 6)
    eps_T = theory.expected_kl(p_star, q, p_T)
    ledger = theory.proof_ledger(p_star, q, p_T, eta, v, 0.3, 2.0, eps_T, 1.0)
    assert ledger.transfer == pytest.approx(ledger.pinsker, rel=1e-14)
    assert ledger.r9_transfer == pytest.approx(ledger.r9_pinsker, rel=1e-14)
    assert math.isnan(ledger.refitted)


def test_the_hoelder_link_needs_the_box():
    """Outside the box the Hölder link can fall below Jensen's: the ledger refuses such a probe, and the same
    numbers by hand with a box too small show the step failing."""
    p_star = np.array([[0.5, 0.5]])
    q = np.array([[0.4, 0.6]])
    v, B = np.array([-3.0, 3.0]), 1.0
    with pytest.raises(ValueError, match="in the box"):
        theory.proof_ledger(p_star, q, [1.0], [1.0], v, 0.0, B, 0.1)
    hand = _by_hand(p_star, q, np.array([1.0]), np.array([1.0]), v, 0.0, B, 0.1, 1.0)
    assert hand["jensen"] > hand["holder"]


@pytest.mark.parametrize(
    "change, match",
    [(dict(q=[[0.5, 0.6]]), "q"), (dict(p_T=[0.5]), "p_T"), (dict(B=0.0), "B"), (dict(eps=-1.0), "eps"),
     (dict(gamma=0.0), "gamma"), (dict(v=[1.0]), "v must have")],
)  # fmt: skip
def test_bad_input_is_refused(change, match):
    args = dict(p_star=[[0.5, 0.5]], q=[[0.4, 0.6]], p_T=[1.0], eta=[0.7], v=[1.0, -1.0], b=0.0, B=1.0, eps=0.1,
                gamma=1.0) | change  # fmt: skip
    with pytest.raises(ValueError, match=match):
        theory.proof_ledger(**args)
