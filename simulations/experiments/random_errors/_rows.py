"""Rows of `random_errors`: one tilted LM on one task slice, its refitted excess next to its first-order prediction."""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import expit

from ...features import measure, reference_probe
from ...models import LanguageModel


@dataclasses.dataclass(frozen=True)
class Row:
    """One tilted LM on one task slice: measured refitted excess next to its first-order prediction."""

    sweep: str  # "eps" (all contexts, ε grid) or "contexts" (task slices at one ε)
    direction: int
    task_fraction: float
    n_task: int
    target_eps: float
    eps: float
    excess: float  # refitted box probe on p_f, ℓ_T(Q) − ℓ_T(P*), signed
    first_order: float  # E_T[(σ(m_s) − η_s)·vᵀΔ(s)] for the configured predictor
    seed: int


def make_row(
    family: str, predictor: str, sweep: str, direction: int, inst, q: np.ndarray, eps: float, target: float
) -> Row:
    """Measured refitted excess (p_f, box class) of Q on this instance's task, and the first-order term of
    `predictor` ("refit": the probe fitted on P*; "planted": (v*, b*))."""
    task = inst.task
    (m,) = measure(inst, LanguageModel(family, q, float(eps), target_eps=float(target), world_id=inst.world_id), "p_f")
    if predictor == "refit":
        ref = reference_probe(inst, "p_f")
        v, b = ref.v, ref.b
    else:
        v, b = task.v, task.b
    resid = expit(inst.world.p_star @ v + b) - task.eta
    first = float(np.sum(task.p_T * resid * ((q - inst.world.p_star) @ v)))
    n_task = int(np.sum(task.p_T > 0))
    return Row(sweep, direction, n_task / task.p_T.size, n_task, float(target), float(eps), m.excess, first, inst.seed)
