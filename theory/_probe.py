"""Population probe loss of a linear classifier on features (docs/design.md, "Task")."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, xlogy

from . import _validate as val


def logistic_loss(z: ArrayLike) -> float | np.ndarray:
    r"""The logistic loss ℓ(z) = log(1 + e^{−z}), stable for large |z|.

    1-Lipschitz and convex; the loss of the paper's linear probes
    (arXiv:2010.03648, §3, "classification tasks").

    Args:
      z: margins, scalar or array.

    Returns:
      ℓ(z), same shape, computed as logaddexp(0, −z) so that neither
      e^{−z} overflows for z ≪ 0 nor log(1 + tiny) loses digits for z ≫ 0.

    Raises:
      ValueError: z is not finite.
    """
    z = val.as_array(z, "z")
    out = np.logaddexp(0.0, -z)
    return float(out) if out.ndim == 0 else out


def context_loss(z: ArrayLike, eta: ArrayLike) -> np.ndarray:
    r"""The expected logistic loss at one context: φ_η(z) = η ℓ(z) + (1 − η) ℓ(−z).

    The loss of a probe with margin z = vᵀg(s) + b at a context whose label is
    +1 with probability η = η(s); ℓ_T is its p_T-weighted sum. φ_η is convex,
    with φ_η'(z) = σ(z) − η and 0 <= φ_η'' <= ¼ (arXiv:2010.03648, §3). This
    is the one definition of the per-context loss in the package.

    Args:
      z: margins, any shape.
      eta: label probabilities in [0, 1], broadcastable against z.

    Returns:
      φ_η(z), the broadcast shape, computed with logaddexp (no overflow).

    Raises:
      ValueError: non-finite entries or η outside [0, 1].
    """
    z = val.as_array(z, "z")
    eta = val.as_array(eta, "eta")
    if np.any((eta < 0) | (eta > 1)):
        raise ValueError("eta must lie in [0, 1] (label probabilities)")
    return _context_loss(z, eta)


def _context_loss(z: np.ndarray, eta: np.ndarray) -> np.ndarray:
    # logaddexp(0, ∓z) is log(1 + e^{∓z}) without overflow for large |z|.
    return eta * np.logaddexp(0.0, -z) + (1.0 - eta) * np.logaddexp(0.0, z)


def probe_loss(features: ArrayLike, v: ArrayLike, b: float, p_T: ArrayLike, eta: ArrayLike) -> float:
    r"""The population probe loss ℓ_T(g, v, b) (docs/design.md, "Task").

    .. math:: ℓ_T(g, v, b) = \sum_s p_T(s) [η(s) ℓ(vᵀg(s)+b) + (1−η(s)) ℓ(−vᵀg(s)−b)]

    an exact weighted sum over the finite set of contexts (arXiv:2010.03648,
    §3, task loss with label probabilities).

    Args:
      features: g, shape (N, k), one feature vector per context.
      v: probe weights, shape (k,).
      b: probe bias, scalar.
      p_T: task context weights, shape (N,), a distribution.
      eta: label probabilities η(s) = P(y = +1 | s) in [0, 1], shape (N,).

    Returns:
      The loss as a float.

    Raises:
      ValueError: bad shapes, p_T not a distribution, η outside [0, 1].
    """
    z, w, eta = _margins(features, v, b, p_T, eta)
    return float(np.sum(w * _context_loss(z, eta)))


def probe_residual(features: ArrayLike, p_T: ArrayLike, eta: ArrayLike, v: ArrayLike, b: float) -> float:
    r"""The residual ρ = √(E_T[(σ(vᵀg(s) + b) − η(s))²]) of a probe (R9).

    σ(m) − η is the derivative of the per-context loss φ_η at the margin m,
    so ρ measures how far the probe is from Bayes-optimal on these features
    (ρ = 0 iff σ(m_s) = η_s on the task's contexts); it is the weight of the
    first-order term of `residual_bound` (docs/design.md (R9)).

    Args:
      features: g, shape (N, k).  p_T: (N,) task weights.  eta: (N,) in [0, 1].
      v: (k,) weights.  b: bias.

    Returns:
      ρ in [0, 1].

    Raises:
      ValueError: bad shapes, p_T not a distribution, η outside [0, 1].
    """
    z, w, eta = _margins(features, v, b, p_T, eta)
    r = expit(z) - eta
    return float(np.sqrt(np.sum(w * r * r)))


def _margins(
    features: ArrayLike, v: ArrayLike, b: float, p_T: ArrayLike, eta: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked margins vᵀg(s) + b, task weights and labels of a binary probe."""
    g = val.as_array(features, "features", ndim=2)
    v = val.as_array(v, "v", ndim=1)
    if v.shape[0] != g.shape[1]:
        raise ValueError(f"v must have length {g.shape[1]} (the feature dimension), got {v.shape[0]}")
    w = val.weights(p_T, "p_T", g.shape[0])
    return g @ v + val.scalar(b, "b"), w, label_probabilities(eta, g.shape[0])


def trivial_loss(p_T: ArrayLike, eta: ArrayLike) -> float:
    r"""ℓ_T of the best constant predictor: min_b Σ p_T φ_η(b) = H(η̄), η̄ = Σ p_T η.

    The loss any probe class with a free bias reaches without features; a
    bound at or above it says nothing (it is vacuous).

    Args:
      p_T: (N,) task weights.  eta: (N,) label probabilities.

    Returns:
      The binary entropy of η̄ in nats, in [0, log 2].

    Raises:
      ValueError: bad weights or η outside [0, 1].
    """
    w = val.weights(p_T, "p_T")
    eta = label_probabilities(eta, w.shape[0])
    mean = float(np.clip(np.sum(w * eta), 0.0, 1.0))
    return float(-xlogy(mean, mean) - xlogy(1.0 - mean, 1.0 - mean))


def fixed_probe_cap(v: ArrayLike, b: float, p_T: ArrayLike, eta: ArrayLike) -> float:
    r"""The largest loss the probe (v, b), kept fixed, can have on next-word distributions: ℓ_T(Q; v, b) ≤ cap.

    On the simplex the margin vᵀq + b lies in [b + min_w v_w, b + max_w v_w], and φ_η is convex, so at each
    context its largest value is at one end: cap = Σ_s p_T(s) max(φ_η(s)(b + min v), φ_η(s)(b + max v)),
    reached by a Q that puts all its mass on one word per context. A bound on ℓ_T(Q; v, b) at or above the
    cap cannot be violated by any language model (a fixed probe's row is informative only below it).

    Args:
      v: (V,) weights.  b: bias.  p_T: (N,) task weights.  eta: (N,) label probabilities.

    Returns:
      The cap, in nats.

    Raises:
      ValueError: bad weights, η outside [0, 1], non-finite v or b.
    """
    v = val.as_array(v, "v", ndim=1)
    w = val.weights(p_T, "p_T")
    eta = label_probabilities(eta, w.shape[0])
    if not (np.all(np.isfinite(v)) and np.isfinite(b)):
        raise ValueError("v and b must be finite")
    ends = np.stack([context_loss(np.full(w.shape[0], b + v.min()), eta),
                     context_loss(np.full(w.shape[0], b + v.max()), eta)])  # fmt: skip
    return float(w @ ends.max(axis=0))


def label_probabilities(eta: ArrayLike, n: int) -> np.ndarray:
    """η as a length-n vector in [0, 1] (shared check)."""
    eta = val.as_array(eta, "eta", ndim=1)
    if eta.shape[0] != n:
        raise ValueError(f"eta must have length {n} (one per context), got {eta.shape[0]}")
    if np.any((eta < 0) | (eta > 1)):
        raise ValueError("eta must lie in [0, 1] (label probabilities)")
    return eta
