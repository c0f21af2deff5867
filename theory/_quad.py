"""The Quad objective (R7): log Z replaced by a quadratic."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as val


def _check(Phi: ArrayLike, p_star: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    Phi = val.embeddings(Phi)
    p_star = val.simplex_rows(p_star, "p_star", ndim=2)
    if p_star.shape[1] != Phi.shape[1]:
        raise ValueError(f"p_star must have V = {Phi.shape[1]} columns, got {p_star.shape[1]}")
    return Phi, p_star


def quad_loss(F: ArrayLike, Phi: ArrayLike, p_star: ArrayLike, weights: ArrayLike) -> float:
    r"""The Quad loss ℓ_quad(F, Φ) = Σ_s p_L(s) [−f(s)ᵀΦP*[s] + ½‖Φᵀf(s)‖²].

    A surrogate for cross-entropy whose log-partition is exactly quadratic,
    so its features f(s) carry the downstream guarantee by construction
    (arXiv:2010.03648, §5.3, the Quad objective).

    Args:
      F: context features f(s), shape (N, d).
      Phi: Φ, shape (d, V).
      p_star: P*, shape (N, V).
      weights: p_L, shape (N,).

    Returns:
      The loss as a float.

    Raises:
      ValueError: bad shapes, rows or weights.
    """
    Phi, p_star = _check(Phi, p_star)
    F = val.as_array(F, "F", ndim=2)
    if F.shape != (p_star.shape[0], Phi.shape[0]):
        raise ValueError(f"F must have shape {(p_star.shape[0], Phi.shape[0])}, got {F.shape}")
    w = val.weights(weights, "weights", p_star.shape[0])
    logits = F @ Phi
    per = -np.sum(logits * p_star, axis=-1) + 0.5 * np.sum(logits**2, axis=-1)
    return float(np.sum(w * per))


def quad_minimizer(Phi: ArrayLike, p_star: ArrayLike) -> np.ndarray:
    r"""Minimiser of the Quad loss: f*(s) = (ΦΦᵀ)⁺ Φ P*[s].

    The minimum-norm minimiser; the excess loss of any F is then
    ½ Σ_s p_L(s) ‖Φᵀ(f(s) − f*(s))‖² (arXiv:2010.03648, §5.3).

    Args:
      Phi: Φ, shape (d, V).
      p_star: P*, shape (N, V).

    Returns:
      F*, shape (N, d).

    Raises:
      ValueError: bad shapes or rows.
    """
    Phi, p_star = _check(Phi, p_star)
    return p_star @ Phi.T @ np.linalg.pinv(Phi @ Phi.T, rcond=1e-12, hermitian=True)
