"""Embedding families and θ samples for the log-partition check (docs/design.md (R6)).

Each family draws a d × V matrix Φ whose words have unit total logit variance
per unit-norm direction on average (so ‖θ‖ means the same across families),
and `sample_thetas` draws θ's whose logits θᵀφ_w have a chosen spread.
"""

from __future__ import annotations

import numpy as np

import theory

from ..core import check_range

#: Drawn here; "zipf" (the world's Φ with its bias row) and "learned" (a trained LM's Φ) come from worlds.
SAMPLED_FAMILIES = ("isotropic", "anisotropic", "student_t")


def sample_embeddings(
    rng: np.random.Generator, family: str, V: int, d: int, *, df: float = 3.0, decay: float = 1.0, distinct: int = 0
) -> np.ndarray:
    """Φ (d, V) of one family; every family has E‖φ_w − E φ‖² = 1.

    isotropic: i.i.d. N(0, 1/d) entries (the worlds' own Φ*).
    anisotropic: coordinate i has standard deviation ∝ i^(−decay).
    student_t: i.i.d. Student-t(df) entries scaled to variance 1/d (df > 2):
      heavy tails, for which E exp(θᵀφ) is infinite, so no Gaussian form holds
      as V grows.
    distinct: if > 0, only this many distinct words, each repeated about V/distinct
      times (the empirical distribution of Φ then stops converging as V grows).
    """
    check_range("V", V, 2, integer=True)
    check_range("d", d, 1, integer=True)
    check_range("distinct", distinct, 0, integer=True)
    n = distinct if distinct else V
    if family == "isotropic":
        phi = rng.normal(size=(d, n)) / np.sqrt(d)
    elif family == "anisotropic":
        sd = np.arange(1, d + 1, dtype=float) ** (-decay)
        phi = rng.normal(size=(d, n)) * (sd / np.linalg.norm(sd))[:, None]
    elif family == "student_t":
        check_range("df", df, 2.0, lo_open=True)
        phi = rng.standard_t(df, size=(d, n)) * np.sqrt((df - 2.0) / df / d)
    else:
        raise ValueError(f"unknown embedding family {family!r} (known: {', '.join(SAMPLED_FAMILIES)})")
    return np.tile(phi, (1, -(-V // n)))[:, :V] if distinct else phi


def sample_thetas(
    rng: np.random.Generator, Phi: np.ndarray, spread: float, n: int, sigma: np.ndarray | None = None
) -> np.ndarray:
    """n θ's in isotropic random directions, each scaled so std_w(θᵀφ_w) = `spread` exactly.

    sigma: the covariance of the embeddings over the words (`theory.embedding_moments`; computed here if
    None): a θ's logit spread is √(θᵀΣθ), so no n × V product is needed.
    """
    check_range("spread", spread, 0.0, lo_open=True)
    if sigma is None:
        sigma = theory.embedding_moments(Phi).sigma
    u = rng.normal(size=(n, Phi.shape[0]))
    with np.errstate(over="ignore", invalid="ignore"):
        std = np.sqrt(np.sum((u @ sigma) * u, axis=1, keepdims=True))
    if not np.all(np.isfinite(std)):
        raise ValueError("the embeddings are too large: the spread of their logits overflows float64 (overflow)")
    if not np.all(std > 1e-9 * np.abs(Phi).max() * np.linalg.norm(u, axis=1, keepdims=True)):
        raise ValueError("the embeddings do not vary along a sampled direction (all words alike?): no spread to set")
    return spread * u / std
