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
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np
from scipy.special import expit

from ..core import MAX_COUNT, check_choice, check_range, check_ranges, numpy_rng
from ..features import measure, reference_probe
from ..models import LanguageModel, adversarial_direction, calibrate_tilts, center, tilt_model
from ..worlds import TaskConfig, WorldConfig, make_instance
from .kit import (
    LEGEND_BELOW,
    TINY_WORLD,
    Experiment,
    RunConfig,
    column,
    finish_figure,
    format_slope,
    loglog_slope,
    new_figure,
    plot_signed,
    select,
    slope_consistent,
)

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
        check_range("directions", self.directions, 1, MAX_COUNT, integer=True)
        check_ranges("task_fractions", self.task_fractions, 0.0, 1.0, lo_open=True)
        check_range("fraction_eps", self.fraction_eps, 0.0, 1.0, lo_open=True)
        check_choice("family", self.family, {"random", "adversarial"})
        check_choice("predictor", self.predictor, {"refit", "planted"})


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


#: `Row` under a name that the `Row` class attribute of the experiment does not shadow.
_Row = Row


class RandomErrors(Experiment[Config]):
    name = "random_errors"
    title = "random (mean-zero) errors: refitted excess against its first-order prediction, and against N_T"
    Row = Row
    profiles = {
        "tiny": Config(
            world=TINY_WORLD,
            eps_targets=(1e-6, 1e-4),
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
        f"|excess − first-order term| has log-log slope ≥ {SECOND_ORDER_SLOPE} in ε",
        "random_sign": f"(R8) mean-zero errors have excess of random sign: {SIGN_SHARE:.0%} to "
        f"{1 - SIGN_SHARE:.0%} of the LMs do better than on P*",
        "shrinks_with_contexts": "(R8) the RMS over random directions of the first-order term ∝ N_T^(−1/2) "
        "(exponent −0.5 ± 0.15)",
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
                rows.append(_row(cfg, "eps", i, base, tilt_model(world, u, t), e, target))
            (t,), (e,) = calibrate_tilts(world, u, [cfg.fraction_eps])
            q = tilt_model(world, u, t)
            rows += [_row(cfg, "contexts", i, inst, q, e, cfg.fraction_eps) for inst in slices]
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
        return [
            self.claim("first_order_predicts", err["slope"] >= SECOND_ORDER_SLOPE, predicted),
            self.claim("random_sign", SIGN_SHARE <= share <= 1 - SIGN_SHARE, f"{share:.0%} of the LMs do better"),
            self.claim("shrinks_with_contexts", slope_consistent(n_task, -0.5, 0.15), format_slope(n_task, 3)),
        ]

    def plot(self, rows: list[_Row], summary: dict, stem: Path) -> list:
        fig, axes = new_figure(3, height=4.6)
        sweep = select(rows, sweep="eps")
        ax = axes[0][0]
        style = dict(color="#1f77b4", marker="o")
        plot_signed(
            ax,
            column(sweep, "eps"),
            column(sweep, "excess"),
            style,
            f"measured ({format_slope(summary['excess_exponent'])})",
        )
        plot_signed(
            ax, column(sweep, "eps"), column(sweep, "first_order"), dict(color="k", marker="+"), "first-order term"
        )
        ax.set_xlabel("ε (exact)")
        ax.set_ylabel("refitted excess (hollow: negative, at |·|)")
        ax.set_title("refitted excess of random tilts and its first-order term")
        ax.legend(**LEGEND_BELOW)
        ax = axes[0][1]
        error = column(sweep, "excess") - column(sweep, "first_order")
        plot_signed(
            ax,
            column(sweep, "eps"),
            error,
            dict(color="#d62728", marker="s"),
            f"excess − first-order term ({format_slope(summary['error_exponent'])})",
        )
        grid = np.geomspace(column(sweep, "eps").min(), column(sweep, "eps").max(), 10)
        top = float(np.max(np.abs(error)))
        ax.loglog(grid, top * grid / grid.max(), "k--", label="∝ ε (second order)")
        ax.loglog(grid, top * np.sqrt(grid / grid.max()), "k:", label="∝ √ε (first order)")
        ax.set_xlabel("ε (exact)")
        ax.set_ylabel("|measured excess − first-order term|")
        ax.set_title("the prediction error is of second order")
        ax.legend(**LEGEND_BELOW)
        ax = axes[0][2]
        ctx = select(rows, sweep="contexts")
        n = column(ctx, "n_task")
        ax.loglog(
            n,
            np.abs(column(ctx, "first_order")),
            "o",
            color="#9467bd",
            label=f"|first-order term| ({format_slope(summary['n_task_exponent'], 3)})",
        )
        grid = np.geomspace(n.min(), n.max(), 10)
        anchor = float(np.median(np.abs(column(select(ctx, n_task=int(n.max())), "first_order"))))
        ax.loglog(grid, anchor * np.sqrt(n.max() / grid), "k--", label="∝ N_T^(−1/2)")
        ticks = sorted({int(x) for x in n})
        ax.set_xticks(ticks, [str(t) for t in ticks], minor=False)
        ax.minorticks_off()
        ax.set_xlabel("N_T, contexts in the task")
        ax.set_ylabel(f"|first-order term| at ε = {ctx[0].target_eps:g}")
        ax.set_title("its size shrinks with the number of task contexts")
        ax.legend(**LEGEND_BELOW)
        verdicts = self.claims(None, summary)
        title = (
            "random_errors: errors unrelated to the task cost a refitted probe ±E_T[(σ(m̂)−η)·v̂ᵀΔ] to first order, "
            "not O(ε)\n"
            f"prediction error slope {summary['error_exponent']['slope']:.2f} (second order: 1);  median excess / "
            f"first-order term at the smallest ε {summary['median_ratio_at_smallest_eps']:.3f};  "
            f"{summary['negative_share']:.0%} of the LMs do better than on P*;  "
            f"N_T exponent {summary['n_task_exponent']['slope']:.2f}\n"
            + ";  ".join(f"{c.id}: {c.verdict}" for c in verdicts)
        )
        return finish_figure(fig, title, all(c.passed for c in verdicts), stem)


def _row(cfg: Config, sweep: str, direction: int, inst, q: np.ndarray, eps: float, target: float) -> Row:
    """Measured refitted excess (p_f, box class) of Q on this instance's task, and the first-order term."""
    task = inst.task
    (m,) = measure(inst, LanguageModel(cfg.family, q, float(eps), target_eps=float(target)), "p_f")
    if cfg.predictor == "refit":
        ref = reference_probe(inst, "p_f")
        v, b = ref.v, ref.b
    else:
        v, b = task.v, task.b
    resid = expit(inst.world.p_star @ v + b) - task.eta
    first = float(np.sum(task.p_T * resid * ((q - inst.world.p_star) @ v)))
    n_task = int(np.sum(task.p_T > 0))
    return Row(sweep, direction, n_task / task.p_T.size, n_task, float(target), float(eps), m.excess, first, inst.seed)


EXPERIMENT = RandomErrors()
