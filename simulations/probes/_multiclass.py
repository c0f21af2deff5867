"""K-class linear probes on the exact population softmax cross-entropy (docs/design.md (R10))."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize

import theory

from ._binary import _standardise, _task_rows

#: A K-class fit is converged when its Frank–Wolfe gap is at most this (L-BFGS-B on K·D weights).
MULTI_GAP_TOL = 1e-6


class MultiProbeFit(NamedTuple):
    """A fitted K-class probe z(s) = W g(s) + b (see `fit_multiclass_probe`)."""

    W: np.ndarray  # (K, D)
    b: np.ndarray  # (K,)
    loss: float  # ℓ_T: p_T-weighted softmax cross-entropy against η
    accuracy: float  # Σ p_T(s) η_{argmax z(s)}(s): expected accuracy against the label distributions
    gap: float  # Frank–Wolfe gap over the box in W (+ inf if the bias gradient is not ~0); NaN without a box
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
    to |W'_kj| ≤ box·c_j). The certificate `gap` is the Frank–Wolfe gap of the
    box in W at the returned bias, valid as a bound on the suboptimality when
    the bias gradient is ~0 (checked: ≤ 1e-9, else gap = inf).
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
    res = minimize(fun, np.zeros(K * D + K), jac=True, method="L-BFGS-B", bounds=lohi + [(None, None)] * K,
                   options=dict(maxiter=max_iter, maxcor=30, ftol=1e-16, gtol=1e-12))  # fmt: skip
    x = res.x
    Ws, bs = x[: K * D].reshape(K, D), _polish_bias(gs @ x[: K * D].reshape(K, D).T, x[K * D :], p_T, eta)
    x = np.concatenate([Ws.ravel(), bs])
    _, grad = fun(x)
    gW, gb = grad[: K * D].reshape(K, D), grad[K * D :]
    if box is None:
        gap = math.nan
    elif np.max(np.abs(gb)) > 1e-9:
        gap = math.inf
    else:
        gap = max(float(np.sum(gW * Ws) + np.sum(box * c[None, :] * np.abs(gW))), 0.0)
    W = Ws / c  # back to the raw features: z = W g + (b − W m)
    b = bs - W @ st.m
    z = g @ W.T + b
    loss = float(p_T @ theory.multiclass_context_loss(z, eta))
    converged = bool(gap <= MULTI_GAP_TOL) if box is not None else bool(res.success)
    return MultiProbeFit(W, b, loss, multiclass_accuracy(z, p_T, eta), gap, converged)


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
