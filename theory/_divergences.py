"""Divergences between next-word distributions: (R1) of docs/design.md §2."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as val


def kl_divergence(p: ArrayLike, q: ArrayLike) -> np.ndarray:
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
      With d = log(q/p), each term is computed as p·(e^d − 1 − d), which is
      >= 0 term by term (the row sums make the extra Σ(q − p) vanish), so the
      sum keeps relative accuracy when q ≈ p, where the plain sum of
      p·log(p/q) cancels its first-order terms. e^d − 1 − d is summed as a
      series for |d| < 1e-2, as expm1(d) − d up to ½ and as (q − p)/p − d
      beyond; d comes from the ratio
      q/p where it is representable and from log q − log p where it over- or
      underflows (q/p below ~1e-308 or above ~1e308), so every finite KL is
      finite. Agrees with `scipy.special.rel_entr` summed, and with 50-digit
      arithmetic, for probabilities down to 1e-300.
    """
    p = val.simplex_rows(p, "p", ndim=(1, 2, 3))
    q = val.simplex_rows(q, "q", ndim=(1, 2, 3))
    val.same_shape(p, q, "p", "q")
    return _kl_rows(p, q)


#: e^d − 1 − d is computed three ways by the size of d: below TINY_D as its series
#: d²(1/2 + d/6 + ... + d⁵/5040) (truncation below 1e-16 relative), up to SERIES_BELOW as
#: expm1(d) − d (relative error ~4e-16/|d| <= 4e-14), and above as (q − p)/p − d.
TINY_D = 1e-2
SERIES_BELOW = 0.5
_SERIES = 1.0 / np.array([2.0, 6.0, 24.0, 120.0, 720.0, 5040.0])


def _exp_minus_one_minus(d: np.ndarray) -> np.ndarray:
    """e^d − 1 − d for |d| < SERIES_BELOW, to ~1e-14 relative precision or better."""
    tiny = np.abs(d) < TINY_D
    dt = np.where(tiny, d, 0.0)  # the series on every entry, kept where |d| is tiny: no gather, no scatter
    acc = np.full_like(dt, _SERIES[-1])
    for c in _SERIES[-2::-1]:  # Horner, in place
        acc *= dt
        acc += c
    acc *= dt * dt  # (d·d)·acc, as the series was always evaluated
    out = np.expm1(d)
    out -= d
    np.copyto(out, acc, where=tiny)
    return out


def _kl_terms(p: np.ndarray, q: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Per-word terms p(e^d − 1 − d) (p > 0) and q (p = 0); d = log q − log p where p > 0."""
    with np.errstate(invalid="ignore", over="ignore"):
        # (q − p) − p·d is e^d − 1 − d times p without forming e^d (which overflows for p ≪ q);
        # at q = 0 < p, d = −inf and the term is +inf.
        pos = p > 0
        small = (np.abs(d) < SERIES_BELOW) & pos
        if small.all():  # every term by the series form (tilts and trained LMs near P*): no gather
            return p * _exp_minus_one_minus(d)
        out = np.where(pos, (q - p) - p * d, q)
        out[small] = p[small] * _exp_minus_one_minus(d[small])  # where (q − p) − p·d would cancel
        return out


#: 2-D inputs are handled in row chunks of about this many entries: every per-row KL is the same, and
#: the temporaries (about ten per chunk) stay small however large the input (a GPT-2-sized P* is 3.3 GB).
CHUNK_ENTRIES = 2**21


def _row_chunks(x: np.ndarray) -> list[slice]:
    rows = max(1, CHUNK_ENTRIES // max(1, x.shape[-1]))
    return [slice(i, i + rows) for i in range(0, x.shape[0], rows)]


def _kl_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Unvalidated core of `kl_divergence` (callers have checked shapes), a row chunk at a time."""
    if p.ndim == 2 and p.size > CHUNK_ENTRIES:
        return np.concatenate([_kl_rows_block(p[c], q[c]) for c in _row_chunks(p)])
    return _kl_rows_block(p, q)


def _kl_rows_block(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        pos = p > 0
        safe_p = np.where(pos, p, 1.0)
        ratio = q / safe_p
        usable = (ratio > 0) & np.isfinite(ratio) & (ratio >= np.finfo(float).tiny)
        if usable.all():  # log q − log p as log(q/p) everywhere: the two fallback logs are not needed
            d = np.log(ratio)
        else:
            d = np.where(usable, np.log(np.where(usable, ratio, 1.0)), np.log(q) - np.log(safe_p))
        out = _kl_terms(p, q, np.where(pos, d, 0.0)).sum(axis=-1)
    return np.where(np.any(pos & (q == 0), axis=-1), np.inf, out)


def expected_kl_log(log_p_star: ArrayLike, log_q: ArrayLike, weights: ArrayLike) -> float:
    r"""ε(Q) = Σ_s p_L(s) KL(P*[s] ‖ Q[s]) from log-probabilities.

    The same quantity as `expected_kl`, for a model given by its
    log-probabilities (a softmax LM's log_softmax(FΦ)): probabilities below
    float64's range (log q < −745) would round to 0 and make a finite KL
    infinite, while d = log q − log p stays exact.

    Args:
      log_p_star: log P*, shape (N, V); entries may be −inf (P* = 0).
      log_q: log Q, shape (N, V); −inf where Q = 0.
      weights: p_L, shape (N,).

    Returns:
      ε as a float (+inf only where Q = 0 < P*).

    Raises:
      ValueError: shapes differ, NaN or +inf entries, rows whose exp does not
        sum to 1, bad weights.
    """
    lp = _log_rows(log_p_star, "log_p_star")
    lq = _log_rows(log_q, "log_q")
    val.same_shape(lp, lq, "log_p_star", "log_q")
    w = val.weights(weights, "weights", lp.shape[0])
    kl = np.concatenate([_kl_log_rows(lp[c], lq[c]) for c in _row_chunks(lp)])
    live = w > 0
    return float(np.sum(w[live] * kl[live]))


def kl_divergence_log(log_p: ArrayLike, log_q: ArrayLike) -> np.ndarray:
    r"""KL(p‖q) per row from log-probabilities, in float64: `kl_divergence` for models given by log q.

    Probabilities below float64's range (log q < −745) would round to 0 and make a finite KL infinite; here
    d = log q − log p stays exact, and each term is computed as in `kl_divergence` (p·(e^d − 1 − d), no
    cancellation when q ≈ p).

    Args:
      log_p: log of the true distributions, shape (n, V); −inf where p = 0.
      log_q: log of the model's, same shape; −inf where q = 0.

    Returns:
      Array (n,) of per-row divergences (+inf only where q = 0 < p).

    Raises:
      ValueError: shapes differ, NaN or +inf entries, rows whose exp does not sum to 1.
    """
    lp = _log_rows(log_p, "log_p")
    lq = _log_rows(log_q, "log_q")
    val.same_shape(lp, lq, "log_p", "log_q")
    return np.concatenate([_kl_log_rows(lp[c], lq[c]) for c in _row_chunks(lp)])


def _kl_log_rows(lp: np.ndarray, lq: np.ndarray) -> np.ndarray:
    """Per-row KL from log-probabilities (one row chunk of `expected_kl_log`)."""
    with np.errstate(invalid="ignore", under="ignore"):
        p, q = np.exp(lp), np.exp(lq)
        pos = lp > -np.inf
        d = np.where(pos, lq - np.where(pos, lp, 0.0), 0.0)
        kl = _kl_terms(p, q, d).sum(axis=-1)
    return np.where(np.any(pos & (lq == -np.inf), axis=-1), np.inf, kl)


def _log_rows(x: ArrayLike, name: str) -> np.ndarray:
    """Log-probability rows: no NaN or +inf, each row's exp summing to 1."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric, got {type(x).__name__}") from err
    if arr.ndim != 2:
        raise ValueError(f"{name} must have 2 dimensions, got shape {arr.shape}")
    if np.any(np.isnan(arr) | (arr == np.inf)):
        raise ValueError(f"{name} contains NaN or +inf entries")
    with np.errstate(under="ignore"):
        sums = np.concatenate([np.exp(arr[c]).sum(axis=-1) for c in _row_chunks(arr)])
    off = np.max(np.abs(sums - 1.0))
    if off > val.SIMPLEX_ATOL:
        raise ValueError(f"{name} rows must be log-probabilities (exp summing to 1); worst row is off by {off:.3g}")
    return arr


def expected_kl(p_star: ArrayLike, q: ArrayLike, weights: ArrayLike) -> float:
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


def total_variation(p: ArrayLike, q: ArrayLike) -> np.ndarray:
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


def pinsker_bound(kl: ArrayLike) -> float | np.ndarray:
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
