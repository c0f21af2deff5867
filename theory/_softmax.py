"""Softmax language models with fixed word embeddings Φ: (R3), (R4), (R6)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import log_softmax, logsumexp, softmax

from . import _validate as val

#: Newton's method in `softmax_optimum` stops when ‖Φ(p_θ − p*)‖_∞ is below this times the
#: scale of Φ (its largest deviation of an embedding from the mean embedding).
OPTIMUM_GTOL = 1e-12
OPTIMUM_MAX_ITERS = 500
#: Directions of θ that change no logit difference (singular values of the word-centred Φ
#: below this fraction of the largest) are dropped: they leave p_θ unchanged.
NULL_RTOL = 1e-12
#: Least-squares gradient maps drop the directions of the design [θ, 1] (θ's columns centred and scaled to unit
#: weighted RMS) whose singular value is below this share of the largest: θ's that satisfy an exact linear relation
#: (f(s) after a LayerNorm sums to a constant) hold it only to their rounding, at 1e-7 of the largest for float32
#: features, and a fit that keeps that direction fits the rounding (its δ moved 3% with one ulp of a model's
#: weights).
MAP_RCOND = 1e-5
#: A θ column whose weighted spread is below this share of its weighted RMS is constant up to rounding (a
#: coordinate fixed at 1 keeps a spread of 1e-16 from its rounded mean, float32 features one of 1e-7): it joins the
#: constant, never scaled up to a unit column of rounding the fit would then use (δ moved 3e-5 between the kernels
#: of two CPUs). Dropping a direction is always safe: any linear map gives a valid (R6) bound, this one a larger δ.
CONSTANT_RTOL = 1e-6
#: `partition_fit` refuses logits beyond this magnitude (their spread would overflow float64).
MAX_LOGIT = 1e100
#: Contexts are solved in chunks holding at most this many float64 entries of (chunk, d, V).
CHUNK_ENTRIES = 2**24


def log_partition(Phi: ArrayLike, theta: ArrayLike) -> float | np.ndarray:
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


def softmax_optimum(
    Phi: ArrayLike, p_star: ArrayLike, weights: ArrayLike | None = None, init: ArrayLike | None = None
) -> SoftmaxOptimum:
    r"""Best softmax model with fixed embeddings Φ, context by context (R3).

    Minimises the convex loss ℓ_s(θ) = log Z_θ − θᵀΦP*[s] for every context.
    At the minimiser the gradient Φ(p_θ* − P*[s]) vanishes, so the
    conditional means match, Φ p_θ* = Φ P*[s], even when d < V and
    p_θ* ≠ P*[s] (arXiv:2010.03648, §5.2, conditional mean features).

    Args:
      Phi: Φ, shape (d, V).
      p_star: P*, shape (N, V), rows on the simplex.
      weights: p_L, shape (N,); uniform if None. Used only for `ell_star`.
      init: optional starting θ, shape (N, d) (e.g. the world's θ*: for a
        well-specified world it is the optimum and Newton stops at once).

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
      direction constant over words, or repeated rows, stays well defined),
      each scaled to unit spread, so the moments match to a relative 1e-12 in
      every direction even when Φ's directions differ in scale. Within one
      direction, embeddings that differ at 1e-10 of its spread cannot be
      matched in float64.
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
    keep = sv > NULL_RTOL * sv[0] if sv[0] > 0 else np.zeros_like(sv, dtype=bool)
    basis = u[:, keep] / sv[keep]  # (d, r): each effective direction scaled to unit spread over words
    E = basis.T @ Phi  # (r, V): the effective, whitened embeddings
    eta = np.zeros((n, basis.shape[1]))
    if init is not None:
        init = val.as_array(init, "init", ndim=2)
        if init.shape != (n, Phi.shape[0]):
            raise ValueError(f"init must have shape {(n, Phi.shape[0])}, got {init.shape}")
        eta = init @ u[:, keep] * sv[keep]  # θ = η basisᵀ, so η = θ u diag(s) on the kept directions
    chunk = max(1, CHUNK_ENTRIES // max(1, E.size))
    for lo in range(0, n, chunk):
        eta[lo : lo + chunk] = _newton(E, p_star[lo : lo + chunk], eta[lo : lo + chunk])
    theta = eta @ basis.T
    logits = theta @ Phi
    probs = softmax(logits, axis=-1)
    losses = logsumexp(logits, axis=-1) - np.sum(theta * (p_star @ Phi.T), axis=-1)
    residual = np.linalg.norm((probs - p_star) @ Phi.T, axis=-1)
    # the rounding floor: rows summing to 1 only to ~V·eps leave Φ(p − P*) ≈ V·eps·max|Φ| even where Φ is constant
    floor = 16 * Phi.shape[1] * np.finfo(float).eps * np.abs(Phi).max()
    if not np.all(residual <= 1e3 * OPTIMUM_GTOL * _scale(Phi) + floor):
        raise ValueError(
            "softmax_optimum did not converge (max residual "
            f"{residual.max():.3g}); Φ P*[s] may lie on the boundary of the marginal polytope"
        )
    return SoftmaxOptimum(theta, losses, float(np.sum(w * losses)), residual, probs)


def _scale(Phi: np.ndarray) -> float:
    """The scale of Φ for tolerances: its largest deviation from the mean embedding (1 for a constant Φ)."""
    spread = float(np.max(np.abs(Phi - Phi.mean(axis=1, keepdims=True)))) if Phi.size else 0.0
    return spread if spread > 0 else 1.0


def _newton(E: np.ndarray, p_star: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """η (k, r) minimising logsumexp(ηᵀE) − ηᵀE P*[s] per row of p_star (k, V), from `eta` (`softmax_optimum`)."""
    k, r = p_star.shape[0], E.shape[0]
    eta = eta.copy()
    target = p_star @ E.T
    if r == 0:
        return eta
    gtol = OPTIMUM_GTOL * _scale(E)

    def loss(th, tg):
        return logsumexp(th @ E, axis=-1) - np.sum(th * tg, axis=-1)

    active = np.arange(k)
    for _ in range(OPTIMUM_MAX_ITERS):
        th, tg, ps = eta[active], target[active], p_star[active]
        p = softmax(th @ E, axis=-1)
        C = E[None] - (p @ E.T)[:, :, None]  # (a, r, V): φ_w − m, centred per context
        grad = (C @ (p - ps)[:, :, None])[..., 0]  # Φ(p − p*) as a sum of centred terms
        live = np.max(np.abs(grad), axis=1) >= gtol
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


class SoftmaxSplit(NamedTuple):
    """ε of a softmax LM with fixed Φ, split at the best model with that Φ (see `softmax_split`)."""

    eps: float  # ε(Q_F) = Σ p_L KL(P*‖Q_F)
    eps_phi: float  # ε_Φ(F) = Σ p_L KL(p_θ*‖Q_F): suboptimality against the best model with this Φ
    eps_phi_star: float  # ε*_Φ = Σ p_L KL(P*‖p_θ*): the price of the rank-d bottleneck


def softmax_split(
    Phi: ArrayLike, p_star: ArrayLike, F: ArrayLike, weights: ArrayLike, optimum: SoftmaxOptimum | None = None
) -> SoftmaxSplit:
    r"""ε(Q_F) = ε_Φ(F) + ε*_Φ for a softmax LM Q_F = softmax(FΦ) (R5).

    The Pythagorean identity KL(P*‖Q_F) = KL(P*‖p_θ*) + KL(p_θ*‖Q_F) holds
    context by context because p_θ* and Q_F are in the same exponential family
    and p_θ* matches P*'s conditional mean: log(p_θ*/Q_F) = (θ* − f)ᵀφ_w −
    log(Z_θ*/Z_f) is linear in φ_w, so its expectations under P* and p_θ*
    agree (R3). Hence ε_Φ(F) = ℓ_xent(F, Φ) − ℓ*(Φ) is the weighted KL from
    the optimum p_θ* (arXiv:2010.03648, §5.2). The three terms are computed as
    three separate exact KLs, from log-probabilities; the tests check that
    they add up.

    Args:
      Phi: Φ, shape (d, V).  p_star: P*, shape (N, V).
      F: context features f(s), shape (N, d).  weights: p_L, shape (N,).
      optimum: `softmax_optimum(Phi, p_star)` if already computed.

    Returns:
      A `SoftmaxSplit` (eps, eps_phi, eps_phi_star).

    Raises:
      ValueError: bad shapes or rows, or the optimum does not converge.
    """
    from ._divergences import expected_kl_log

    Phi = val.embeddings(Phi)
    p_star = val.simplex_rows(p_star, "p_star", ndim=2)
    F = val.as_array(F, "F", ndim=2)
    if F.shape != (p_star.shape[0], Phi.shape[0]):
        raise ValueError(f"F must have shape {(p_star.shape[0], Phi.shape[0])}, got {F.shape}")
    opt = optimum if optimum is not None else softmax_optimum(Phi, p_star, weights)
    with np.errstate(divide="ignore"):
        log_p = np.log(p_star)
    log_q = log_softmax(F @ Phi, axis=-1)
    log_opt = log_softmax(opt.theta @ Phi, axis=-1)
    return SoftmaxSplit(
        expected_kl_log(log_p, log_q, weights),
        expected_kl_log(log_opt, log_q, weights),
        expected_kl_log(log_p, log_opt, weights),
    )


def _weighted_points(
    Phi: ArrayLike, thetas: ArrayLike, weights: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Checked (Φ, θ's, weights, live mask) for fitting a linear map Φp_θ ≈ Aθ + c (needs d + 1 live points)."""
    Phi = val.embeddings(Phi)
    thetas = val.as_array(thetas, "thetas", ndim=2)
    n, d = thetas.shape
    if d != Phi.shape[0]:
        raise ValueError(f"thetas must have d = {Phi.shape[0]} columns, got {d}")
    w = np.full(n, 1.0 / n) if weights is None else val.weights(weights, "weights", n)
    live = w > 0
    if live.sum() < d + 1:
        raise ValueError(f"need at least d + 1 = {d + 1} points with weight > 0 to fit a linear map, got {live.sum()}")
    return Phi, thetas, w, live


def _linear_map(
    design: np.ndarray, grads: np.ndarray, w: np.ndarray, live: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares grads ≈ design @ coef over the live points, on the design's significant directions
    (`MAP_RCOND`): (A, c, residual norms at every point)."""
    sw = np.sqrt(w[live])[:, None]
    # the θ columns centred (weighted) and scaled to unit weighted RMS, beside the constant: a direction is then
    # dropped only for a small spread of θ, never for a large offset (θ = 1000 + 0.01z keeps its z); a column
    # constant up to rounding (`CONSTANT_RTOL`) joins the constant
    ww = w[live] / np.sum(w[live])
    mean = ww @ design[live, :-1]
    centred = design[live, :-1] - mean
    spread = np.sqrt(ww @ centred**2)
    varies = spread > CONSTANT_RTOL * np.sqrt(ww @ design[live, :-1] ** 2)  # the other columns join the constant
    scale = np.where(varies, spread, 1.0)
    basis = np.hstack([centred[:, varies] / scale[varies], np.ones((centred.shape[0], 1))]) * sw
    coef_c, *_ = np.linalg.lstsq(basis, grads[live] * sw, rcond=MAP_RCOND)
    A_T = np.zeros((design.shape[1] - 1, grads.shape[1]))
    A_T[varies] = coef_c[:-1] / scale[varies, None]  # the map on raw θ: grads ≈ θ A_T + (c − mean A_T)
    coef = np.vstack([A_T, coef_c[-1] - mean @ A_T])
    d = design.shape[1] - 1
    return coef[:d].T, coef[d], np.linalg.norm(grads - design @ coef, axis=1)


class GradientMap(NamedTuple):
    """Least-squares linear map Φp_θ ≈ Aθ + c (see `fit_gradient_map`)."""

    A: np.ndarray  # (d, d)
    c: np.ndarray  # (d,)
    residual: np.ndarray  # (n,): ‖Φp_θ − (Aθ + c)‖₂ per point
    delta_max: float  # max of the residual over points with weight > 0
    delta_mean: float  # weighted mean of the residual


def fit_gradient_map(Phi: ArrayLike, thetas: ArrayLike, weights: ArrayLike | None = None) -> GradientMap:
    r"""Fit the conditional means linearly, Φp_θ ≈ Aθ + c, over the given θ's, and measure δ (R6).

    Where log Z_θ is quadratic, ½θᵀAθ + θᵀc + const, its gradient Φp_θ is
    exactly Aθ + c. Fitting the gradients directly (rather than log Z values,
    `fit_quadratic_log_partition`) makes δ, the quantity the (R6) bound
    pays, as small as a linear map allows on the range of f actually used.
    The bound needs no symmetry of A: a probe λ on Φp_f(s) equals the probe
    Aᵀλ (bias + λᵀc) on f(s) up to λᵀr(s) (arXiv:2010.03648, §5.2).

    Args:
      Phi: Φ, shape (d, V).
      thetas: points θ (the f(s) of a model), shape (n, d), n >= d + 1.
      weights: optional (n,) non-negative weights (e.g. p_T): the fit is
        weighted and δ is taken over the points with weight > 0; uniform if None.

    Returns:
      A `GradientMap` (A, c, residual, delta_max, delta_mean).

    Raises:
      ValueError: bad shapes, too few points, or bad weights.
    """
    Phi, thetas, w, live = _weighted_points(Phi, thetas, weights)
    n, d = thetas.shape
    grads = softmax(thetas @ Phi, axis=-1) @ Phi.T  # Φ p_θ, (n, d)
    design = np.hstack([thetas, np.ones((n, 1))])
    A, c, residual = _linear_map(design, grads, w, live)
    return GradientMap(A, c, residual, float(residual[live].max()), float(np.sum(w[live] * residual[live])))


class QuadraticFit(NamedTuple):
    """Least-squares quadratic log Z_θ ≈ ½θᵀAθ + θᵀb + c (see `fit_quadratic_log_partition`)."""

    A: np.ndarray  # (d, d) symmetric
    b: np.ndarray  # (d,)
    c: float
    r2: float  # coefficient of determination of the fit on the given θ
    max_abs_residual: float  # max |log Z_θ − quadratic(θ)|
    delta: float  # δ = max ‖Φ p_θ − (Aθ + b)‖₂ over the given θ (R6)


def fit_quadratic_log_partition(Phi: ArrayLike, thetas: ArrayLike) -> QuadraticFit:
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


def gaussian_log_partition(Phi: ArrayLike, thetas: ArrayLike | None = None) -> GaussianLogPartition:
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


class PartitionFit(NamedTuple):
    """How close log Z_θ is to quadratic on a set of θ's (see `partition_fit`)."""

    A: np.ndarray  # (d, d): the gradient map Φp_θ ≈ Aθ + c
    c: np.ndarray  # (d,)
    residual: np.ndarray  # (n,): ‖Φp_θ − (Aθ + c)‖₂ per point
    delta_max: float  # δ of (R6): max residual over points with weight > 0
    delta_mean: float  # weighted mean residual (δ_T when the weights are p_T)
    grad_scale: float  # weighted mean ‖Φp_θ − μ‖₂: how far the conditional means move from θ = 0
    rel_delta: float  # delta_mean / grad_scale
    quad_rel_err: float  # weighted mean |log Z − quadratic| / weighted mean |log Z − log V − θᵀμ|
    gauss_rel_err: float  # the same for the Gaussian form log V + θᵀμ + ½θᵀΣθ
    gauss_delta_mean: float  # weighted mean ‖Φp_θ − (μ + Σθ)‖₂: δ of the Gaussian form's gradient
    logit_std: float  # weighted mean over θ of the spread std_w(θᵀφ_w) of its logits


def _ratio(num: float, den: float) -> float:
    """num / den, with 0/0 = 0 (all θ at the origin: nothing to approximate)."""
    if den > 0:
        return num / den
    return 0.0 if num == 0 else math.inf


class EmbeddingMoments(NamedTuple):
    """log Z, gradient and Hessian of log Z_θ at θ = 0 (see `embedding_moments`)."""

    log_z0: float  # log Σ_w exp(b_w) (log V without a bias)
    mu: np.ndarray  # (d,): Σ_w p_0(w) φ_w, p_0 = softmax(b)
    sigma: np.ndarray  # (d, d): covariance of the φ_w under p_0


def embedding_moments(Phi: ArrayLike, bias: ArrayLike | None = None) -> EmbeddingMoments:
    r"""The second-order Taylor data of log Z_θ = log Σ_w exp(θᵀφ_w + b_w) at θ = 0 (R6).

    log Z_θ = log Z_0 + θᵀμ + ½θᵀΣθ + O(‖θ‖³) with μ and Σ the mean and
    covariance of the embeddings under p_0 = softmax(b) (uniform without a
    bias): the Gaussian form of `gaussian_log_partition`. The spread of a θ's
    logits over the words, std_{p_0}(θᵀφ_w), is √(θᵀΣθ).

    Args:
      Phi: Φ, shape (d, V).
      bias: optional (V,) fixed word bias b.

    Returns:
      An `EmbeddingMoments` (log_z0, mu, sigma).

    Raises:
      ValueError: bad shapes or entries, or a covariance that overflows.
    """
    Phi = val.embeddings(Phi)
    V = Phi.shape[1]
    b = np.zeros(V) if bias is None else val.as_array(bias, "bias", ndim=1)
    if b.shape[0] != V:
        raise ValueError(f"bias must have length V = {V}, got {b.shape[0]}")
    log_z0 = float(logsumexp(b))
    p0 = np.exp(b - log_z0)
    mu = Phi @ p0
    centred = Phi - mu[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        sigma = (centred * p0) @ centred.T
    if not np.all(np.isfinite(sigma)):
        raise ValueError("the embeddings are too large: their covariance overflows float64 (overflow)")
    return EmbeddingMoments(log_z0, mu, sigma)


def _quadratic_forms(x: np.ndarray, M: np.ndarray) -> np.ndarray:
    """xᵢᵀ M xᵢ for each row (a matmul: einsum's default path is slow at d in the hundreds)."""
    return np.sum((x @ M) * x, axis=1)


def partition_fit(
    Phi: ArrayLike,
    thetas: ArrayLike,
    weights: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    chunk_entries: int = CHUNK_ENTRIES,
    moments: EmbeddingMoments | None = None,
    held_out: ArrayLike | None = None,
    folds: int | None = None,
) -> PartitionFit:
    r"""How close the log-partition log Z_θ is to quadratic on the given θ's (R6).

    Three measurements on the same points, each relative to the part of
    log Z that a quadratic must explain (its curvature part
    log Z_θ − log Z_0 − θᵀμ, μ = ∇log Z at θ = 0; without a bias log Z_0 =
    log V and μ is the mean embedding):

    - the gradient map Φp_θ ≈ Aθ + c fitted by weighted least squares (as in
      `fit_gradient_map`), with δ (max and weighted mean residual) and δ
      relative to how far the conditional means move, `grad_scale`;
    - the quadratic that map integrates to, ½θᵀ sym(A) θ + cᵀθ + k (k by
      weighted least squares): its mean absolute error on log Z;
    - the Gaussian form log Z_0 + θᵀμ + ½θᵀΣθ (Σ the covariance of the
      embeddings under p_0 = softmax(bias), uniform without a bias: the form
      of `gaussian_log_partition`), with no fitting: its error on log Z and
      on the gradient.

    With `held_out`, the map and k are fitted on `thetas` and every number is
    measured on the held-out θ's (uniformly weighted): a map fitted on as few
    as d + 1 points interpolates them (δ = 0 there) and says nothing of the
    θ's between them. With `folds` (and no `held_out`), each point is scored
    by the map fitted on the other folds (contiguous folds, cross-validation);
    A and c are still those fitted on every point. With neither, the numbers
    are those of the fitting points, which is what the (R6) bound needs (its δ
    is that of the map it uses, on the contexts it is about).

    Needs only n ≥ d + 1 points (a direct quadratic fit of log Z values,
    `fit_quadratic_log_partition`, needs (d+1)(d+2)/2), and works in chunks of
    θ's, so a GPT-2-sized Φ (768 × 50,257) costs a few hundred MB
    (arXiv:2010.03648, §5.2, the quadratic log-partition assumption, and its
    check on a trained LM's embeddings).

    Args:
      Phi: Φ, shape (d, V).
      thetas: the points θ (f(s) of a model, or a sample), shape (n, d).
      weights: optional (n,) probability weights (e.g. p_T; zero weights
        drop a point); uniform if None.
      bias: optional (V,) fixed word bias b_w, log Z_θ = log Σ_w exp(θᵀφ_w + b_w)
        (the worlds' Zipf row, paired with a θ coordinate fixed at 1).
      chunk_entries: at most this many float64 entries of θᵀΦ at once, >= 1.
      moments: `embedding_moments(Phi, bias)` if already computed (it costs
        a d × V × d product; pass it when fitting several sets of θ's).
      held_out: optional (m, d) θ's on which to measure the fitted map.
      folds: optional number of cross-validation folds (>= 2) when there is no `held_out`.

    Returns:
      A `PartitionFit` (A and c fitted on `thetas`; the rest measured on the
      held-out θ's if given).

    Raises:
      ValueError: bad shapes or entries, weighted θ's that do not determine
        the map (the design [θ, 1] has rank < d + 1), θ's so large that the
        logits overflow, bad weights or chunk size.
    """
    Phi, thetas, w, live = _weighted_points(Phi, thetas, weights)
    n, d = thetas.shape
    if isinstance(chunk_entries, bool) or not isinstance(chunk_entries, int | np.integer) or chunk_entries < 1:
        raise ValueError(f"chunk_entries must be an integer >= 1, got {chunk_entries!r}")
    V = Phi.shape[1]
    b = np.zeros(V) if bias is None else val.as_array(bias, "bias", ndim=1)
    if b.shape[0] != V:
        raise ValueError(f"bias must have length V = {V}, got {b.shape[0]}")
    design = np.hstack([thetas, np.ones((n, 1))])
    scale = np.abs(design[live]).max(axis=0)
    rank = np.linalg.matrix_rank(design[live] / np.where(scale > 0, scale, 1.0))  # columns scaled: no overflow
    if rank < d + 1:
        raise ValueError(
            f"the weighted θ's span {rank} of the d + 1 = {d + 1} directions of [θ, 1]: the map Φp_θ ≈ Aθ + c is "
            "not determined (repeated θ's, or a coordinate that is constant: pass it as a bias)"
        )
    log_z, grads, spread = _log_z_and_grads(Phi, b, thetas, chunk_entries)
    A, c, k = _fit_map(thetas, design, log_z, grads, w, live)
    predicted = design @ np.vstack([A.T, c])  # each point's map: the one fitted on `thetas`
    quadratic = 0.5 * _quadratic_forms(thetas, 0.5 * (A + A.T)) + thetas @ c + k
    if held_out is not None:
        thetas = val.as_array(held_out, "held_out", ndim=2)
        if thetas.shape[1] != d or thetas.shape[0] < 1:
            raise ValueError(f"held_out must be m × d = m × {d} with m >= 1, got shape {thetas.shape}")
        log_z, grads, spread = _log_z_and_grads(Phi, b, thetas, chunk_entries)
        w = np.full(thetas.shape[0], 1.0 / thetas.shape[0])
        live = np.ones(thetas.shape[0], dtype=bool)
        predicted = thetas @ A.T + c
        quadratic = 0.5 * _quadratic_forms(thetas, 0.5 * (A + A.T)) + thetas @ c + k
    elif folds is not None:
        if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 2:
            raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
        for test in np.array_split(np.arange(n), int(folds)):  # contiguous folds: each point scored by a map
            train = np.setdiff1d(np.arange(n), test)  # fitted without it
            t_live = live.copy()
            t_live[test] = False
            if np.linalg.matrix_rank(design[t_live]) < d + 1:
                raise ValueError(f"a fold's remaining θ's do not determine the map: give at least {folds}(d + 1) θ's")
            wf = np.where(t_live, w, 0.0)[train] / w[t_live].sum()  # the other folds' weights, renormalised
            Af, cf, kf = _fit_map(thetas[train], design[train], log_z[train], grads[train], wf, t_live[train])
            predicted[test] = thetas[test] @ Af.T + cf
            quadratic[test] = 0.5 * _quadratic_forms(thetas[test], 0.5 * (Af + Af.T)) + thetas[test] @ cf + kf
    residual = np.linalg.norm(grads - predicted, axis=1)
    delta_mean = float(w @ residual)
    log_z0, mu, sigma = moments if moments is not None else embedding_moments(Phi, b)
    grad_scale = float(w @ np.linalg.norm(grads - mu, axis=1))
    curvature = float(w @ np.abs(log_z - log_z0 - thetas @ mu))
    gauss = log_z0 + thetas @ mu + 0.5 * _quadratic_forms(thetas, sigma)
    return PartitionFit(
        A,
        c,
        residual,
        float(residual[live].max()),
        delta_mean,
        grad_scale,
        _ratio(delta_mean, grad_scale),
        _ratio(float(w @ np.abs(log_z - quadratic)), curvature),
        _ratio(float(w @ np.abs(log_z - gauss)), curvature),
        float(w @ np.linalg.norm(grads - mu - thetas @ sigma, axis=1)),
        float(w @ spread),
    )


def _fit_map(thetas, design, log_z, grads, w, live) -> tuple[np.ndarray, np.ndarray, float]:
    """The weighted least-squares gradient map (A, c) and the constant k of the quadratic it integrates to
    (weights summing to 1 over the live points)."""
    A, c, _ = _linear_map(design, grads, w, live)
    q = 0.5 * _quadratic_forms(thetas, 0.5 * (A + A.T)) + thetas @ c
    return A, c, float(w[live] @ (log_z - q)[live])


def _log_z_and_grads(
    Phi: np.ndarray, b: np.ndarray, thetas: np.ndarray, chunk_entries: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log Z_θ, its gradient Φp_θ and the spread std_w(θᵀφ_w) of the logits, for each θ, in chunks of θ's."""
    n, d = thetas.shape
    V = Phi.shape[1]
    log_z, grads, spread = np.empty(n), np.empty((n, d)), np.empty(n)
    step = max(1, int(chunk_entries) // V)
    for i in range(0, n, step):
        with np.errstate(over="ignore", invalid="ignore"):
            logits = thetas[i : i + step] @ Phi + b
        if not np.all(np.abs(logits) <= MAX_LOGIT):  # also catches inf and NaN
            raise ValueError(f"the logits θᵀφ_w exceed {MAX_LOGIT:g} (overflow): the θ's (or Φ) are too large")
        spread[i : i + step] = (logits - b).std(axis=1)
        top = logits.max(axis=1, keepdims=True)  # one exp pass serves log Z and p_θ (SciPy's logsumexp
        np.subtract(logits, top, out=logits)  # costs as much as the matmul at GPT-2 size)
        np.exp(logits, out=logits)
        total = logits.sum(axis=1, keepdims=True)
        log_z[i : i + step] = (top + np.log(total))[:, 0]
        grads[i : i + step] = (logits @ Phi.T) / total
    return log_z, grads, spread
