"""The theorem in three calls, for a class or a first look (docs/tutorial.md, notebooks/).

    inst = sim.make_instance(0, sim.WorldConfig(vocab_size=60, num_contexts=120, dim=4), sim.TaskConfig())
    lm = language_model(inst, eps=1e-3)            # an LM whose ε is 1e-3 (to 1%)
    print(probe_vs_bound(inst, lm))                # its probe's loss, τ, the excess and the bound

Two losses on P* are easy to confuse, and the names here keep them apart:

- `tau_fitted`: the loss of the *same probe class fitted on P** (the ε = 0
  features). It is the smallest τ the bound may use, and the reference every
  excess in this package is measured from.
- `planted_classifier_loss`: the loss on P* of the planted classifier
  (v*, b*) that made the task natural (`task.tau_planted`). It is *a* valid
  τ, but the fitted probe does at least as well, so it is larger; an excess
  measured from it would look negative.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

import theory

from .features import check_pair, measure
from .models import LanguageModel, TrainConfig, tilted_lms, trained_lms
from .worlds import Instance

#: The kinds of LM `language_model` makes.
KINDS = ("adversarial", "random", "trained")


def language_model(inst: Instance, eps: float, kind: str = "adversarial", *, max_steps: int = 2000) -> LanguageModel:
    """One language model for `inst`'s world at suboptimality ε (arXiv:2010.03648, Definition 2.2).

    kind:
      "adversarial": P* tilted against the task's labels, with ε = `eps` to 1%:
        the direction that costs the probe most per unit of KL (docs/design.md (R8)).
      "random": P* tilted along a random direction, with ε = `eps` to 1%.
      "trained": a softmax LM Q = softmax(FΦ) with the world's Φ, trained on the
        exact cross-entropy (JAX/optax) and taken at the first of 12 log-spaced
        checkpoints whose ε is at most `eps` (so its ε is at or below the
        target; read `lm.eps`). ValueError if `max_steps` do not get there.

    The returned `LanguageModel` carries Q (`lm.q`), its exact ε (`lm.eps`, a
    float64 KL) and, for softmax LMs, F and Φ.
    """
    if isinstance(eps, bool) or not (isinstance(eps, numbers.Real) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind != "trained":
        return tilted_lms(inst, kind, [float(eps)])[0]
    cfg = TrainConfig(steps=max_steps, checkpoints=12)
    lms = trained_lms(inst, cfg)
    for lm in lms:
        if lm.eps <= eps:
            return lm
    raise ValueError(
        f"a softmax LM trained for {max_steps} steps reached ε = {lms[-1].eps:.3g}, not {eps:g}; "
        "raise max_steps or ask for a tilted LM"
    )


class ProbeReport(NamedTuple):
    """A probe on one LM's features next to the theorem's bound, every number named for what it is.

    feature: "p_f" (the LM's next-word distribution, V-dim) or "phi_p_f" (its
      conditional mean embedding Φp_f, d-dim).
    eps: the LM's ε (exact KL).  eps_bound: the ε the bound uses (ε, or ε_Φ
      for Φp_f of a softmax LM with the world's Φ, (R5)).  gamma: γ of the task.
    B: the probe class's box (‖v‖∞ ≤ B; for Φp_f, ‖Φᵀλ‖∞ ≤ B).
    probe_loss: ℓ_T of the probe of that class fitted on the LM's features.
    tau_fitted: τ, the same class fitted on P*'s features: the reference.
    planted_classifier_loss: the planted (v*, b*) on P*, ≥ tau_fitted.
    excess: probe_loss − tau_fitted (signed: a refitted probe can gain).
    bound: tau_fitted + √(2B²ε_bound/γ), the paper's bound on probe_loss.
    bound_excess: bound − tau_fitted, the bound on the excess.
    gap: certified bound on how far the fit is from its class's optimum.
    certified: the fit converged (gap within the probe tolerance); when it did
      not, probe_loss and excess are only upper ends and are flagged in the text.
    holds: probe_loss − gap ≤ bound, i.e. the class's optimum may be under the
      bound (the theorem says it always is).
    vacuous: the bound is at or above the best constant predictor's loss.
    """

    feature: str
    eps: float
    eps_bound: float
    gamma: float
    B: float
    probe_loss: float
    tau_fitted: float
    planted_classifier_loss: float
    excess: float
    bound: float
    bound_excess: float
    gap: float
    certified: bool
    holds: bool
    vacuous: bool

    def __str__(self) -> str:
        lines = [
            f"feature {self.feature}, box B = {self.B:g}, γ = {self.gamma:.4g}, ε = {self.eps:.4g}"
            + (
                ""
                if math.isclose(self.eps_bound, self.eps, rel_tol=1e-6)
                else f" (the bound uses ε_Φ = {self.eps_bound:.4g}, (R5))"
            ),
            f"  probe loss on the LM's features      {self.probe_loss:.6f}",
            f"  τ: same probe class fitted on P*     {self.tau_fitted:.6f}   (the reference)",
            f"  planted classifier (v*, b*) on P*    {self.planted_classifier_loss:.6f}   "
            + ("(a larger valid τ)" if self.feature == "p_f" else "(for comparison)"),
            f"  excess = probe loss − τ              {self.excess:+.6f}",
            f"  bound on the excess √(2B²ε/γ)        {self.bound_excess:.6f}",
            f"  bound τ + √(2B²ε/γ)                  {self.bound:.6f}   "
            + ("holds" if self.holds else "VIOLATED")
            + (" (vacuous: above the constant predictor's loss)" if self.vacuous else ""),
        ]
        if not self.certified:
            lines.append(
                f"  NOT CERTIFIED: the fit stopped {self.gap:.3g} above its class's optimum at most, so the probe "
                "loss and the excess are upper ends only"
            )
        return "\n".join(lines)


#: The recorded ε of a model and the KL recomputed from its Q must agree to this (relative): both are float64
#: sums of the same terms, in another order.
EPS_RTOL = 1e-6


def probe_vs_bound(inst: Instance, lm: LanguageModel, feature: str = "p_f") -> ProbeReport:
    """Fit the theorem's probe class on `lm`'s features and put its loss next to τ and the bound (R2, R5)."""
    if feature not in ("p_f", "phi_p_f"):
        raise ValueError(f"feature must be 'p_f' or 'phi_p_f' (f has no τ of its own), got {feature!r}")
    check_pair(inst, lm)  # a model made for another world (rerunning the cell that builds inst) is refused
    if not (np.isfinite(lm.eps) and np.all(np.isfinite(lm.q))):
        raise ValueError(f"the {lm.family} LM has non-finite ε or Q (a training that diverged)")
    off = float(np.max(np.abs(np.sum(lm.q, axis=1) - 1.0)))
    if np.any(lm.q < 0) or off > theory.SIMPLEX_ATOL:
        raise ValueError(f"the {lm.family} LM's rows of Q must be next-word distributions (non-negative, summing "
                         f"to 1); the worst row is off by {off:.3g}")  # fmt: skip
    if lm.eps < 0:
        raise ValueError(f"the {lm.family} LM's ε must be >= 0 (a KL divergence), got {lm.eps!r}")
    # the bound is only as good as its ε: recompute it from Q against this world's P* (one pass over N × V)
    eps_q = theory.expected_kl(inst.world.p_star, lm.q, inst.world.p_L)
    if abs(eps_q - lm.eps) > EPS_RTOL * max(eps_q, lm.eps) + 1e-12:
        raise ValueError(
            f"the {lm.family} LM's ε = {lm.eps:.6g} is not the KL of its Q against this instance's P* ({eps_q:.6g}): "
            "was it made for another world, or its ε written by hand? Make it with language_model(inst, ...)"
        )
    (m,) = measure(inst, lm, feature, ("box",))
    return ProbeReport(
        feature=feature,
        eps=float(lm.eps),
        eps_bound=float(m.eps_bound),
        gamma=float(inst.gamma),
        B=float(m.B),
        probe_loss=float(m.fit.loss),
        tau_fitted=float(m.tau),
        planted_classifier_loss=float(inst.task.tau_planted),
        excess=float(m.fit.loss - m.tau),
        bound=float(m.bound),
        bound_excess=float(m.bound - m.tau),
        gap=float(m.fit.gap),
        certified=bool(m.fit.converged),
        holds=bool(m.fit.loss - (m.fit.gap if math.isfinite(m.fit.gap) else 0.0) <= m.bound),
        vacuous=bool(m.vacuous),
    )
