"""Rows of `tightness`: one LM measured with the planted classifier kept fixed and with the refitted box probe."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

import theory

from ...features import measure, reference_probe
from ...models import LanguageModel, worst_lms
from ...worlds import Instance
from ..kit import select


@dataclasses.dataclass(frozen=True)
class Row:
    """One LM measured with one classifier: the planted (v*, b*) kept fixed, or the refitted box probe."""

    panel: str  # "curve" (against ε), "strip" (many LMs at one ε) or "family" (the refitted family)
    family: str
    target_eps: float
    eps: float
    classifier: str  # "planted" or "refit"
    excess: float
    bound_excess: float  # the paper's bound − τ
    r9_excess: float  # the (R9) bound − τ
    first_order: float  # ρ√X, the first-order part of (R9)
    ratio: float  # excess / (bound − τ)
    gap: float  # certificate of the refit (0 for the fixed classifier)
    source: str  # which search found a worst case ("" for the other LMs)
    seed: int


def measure_rows(inst: Instance, panel: str, lm: LanguageModel, source: str = "") -> list[Row]:
    """The two rows of one LM: the planted classifier kept fixed, and the box probe refitted (certified)."""
    task, ref = inst.task, reference_probe(inst, "p_f")
    (m,) = measure(inst, lm, "p_f")
    planted = theory.probe_loss(lm.q, task.v, task.b, task.p_T, task.eta) - task.tau_planted
    x = theory.natural_task_bound(0.0, task.B, lm.eps, inst.gamma) ** 2  # X = 2B²ε/γ
    rows = []
    for clf, exc, gap, (v, b) in (
        ("planted", planted, 0.0, (task.v, task.b)),
        ("refit", m.excess, m.fit.gap, (ref.v, ref.b)),
    ):
        first = min(theory.probe_residual(inst.world.p_star, task.p_T, task.eta, v, b), 1.0) * math.sqrt(x)
        rows.append(
            Row(
                panel,
                lm.family,
                float(lm.target_eps),
                float(lm.eps),
                clf,
                float(exc),
                math.sqrt(x),
                first + x / 8,
                first,
                exc / math.sqrt(x) if x > 0 else math.nan,
                gap,
                source,
                inst.seed,
            )
        )
    return rows  # fmt: skip


def worst_case_rows(
    inst: Instance, budgets: Sequence[float], panel: str, rounds: int, general_rounds: int, general_steps: int
) -> list[Row]:
    """Rows of the worst LMs found (`worst_lms`), each measured with the classifier it was searched against
    (general_steps = 0: no search over general logit perturbations)."""
    planted, refit = worst_lms(inst.world, inst.task, np.asarray(budgets), rounds, general_rounds, general_steps)
    rows = []
    for target, p, r in zip(budgets, planted, refit, strict=True):
        lm_p, lm_r = (
            LanguageModel(f, w.q, w.eps, target_eps=target, world_id=inst.world_id)
            for f, w in (("worst_case_planted", p), ("worst_case", r))
        )
        rows += select(measure_rows(inst, panel, lm_p, p.source), classifier="planted")
        rows += select(measure_rows(inst, panel, lm_r, r.source), classifier="refit")
    return rows  # fmt: skip
