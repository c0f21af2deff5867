"""Rows of `transferability`: one LM (errors placed on, across or outside a task slice) on one slice."""

from __future__ import annotations

import dataclasses

import theory

from ...features import measure, reference_probe


@dataclasses.dataclass(frozen=True)
class Row:
    """One LM (errors placed on, across or outside the task's slice) on one task slice."""

    gamma_target: float
    gamma_ratio: float
    gamma_tight: float  # γ(Δ) of this LM; inf when its errors miss the task's contexts
    placement: str
    target_eps: float
    eps: float
    probe_loss: float
    tau: float
    excess: float  # refitted box probe, signed
    planted_excess: float  # planted classifier (v*, b*)
    B: float  # the task's box (the bound's B)
    bound_ratio: float  # the paper's bound with γ_ratio
    bound_tight: float  # ... with γ(Δ)
    r9_ratio: float  # (R9) with γ_ratio
    r9_tight: float  # (R9) with γ(Δ)
    gap: float  # the refit's certificate
    seed: int
    trivial: float = float("nan")  # H(η̄), the constant predictor's loss: a bound at or above it cannot be violated


def make_row(inst, placement: str, gamma_target: float, lm) -> Row:
    """Refitted and planted excess of one placed LM, its γ(Δ), and both bounds with γ_ratio and with γ(Δ)."""
    world, task = inst.world, inst.task
    (m,) = measure(inst, lm, "p_f")
    ref = reference_probe(inst, "p_f")
    rho = min(theory.probe_residual(world.p_star, task.p_T, task.eta, ref.v, ref.b), 1.0)
    planted = theory.probe_loss(lm.q, task.v, task.b, task.p_T, task.eta) - task.tau_planted
    gamma_tight = theory.transferability(world.p_L, task.p_T, lm.q - world.p_star)
    gammas = (inst.gamma, gamma_tight)
    paper = [theory.natural_task_bound(m.tau_ref, task.B, lm.eps, g) for g in gammas]
    r9 = [theory.residual_bound(m.tau_ref, rho, task.B, lm.eps, g) for g in gammas]
    return Row(float(gamma_target), inst.gamma, gamma_tight, placement, lm.target_eps, lm.eps, m.fit.loss, m.tau_ref,
               m.excess, planted, task.B, paper[0], paper[1], r9[0], r9[1], m.fit.gap, inst.seed,
               m.trivial)  # fmt: skip
