"""Softmax language models with fixed word embeddings Φ: (R3), (R4), (R6)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp, softmax

from . import _validate as val

#: Newton's method in `softmax_optimum` stops when ‖Φ(p_θ − p*)‖_∞ is below this.
OPTIMUM_GTOL = 1e-12
OPTIMUM_MAX_ITERS = 500
#: Directions of θ that change no logit difference (singular values of the word-centred Φ
#: below this fraction of the largest) are dropped: they leave p_θ unchanged.
NULL_RTOL = 1e-12
#: Contexts are solved in chunks holding at most this many float64 entries of (chunk, d, V).
CHUNK_ENTRIES = 2**24


def log_partition(Phi, theta) -> np.ndarray:
    r"""log Z_θ = log Σ_w exp(θᵀφ_w), for each θ.

    Args:
      Phi: word embeddings Φ, shape (d, V) (column w is φ_w).
      theta: context vectors, shape (d,) or (n, d).

    Returns:
      log Z_θ, shape () or (n,), computed with logsumexp (max-shifted, so
      no overflow for large ‖θ‖).

    Raises:
      ValueError: bad shapes or non-finite entries.

    References:
      arXiv:2010.03648, §5.2 (softmax language models p_θ = softmax(Φᵀθ)).
    """
    Phi = val.embeddings(Phi)
    theta = val.as_array(theta, "theta", ndim=(1, 2))
    if theta.shape[-1] != Phi.shape[0]:
        raise ValueError(f"theta must have last dimension d = {Phi.shape[0]}, got {theta.shape}")
    out = logsumexp(theta @ Phi, axis=-1)
    return float(out) if out.ndim == 0 else out


class SoftmaxOptimum(NamedTuple):
    """Per-context optimum of the fixed-Φ cross-entropy (see `softmax_optimum`)."""

    theta: np.ndarray  # (N, d): θ*(s) = argmin ℓ_s
    losses: np.ndarray  # (N,): min_θ ℓ_s(θ)
    ell_star: float  # ℓ*(Φ) = Σ p_L(s) min ℓ_s
    residual: np.ndarray  # (N,): ‖Φ p_θ*(s) − Φ P*[s]‖₂
    probs: np.ndarray  # (N, V): p_θ*(s) = softmax(Φᵀθ*(s))


def softmax_optimum(Phi, p_star, weights=None) -> SoftmaxOptimum:
    r"""Best softmax model with fixed embeddings Φ, context by context (R3).

    Minimises the convex loss ℓ_s(θ) = log Z_θ − θᵀΦP*[s] for every context.
    At the minimiser the gradient Φ(p_θ* − P*[s]) vanishes, so the
    conditional means match, Φ p_θ* = Φ P*[s], even when d < V and
    p_θ* ≠ P*[s] (arXiv:2010.03648, §5.2, conditional mean features).

    Args:
      Phi: Φ, shape (d, V).
      p_star: P*, shape (N, V), rows on the simplex.
      weights: p_L, shape (N,); uniform if None. Used only for `ell_star`.

    Returns:
      A `SoftmaxOptimum` (theta, losses, ell_star, residual, probs).

    Raises:
      ValueError: bad shapes, rows not on the simplex, or Newton's method did
        not reach the tolerance (the optimum is then at infinity: Φ P*[s] lies
        on the boundary of the marginal polytope, e.g. P*[s] has zeros that Φ
        can express).

    Note:
      Damped Newton with backtracking (Armijo), vectorised over contexts (each
      context stops when its gradient is below `OPTIMUM_GTOL`). θ is
      restricted to the directions that change logit differences (a Φ with a
      direction constant over words, or repeated rows, stays well defined).
      The step is taken in the eigenbasis of the Hessian Σ_w p_w(φ_w − m)(φ_w − m)ᵀ
      with each eigen-direction's curvature recomputed as a sum of
      non-negative terms, so directions whose curvature is far below the
      largest (P*[s] with probabilities near 1e-20 that Φ can isolate) still
      get a Newton step instead of being truncated away.
    """
    Phi = val.embeddings(Phi)
    p_star = val.simplex_rows(p_star, "p_star", ndim=2)
    if p_star.shape[1] != Phi.shape[1]:
        raise ValueError(f"p_star must have V = {Phi.shape[1]} columns, got {p_star.shape[1]}")
    n = p_star.shape[0]
    w = np.full(n, 1.0 / n) if weights is None else val.weights(weights, "weights", n)
    u, sv, _ = np.linalg.svd(Phi - Phi.mean(axis=1, keepdims=True), full_matrices=False)
    basis = u[:, sv > NULL_RTOL * sv[0]] if sv[0] > 0 else u[:, :0]  # (d, r)
    E = basis.T @ Phi  # (r, V): the effective embeddings
    eta = np.zeros((n, basis.shape[1]))
    chunk = max(1, CHUNK_ENTRIES // max(1, E.size))
    for lo in range(0, n, chunk):
        eta[lo : lo + chunk] = _newton(E, p_star[lo : lo + chunk])
    theta = eta @ basis.T
    logits = theta @ Phi
    probs = softmax(logits, axis=-1)
    losses = logsumexp(logits, axis=-1) - np.sum(theta * (p_star @ Phi.T), axis=-1)
    residual = np.linalg.norm((probs - p_star) @ Phi.T, axis=-1)
    if not np.all(residual < 1e3 * OPTIMUM_GTOL * max(1.0, np.abs(Phi).max())):
        raise ValueError(
            "softmax_optimum did not converge (max residual "
            f"{residual.max():.3g}); Φ P*[s] may lie on the boundary of the marginal polytope"
        )
    return SoftmaxOptimum(theta, losses, float(np.sum(w * losses)), residual, probs)


def _newton(E: np.ndarray, p_star: np.ndarray) -> np.ndarray:
    """η (k, r) minimising logsumexp(ηᵀE) − ηᵀE P*[s] for each row of p_star (k, V); see `softmax_optimum`."""
    k, r = p_star.shape[0], E.shape[0]
    eta = np.zeros((k, r))
    target = p_star @ E.T
    if r == 0:
        return eta

    def loss(th, tg):
        return logsumexp(th @ E, axis=-1) - np.sum(th * tg, axis=-1)

    active = np.arange(k)
    for _ in range(OPTIMUM_MAX_ITERS):
        th, tg, ps = eta[active], target[active], p_star[active]
        p = softmax(th @ E, axis=-1)
        C = E[None] - (p @ E.T)[:, :, None]  # (a, r, V): φ_w − m, centred per context
        grad = (C @ (p - ps)[:, :, None])[..., 0]  # Φ(p − p*) as a sum of centred terms
        live = np.max(np.abs(grad), axis=1) >= OPTIMUM_GTOL
        if not live.any():
            break
        active, th, tg, p, C, grad, ps = active[live], th[live], tg[live], p[live], C[live], grad[live], ps[live]
        _, U = np.linalg.eigh((C * p[:, None, :]) @ np.swapaxes(C, 1, 2))
        proj = np.swapaxes(U, 1, 2) @ C  # (a, r, V): u_i·(φ_w − m)
        curv = ((proj * proj) @ p[:, :, None])[..., 0]  # non-negative sums: accurate even when tiny
        g = (proj @ (p - ps)[:, :, None])[..., 0]
        coef = np.where(curv > 0, g / np.where(curv > 0, curv, 1.0), 0.0)
        step = (U @ coef[:, :, None])[..., 0]
        cur, slope, t = loss(th, tg), np.sum(grad * step, axis=-1), np.ones(active.size)
        for _ in range(60):
            bad = loss(th - t[:, None] * step, tg) > cur - 1e-4 * t * slope + 1e-15 * np.abs(cur)
            if not np.any(bad):
                break
            t = np.where(bad, t * 0.5, t)
        eta[active] = th - t[:, None] * step
    return eta


class QuadraticFit(NamedTuple):
    """Least-squares quadratic log Z_θ ≈ ½θᵀAθ + θᵀb + c (see `fit_quadratic_log_partition`)."""

    A: np.ndarray  # (d, d) symmetric
    b: np.ndarray  # (d,)
    c: float
    r2: float  # coefficient of determination of the fit on the given θ
    max_abs_residual: float  # max |log Z_θ − quadratic(θ)|
    delta: float  # δ = max ‖Φ p_θ − (Aθ + b)‖₂ over the given θ (R6)


def fit_quadratic_log_partition(Phi, thetas) -> QuadraticFit:
    r"""Fit log Z_θ by a quadratic on the given θ's and measure δ of (R6).

    If log Z_θ = ½θᵀAθ + θᵀb + c on the range of f, its gradient
    Φ p_θ = Aθ + b is linear in θ, so f(s) is as good as Φp_f(s) for every
    task natural w.r.t. Φ. δ = max over the given θ of ‖Φp_θ − (Aθ + b)‖₂
    measures how far that fails (arXiv:2010.03648, §5.2, quadratic
    log-partition assumption).

    Args:
      Phi: Φ, shape (d, V).
      thetas: points θ (e.g. the f(s) of a model), shape (n, d), with
        n >= (d+1)(d+2)/2 so the fit is determined.

    Returns:
      A `QuadraticFit` (A, b, c, r2, max_abs_residual, delta).

    Raises:
      ValueError: bad shapes or too few points.
    """
    Phi = val.embeddings(Phi)
    thetas = val.as_array(thetas, "thetas", ndim=2)
    d = Phi.shape[0]
    if thetas.shape[1] != d:
        raise ValueError(f"thetas must have d = {d} columns, got {thetas.shape[1]}")
    n_params = d * (d + 1) // 2 + d + 1
    if thetas.shape[0] < n_params:
        raise ValueError(
            f"thetas needs at least {n_params} rows to determine a quadratic in d = {d}, got {thetas.shape[0]}"
        )
    iu = np.triu_indices(d)
    # ½θᵀAθ = Σ_{i<=j} a_ij θ_iθ_j with a_ii = ½A_ii and a_ij = A_ij (i<j).
    design = np.hstack([thetas[:, iu[0]] * thetas[:, iu[1]], thetas, np.ones((thetas.shape[0], 1))])
    y = logsumexp(thetas @ Phi, axis=-1)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    quad = coef[: iu[0].size]
    A = np.zeros((d, d))
    A[iu] = quad
    A = A + A.T  # off-diagonals a_ij, diagonal 2·a_ii
    b = coef[iu[0].size : iu[0].size + d]
    c = float(coef[-1])
    resid = y - design @ coef
    ss_tot = np.sum((y - y.mean()) ** 2)
    r2 = 1.0 - float(np.sum(resid**2) / ss_tot) if ss_tot > 0 else 1.0
    grad = softmax(thetas @ Phi, axis=-1) @ Phi.T
    delta = float(np.max(np.linalg.norm(grad - (thetas @ A + b), axis=-1)))
    return QuadraticFit(A, b, c, r2, float(np.max(np.abs(resid))), delta)


class GaussianLogPartition(NamedTuple):
    """Gaussian approximation of log Z_θ (see `gaussian_log_partition`)."""

    mu: np.ndarray  # (d,): mean of the embeddings
    sigma: np.ndarray  # (d, d): covariance of the embeddings (1/V normalisation)
    approx: np.ndarray | None  # log V + θᵀμ + ½θᵀΣθ at the given θ (None if none given)


def gaussian_log_partition(Phi, thetas=None) -> GaussianLogPartition:
    r"""Gaussian approximation log Z_θ ≈ log V + θᵀμ + ½θᵀΣθ (R6).

    log Z_θ = log V + log mean_w exp(θᵀφ_w); if the embeddings φ_w look like
    draws from N(μ, Σ), the mean of exp(θᵀφ) is close to the Gaussian moment
    generating function exp(θᵀμ + ½θᵀΣθ). The approximation is good for
    moderate ‖θ‖ and many words; it cannot hold globally since the true
    log Z_θ grows only linearly along rays (arXiv:2010.03648, §5.2 and its
    experiments on the quadratic log-partition assumption).

    Args:
      Phi: Φ, shape (d, V).
      thetas: optional points, shape (d,) or (n, d).

    Returns:
      A `GaussianLogPartition` (mu, sigma, approx).

    Raises:
      ValueError: bad shapes.
    """
    Phi = val.embeddings(Phi)
    mu = Phi.mean(axis=1)
    centred = Phi - mu[:, None]
    sigma = centred @ centred.T / Phi.shape[1]
    approx = None
    if thetas is not None:
        th = val.as_array(thetas, "thetas", ndim=(1, 2))
        if th.shape[-1] != Phi.shape[0]:
            raise ValueError(f"thetas must have last dimension d = {Phi.shape[0]}, got {th.shape}")
        approx = np.log(Phi.shape[1]) + th @ mu + 0.5 * np.einsum("...i,ij,...j->...", th, sigma, th)
    return GaussianLogPartition(mu, sigma, approx)
