"""The downstream bounds (R2), (R5), (R6), (R7) and (R9) of docs/design.md §2."""

from __future__ import annotations

import numpy as np

from . import _validate as val


def natural_task_bound(tau: float, B: float, eps: float, gamma: float = 1.0) -> float:
    r"""Natural-task bound (R2): ℓ_T(Q) ≤ τ + √(2B²ε/γ).

    If the task T is (τ, B)-natural and the language model Q is ε-optimal in
    cross-entropy, a linear probe with ‖v‖_∞ ≤ B on the features Q(s) has
    population loss at most this (arXiv:2010.03648, §4, the main theorem for
    natural tasks; proof in §5.1 through Lipschitz → Jensen → γ → Hölder →
    Pinsker).

    Args:
      tau: τ, loss of a feasible probe on the true distributions, >= 0.
      B: ℓ∞ bound on the probe weights, > 0.
      eps: ε, the LM's excess cross-entropy, >= 0.
      gamma: transferability γ in (0, +inf] (γ_ratio or the tight γ(Δ);
        +inf, returned by `transferability` when no error reaches the task's
        contexts, gives the bound τ).

    Returns:
      The bound τ + √(2B²ε/γ).

    Raises:
      ValueError: τ < 0, B <= 0, ε < 0, γ <= 0, or a non-finite value.
    """
    tau = val.nonnegative(tau, "tau")
    B = val.positive(B, "B")
    eps = val.nonnegative(eps, "eps")
    gamma = val.transferability(gamma)
    return tau + float(np.sqrt(2.0 * B * B * eps / gamma))


def conditional_mean_bound(
    tau: float, B: float, eps_phi: float, gamma: float = 1.0, eps_phi_star: float = 0.0
) -> float:
    r"""Conditional-mean bound (R5) for softmax language models.

    For a task natural w.r.t. Φ (v = Φᵀλ, ‖v‖_∞ ≤ B):

    - features Φ p_f(s):  ℓ_T(Φ p_F) ≤ τ + √(2B² ε_Φ(F) / γ)  (eps_phi_star = 0);
    - features p_f(s):    ℓ_T(p_F)   ≤ τ + √(2B² (ε_Φ + ε*_Φ) / γ).

    ε_Φ(F) is the suboptimality against the best model with the same Φ and
    ε*_Φ the price of the rank-d bottleneck (arXiv:2010.03648, §5.2,
    conditional mean features of softmax language models).

    Args:
      tau: τ >= 0.  B: > 0.  eps_phi: ε_Φ(F) >= 0.  gamma: γ > 0.
      eps_phi_star: ε*_Φ >= 0 (0 gives the Φ p_f form).

    Returns:
      τ + √(2B²(ε_Φ + ε*_Φ)/γ).

    Raises:
      ValueError: any argument out of range.
    """
    eps_phi = val.nonnegative(eps_phi, "eps_phi")
    eps_phi_star = val.nonnegative(eps_phi_star, "eps_phi_star")
    return natural_task_bound(tau, B, eps_phi + eps_phi_star, gamma)


def required_eps(excess: float, B: float, gamma: float = 1.0) -> float:
    r"""The ε at which the bound's excess √(2B²ε/γ) equals `excess`.

    The inverse of (R2): ε = γ·excess² / (2B²). It answers "how good must the
    language model be for the guarantee to allow this much excess loss"
    (arXiv:2010.03648, §4).

    Args:
      excess: allowed excess loss over τ, >= 0.
      B: > 0.  gamma: > 0.

    Returns:
      ε >= 0.

    Raises:
      ValueError: out-of-range arguments.
    """
    excess = val.nonnegative(excess, "excess")
    B = val.positive(B, "B")
    gamma = val.positive(gamma, "gamma")
    return gamma * excess * excess / (2.0 * B * B)


def quadratic_partition_bound(
    tau: float, B: float, eps: float, lam_norm2: float, delta: float, gamma: float = 1.0
) -> float:
    r"""Approximate quadratic log-partition bound (R6) for the features f(s).

    If Φ p_f(s) = A f(s) + b + r(s) with ‖r(s)‖₂ ≤ δ for all s, then a probe on
    f(s) with weights Aλ matches one on Φ p_f(s) with weights λ up to
    ‖λ‖₂·δ (Cauchy-Schwarz), so

    .. math:: ℓ_T(f) ≤ τ + √(2B²ε/γ) + ‖λ‖₂ δ

    (arXiv:2010.03648, §5.2, quadratic log-partition assumption; δ = 0 gives
    the exact version).

    δ may also be the task-weighted mean E_T‖r(s)‖₂ (`GradientMap.delta_mean`):
    ℓ_T averages the per-context losses, each 1-Lipschitz in the margin, so
    the two probes differ by at most E_T|λᵀr(s)| <= ‖λ‖₂ E_T‖r(s)‖₂.

    Args:
      tau, B, eps, gamma: as in `natural_task_bound`.
      lam_norm2: ‖λ‖₂ of the comparator direction v = Φᵀλ, >= 0.
      delta: max_s ‖r(s)‖₂ or E_T‖r(s)‖₂, with r(s) = Φp_f(s) − (A f(s) + b), >= 0.

    Returns:
      The bound.

    Raises:
      ValueError: out-of-range arguments.
    """
    lam_norm2 = val.nonnegative(lam_norm2, "lam_norm2")
    delta = val.nonnegative(delta, "delta")
    return natural_task_bound(tau, B, eps, gamma) + lam_norm2 * delta


def quad_bound(tau: float, v_norm2: float, eps_quad: float, gamma: float = 1.0) -> float:
    r"""Quad-objective bound (R7): ℓ_T(F) ≤ τ + √(2‖v‖₂² ε_quad / γ).

    For features f trained with the Quad objective and a task direction
    v = Φᵀλ, the probe with weights ΦΦᵀλ on f(s) has error
    vᵀΦᵀ(f − f*) per context, bounded by ‖v‖₂‖Φᵀ(f − f*)‖₂ (arXiv:2010.03648,
    §5.3, the Quad objective).

    Args:
      tau: τ >= 0.  v_norm2: ‖v‖₂ > 0.  eps_quad: excess Quad loss >= 0.
      gamma: > 0.

    Returns:
      τ + √(2‖v‖₂²ε_quad/γ).

    Raises:
      ValueError: out-of-range arguments.
    """
    v_norm2 = val.positive(v_norm2, "v_norm2")
    eps_quad = val.nonnegative(eps_quad, "eps_quad")
    return natural_task_bound(tau, v_norm2, eps_quad, gamma)


def residual_bound(tau: float, rho: float, B: float, eps: float, gamma: float = 1.0) -> float:
    r"""Residual-weighted bound (R9): ℓ_T(Q) ≤ τ + ρ√X + X/8 with X = 2B²ε/γ.

    For any classifier (v, b) in the box ‖v‖_∞ ≤ B with margins
    m_s = vᵀP*[s] + b, τ = ℓ_T(P*, v, b) and residual
    ρ = √(E_T[(σ(m_s) − η_s)²]) (`probe_residual`). Per context
    φ(m) = ηℓ(m) + (1−η)ℓ(−m) has φ' = σ(m) − η and 0 ≤ φ'' ≤ ¼, so
    φ(m + δ) ≤ φ(m) + φ'(m)δ + δ²/8 with δ_s = vᵀ(Q[s] − P*[s]); then
    Cauchy–Schwarz gives E_T[φ'δ] ≤ ρ√(E_T δ²), and Hölder, the γ step and
    Pinsker give E_T δ² ≤ B²E_T‖Δ‖₁² ≤ 2B²ε/γ = X. The box probe fitted on Q
    does at least as well as (v, b) on Q.

    This project's own statement, not the paper's (docs/design.md (R9)). It
    is below the paper's τ + √X whenever ρ + √X/8 < 1, and it explains the
    measured worst cases: with the optimal (v̂, b̂) the first-order term
    ρ√X is what a refitted probe can lose as ε → 0 (Danskin). Without the X/8
    term the statement is false (tests/theory/test_bounds.py finds where).

    Args:
      tau: ℓ_T(P*, v, b) >= 0.  rho: residual of (v, b) on P*, in [0, 1].
      B: the box, > 0.  eps: ε >= 0.  gamma: γ in (0, +inf].

    Returns:
      τ + ρ√X + X/8.

    Raises:
      ValueError: any argument out of range.

    References:
      arXiv:2010.03648, §5.1 (the chain of inequalities this refines).
    """
    tau = val.nonnegative(tau, "tau")
    rho = val.nonnegative(rho, "rho")
    if rho > 1:
        raise ValueError(f"rho must be in [0, 1] (a root-mean-square of σ(m) − η), got {rho}")
    x = natural_task_bound(0.0, B, eps, gamma) ** 2  # X = 2B²ε/γ
    return tau + rho * float(np.sqrt(x)) + x / 8.0
