"""Divergences between next-word distributions: (R1) of docs/design.md §2."""

from __future__ import annotations

import numpy as np

from . import _validate as val


def kl_divergence(p, q) -> np.ndarray:
    r"""KL(p‖q) per row of the last axis, in float64.

    The excess cross-entropy of a language model q at a context whose true
    next-word distribution is p (arXiv:2010.03648, §3).

    .. math:: \mathrm{KL}(p\|q) = \sum_w p_w \log(p_w / q_w),

    with 0·log 0 = 0, and +inf in a row where some q_w = 0 < p_w.

    Args:
      p: true distributions, shape (..., V), rows on the simplex.
      q: model distributions, same shape.

    Returns:
      Array of shape (...) with the divergence of each row.

    Raises:
      ValueError: shapes differ or a row is not a distribution.

    Note:
      Each term is computed as p·(u − log1p(u)) with u = q/p − 1, which is
      >= 0 term by term and keeps relative accuracy when q ≈ p (the plain
      sum of p·log(p/q) cancels its first-order terms). The two agree because
      both rows sum to 1.
    """
    p = val.simplex_rows(p, "p", ndim=(1, 2, 3))
    q = val.simplex_rows(q, "q", ndim=(1, 2, 3))
    val.same_shape(p, q, "p", "q")
    return _kl_rows(p, q)


def _kl_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Unvalidated core of `kl_divergence` (callers have checked shapes)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = p > 0
        u = np.where(pos, q / np.where(pos, p, 1.0) - 1.0, 0.0)
        # u - log1p(u) >= 0 for u > -1, and +inf at u = -1 (q = 0 < p).
        terms = np.where(pos, p * (u - np.log1p(u)), 0.0)
        # Words with p = 0 contribute q - p*log(...) -> q in the generalised
        # form; the row sums make those contributions cancel against the u
        # terms, so add them back to stay equal to the true KL.
        terms = terms + np.where(pos, 0.0, q)
        out = terms.sum(axis=-1)
    return np.where(np.any(pos & (q == 0), axis=-1), np.inf, out)


def expected_kl(p_star, q, weights) -> float:
    r"""The suboptimality ε(Q) = Σ_s p_L(s) KL(P*[s] ‖ Q[s]).

    Equal to the cross-entropy of Q minus its optimum, computed directly as a
    weighted KL so it stays exact far below 1e-6 (arXiv:2010.03648, §3 and
    §4, "ε-optimal language model").

    Args:
      p_star: true next-word distributions P*, shape (N, V).
      q: language model Q, shape (N, V).
      weights: context weights p_L, shape (N,), a distribution.

    Returns:
      ε as a float (may be +inf where Q misses the support of P*).

    Raises:
      ValueError: shapes differ, rows are not distributions, bad weights.
    """
    p_star = val.simplex_rows(p_star, "p_star", ndim=2)
    q = val.simplex_rows(q, "q", ndim=2)
    val.same_shape(p_star, q, "p_star", "q")
    w = val.weights(weights, "weights", p_star.shape[0])
    kl = _kl_rows(p_star, q)
    pos = w > 0
    return float(np.sum(w[pos] * kl[pos]))


def total_variation(p, q) -> np.ndarray:
    """Total variation ½‖p − q‖₁ per row (last axis).

    Args:
      p, q: distributions of the same shape (..., V).

    Returns:
      Array of shape (...).

    Raises:
      ValueError: shapes differ or rows are not distributions.

    References:
      arXiv:2010.03648, §5.1 (Pinsker's inequality in the proof of the
      natural-task bound).
    """
    p = val.simplex_rows(p, "p", ndim=(1, 2, 3))
    q = val.simplex_rows(q, "q", ndim=(1, 2, 3))
    val.same_shape(p, q, "p", "q")
    return 0.5 * np.abs(p - q).sum(axis=-1)


def pinsker_bound(kl):
    r"""Pinsker's bound on the ℓ1 distance: ‖p − q‖₁ ≤ √(2·KL(p‖q)).

    Args:
      kl: KL divergence(s), scalar or array, >= 0.

    Returns:
      √(2·kl), same shape.

    Raises:
      ValueError: a negative or non-finite kl.

    References:
      arXiv:2010.03648, §5.1 (last step of the natural-task bound).
    """
    kl = val.nonnegative_array(kl, "kl")
    out = np.sqrt(2.0 * kl)
    return float(out) if out.ndim == 0 else out
