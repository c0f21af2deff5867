"""The polytope class ‖Φᵀλ‖_∞ <= B on the conditional means Φq (docs/design.md (R5)): a log-barrier fit and
its certificate (a Frank–Wolfe gap from one linear program, plus the free bias's term)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linprog
from scipy.special import expit, logit

import theory

from ._binary import GAP_TOL, ProbeFit, _bias_radius, _certificate, _task_rows, population_loss_and_grad

#: The barrier method stops when its duality gap m/t (m = 2V constraints) is below this.
BARRIER_GAP = 1e-10
#: A warm-started barrier (from a nearby optimum, shrunk into the interior) starts at this t.
WARM_T0 = 1e4
#: Singular values of Φ below this fraction of the largest are its null space (no effect on any feature).
RANK_RTOL = 1e-12


def fit_polytope_probe(
    q: ArrayLike,
    Phi: ArrayLike,
    p_T: ArrayLike,
    eta: ArrayLike,
    B: float,
    *,
    init: tuple[ArrayLike, float] | None = None,
) -> ProbeFit:
    r"""Fit the probe v = Φᵀλ with ‖Φᵀλ‖_∞ <= B on features Q, i.e. λ on the features ΦQ.

    The class of tasks natural w.r.t. Φ (docs/design.md (R5)): the probe λ
    on the conditional-mean features Φq(s) is the probe Φᵀλ on q(s), so the
    theorem's box constraint on v is the polytope ‖Φᵀλ‖_∞ <= B on λ (not a
    box on λ). A convex problem with d + 1 variables and 2V linear
    constraints, solved by a log-barrier Newton method (λ restricted to the
    row space of Φ, where it acts), then certified independently: a
    Frank–Wolfe gap (one linear program over the polytope, SciPy's HiGHS)
    plus the free bias's term.

    Args:
      q: (N, V) rows on the simplex (P* or an LM's Q).  Phi: Φ, (d, V).
      p_T: (N,) task weights.  eta: (N,) label probabilities.  B: > 0.
      init: optional (λ, b) warm start (shrunk into the polytope's interior).

    Returns:
      A `ProbeFit` with v = λ (d,).

    Raises:
      ValueError: bad shapes or B <= 0.
    """
    if not B > 0:
        raise ValueError(f"B must be > 0, got {B}")
    Phi = np.asarray(Phi, dtype=np.float64)
    q, p_T, eta = _task_rows(q, p_T, eta)
    if Phi.ndim != 2 or Phi.shape[1] != q.shape[1]:
        raise ValueError(f"Phi must be (d, V) with V = {q.shape[1]}, got {np.shape(Phi)}")
    u, s, _ = np.linalg.svd(Phi, full_matrices=False)
    basis = u[:, s > RANK_RTOL * s[0]]  # λ = basis μ: the directions that move some v_w
    G, C = q @ Phi.T @ basis, Phi.T @ basis  # features and constraint rows in μ
    mu0 = np.zeros(basis.shape[1])
    b0 = float(logit(np.clip(np.sum(p_T * eta), 1e-12, 1 - 1e-12)))
    if init is not None:
        mu0, b0 = basis.T @ np.asarray(init[0], dtype=np.float64), float(init[1])
        reach = np.abs(C @ mu0).max(initial=0.0)
        mu0 = mu0 * min(1.0, 0.9 * B / reach) if reach > 0 else mu0
    mu, b, iters = _barrier(G, C, p_T, eta, B, mu0, b0, t0=1.0 if init is None else WARM_T0)
    lam = basis @ mu
    loss, g_mu, g_b = population_loss_and_grad(G, p_T, eta, mu, b)
    fw = g_mu @ mu - _lp_min(g_mu, C, B)
    gap = _certificate(fw, g_b, _bias_radius(b, p_T, eta, B * float(np.abs(q).sum(1).max())))
    return ProbeFit(lam, b, loss, loss, gap, bool(gap <= GAP_TOL), iters)


def _lp_min(c: np.ndarray, C: np.ndarray, B: float) -> float:
    """A certified lower bound on min c·μ over −B <= Cμ <= B (C of full column rank).

    HiGHS solves the linear program to its tolerances (~1e-9); its dual
    multipliers u >= 0 then give, for every feasible μ,
    c·μ >= −Bᵀu − ‖c + Aᵀu‖₂ max‖μ‖₂ (A = [C; −C]), and
    max‖μ‖₂ <= √(2V)·B/σ_min(C). So the bound holds whatever the solver's
    rounding, and is within the dual residual of the optimum.
    """
    A = np.vstack([C, -C])
    res = linprog(c, A_ub=A, b_ub=np.full(A.shape[0], B), bounds=(None, None), method="highs")
    if res.status != 0:
        return -math.inf  # no certificate rather than a wrong one
    u = np.maximum(-res.ineqlin.marginals, 0.0)
    residual = float(np.linalg.norm(c + A.T @ u))
    radius = math.sqrt(A.shape[0]) * B / float(np.linalg.svd(C, compute_uv=False)[-1])
    return -B * float(u.sum()) - residual * radius


def _barrier(G, C, p_T, eta, B, mu, b, t0: float = 1.0, growth: float = 50.0):
    """Minimise ℓ_T(G, μ, b) over −B < Cμ < B by the log-barrier method; returns (μ, b, Newton steps).

    Centres ℓ_T + w·(−Σ log(B − Cμ) − Σ log(B + Cμ)) for barrier weights
    w = 1/t shrinking by `growth` (the objective stays O(1), so Armijo tests
    are meaningful at every w), until the duality gap m·w of the central path
    is below `BARRIER_GAP`. The certificate of the result is computed
    separately (`fit_polytope_probe`).
    """
    m, weight, steps = 2 * C.shape[0], 1.0 / t0, 0
    x = np.append(mu, b)
    design = np.hstack([G, np.ones((G.shape[0], 1))])

    def objective(x, weight):
        a = C @ x[:-1]
        if np.any(np.abs(a) >= B):
            return math.inf
        loss = np.sum(p_T * theory.context_loss(design @ x, eta))
        return loss - weight * (np.sum(np.log(B - a)) + np.sum(np.log(B + a)))

    while True:
        for _ in range(100):  # centring by damped Newton
            a = C @ x[:-1]
            sig = expit(design @ x)
            grad = design.T @ (p_T * (sig - eta))
            grad[:-1] += weight * (C.T @ (1.0 / (B - a) - 1.0 / (B + a)))
            hess = design.T @ ((p_T * sig * (1.0 - sig))[:, None] * design)
            hess[:-1, :-1] += weight * (C.T @ ((1.0 / (B - a) ** 2 + 1.0 / (B + a) ** 2)[:, None] * C))
            step = -np.linalg.lstsq(hess, grad, rcond=None)[0]
            decrement = -grad @ step  # λ², the Newton decrement squared, in units of the loss
            if decrement / 2 <= 1e-15:
                break
            cur, s = objective(x, weight), 1.0
            while s > 1e-12 and objective(x + s * step, weight) > cur - 0.25 * s * decrement + 1e-15 * abs(cur):
                s *= 0.5
            x, steps = x + s * step, steps + 1
        if m * weight <= BARRIER_GAP:
            return x[:-1], float(x[-1]), steps
        weight /= growth
