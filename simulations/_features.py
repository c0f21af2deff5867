"""Feature kinds of a language model, each with the probe class and the bound the theorem gives it.

An experiment asks for "feature X of LM Q, probed in class C, with its
bound" in one call (`measure`) and gets a `Measurement`. Three kinds
(docs/design.md, (R2), (R5), (R6); arXiv:2010.03648 §4-§5):

======== ========== ======================================== ==============================================
feature  dim        probe class "box" (the theorem's)        bound (from `theory`)
======== ========== ======================================== ==============================================
p_f      V          ‖v‖_∞ <= B                               (R2) τ + √(2B²ε/γ), τ = box fit on P*
phi_p_f  d          ‖λ‖_∞ <= ‖λ*‖_∞ (row-space tasks)        (R2 through v = Φᵀλ̂) τ_Φ + √(2B_Φ²ε/γ)
f        d          unconstrained                            (R6) the same + ‖λ̂‖₂·δ
======== ========== ======================================== ==============================================

τ_Φ is the box fit on ΦP*, λ̂ its weights and B_Φ = ‖Φᵀλ̂‖_∞; δ comes from a
quadratic fit of log Z over the LM's own f(s). The Φp_f and f bounds apply
to softmax LMs that use the world's Φ; elsewhere the bound is NaN. Class
"l2" (ridge on standardised features) gets the same bound for reference; the
theorem does not cover it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

import theory

from ._instance import Instance
from ._lm import LanguageModel
from ._probe import ProbeFit, fit_probe
from ._world import WorldConfig

FEATURES = ("p_f", "phi_p_f", "f")
PROBES = ("box", "l2")
LABELS = {"p_f": "features p_f (V-dim)", "phi_p_f": "features Φp_f (d-dim)", "f": "features f (d-dim)"}


class Measurement(NamedTuple):
    """One probe fitted on one feature kind of one LM, next to its bound.

    fit: the `ProbeFit` on the LM's features.  tau_ref: the same probe
    class's loss on the ε = 0 features (P*, ΦP*, θ*).  excess: fit.loss −
    tau_ref (signed: a refitted probe can do better on a perturbed LM).
    bound, tau, B: the bound and the τ and B it uses (NaN where no theorem
    covers this feature of this LM).  delta: δ of (R6) for f features, else NaN.
    """

    feature: str
    probe: str
    fit: ProbeFit
    tau_ref: float
    excess: float
    bound: float
    tau: float
    B: float
    delta: float


def check_quadratic_fit(world: WorldConfig) -> None:
    """The (R6) bound of f features fits a quadratic in d dimensions to the N contexts' f(s):
    refuse a world with fewer contexts than the fit's (d+1)(d+2)/2 coefficients before any work."""
    d = world.dim + (1 if world.word_zipf > 0 else 0)
    need = (d + 1) * (d + 2) // 2
    if world.num_contexts < need:
        raise ValueError(
            f"features f need world.num_contexts >= {need} (the quadratic log-partition fit of (R6) in "
            f"d = {d} dimensions), got {world.num_contexts}; raise world.num_contexts or drop f from features"
        )


def feature_values(inst: Instance, lm: LanguageModel, feature: str) -> np.ndarray | None:
    """The features of `lm` (N, k): Q, Q Φᵀ or F; None when the LM has no such features."""
    if feature == "p_f":
        return lm.q
    if feature == "phi_p_f":
        return lm.q @ _phi(inst, lm).T
    return lm.F


def _phi(inst: Instance, lm: LanguageModel) -> np.ndarray:
    """The LM's Φ; a Q that is not given as a softmax LM is read through the world's Φ."""
    return inst.world.Phi if lm.Phi is None else lm.Phi


def reference_values(inst: Instance, feature: str) -> np.ndarray:
    """The ε = 0 features: P*, Φ P* and θ*."""
    w = inst.world
    return {"p_f": w.p_star, "phi_p_f": w.p_star @ w.Phi.T, "f": w.theta}[feature]


def probe_class(inst: Instance, feature: str, probe: str, l2: float = 0.0) -> tuple[float | None, float]:
    """(box, l2) of a feature kind's probe class (see the module table)."""
    if probe == "l2":
        return None, l2
    if feature == "p_f":
        return inst.task.B, 0.0
    if feature == "phi_p_f" and inst.task.lam is not None:
        return float(np.max(np.abs(inst.task.lam))), 0.0
    return None, 0.0


def reference_probe(inst: Instance, feature: str, probe: str = "box", l2: float = 0.0) -> ProbeFit:
    """The probe of this class fitted on the ε = 0 features (cached on the instance)."""
    box, l2 = probe_class(inst, feature, probe, l2)
    key = ("reference", feature, box, l2)
    if key not in inst.cache:
        task = inst.task
        init = None
        if feature == "p_f":
            init = (task.v, task.b)
        elif feature == "phi_p_f" and task.lam is not None:
            init = (task.lam, task.b)
        inst.cache[key] = fit_probe(reference_values(inst, feature), task.p_T, task.eta, box=box, l2=l2, init=init)
    return inst.cache[key]


def measure(inst: Instance, lm: LanguageModel, feature: str, probes=("box",), l2: float = 0.0) -> list[Measurement]:
    """Fit each probe class on one feature kind of `lm` and attach the theorem's bound.

    Returns:
      One `Measurement` per probe class, or [] when the LM has no such
      features (f of a tilted LM that is not a softmax LM).
    """
    g = feature_values(inst, lm, feature)
    if g is None:
        return []
    tau, B, delta, bound = _bound(inst, lm, feature)
    out = []
    for probe in probes:
        ref = reference_probe(inst, feature, probe, l2)
        box, ridge = probe_class(inst, feature, probe, l2)
        fit = fit_probe(g, inst.task.p_T, inst.task.eta, box=box, l2=ridge, init=(ref.v, ref.b))
        out.append(Measurement(feature, probe, fit, ref.loss, fit.loss - ref.loss, bound, tau, B, delta))
    return out


def _bound(inst: Instance, lm: LanguageModel, feature: str) -> tuple[float, float, float, float]:
    """(τ, B, δ, bound) of the module table for this feature of this LM (NaN where not covered)."""
    w, nan = inst.world, math.nan
    if feature == "p_f":
        tau = reference_probe(inst, "p_f").loss
        return tau, inst.task.B, nan, theory.natural_task_bound(tau, inst.task.B, lm.eps, inst.gamma)
    if inst.task.lam is None or not np.array_equal(_phi(inst, lm), w.Phi):
        return nan, nan, nan, nan
    ref = reference_probe(inst, "phi_p_f")
    tau, B = ref.loss, float(np.max(np.abs(w.Phi.T @ ref.v)))
    if feature == "phi_p_f":
        return tau, B, nan, theory.natural_task_bound(tau, B, lm.eps, inst.gamma)
    delta = theory.fit_quadratic_log_partition(w.Phi, lm.F).delta
    lam_norm = float(np.linalg.norm(ref.v))
    return tau, B, delta, theory.quadratic_partition_bound(tau, B, lm.eps, lam_norm, delta, inst.gamma)


@dataclasses.dataclass(frozen=True)
class ProbeRow:
    """The shared row schema of "a probe on one feature of one LM, next to its bound".

    Experiments that measure LMs feature by feature (`sqrt_eps`, and the
    softmax-half experiments) store these rows; `probe_rows` makes them.
    """

    family: str
    target_eps: float  # NaN for trained LMs
    step: int  # optimiser step of a trained LM's checkpoint, 0 for tilts
    eps: float  # exact ε of the LM
    eps_check: float  # ε recomputed by theory.expected_kl from Q
    feature: str
    probe: str
    probe_loss: float
    probe_error: float  # probe_loss / log 2, a bound on the 0-1 error
    tau_ref: float  # the same probe class on the ε = 0 features
    excess: float  # probe_loss − tau_ref (signed)
    tau: float
    B: float
    gamma: float
    delta: float
    bound: float
    slack: float  # bound − probe_loss
    seed: int
    converged: bool
    grad_norm: float
    flag: str = ""  # why the numbers are missing (a training that diverged), else empty


def probe_rows(inst: Instance, lm: LanguageModel, features, probes, l2: float = 0.0, l2_features=FEATURES):
    """`ProbeRow`s of every (feature, probe class) of one LM; the l2 class only for `l2_features`.

    An LM whose ε or Q is not finite (a training that diverged) gets flagged
    rows with NaN numbers and the family and step named in `flag`, so the run
    records it instead of failing.
    """
    rows = []
    finite = np.isfinite(lm.eps) and np.all(np.isfinite(lm.q))
    eps_check = theory.expected_kl(inst.world.p_star, lm.q, inst.world.p_L) if finite else math.nan
    for feature in features:
        classes = [p for p in probes if p != "l2" or feature in l2_features]
        if not finite:
            rows += [_flagged(inst, lm, feature, probe) for probe in classes]
            continue
        for m in measure(inst, lm, feature, classes, l2):
            f = m.fit
            rows.append(
                ProbeRow(
                    lm.family, float(lm.target_eps), int(lm.step), float(lm.eps), float(eps_check), m.feature,
                    m.probe, f.loss, f.loss / math.log(2), m.tau_ref, m.excess, m.tau, m.B, inst.gamma, m.delta,
                    m.bound, m.bound - f.loss, int(inst.seed), bool(f.converged), f.grad_norm,
                )
            )  # fmt: skip
    return rows


def _flagged(inst: Instance, lm: LanguageModel, feature: str, probe: str) -> ProbeRow:
    """The row of an LM without finite numbers: every measured field NaN, and why in `flag`."""
    nan = {f.name: math.nan for f in dataclasses.fields(ProbeRow) if f.type == "float"}
    flag = f"{lm.family} LM at step {lm.step}: non-finite parameters or ε (the training diverged)"
    known = dict(family=lm.family, target_eps=float(lm.target_eps), step=int(lm.step), feature=feature, probe=probe)
    known |= dict(gamma=inst.gamma, seed=int(inst.seed), converged=False, flag=flag)
    return ProbeRow(**nan | known)
