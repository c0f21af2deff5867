"""Feature kinds of a language model, each with the probe class and the bounds the theory gives it.

An experiment asks for "feature X of LM Q, probed in class C, with its
bounds" in one call (`measure`) and gets a `Measurement` (docs/design.md,
(R2), (R5), (R6), (R9); arXiv:2010.03648 §4-§5):

======== ==== ======================================= =================================================
feature  dim  probe class "box" (the theorem's)       bound (from `theory`)
======== ==== ======================================= =================================================
p_f      V    ‖v‖_∞ <= B                              (R2) τ + √(2B²ε/γ)
phi_p_f  d    ‖Φᵀλ‖_∞ <= B (the polytope)             (R5) τ_Φ + √(2B²ε_Φ/γ) for a softmax LM with the
                                                      world's Φ; else (R2 through v = Φᵀλ) with ε
f        d    unconstrained, started at the (R6)      (R6) the Φp_f bound + ‖λ̂‖₂·δ_T
              comparator Aᵀλ̂
======== ==== ======================================= =================================================

τ (τ_Φ) is the class's probe fitted on the ε = 0 features (P*, ΦP*), the
smallest valid τ. ε_Φ = Σ p_L KL(p_θ*‖Q_F) is the LM's suboptimality against
the best model with its Φ (`theory.softmax_split`). For f, λ̂ is the LM's own
polytope probe on Φp_f and δ_T = E_T‖Φp_f(s) − (Af(s) + c)‖₂ comes from a
linear fit of the conditional means on the LM's f(s) (`theory.fit_gradient_map`);
the unconstrained probe on f started at the comparator (Aᵀλ̂, b̂ + λ̂ᵀc) can only
do better. Every p_f and Φp_f row also carries the (R9) residual-weighted
bound τ + ρ√X + X/8 with ρ of the ε = 0 probe. The "l2" class (ridge on
standardised features) gets the same bounds for reference; the theorem does
not cover it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy.special import log_softmax

import theory

from ..models import LanguageModel
from ..probes import ProbeFit, fit_polytope_probe, fit_probe
from ..worlds import Instance, TaskConfig, WorldConfig

FEATURES = ("p_f", "phi_p_f", "f")
PROBES = ("box", "l2")
LABELS = {"p_f": "features p_f (V-dim)", "phi_p_f": "features Φp_f (d-dim)", "f": "features f (d-dim)"}


class Measurement(NamedTuple):
    """One probe class fitted on one feature kind of one LM, next to its bounds.

    fit: the `ProbeFit` on the LM's features.  tau_ref: the same class's loss
    on the ε = 0 features.  excess: fit.loss − tau_ref (signed: a refitted
    probe can do better on a perturbed LM).  bound, tau, B: the paper's bound
    and the τ and B it uses (NaN where no theorem covers this feature of this
    LM).  eps_bound: the ε the bound uses (ε, or ε_Φ for R5).  r9_bound: the
    (R9) bound (NaN for f).  delta: δ_T of (R6) for f, else NaN.  vacuous:
    the bound is at or above the best constant predictor's loss.  trivial:
    that loss, H(η̄) under p_T (every probe class holds the constant predictor,
    so no fit is above it, and a bound at or above it cannot be violated).
    """

    feature: str
    probe: str
    fit: ProbeFit
    tau_ref: float
    excess: float
    bound: float
    tau: float
    B: float
    eps_bound: float
    r9_bound: float
    delta: float
    vacuous: bool
    trivial: float


def check_pair(inst: Instance, lm: LanguageModel) -> None:
    """Refuse an LM made for another world (its recorded `world_id` differs from the instance's) or of another
    shape. A language model is a model of the world, so one instance's LM may be measured on another task of
    the same world (`Instance.with_task`).

    Raises:
      ValueError: naming both worlds, or both shapes. An LM made by hand (no `world_id`) is checked for its
      shape only.
    """
    if not isinstance(inst, Instance) or not isinstance(lm, LanguageModel):
        raise ValueError(
            f"expected (an Instance, a LanguageModel), got ({type(inst).__name__}, {type(lm).__name__}): make the "
            "instance with make_instance and the model with language_model (or a maker such as tilted_lms)"
        )
    if lm.world_id and inst.world_id and lm.world_id != inst.world_id:
        raise ValueError(
            f"this {lm.family} language model was made for another world ({lm.world_id}), not this instance's "
            f"({inst.world_id}): its ε and Q say nothing about this world; make it again for this instance"
        )
    if np.shape(lm.q) != inst.world.p_star.shape:
        raise ValueError(
            f"the {lm.family} language model's Q has shape {np.shape(lm.q)}, but this instance has "
            f"{inst.world.p_star.shape[0]} contexts and {inst.world.p_star.shape[1]} words"
        )


def feature_values(inst: Instance, lm: LanguageModel, feature: str) -> np.ndarray | None:
    """The features of `lm` (N, k): Q, Q Φᵀ or F; None when the LM has no such features.

    Raises:
      ValueError: `lm` was made for another instance (`check_pair`).
    """
    check_pair(inst, lm)
    if feature == "p_f":
        return lm.q
    if feature == "phi_p_f":
        return lm.q @ _phi(inst, lm).T
    return lm.F


def _phi(inst: Instance, lm: LanguageModel) -> np.ndarray:
    """The LM's Φ; a Q that is not given as a softmax LM is read through the world's Φ."""
    return inst.world.Phi if lm.Phi is None else lm.Phi


def check_gradient_fit(world: WorldConfig, task: TaskConfig) -> None:
    """The (R6) bound of f features fits a linear map f(s) -> Φp_f(s) on the task's contexts: refuse,
    before any work, a config whose task has fewer contexts than the fit's d + 1 coefficients per output."""
    d = world.dim + (1 if world.word_zipf > 0 else 0)
    n_task = math.ceil(task.task_fraction * world.num_contexts)
    if n_task < d + 1:
        raise ValueError(
            f"features f need at least {d + 1} task contexts (the linear fit of (R6) in d = {d} dimensions), "
            f"got {n_task} (world.num_contexts x task.task_fraction); raise either, or drop f from features"
        )


def reference_probe(
    inst: Instance, feature: str, probe: str = "box", l2: float = 0.0, phi: np.ndarray | None = None
) -> ProbeFit:
    """The class's probe fitted on the ε = 0 features (P*, or ΦP* for the LM's Φ `phi`), cached on the instance."""
    world, task = inst.world, inst.task
    phi = world.Phi if phi is None else phi
    key = ("reference", feature, probe, l2 if probe == "l2" else 0.0, None if phi is world.Phi else phi.tobytes())
    if key not in inst.cache:
        if feature == "phi_p_f" and probe == "box":
            init = (task.lam, task.b) if task.lam is not None and phi is world.Phi else None
            fit = fit_polytope_probe(world.p_star, phi, task.p_T, task.eta, task.B, init=init)
        else:
            g = world.theta if feature == "f" else _reference_values(inst, feature, phi)  # ΦP* only when asked
            box = task.B if (feature == "p_f" and probe == "box") else None
            init = (task.v, task.b) if feature == "p_f" else None
            fit = fit_probe(g, task.p_T, task.eta, box=box, l2=l2 if probe == "l2" else 0.0, init=init)
        inst.cache[key] = fit
    return inst.cache[key]


def softmax_optimum(inst: Instance) -> theory.SoftmaxOptimum:
    """The best softmax model with the world's Φ (R3), started at θ* (cached on the instance)."""
    if "optimum" not in inst.cache:
        w = inst.world
        inst.cache["optimum"] = theory.softmax_optimum(w.Phi, w.p_star, w.p_L, init=w.theta)
    return inst.cache["optimum"]


def eps_phi(inst: Instance, lm: LanguageModel) -> float:
    """ε_Φ(F) of a softmax LM with the world's Φ (R5), from the cached optimum; NaN otherwise."""
    check_pair(inst, lm)
    if lm.F is None or lm.Phi is None or not np.array_equal(lm.Phi, inst.world.Phi):
        return math.nan
    opt = softmax_optimum(inst)
    log_opt = log_softmax(opt.theta @ inst.world.Phi, axis=-1)
    return theory.expected_kl_log(log_opt, log_softmax(lm.F @ lm.Phi, axis=-1), inst.world.p_L)


def measure(
    inst: Instance,
    lm: LanguageModel,
    feature: str,
    probes: Sequence[str] = ("box",),
    l2: float = 0.0,
    phi_box: Measurement | None = None,
) -> list[Measurement]:
    """Fit each probe class on one feature kind of `lm` and attach the bounds of the module table.

    `phi_box`: the LM's Φp_f box `Measurement` if already made (the f
    features' comparator is built from it); measured here otherwise.

    Returns:
      One `Measurement` per probe class, or [] when the LM has no such
      features (f of a tilted LM that is not a softmax LM).

    Raises:
      ValueError: `lm` was made for another instance (`check_pair`).
    """
    g = feature_values(inst, lm, feature)
    if g is None:
        return []
    if feature == "f":
        return _measure_f(inst, lm, g, probes, l2, phi_box or measure(inst, lm, "phi_p_f")[0])
    task, phi = inst.task, _phi(inst, lm)
    ref_phi = phi if feature == "phi_p_f" else None
    ref_box = reference_probe(inst, feature, "box", phi=ref_phi)
    eps_b = lm.eps
    if feature == "phi_p_f" and not math.isnan(e := eps_phi(inst, lm)):
        eps_b = e  # (R5): the conditional means only see the suboptimality against the best model with Φ
    tau = ref_box.loss
    rho = theory.probe_residual(_reference_values(inst, feature, phi), task.p_T, task.eta, ref_box.v, ref_box.b)
    bound = theory.natural_task_bound(tau, task.B, eps_b, inst.gamma)
    r9 = theory.residual_bound(tau, min(rho, 1.0), task.B, eps_b, inst.gamma)
    trivial = theory.trivial_loss(task.p_T, task.eta)
    vacuous = bound >= trivial
    out = []
    for probe in probes:
        ref = reference_probe(inst, feature, probe, l2, phi=ref_phi)
        fit = _fit(inst, lm, feature, probe, l2, g, phi, init=(ref.v, ref.b))
        out.append(Measurement(feature, probe, fit, ref.loss, fit.loss - ref.loss, bound, tau, task.B, eps_b, r9,
                               math.nan, vacuous, trivial))  # fmt: skip
    return out


def _reference_values(inst: Instance, feature: str, phi: np.ndarray) -> np.ndarray:
    return inst.world.p_star if feature == "p_f" else inst.world.p_star @ phi.T


def _fit(inst, lm, feature, probe, l2, g, phi, init) -> ProbeFit:
    task = inst.task
    if probe == "l2":
        return fit_probe(g, task.p_T, task.eta, l2=l2, init=init)
    if feature == "p_f":
        return fit_probe(g, task.p_T, task.eta, box=task.B, init=init)
    return fit_polytope_probe(lm.q, phi, task.p_T, task.eta, task.B, init=init)


def _measure_f(
    inst: Instance, lm: LanguageModel, F: np.ndarray, probes: Sequence[str], l2: float, phi_m: Measurement
) -> list[Measurement]:
    """f features: the (R6) comparator from the LM's own polytope probe `phi_m` and a linear fit of Φp_f on f."""
    task, phi = inst.task, _phi(inst, lm)
    lam, b = phi_m.fit.v, phi_m.fit.b
    gmap = theory.fit_gradient_map(phi, F, task.p_T)
    comparator = (gmap.A.T @ lam, b + float(lam @ gmap.c))
    bound = phi_m.bound + float(np.linalg.norm(lam)) * gmap.delta_mean
    trivial = theory.trivial_loss(task.p_T, task.eta)
    vacuous = bound >= trivial
    out = []
    for probe in probes:
        ref = reference_probe(inst, "f", probe, l2)
        fit = fit_probe(F, task.p_T, task.eta, l2=l2 if probe == "l2" else 0.0, init=comparator)
        out.append(Measurement("f", probe, fit, ref.loss, fit.loss - ref.loss, bound, phi_m.tau, task.B,
                               phi_m.eps_bound, math.nan, gmap.delta_mean, vacuous, trivial))  # fmt: skip
    return out
