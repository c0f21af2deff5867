"""Transferability γ between pretraining and task distributions: docs/design.md §2."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as val

#: Singular values of diag(√p_L)Δ below this fraction of the largest are
#: treated as zero when restricting γ(Δ) to the range of Δ.
RANK_RTOL = 1e-10
#: λ_max below this fraction of max p_T/p_L is rounding: γ(Δ) is then +inf, i.e. γ(Δ) > 1e12·γ_ratio is
#: reported as infinite. λ_max / max(p_T/p_L) is at most the share of the errors' square that the task's contexts
#: carry in the worst direction; LMs whose Δ vanishes on the task in exact arithmetic measure 1e-29 to 1e-27 (the
#: rounding of the basis's rows there), digits that move with the CPU. A share below 1e-12 is an error of at most
#: 1e-6 of its size reaching the task.
ZERO_TRANSFER = 1e-12


def transferability_ratio(p_L: ArrayLike, p_T: ArrayLike) -> float:
    r"""γ_ratio = min over s with p_T(s) > 0 of p_L(s) / p_T(s).

    The task-only transferability coefficient: for any per-context error
    e(s) >= 0, Σ p_T e ≤ Σ p_L e / γ_ratio (arXiv:2010.03648, §4, the
    coefficient γ(p_T) relating task and pretraining distributions).

    Args:
      p_L: pretraining context weights, shape (N,).
      p_T: task context weights, shape (N,).

    Returns:
      γ_ratio in (0, 1]: it is 1 iff p_T = p_L, and returned as exactly 1.0
      when the smallest ratio is within 8 ulps of 1 (p_T = p_L up to the
      rounding of a renormalisation, which alone moves it by an ulp or two).

    Raises:
      ValueError: bad weights, or the support of p_T is not inside that of p_L.
    """
    p_L = val.weights(p_L, "p_L")
    p_T = val.weights(p_T, "p_T", p_L.shape[0])
    on_task = p_T > 0
    if np.any(on_task & (p_L == 0)):
        raise ValueError("p_T puts weight on contexts where p_L is 0: supp p_T must lie inside supp p_L")
    with np.errstate(over="ignore"):  # a subnormal p_T(s) gives +inf, harmless for the min
        ratio = float(np.min(p_L[on_task] / p_T[on_task]))
    # both sum to 1, so the smallest ratio is at most 1; within rounding of 1, p_T is p_L
    return 1.0 if abs(ratio - 1.0) <= _ROUNDING else min(ratio, 1.0)


#: How far from 1 a γ_ratio may be and still mean p_T = p_L (8 ulps of 1).
_ROUNDING = 8 * np.finfo(np.float64).eps


def transferability(p_L: ArrayLike, p_T: ArrayLike, delta: ArrayLike) -> float:
    r"""The tight, model-dependent transferability γ(Δ).

    .. math:: γ(Δ) = \inf_u \frac{\sum_s p_L(s) (uᵀΔ(s))^2}{\sum_s p_T(s) (uᵀΔ(s))^2}

    over u with a non-zero denominator, where Δ(s) = Q[s] − P*[s] is the
    model's error at context s. It is the largest γ for which the "γ step"
    of the natural-task bound holds for this model, and γ(Δ) >= γ_ratio
    (arXiv:2010.03648, §4; the paper's coefficient is the task-only one).

    Computed as a generalised eigenvalue restricted to the range of Δ: with
    y = diag(√p_L)Δu the ratio is ‖y‖² / yᵀ diag(p_T/p_L) y, so with Q an
    orthonormal basis of the range of diag(√p_L)Δ (its left singular vectors
    above `RANK_RTOL`), γ = 1 / λ_max(Qᵀ diag(p_T/p_L) Q). No small singular
    value is ever divided by, so γ(Δ) >= γ_ratio holds to rounding even for
    errors of very different sizes; rank-deficient Δ (rows that sum to zero,
    errors on few contexts) is handled by the truncation.

    Args:
      p_L: pretraining weights, shape (N,).
      p_T: task weights, shape (N,), supp p_T ⊆ supp p_L.
      delta: errors Δ, shape (N, V).

    Returns:
      γ(Δ); +inf if Δ vanishes on every task context (no error can transfer), or if γ(Δ) would exceed
      1e12·γ_ratio (`ZERO_TRANSFER`: a remainder of rounding, not a measurement).

    Raises:
      ValueError: bad weights or shapes, or supp p_T ⊄ supp p_L.
    """
    transferability_ratio(p_L, p_T)  # validates both and the support condition
    p_L = np.asarray(p_L, dtype=np.float64)
    p_T = np.asarray(p_T, dtype=np.float64)
    delta = val.as_array(delta, "delta", ndim=2)
    if delta.shape[0] != p_L.shape[0]:
        raise ValueError(f"delta must have {p_L.shape[0]} rows (one per context), got {delta.shape[0]}")
    u, s, _ = np.linalg.svd(np.sqrt(p_L)[:, None] * delta, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return float("inf")
    basis = u[:, s > RANK_RTOL * s[0]]
    on = p_L > 0  # p_T = 0 wherever p_L = 0 (checked above)
    ratio = np.zeros_like(p_L)
    ratio[on] = p_T[on] / p_L[on]
    top = float(np.linalg.eigvalsh(basis.T @ (ratio[:, None] * basis))[-1])
    # below rounding of the basis (its rows on the task's contexts are 0 up to ~1e-16): no error reaches the task
    return float("inf") if top <= ZERO_TRANSFER * ratio.max() else 1.0 / top
