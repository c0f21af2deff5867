"""Multi-class natural tasks: the softmax cross-entropy probe and its bound (docs/design.md (R10))."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import log_softmax

from . import _validate as val


def _labels(eta: ArrayLike, n: int | None = None, k: int | None = None) -> np.ndarray:
    arr = val.simplex_rows(eta, "eta", ndim=2)
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"eta must have one row per context ({n}), got {arr.shape[0]}")
    if k is not None and arr.shape[1] != k:
        raise ValueError(f"eta must have one column per class ({k}), got {arr.shape[1]}")
    return arr


def multiclass_context_loss(scores: ArrayLike, eta: ArrayLike) -> np.ndarray:
    r"""Expected softmax cross-entropy at each context: −Σ_k η_k(s) log softmax(z(s))_k.

    z(s) = W g(s) + b are the K class scores of a linear probe on features
    g(s) and η(s) the label distribution over the K classes (the multi-class
    form of the paper's logistic loss, arXiv:2010.03648, §3 and its
    multi-class experiments).

    Args:
      scores: (N, K) class scores.
      eta: (N, K) label distributions (rows sum to 1).

    Returns:
      (N,) losses, computed with log_softmax (no overflow).

    Raises:
      ValueError: shapes disagree, non-finite scores, or rows of eta that are
        not distributions.
    """
    z = val.as_array(scores, "scores", ndim=2)
    eta = _labels(eta, *z.shape)
    return -np.sum(eta * log_softmax(z, axis=1), axis=1)


def multiclass_probe_loss(features: ArrayLike, W: ArrayLike, b: ArrayLike, p_T: ArrayLike, eta: ArrayLike) -> float:
    r"""ℓ_T(W, b) = Σ_s p_T(s) · (−Σ_k η_k(s) log softmax(W g(s) + b)_k).

    Args:
      features: (N, D) features g(s).  W: (K, D).  b: (K,).
      p_T: (N,) task weights (a distribution).  eta: (N, K) labels.

    Returns:
      The population loss.

    Raises:
      ValueError: bad shapes or entries.
    """
    g = val.as_array(features, "features", ndim=2)
    W = val.as_array(W, "W", ndim=2)
    b = val.as_array(b, "b", ndim=1)
    if W.shape[1] != g.shape[1] or b.shape[0] != W.shape[0]:
        raise ValueError(f"W must be K × D = K × {g.shape[1]} and b of length K, got {W.shape} and {b.shape}")
    p_T = val.weights(p_T, "p_T", g.shape[0])
    return float(p_T @ multiclass_context_loss(g @ W.T + b, eta))


def multiclass_task_bound(tau: float, B: float, eps: float, gamma: float = 1.0) -> float:
    r"""Multi-class natural-task bound (R10): ℓ_T(Q) ≤ τ + 2B·√(2ε/γ).

    A K-class task is (τ, B)-natural if some W with |W_kw| ≤ B and bias b
    has softmax cross-entropy τ on the true distributions, z(s) = W P*[s] + b.

    Proof sketch (the steps of (R2) with one constant changed):

    1. Lipschitz: the cross-entropy ℓ(z) = −Σ η_k log softmax(z)_k does not
       change when a constant is added to every score, and its gradient
       softmax(z) − η has entries summing to 0 with positive part at most 1,
       so |ℓ(z) − ℓ(z')| ≤ max_k (z − z')_k − min_k (z − z')_k (the range of
       z − z').
    2. Hölder: for u = W_k − W_l, whose entries lie in [−2B, 2B],
       |uᵀ(p − q)| ≤ ‖u‖∞‖p − q‖₁ ≤ 2B‖p − q‖₁ (no Σ_w (p − q)_w = 0 is needed,
       so the step holds for probes on a subset of the words too); the range of
       z − z' = W(p − q) is a max of such |uᵀ(p − q)|, so it is ≤ 2B‖p − q‖₁.
    3. Jensen, γ and Pinsker as in (R2): E_T‖p − q‖₁ ≤ √(E_T‖p − q‖₁²) ≤
       √(2 E_T KL(p‖q)) ≤ √(2ε/γ).

    So the Lipschitz constant with respect to ‖p − q‖₁ is 2B. For K = 2 it
    reproduces (R2): a binary probe v with |v_w| ≤ B is the two-class probe
    W = (v/2, −v/2), whose entries are bounded by B/2, and 2·(B/2)·√(2ε/γ) =
    √(2B²ε/γ) (arXiv:2010.03648, §4 and §5.1).

    Args:
      tau: τ >= 0.  B: the ℓ∞ bound on W's entries, > 0.  eps: ε >= 0.
      gamma: γ_ratio = min p_L/p_T in (0, 1].

    Returns:
      τ + 2B√(2ε/γ).

    Raises:
      ValueError: any argument out of range.
    """
    tau = val.nonnegative(tau, "tau")
    B = val.positive(B, "B")
    eps = val.nonnegative(eps, "eps")
    gamma = _gamma_ratio(gamma)
    return tau + 2.0 * B * float(np.sqrt(2.0 * eps / gamma))


def multiclass_residual(features: ArrayLike, W: ArrayLike, b: ArrayLike, p_T: ArrayLike, eta: ArrayLike) -> float:
    r"""The K-class residual ρ₁ = √(E_T‖softmax(W g(s) + b) − η(s)‖₁²) of a probe (R11).

    g_s = softmax(z_s) − η_s is the gradient of the per-context cross-entropy
    at the scores z_s; its entries sum to 0 and ‖g_s‖₁ ≤ 2, so ρ₁ ∈ [0, 2],
    and ρ₁ = 0 exactly when the probe is Bayes-optimal on the task's contexts.

    Args:
      features: (N, D) features g(s) (P* for the bound).  W: (K, D).  b: (K,).
      p_T: (N,) task weights.  eta: (N, K) label distributions.

    Returns:
      ρ₁ in [0, 2].

    Raises:
      ValueError: bad shapes or entries.
    """
    g = val.as_array(features, "features", ndim=2)
    W = val.as_array(W, "W", ndim=2)
    b = val.as_array(b, "b", ndim=1)
    if W.shape[1] != g.shape[1] or b.shape[0] != W.shape[0]:
        raise ValueError(f"W must be K × D = K × {g.shape[1]} and b of length K, got {W.shape} and {b.shape}")
    p_T = val.weights(p_T, "p_T", g.shape[0])
    eta = _labels(eta, g.shape[0], W.shape[0])
    r = np.exp(log_softmax(g @ W.T + b, axis=1)) - eta
    return float(min(np.sqrt(p_T @ np.abs(r).sum(axis=1) ** 2), 2.0))


def multiclass_residual_bound(tau: float, rho1: float, B: float, eps: float, gamma: float = 1.0) -> float:
    r"""Residual-weighted multi-class bound (R11): ℓ_T(Q; W, b) ≤ τ + B·ρ₁·√Y + B²Y/2 with Y = 2ε/γ.

    For any K-class probe (W, b) with |W_kw| ≤ B, scores z_s = W P*[s] + b,
    τ = ℓ_T(P*; W, b) and ρ₁ of `multiclass_residual`. This project's own
    statement, not the paper's (docs/design.md (R11)).

    Proof. Per context the cross-entropy φ(z) = logsumexp(z) − ηᵀz has gradient
    g = softmax(z) − η and Hessian diag(p) − ppᵀ, whose quadratic form at u is
    the variance of u under p, at most range(u)²/4 (Popoviciu); so
    φ(z + Δz) ≤ φ(z) + gᵀΔz + range(Δz)²/8. Since Σ_k g_k = 0, gᵀΔz =
    gᵀ(Δz − c) for the midpoint c of Δz, so |gᵀΔz| ≤ ½‖g‖₁·range(Δz). With
    Δz = W(Q[s] − P*[s]), range(Δz) ≤ max_{k,l}|(W_k − W_l)ᵀΔ| ≤ 2B‖Δ‖₁
    (Hölder, the entries of W_k − W_l lying in [−2B, 2B]; no Σ_w Δ_w = 0 is
    needed, so it holds for a probe on a subset of the words, p_f on the class
    words, too).
    So the excess at s is at most B‖g_s‖₁‖Δ_s‖₁ + B²‖Δ_s‖₁²/2; Cauchy–Schwarz
    gives E_T[‖g‖₁‖Δ‖₁] ≤ ρ₁√(E_T‖Δ‖₁²), and Pinsker with the γ step gives
    E_T‖Δ‖₁² ≤ 2E_T KL ≤ 2ε/γ = Y. The probe refitted on Q in the same box does
    at least as well as (W, b) on Q.

    With ρ₁ = 2 (its largest value) the first-order part is (R10)'s 2B√Y; for
    K = 2 with W = (v/2, −v/2) it is (R9) with the box B/2. Without the second-
    order term the statement is false (tests/theory/test_multiclass.py).

    Args:
      tau: ℓ_T(P*; W, b) >= 0.  rho1: ρ₁ of (W, b) on P*, in [0, 2].  B: > 0.
      eps: ε >= 0.  gamma: γ_ratio = min p_L/p_T in (0, 1].

    Returns:
      τ + B·ρ₁·√Y + B²Y/2.

    Raises:
      ValueError: any argument out of range.

    References:
      arXiv:2010.03648, §4 and §5.1 (the chain of inequalities this refines).
    """
    tau = val.nonnegative(tau, "tau")
    rho1 = val.nonnegative(rho1, "rho1")
    if rho1 > 2.0 + 1e-12:
        raise ValueError(f"rho1 must be in [0, 2] (‖g‖₁ ≤ 2), got {rho1}")
    B = val.positive(B, "B")
    eps = val.nonnegative(eps, "eps")
    gamma = _gamma_ratio(gamma)
    y = 2.0 * eps / gamma
    return tau + B * rho1 * float(np.sqrt(y)) + 0.5 * B * B * y


def _gamma_ratio(gamma: float) -> float:
    """γ of a K-class bound: γ_ratio = min p_L/p_T, in (0, 1] (two distributions: the minimum ratio is at most 1).

    The γ step E_T‖Δ‖₁² ≤ E_L‖Δ‖₁²/γ holds for γ_ratio context by context; the tight γ(Δ) of the binary bounds
    (`theory.transferability`, which may exceed 1) is defined through one direction u, and a K-class probe's
    range takes the worst pair of classes at each context, so γ(Δ) does not carry it (a search finds
    E_T‖Δ‖₁²·γ(Δ)/E_L‖Δ‖₁² = 1.19).
    """
    g = val.transferability(gamma)
    if g > 1.0:
        raise ValueError(
            f"gamma must be γ_ratio = min p_L/p_T, in (0, 1], for a K-class bound, got {gamma!r} (the tight γ(Δ) "
            "does not apply to K-class probes)"
        )
    return g


def multiclass_fixed_cap(W: ArrayLike, b: ArrayLike, p_T: ArrayLike, eta: ArrayLike, subset: bool = False) -> float:
    r"""The largest loss the K-class probe (W, b), kept fixed, can have on next-word distributions.

    Its scores z = W q + b are an affine image of q, and the cross-entropy φ_η(z) is convex in z, so at each
    context its largest value over the simplex is at a vertex (one word w: z = W[:, w] + b); for a probe on a
    subset of the words (`subset`: q restricted to them, Σ q ≤ 1) the origin (z = b) is a vertex too.
    cap = Σ_s p_T(s) max over those vertices of φ_η(s). A bound at or above it cannot be violated by any model.

    Args:
      W: (K, D) weights.  b: (K,) bias.  p_T: (N,) task weights.  eta: (N, K) label distributions.

    Returns:
      The cap, in nats.

    Raises:
      ValueError: bad shapes or entries.
    """
    W = val.as_array(W, "W", ndim=2)
    b = val.as_array(b, "b", ndim=1)
    if b.shape[0] != W.shape[0]:
        raise ValueError(f"b must have length K = {W.shape[0]}, got {b.shape[0]}")
    w = val.weights(p_T, "p_T")
    eta = _labels(eta, w.shape[0], W.shape[0])
    vertices = (W.T + b)[:, None, :]  # (D, 1, K): the scores at each one-word distribution
    if subset:
        vertices = np.concatenate([vertices, b[None, None, :]])
    losses = np.stack([multiclass_context_loss(np.broadcast_to(z, eta.shape), eta) for z in vertices])
    return float(w @ losses.max(axis=0))
