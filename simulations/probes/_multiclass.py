"""K-class linear probes on the exact population softmax cross-entropy (docs/design.md (R10))."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize

import theory

from ._binary import MAX_RESTARTS, _standardise, _task_rows

#: A K-class fit is converged when its certificate is at most this: the violation tolerance of the experiments (a
#: fit certified this close decides every check at that tolerance); L-BFGS-B on K·D weights stalls near 1e-8.
MULTI_GAP_TOL = 1e-7


class MultiProbeFit(NamedTuple):
    """A fitted K-class probe z(s) = W g(s) + b (see `fit_multiclass_probe`)."""

    W: np.ndarray  # (K, D)
    b: np.ndarray  # (K,)
    loss: float  # ℓ_T: p_T-weighted softmax cross-entropy against η
    accuracy: float  # Σ p_T(s) η_{argmax z(s)}(s): expected accuracy against the label distributions
    gap: float  # `multiclass_certificate`: a certified bound on loss − the class's optimum; NaN without a box
    converged: bool


def multiclass_accuracy(scores: np.ndarray, p_T: np.ndarray, eta: np.ndarray) -> float:
    """Expected accuracy of predicting argmax_k z_k(s) when the label is drawn from η(s)."""
    pick = np.argmax(scores, axis=1)
    return float(p_T @ eta[np.arange(eta.shape[0]), pick])


def fit_multiclass_probe(
    features: ArrayLike,
    p_T: ArrayLike,
    eta: ArrayLike,
    *,
    box: float | None = None,
    l2: float = 0.0,
    max_iter: int = 20000,
) -> MultiProbeFit:
    r"""Fit a K-class linear probe on the exact population softmax cross-entropy (R10).

    Minimises Σ p_T(s)·(−Σ_k η_k(s) log softmax(W g(s) + b)_k) + (l2/2)‖W ⊙ c‖²
    (the ridge penalty on the standardised weights, as in `fit_probe`)
    over W (with |W_kj| ≤ box when given: the theorem's class of
    `theory.multiclass_task_bound`) and an unconstrained bias b, by L-BFGS-B on
    features standardised with the p_T-weighted mean m and std c (the box maps
    to |W'_kj| ≤ box·c_j), restarted until the certificate `gap`
    (`multiclass_certificate`: the Frank–Wolfe gap of the box in W plus the
    free bias's term with a proven radius) is at most `MULTI_GAP_TOL`. With both a box and a ridge the
    certificate is that of the ridge-penalised objective (the ridge makes its minimiser unique: on fewer
    examples than features the box alone leaves a flat valley of minimisers).
    """
    g, p_T, eta = _task_rows(features, p_T, eta)
    eta = np.asarray(eta, dtype=np.float64)
    if eta.ndim != 2:
        raise ValueError(f"eta must be (N, K) label distributions, got shape {eta.shape}")
    K, D = eta.shape[1], g.shape[1]
    st = _standardise(g, p_T)
    gs, c = st.gs, st.c

    def fun(x):
        W, b = x[: K * D].reshape(K, D), x[K * D :]
        z = gs @ W.T + b
        lp = z - np.logaddexp.reduce(z, axis=1, keepdims=True)
        loss = -float(p_T @ np.sum(eta * lp, axis=1))
        r = p_T[:, None] * (np.exp(lp) - eta)
        gW, gb = r.T @ gs, r.sum(axis=0)
        if l2:
            loss += 0.5 * float(np.sum(W * W)) * l2
            gW = gW + l2 * W
        return loss, np.concatenate([gW.ravel(), gb])

    lohi = [(-box * cj, box * cj) for _ in range(K) for cj in c] if box is not None else [(None, None)] * (K * D)
    x, success = np.zeros(K * D + K), False
    gap = math.nan
    for _ in range(MAX_RESTARTS):  # L-BFGS-B may stop on its relative-decrease test before the certificate holds
        res = minimize(fun, x, jac=True, method="L-BFGS-B", bounds=lohi + [(None, None)] * K,
                       options=dict(maxiter=max_iter, maxcor=30, ftol=1e-16, gtol=1e-12))  # fmt: skip
        Ws = res.x[: K * D].reshape(K, D)
        x = np.concatenate([Ws.ravel(), _polish_bias(gs @ Ws.T, res.x[K * D :], p_T, eta)])
        success = bool(res.success)
        W, b = _raw(x, K, D, c, st.m)
        if box is None:
            break
        gap = multiclass_certificate(g, p_T, eta, W, b, box, l2=l2, scale=c)
        if gap <= MULTI_GAP_TOL:
            break
    W, b = _raw(x, K, D, c, st.m)
    z = g @ W.T + b
    loss = float(p_T @ theory.multiclass_context_loss(z, eta))
    converged = bool(gap <= MULTI_GAP_TOL) if box is not None else success
    return MultiProbeFit(W, b, loss, multiclass_accuracy(z, p_T, eta), gap, converged)


def _raw(x: np.ndarray, K: int, D: int, c: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) on the raw features from the standardised coordinates: z = (W'/c) g + (b' − (W'/c) m)."""
    W = x[: K * D].reshape(K, D) / c
    return W, x[K * D :] - W @ m


def multiclass_certificate(
    features: ArrayLike,
    p_T: ArrayLike,
    eta: ArrayLike,
    W: ArrayLike,
    b: ArrayLike,
    box: float,
    l2: float = 0.0,
    scale: ArrayLike | None = None,
) -> float:
    r"""A certified upper bound on ℓ_T(W, b) − min ℓ_T over |W_kj| ≤ box and a free bias b, from (W, b) alone.

    By convexity, ℓ_T(W, b) − ℓ_T(W*, b*) ≤ ∇_Wᵀ(W − W*) + ∇_bᵀ(b − b*). The first term is at most the
    Frank–Wolfe gap over the box, Σ ∇_W ⊙ W + box·Σ|∇_W|. The entries of ∇_b sum to 0 (Σ_k (p_k − η_k) = 0),
    so ∇_bᵀ(b − b*) ≤ ‖∇_b‖₁·½·range(b − b*) ≤ ½‖∇_b‖₁(range(b) + range(b*)). Some optimal bias has
    range(b*) ≤ 2M + log(max_k η̄_k / min_k η̄_k), with M = box·max_s Σ_j |g_j(s)| the largest score any W in
    the box gives and η̄ = Σ_s p_T(s) η(s): at the optimum the average predicted probability of class k is η̄_k,
    and if b*_k − b*_l = Δ then softmax_l ≤ e^{2M − Δ} softmax_k at every context, so η̄_l ≤ e^{2M − Δ} η̄_k.
    A class with η̄_k = 0 has its optimal bias at −∞ (the infimum is not attained): no certificate (inf).

    With l2 > 0 the objective is ℓ_T + (l2/2)‖W ⊙ scale‖² (the ridge of `fit_multiclass_probe` on features
    standardised by `scale`), still convex: the same bound with its gradient ∇_W + l2·W ⊙ scale² (the bias is
    not penalised, so its term and radius are unchanged: at the optimum the bias still balances the classes).

    Args:
      features: (N, D).  p_T: (N,).  eta: (N, K).  W: (K, D).  b: (K,).  box: > 0.
      l2: the ridge strength.  scale: (D,) the features' scale c in the penalty (ones when None).

    Returns:
      The bound (>= 0), or inf.
    """
    g, p_T, eta = _task_rows(features, p_T, eta)
    W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)
    z = g @ W.T + b
    p = np.exp(z - np.logaddexp.reduce(z, axis=1, keepdims=True))
    r = p_T[:, None] * (p - eta)
    gW, gb = r.T @ g, r.sum(axis=0)
    if l2:
        c = np.ones(W.shape[1]) if scale is None else np.asarray(scale, dtype=np.float64)
        gW = gW + l2 * W * c * c
    fw = max(float(np.sum(gW * W) + box * np.sum(np.abs(gW))), 0.0)
    mean = p_T @ eta
    if np.min(mean) <= 0.0:
        return math.inf
    M = box * float(np.abs(g).sum(axis=1).max())
    radius = 0.5 * (float(np.ptp(b)) + 2.0 * M + float(np.log(mean.max() / mean.min())))
    return fw + float(np.abs(gb).sum()) * radius


def _polish_bias(scores: np.ndarray, b: np.ndarray, p_T: np.ndarray, eta: np.ndarray, iters: int = 30) -> np.ndarray:
    """Newton steps on the bias alone (convex in b, Hessian Σ p_T(diag p − ppᵀ), singular along 1: least squares),
    so that its gradient is ~0 and the Frank–Wolfe gap in W bounds the suboptimality."""
    for _ in range(iters):
        z = scores + b
        p = np.exp(z - np.logaddexp.reduce(z, axis=1, keepdims=True))
        grad = (p_T[:, None] * (p - eta)).sum(axis=0)
        if np.max(np.abs(grad)) <= 1e-13:
            break
        H = np.diag(p_T @ p) - (p * p_T[:, None]).T @ p
        b = b - np.linalg.lstsq(H, grad, rcond=None)[0]
    return b
