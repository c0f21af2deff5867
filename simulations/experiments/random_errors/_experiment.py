"""Experiment `random_errors`: what errors unrelated to the task cost a refitted probe.

Claims (docs/design.md (R8); arXiv:2010.03648 §4): for mean-zero (random)
errors the refitted excess ℓ_T(Q) − ℓ_T(P*) is not O(ε): to first order it is
E_T[(σ(m̂_s) − η_s)·v̂ᵀΔ(s)], with (v̂, b̂) the box probe fitted on P* and
Δ = Q − P* (Danskin's theorem), a term of random sign (a probe may do better
on the perturbed LM than on P*) whose size shrinks like 1/√N_T with the
number N_T of task contexts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from ...core import MAX_COUNT, check_choice, check_range, check_ranges, numpy_rng
from ...models import adversarial_direction, calibrate_tilts, center, tilt_model
from ...worlds import TaskConfig, WorldConfig, make_instance
from ..kit import (
    TINY_WORLD,
    Experiment,
    RunConfig,
    check_distinct,
    check_slope_grid,
    column,
    format_slope,
    loglog_slope,
    rate_verdict,
    select,
    share_verdict,
    threshold_verdict,
    wilson_interval,
)
from ._plot import draw
from ._rows import Row, make_row

#: `Row` under a name that the `Row` class attribute of the experiment does not shadow.
_Row = Row

#: The prediction error must be of second order: its log-log slope in ε at least this (the excess's is 0.5).
SECOND_ORDER_SLOPE = 0.9
#: "Random sign": the share of negative excesses lies in [SIGN_SHARE, 1 − SIGN_SHARE].
SIGN_SHARE = 0.2


@dataclasses.dataclass(frozen=True)
class Config(RunConfig):
    """Sizes and seeds of `random_errors`.

    eps_targets: ε grid of the random tilts.  directions: random tilt
    directions per seed.  task_fractions: task slices (p_T = p_L on the first
    fraction of contexts) for the N_T sweep, at ε = `fraction_eps`.
    family: "random" (the claim) or "adversarial" (a negative control: errors
    against the labels are not of random sign).  predictor: "refit" (the
    probe fitted on P*, as Danskin's theorem says) or "planted" (v*, b*): a
    negative control, the wrong classifier for the refitted quantity.
    """

    world: WorldConfig = WorldConfig(vocab_size=200, num_contexts=800, dim=8)
    task: TaskConfig = TaskConfig()
    eps_targets: tuple[float, ...] = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
    directions: int = 12
    task_fractions: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03)
    fraction_eps: float = 1e-5
    family: str = "random"
    predictor: str = "refit"
    bootstrap: int = 500

    def __post_init__(self) -> None:
        super().__post_init__()
        check_ranges("eps_targets", self.eps_targets, 0.0, 1.0, lo_open=True)
        check_slope_grid("eps_targets", self.eps_targets, "first_order_predicts")
        check_range("directions", self.directions, 1, MAX_COUNT, integer=True)
        if self.directions < 2:
            raise ValueError(
                f"directions: random_sign and shrinks_with_contexts are claims over random directions and need "
                f"at least 2 of them, got {self.directions}"
            )
        check_ranges("task_fractions", self.task_fractions, 0.0, 1.0, lo_open=True)
        check_distinct("task_fractions", self.task_fractions)
        n_task = tuple(math.ceil(f * self.world.num_contexts) for f in self.task_fractions)  # contexts per slice
        check_slope_grid("task_fractions (as task contexts ⌈fN⌉)", n_task, "shrinks_with_contexts")
        check_range("fraction_eps", self.fraction_eps, 0.0, 1.0, lo_open=True)
        check_choice("family", self.family, {"random", "adversarial"})
        check_choice("predictor", self.predictor, {"refit", "planted"})


class RandomErrors(Experiment[Config]):
    name = "random_errors"
    title = "random (mean-zero) errors: refitted excess against its first-order prediction, and against N_T"
    Row = Row
    profiles = {
        "tiny": Config(
            world=dataclasses.replace(TINY_WORLD, num_contexts=300),  # task slices of 30 contexts and more
            eps_targets=(1e-6, 1e-5, 1e-4),
            directions=8,
            task_fractions=(1.0, 0.5, 0.25, 0.1),
            seeds=(0, 1, 2),
            bootstrap=20,
        ),
        "quick": Config(seeds=(0, 1)),
        "standard": Config(world=WorldConfig(vocab_size=500, num_contexts=2000, dim=16), seeds=(0, 1, 2)),
    }
    claim_statements = {
        "first_order_predicts": "(R8) the refitted excess is E_T[(σ(m̂) − η)·v̂ᵀΔ] up to second order: "
        f"|excess − first-order term| has log-log slope above {SECOND_ORDER_SLOPE} in ε (its whole 95% interval; "
        "decided with ≥ 3 distinct ε over a decade and ≥ 2 seeds)",
        "random_sign": f"(R8) mean-zero errors have excess of random sign: {SIGN_SHARE:.0%} to "
        f"{1 - SIGN_SHARE:.0%} of the LMs do better than on P* (the share's 95% Wilson interval over the random "
        "directions, inside that range; ≥ 2 directions)",
        "shrinks_with_contexts": "(R8) the RMS over random directions of the first-order term ∝ N_T^(−1/2) "
        "(exponent −0.5 ± 0.15; decided with ≥ 3 distinct N_T over a decade, ≥ 2 seeds and a 95% interval "
        "narrower than 0.3)",
    }

    claim_labels = {
        "first_order_predicts": "the first-order term predicts the excess",
        "random_sign": "its sign is random",
        "shrinks_with_contexts": "its size ∝ N_T^(−1/2)",
    }

    def work_units(self, cfg: Config) -> int:
        return cfg.directions

    def run_seed(self, cfg: Config, seed: int, tick: Callable[[], None]) -> list[_Row]:
        base = make_instance(seed, cfg.world, cfg.task)
        world, rows = base.world, []
        slices = [base.with_task(dataclasses.replace(cfg.task, task_fraction=f)) for f in cfg.task_fractions]
        for i in range(cfg.directions):
            if cfg.family == "random":
                u = center(world, numpy_rng(jax.random.fold_in(base.keys["tilt"], i)).normal(size=world.p_star.shape))
            else:
                u = adversarial_direction(world, base.task.eta, base.task.v, base.task.B)
            ts, es = calibrate_tilts(world, u, cfg.eps_targets)
            for target, t, e in zip(cfg.eps_targets, ts, es, strict=True):
                rows.append(make_row(cfg.family, cfg.predictor, "eps", i, base, tilt_model(world, u, t), e, target))
            (t,), (e,) = calibrate_tilts(world, u, [cfg.fraction_eps])
            q = tilt_model(world, u, t)
            rows += [
                make_row(cfg.family, cfg.predictor, "contexts", i, inst, q, e, cfg.fraction_eps) for inst in slices
            ]
            tick()
        return rows

    def summarize(self, cfg: Config, rows: list[_Row]) -> dict:
        sweep, ctx = select(rows, sweep="eps"), select(rows, sweep="contexts")
        eps, seeds = column(sweep, "eps"), column(sweep, "seed")
        error = column(sweep, "excess") - column(sweep, "first_order")
        smallest = column(sweep, "target_eps") == min(cfg.eps_targets)
        ratios = column(sweep, "excess")[smallest] / column(sweep, "first_order")[smallest]

        def slope(x, y, s, salt):
            return loglog_slope(x, np.abs(y), s, np.random.default_rng([cfg.seeds[0], salt]), cfg.bootstrap)

        # RMS of the first-order term over the random directions, per seed and task size: E[term²] ∝ 1/N_T
        rms = [(n, seed, float(np.sqrt(np.mean(column(select(ctx, n_task=n, seed=seed), "first_order") ** 2))))
               for n in sorted(set(column(ctx, "n_task"))) for seed in cfg.seeds]  # fmt: skip
        n_task, rms_seed, rms_value = (np.array(c) for c in zip(*rms, strict=True))
        return dict(
            experiment=self.name,
            n_rows=len(rows),
            smallest_eps=min(cfg.eps_targets),
            median_ratio_at_smallest_eps=float(np.median(ratios)),
            negative_share=float(np.mean(column(sweep, "excess") < 0)),
            sign_units=len({(r.seed, r.direction) for r in sweep}),  # the independent draws behind the share
            excess_exponent=slope(eps, column(sweep, "excess"), seeds, 1),
            error_exponent=slope(eps, error, seeds, 2),
            n_task_exponent=slope(n_task, rms_value, rms_seed, 3),
        )

    def claims(self, cfg: Config | None, summary: dict) -> list:
        share, err, n_task = summary["negative_share"], summary["error_exponent"], summary["n_task_exponent"]
        ratio = summary["median_ratio_at_smallest_eps"]
        predicted = (
            f"error {format_slope(err)}; excess {format_slope(summary['excess_exponent'])}; "
            f"median excess / first-order term at ε = {summary['smallest_eps']:g}: {ratio:.3f}"
        )
        lo, hi = wilson_interval(share, summary["sign_units"])
        sign = f"{share:.0%} of the LMs do better (95% interval [{lo:.0%}, {hi:.0%}] over {summary['sign_units']} " \
            "random directions)"  # fmt: skip
        return [
            self.claim("first_order_predicts", threshold_verdict(err, SECOND_ORDER_SLOPE), predicted),
            self.claim("random_sign", share_verdict(lo, hi, SIGN_SHARE, 1 - SIGN_SHARE), sign),
            self.claim("shrinks_with_contexts", rate_verdict(n_task, -0.5, 0.15, 0.3), format_slope(n_task, 3)),
        ]

    def plot(self, rows: list, summary: dict, stem: Path) -> list:
        return draw(rows, summary, stem, self.all_claims(None, summary))


EXPERIMENT = RandomErrors()
