"""Experiment `transferability`: the coefficient γ made visible.

Claims (docs/design.md "Transferability", (R2); arXiv:2010.03648 §4): the same
ε costs up to √(1/γ) more on a task whose contexts carry only a fraction γ
of the pretraining mass when the LM's errors concentrate there; errors
spread evenly cost less, errors outside the task's contexts cost nothing;
the bound holds with γ_ratio and with the tight γ(Δ).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

import theory

from .._config import check_choices, check_ranges
from .._features import measure
from .._instance import make_instance
from .._lm import placed_tilts
from .._plotting import LEGEND_BELOW, finish_figure, new_figure, plot_hollow, slope_label
from .._rows import column, select
from .._stats import slope_consistent, slopes_by
from .._task import TaskConfig
from .._world import WorldConfig
from ._base import TINY_WORLD, Experiment, RunConfig

PLACEMENTS = ("concentrated", "spread", "outside")
PLACEMENT_STYLE = {
    "concentrated": dict(color="#d62728", marker="v"),
    "spread": dict(color="#1f77b4", marker="o"),
    "outside": dict(color="#2ca02c", marker="s"),
}


@dataclasses.dataclass(frozen=True)
class Config(RunConfig):
    """Sizes and seeds of `transferability`.

    gammas: target masses p_L(S_T) of the task's context slice (uniform p_L,
      so S_T holds round(γN) contexts and γ_ratio = |S_T|/N exactly).
    eps_targets: the LMs' common ε values.  placements: where the LM's
      (adversarial) errors sit: concentrated on S_T, spread over all
      contexts, outside S_T.
    """

    world: WorldConfig = WorldConfig(vocab_size=150, num_contexts=600, dim=6)
    task: TaskConfig = TaskConfig()
    gammas: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01)
    eps_targets: tuple[float, ...] = (1e-3,)
    placements: tuple[str, ...] = PLACEMENTS
    bootstrap: int = 500

    def __post_init__(self):
        super().__post_init__()
        check_ranges("gammas", self.gammas, 0.0, 1.0, lo_open=True)
        for g in self.gammas:
            if round(g * self.world.num_contexts) < 1:
                raise ValueError(f"gammas: {g} x world.num_contexts = {g * self.world.num_contexts} < 1 context")
        check_ranges("eps_targets", self.eps_targets, 0.0, 1.0, lo_open=True)
        check_choices("placements", self.placements, PLACEMENTS)
        if self.world.context_zipf != 0:
            raise ValueError("transferability needs uniform context weights (world.context_zipf = 0)")


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
    bound_ratio: float
    bound_tight: float
    slack_ratio: float
    slack_tight: float
    seed: int
    converged: bool


def _row(inst, placement: str, gamma_target: float, lm) -> Row:
    """Refitted and planted excess of one placed LM, its γ(Δ), and the bound with γ_ratio and with γ(Δ)."""
    world, task = inst.world, inst.task
    (m,) = measure(inst, lm, "p_f")
    planted = theory.probe_loss(lm.q, task.v, task.b, task.p_T, task.eta) - task.tau_planted
    gamma_tight = theory.transferability(world.p_L, task.p_T, lm.q - world.p_star)
    b_ratio = theory.natural_task_bound(m.tau_ref, task.B, lm.eps, inst.gamma)
    b_tight = theory.natural_task_bound(m.tau_ref, task.B, lm.eps, gamma_tight)
    loss = m.fit.loss
    return Row(
        float(gamma_target), inst.gamma, gamma_tight, placement, lm.target_eps, lm.eps, loss, m.tau_ref, m.excess,
        planted, task.B, b_ratio, b_tight, b_ratio - loss, b_tight - loss, inst.seed, bool(m.fit.converged),
    )  # fmt: skip


class Transferability(Experiment):
    name = "transferability"
    title = "same ε placed on, across or outside a task slice of mass γ: excess vs γ, γ_ratio vs γ(Δ)"
    Row = Row
    profiles = {
        "tiny": Config(world=TINY_WORLD, gammas=(1.0, 0.3, 0.1), bootstrap=20),
        "quick": Config(seeds=(0, 1)),
        "standard": Config(
            world=WorldConfig(vocab_size=1000, num_contexts=2000, dim=16),
            eps_targets=(1e-4, 1e-2),
            seeds=(0, 1, 2),
            bootstrap=1000,
        ),
    }
    claim_statements = {
        "bound_holds": "(R2) bound holds with γ_ratio and with the tight γ(Δ)",
        "outside_free": "errors outside the task's contexts leave its loss unchanged",
        "concentrated_rate": "concentrated errors cost ∝ √(1/γ) for the planted classifier (γ exponent −0.5 ± 0.1)",
    }

    def work_units(self, cfg: Config) -> int:
        return len(cfg.gammas)

    def run_seed(self, cfg: Config, seed: int, tick) -> list[Row]:
        """One row per (γ, placement, ε): refitted and planted excess, γ_ratio, γ(Δ), both bounds."""
        base = make_instance(seed, cfg.world, cfg.task)
        N, rows = base.world.p_L.shape[0], []
        for gamma_target in cfg.gammas:
            inst = base.with_task(dataclasses.replace(cfg.task, task_fraction=round(gamma_target * N) / N))
            on_task = inst.task.p_T > 0
            for placement in cfg.placements:
                mask = {"concentrated": on_task, "spread": np.ones(N, bool), "outside": ~on_task}[placement]
                if mask.any():  # γ = 1 has no contexts outside the task
                    rows += [
                        _row(inst, placement, gamma_target, lm) for lm in placed_tilts(inst, mask, cfg.eps_targets)
                    ]
            tick()
        return rows

    def summarize(self, cfg: Config, rows: list[Row]) -> dict:
        tol, gamma_gap = cfg.violation_tol, {}
        for placement in cfg.placements:
            for target in cfg.eps_targets:
                tight = column(select(rows, placement=placement, target_eps=target), "gamma_tight")
                tight = tight / column(select(rows, placement=placement, target_eps=target), "gamma_ratio")
                if tight.size:
                    finite = tight[np.isfinite(tight)]
                    gamma_gap[f"{placement}/{target:g}"] = dict(
                        min=float(finite.min()) if finite.size else math.inf,
                        max=float(finite.max()) if finite.size else math.inf,
                        infinite=int(np.sum(np.isinf(tight))),
                    )
        # "outside" excesses are 0 up to rounding: no rate to fit
        rated = select(rows, placement=("concentrated", "spread"))
        by = ("placement", "target_eps")
        slopes = slopes_by(rated, by, "gamma_ratio", "excess", cfg.seeds[0], cfg.bootstrap)
        planted = slopes_by(rated, by, "gamma_ratio", "planted_excess", cfg.seeds[0], cfg.bootstrap)
        slopes.update({f"{k}/planted": v for k, v in planted.items()})
        outside = np.abs(column(select(rows, placement="outside"), "excess"))
        return dict(
            experiment=self.name,
            n_rows=len(rows),
            violations_gamma_ratio=int(np.sum(column(rows, "slack_ratio") < -tol)),
            violations_gamma_tight=int(np.sum(column(rows, "slack_tight") < -tol)),
            not_converged=int(sum(not r.converged for r in rows)),
            slopes=slopes,
            gamma_tight_over_ratio=gamma_gap,
            outside_max_abs_excess=float(outside.max()) if outside.size else 0.0,
        )

    def claims(self, cfg: Config, summary: dict) -> list:
        v1, v2 = summary["violations_gamma_ratio"], summary["violations_gamma_tight"]
        out = [
            self.claim(
                "bound_holds", v1 == v2 == 0, f"violations: {v1} (γ_ratio), {v2} (γ(Δ)) in {summary['n_rows']} rows"
            ),
            self.claim(
                "outside_free",
                summary["outside_max_abs_excess"] < 1e-9,
                f"max |excess| {summary['outside_max_abs_excess']:.2e}",
            ),
        ]
        measured, ok = [], True
        for target in cfg.eps_targets:
            s, refit = (
                summary["slopes"].get(f"concentrated/{target:g}/planted"),
                summary["slopes"].get(f"concentrated/{target:g}"),
            )
            if s:
                ok = ok and slope_consistent(s, -0.5)
                measured.append(
                    f"ε = {target:g}: exponent {s['slope']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}]; "
                    f"refitted probe: {refit['slope']:.3f} [{refit['lo']:.3f}, {refit['hi']:.3f}]"
                )
        if measured:
            out.append(self.claim("concentrated_rate", ok, "; ".join(measured)))
        return out

    def plot(self, rows: list[Row], summary: dict, stem) -> list:
        eps_values = sorted(set(column(rows, "target_eps")))
        fig, axes = new_figure(len(eps_values) + 1, height=4.4)
        for ax, target in zip(axes[0], eps_values, strict=False):
            _plot_excess(ax, select(rows, target_eps=target), summary, target)
        _plot_gamma(axes[0][-1], rows)
        v1, v2 = summary["violations_gamma_ratio"], summary["violations_gamma_tight"]
        title = (
            "transferability: same ε, errors placed on / across / outside the task's contexts S_T, p_L(S_T) = γ\n"
            f"bound violations: {v1} with γ_ratio, {v2} with tight γ(Δ);  "
            f"max |excess| for errors outside S_T: {summary['outside_max_abs_excess']:.1e}"
        )
        return finish_figure(fig, title, v1 == v2 == 0, stem)


def _plot_excess(ax, rows: list[Row], summary: dict, target: float) -> None:
    for placement in PLACEMENTS:
        sel = select(rows, placement=placement)
        if not sel:
            continue
        g, y, style = column(sel, "gamma_ratio"), column(sel, "excess"), PLACEMENT_STYLE[placement]
        label = f"{placement}: γ exponent {slope_label(summary['slopes'].get(f'{placement}/{target:g}'))[6:]}"
        pos = y > 1e-12
        if pos.any():
            ax.loglog(g[pos], y[pos], linestyle="none", markersize=6, alpha=0.8, label=label, **style)
        if (~pos).any():
            plot_hollow(
                ax, g[~pos], np.full((~pos).sum(), 1e-9), style, f"{placement}: |excess| ≤ 1e-12 (drawn at 1e-9)"
            )
        yp = column(sel, "planted_excess")
        sp = summary["slopes"].get(f"{placement}/{target:g}/planted", {})
        if (yp > 1e-12).any():
            label = f"{placement}, planted (v*, b*): exponent {sp.get('slope', math.nan):.2f}"
            plot_hollow(ax, g[yp > 1e-12], yp[yp > 1e-12], style, label, markersize=4, markerfacecolor="white")
    gg = np.geomspace(column(rows, "gamma_ratio").min(), 1.0, 20)
    conc = column(select(rows, placement="concentrated", gamma_ratio=1.0), "planted_excess")
    if conc.size:
        ax.loglog(gg, np.mean(conc) / np.sqrt(gg), "k--", lw=1, label="√(1/γ) through the planted γ = 1 points")
    B = float(np.mean(column(rows, "B")))
    curve = [theory.natural_task_bound(0.0, B, target, x) for x in gg]
    ax.loglog(gg, curve, "k-", lw=1.5, label=f"bound − τ with γ_ratio (B = {B:g})")
    ax.set_xlabel("γ = p_L(S_T)  (= γ_ratio)")
    ax.set_ylabel("excess loss (filled: refitted box probe; hollow: planted)")
    ax.set_title(f"ε = {target:g}")
    ax.legend(**LEGEND_BELOW)


def _plot_gamma(ax, rows: list[Row]) -> None:
    for placement in ("concentrated", "spread"):
        sel = [r for r in select(rows, placement=placement) if math.isfinite(r.gamma_tight)]
        if sel:
            ax.loglog(
                column(sel, "gamma_ratio"),
                column(sel, "gamma_tight"),
                linestyle="none",
                markersize=6,
                label=placement,
                **PLACEMENT_STYLE[placement],
            )
    gg = np.geomspace(column(rows, "gamma_ratio").min(), 1.0, 10)
    ax.loglog(gg, gg, "k-", lw=1, label="γ(Δ) = γ_ratio")
    n_inf = int(np.sum(np.isinf(column(rows, "gamma_tight"))))
    ax.set_xlabel("γ_ratio (task only)")
    ax.set_ylabel("tight γ(Δ) of each LM")
    ax.set_title(f"γ(Δ) ≥ γ_ratio  (outside: γ(Δ) = ∞ for {n_inf} LMs)")
    ax.legend(**LEGEND_BELOW)


EXPERIMENT = Transferability()
