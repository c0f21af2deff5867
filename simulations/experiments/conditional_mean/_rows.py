"""Rows of `conditional_mean`: a `ProbeRow` of one trained LM with the task and the LM's split of ε."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.linalg import subspace_angles

import theory

from ..kit import (
    ProbeRow,
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Row(ProbeRow):
    """A `ProbeRow` (one probe on one feature of one trained LM) with the task and the LM's split of ε."""

    extra_dims: int
    training: str
    task: str  # the task's structure: row_space or word_groups
    eps_phi: float  # ε_Φ(F) against the best model with the LM's Φ (NaN for a learned Φ)
    eps_phi_star: float  # ε*_Φ of the world's Φ
    mean_gap: float  # √(Σ p_L ‖Φ(p_f(s) − P*[s])‖²) with the world's Φ
    mean_gap_bound: float  # (R4) summed over Φ's rows: √(2 Σ_i ‖Φ_i‖∞² ε_Φ)
    tv: float  # Σ p_L TV(p_f(s), P*[s])
    tv_floor: float  # Σ p_L TV(p_θ*(s), P*[s]): the best model with the world's Φ
    angle: float  # largest principal angle (degrees) between the LM's and the world's row spaces of Φ
    tau_p_f: float  # τ of the p_f box class on this task
    tau_planted: float  # the planted classifier's loss on P*


def lm_fields(world, lm, extra: int, training: str, floor: float, eps_star: float, e_phi: float) -> dict:
    """The LM-level fields of a row: ε split, distances to P*, principal angle of Φ."""
    diff = (lm.q - world.p_star) @ world.Phi.T
    angle = float(np.degrees(np.max(subspace_angles(lm.Phi.T, world.Phi.T))))
    return dict(
        extra_dims=extra,
        training=training,
        eps_phi=e_phi,
        eps_phi_star=eps_star,
        mean_gap=float(np.sqrt(np.sum(world.p_L * np.sum(diff * diff, axis=1)))),
        mean_gap_bound=math.sqrt(2 * np.sum(np.max(np.abs(world.Phi), axis=1) ** 2) * e_phi),
        tv=float(np.sum(world.p_L * theory.total_variation(world.p_star, lm.q))),
        tv_floor=floor,
        angle=angle,
    )
