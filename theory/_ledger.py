"""The proof ledger of (R2) and (R9): every link of their proofs, measured on one language model.

The natural-task bound (R2) is a chain of inequalities (arXiv:2010.03648, §5.1; docs/design.md §2b):

    ℓ_T(Q) − τ ≤ ℓ_T(Q; v̂, b̂) − τ                (refit: the refitted probe does at least as well as the
                                                  τ probe (v̂, b̂) kept fixed)
               ≤ E_T|v̂ᵀΔ(s)|                       (Lipschitz: the logistic loss is 1-Lipschitz in the margin)
               ≤ √E_T(v̂ᵀΔ(s))²                     (Jensen)
               ≤ B·√E_T‖Δ(s)‖₁²                    (Hölder, ‖v̂‖∞ ≤ B)
               ≤ √(2B²ε_T),  ε_T = E_T KL(P*‖Q)     (Pinsker)
               ≤ √(2B²ε/γ)                         (transfer: ε_T ≤ ε/γ)

with Δ(s) = Q(s) − P*(s). (R9) replaces the Lipschitz link by the second-order expansion
φ(m + δ) ≤ φ(m) + φ'(m)δ + δ²/8 (φ' = σ(m) − η, 0 ≤ φ'' ≤ ¼), δ_s = v̂ᵀΔ(s):

    ℓ_T(Q; v̂, b̂) − τ ≤ E_T[φ'δ] + E_Tδ²/8         (Taylor)
                      ≤ ρ√E_Tδ² + E_Tδ²/8           (Cauchy–Schwarz, ρ = √E_T φ'²)
                      ≤ ρ√X_T + X_T/8, X_T = 2B²ε_T (Hölder and Pinsker)
                      ≤ ρ√X + X/8,     X = 2B²ε/γ   (transfer)

Every link is exact and measurable on any LM: `proof_ledger` returns them all, so the slack of each step (the
ratio of a link to the one below it) can be read off.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

from . import _validate as val
from ._divergences import kl_divergence
from ._probe import probe_loss


class ProofLedger(NamedTuple):
    """Every link of (R2)'s and (R9)'s proofs for one LM, as excesses over τ (see the module docstring).

    refitted: ℓ_T(Q) − τ of the probe refitted on Q (NaN when not given).
    fixed: ℓ_T(Q; v̂, b̂) − τ, the τ probe kept fixed.
    lipschitz, jensen, holder, pinsker, transfer: the (R2) chain, each at least the one before.
    taylor, cauchy_schwarz, r9_pinsker, r9_transfer: the (R9) chain from `fixed`.
    """

    refitted: float
    fixed: float
    lipschitz: float
    jensen: float
    holder: float
    pinsker: float
    transfer: float
    taylor: float
    cauchy_schwarz: float
    r9_pinsker: float
    r9_transfer: float

    def r2(self) -> tuple[float, ...]:
        """The (R2) chain from the refitted probe to the bound's ε-term, in proof order."""
        return (self.refitted, self.fixed, self.lipschitz, self.jensen, self.holder, self.pinsker, self.transfer)

    def r9(self) -> tuple[float, ...]:
        """The (R9) chain from the τ probe kept fixed to its ε-terms, in proof order."""
        return (self.fixed, self.taylor, self.cauchy_schwarz, self.r9_pinsker, self.r9_transfer)


#: The links' names, in proof order.
R2_LINKS = ("refitted", "fixed", "lipschitz", "jensen", "holder", "pinsker", "transfer")
R9_LINKS = ("fixed", "taylor", "cauchy_schwarz", "r9_pinsker", "r9_transfer")


def proof_ledger(
    p_star: ArrayLike,
    q: ArrayLike,
    p_T: ArrayLike,
    eta: ArrayLike,
    v: ArrayLike,
    b: float,
    B: float,
    eps: float,
    gamma: float = 1.0,
    refitted_loss: float | None = None,
) -> ProofLedger:
    r"""Every link of the (R2) and (R9) proofs for the LM Q against the τ probe (v, b) of P*.

    Args:
      p_star: P*, (N, V).  q: the LM's Q, (N, V).  p_T: (N,) task weights.  eta: (N,) label probabilities.
      v, b: the τ probe on P* (‖v‖∞ ≤ B), so that τ = ℓ_T(P*; v, b).
      B: the box.  eps: the ε of the transfer link (over p_L).  gamma: its γ (ε_T ≤ ε/γ must hold).
      refitted_loss: ℓ_T(Q) of the probe refitted on Q, if known.

    Returns:
      A `ProofLedger` of excesses over τ.

    Raises:
      ValueError: shapes, rows that are not distributions, weights, a probe outside the box, B ≤ 0, ε < 0,
      γ ≤ 0.
    """
    p_star = val.simplex_rows(p_star, "p_star", ndim=2)
    q = val.simplex_rows(q, "q", ndim=2)
    val.same_shape(p_star, q, "p_star", "q")
    N = p_star.shape[0]
    p_T = val.weights(p_T, "p_T", N)
    eta = val.as_array(eta, "eta", ndim=1)
    v = val.as_array(v, "v", ndim=1)
    if v.shape[0] != p_star.shape[1] or eta.shape[0] != N:
        raise ValueError(f"v must have {p_star.shape[1]} entries and eta {N}, got {v.shape[0]} and {eta.shape[0]}")
    B = val.positive(B, "B")
    if np.max(np.abs(v)) > B * (1 + 1e-12):
        raise ValueError(f"the probe must lie in the box ‖v‖∞ ≤ B = {B:g}, got ‖v‖∞ = {np.max(np.abs(v)):g}")
    eps = val.nonnegative(eps, "eps")
    gamma = val.transferability(gamma)
    tau = probe_loss(p_star, v, b, p_T, eta)
    delta = q - p_star
    d = delta @ v  # δ_s = vᵀΔ(s)
    grad = expit(p_star @ v + b) - eta  # φ'(m_s)
    e_d2 = float(p_T @ (d * d))
    eps_T = float(p_T @ kl_divergence(p_star, q))
    X_T, X = 2 * B * B * eps_T, 2 * B * B * eps / gamma
    rho = math.sqrt(float(p_T @ (grad * grad)))
    return ProofLedger(
        refitted=float(refitted_loss) - tau if refitted_loss is not None else math.nan,
        fixed=probe_loss(q, v, b, p_T, eta) - tau,
        lipschitz=float(p_T @ np.abs(d)),
        jensen=math.sqrt(e_d2),
        holder=B * math.sqrt(float(p_T @ np.square(np.abs(delta).sum(axis=1)))),
        pinsker=math.sqrt(X_T),
        transfer=math.sqrt(X),
        taylor=float(p_T @ (grad * d)) + e_d2 / 8,
        cauchy_schwarz=rho * math.sqrt(e_d2) + e_d2 / 8,
        r9_pinsker=rho * math.sqrt(X_T) + X_T / 8,
        r9_transfer=rho * math.sqrt(X) + X / 8,
    )
