"""Experiment `transferability`: the coefficient γ made visible.

Claims checked (DESIGN.md §2 "Transferability", (R2); arXiv:2010.03648 §4):
the same ε costs up to √(1/γ) more on a task whose contexts carry only a
fraction γ of the pretraining mass when the LM's errors concentrate there;
errors spread evenly cost less, errors outside the task's contexts cost
nothing; the bound holds with γ_ratio and with the tight γ(Δ).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

import theory

from .. import _lm
from .._config import check_choice, check_range, check_run_fields
from .._keys import numpy_rng, streams
from .._plotting import finish_figure, new_figure, plot_hollow
from .._probe import fit_probe
from .._stats import loglog_slope, slope_consistent
from .._task import TaskConfig, make_task
from .._world import WorldConfig, make_world
from ._common import Experiment

PLACEMENTS = ("concentrated", "spread", "outside")
PLACEMENT_STYLE = {
    "concentrated": dict(color="#d62728", marker="v"),
    "spread": dict(color="#1f77b4", marker="o"),
    "outside": dict(color="#2ca02c", marker="s"),
}


@dataclasses.dataclass(frozen=True)
class TransferabilityConfig:
    """Sizes and seeds of `transferability`.

    gammas: target masses p_L(S_T) of the task's context slice (uniform p_L,
      so S_T holds round(γN) contexts and γ_ratio = |S_T|/N exactly).
    eps: the LMs' common ε.  placements: where the LM's (adversarial) errors
      sit: concentrated on S_T, spread over all contexts, outside S_T.
    """

    world: WorldConfig = WorldConfig(vocab_size=150, num_contexts=600, dim=6)
    task: TaskConfig = TaskConfig()
    gammas: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01)
    eps: tuple[float, ...] = (1e-3,)
    placements: tuple[str, ...] = PLACEMENTS
    seeds: tuple[int, ...] = (0, 1)
    bootstrap: int = 500
    violation_tol: float = 1e-7

    def __post_init__(self):
        if not self.gammas or not self.eps or not self.placements or not self.seeds:
            raise ValueError("gammas, eps, placements and seeds must not be empty")
        for g in self.gammas:
            check_range("gammas", g, 0.0, 1.0, lo_open=True)
            if round(g * self.world.num_contexts) < 1:
                raise ValueError(f"gammas: {g} x world.num_contexts = {g * self.world.num_contexts} < 1 context")
        for e in self.eps:
            check_range("eps", e, 0.0, 1.0, lo_open=True)
        for p in self.placements:
            check_choice("placements", p, set(PLACEMENTS))
        if self.world.context_zipf != 0:
            raise ValueError("transferability needs uniform context weights (world.context_zipf = 0)")
        check_run_fields(self)


PROFILES = {
    "quick": TransferabilityConfig(),
    "standard": TransferabilityConfig(
        world=WorldConfig(vocab_size=1000, num_contexts=2000, dim=16),
        eps=(1e-4, 1e-2),
        seeds=(0, 1, 2),
        bootstrap=1000,
    ),
}


def work_units(cfg: TransferabilityConfig) -> int:
    return len(cfg.gammas)


def run_seed(cfg: TransferabilityConfig, seed: int, tick=lambda: None) -> list[dict]:
    """One row per (γ, placement, ε): refitted and planted excess, γ_ratio, γ(Δ), both bounds."""
    keys = streams(seed)
    world = make_world(keys["world"], cfg.world)
    rows = []
    N = world.p_L.shape[0]
    for gamma_target in cfg.gammas:
        m = int(round(gamma_target * N))
        task = make_task(keys["task"], world, dataclasses.replace(cfg.task, task_fraction=m / N))
        on_task = task.p_T > 0
        gamma_ratio = theory.transferability_ratio(world.p_L, task.p_T)
        ref = fit_probe(world.p_star, task.p_T, task.eta, box=task.B, init=(task.v, task.b))
        u_adv = _lm.tilt_direction(keys["tilt"], world, task, "adversarial")
        for placement in cfg.placements:
            mask = {"concentrated": on_task, "spread": np.ones(N, bool), "outside": ~on_task}[placement]
            if not mask.any():
                continue  # γ = 1 has no contexts outside the task
            u = u_adv * mask[:, None]
            ts, es = _lm.calibrate_tilts(world, u, cfg.eps)
            for target, t, eps in zip(cfg.eps, ts, es, strict=True):
                q = _lm.tilt_model(world, u, t)
                q[~mask] = world.p_star[~mask]  # untouched contexts exactly at P* (Δ = 0 there)
                fit = fit_probe(q, task.p_T, task.eta, box=task.B, init=(ref.v, ref.b))
                planted = theory.probe_loss(q, task.v, task.b, task.p_T, task.eta) - task.tau_planted
                gamma_tight = theory.transferability(world.p_L, task.p_T, q - world.p_star)
                b_ratio = theory.natural_task_bound(ref.loss, task.B, eps, gamma_ratio)
                b_tight = theory.natural_task_bound(ref.loss, task.B, eps, gamma_tight)
                rows.append(
                    dict(
                        gamma_target=float(gamma_target),
                        gamma_ratio=gamma_ratio,
                        gamma_tight=gamma_tight,
                        placement=placement,
                        target_eps=float(target),
                        eps=float(eps),
                        probe_loss=fit.loss,
                        tau=ref.loss,
                        excess=fit.loss - ref.loss,
                        planted_excess=planted,
                        bound_ratio=b_ratio,
                        bound_tight=b_tight,
                        slack_ratio=b_ratio - fit.loss,
                        slack_tight=b_tight - fit.loss,
                        seed=int(seed),
                        converged=bool(fit.converged),
                    )
                )
        tick()
    return rows


def summarize(cfg: TransferabilityConfig, rows: list[dict]) -> dict:
    rng = numpy_rng(streams(cfg.seeds[0])["stats"])
    tol = cfg.violation_tol
    slopes, gamma_gap = {}, {}
    for placement in cfg.placements:
        for target in cfg.eps:
            sel = [r for r in rows if r["placement"] == placement and r["target_eps"] == target]
            if not sel:
                continue
            finite = [r["gamma_tight"] / r["gamma_ratio"] for r in sel if math.isfinite(r["gamma_tight"])]
            gamma_gap[f"{placement}/{target:g}"] = dict(
                min=min(finite) if finite else math.inf,
                max=max(finite) if finite else math.inf,
                infinite=sum(1 for r in sel if math.isinf(r["gamma_tight"])),
            )
            if placement == "outside":
                continue  # its excess is 0 up to rounding: no rate to fit
            for measure in ("excess", "planted_excess"):
                fit = loglog_slope(
                    [r["gamma_ratio"] for r in sel],
                    [abs(r[measure]) for r in sel],
                    [r["seed"] for r in sel],
                    rng,
                    cfg.bootstrap,
                )
                fit["negative"] = sum(1 for r in sel if r[measure] < 0)
                slopes[f"{placement}/{target:g}" + ("/planted" if measure == "planted_excess" else "")] = fit
    outside = [abs(r["excess"]) for r in rows if r["placement"] == "outside"]
    return dict(
        experiment="transferability",
        n_rows=len(rows),
        violations_gamma_ratio=sum(1 for r in rows if r["slack_ratio"] < -tol),
        violations_gamma_tight=sum(1 for r in rows if r["slack_tight"] < -tol),
        not_converged=sum(1 for r in rows if not r["converged"]),
        slopes=slopes,
        gamma_tight_over_ratio=gamma_gap,
        outside_max_abs_excess=max(outside) if outside else 0.0,
    )


def claims(summary: dict) -> list[dict]:
    out = [
        dict(
            claim="(R2) bound holds with γ_ratio and with the tight γ(Δ)",
            verdict="PASS"
            if summary["violations_gamma_ratio"] == 0 and summary["violations_gamma_tight"] == 0
            else "FAIL",
            measured=f"violations: {summary['violations_gamma_ratio']} (γ_ratio), "
            f"{summary['violations_gamma_tight']} (γ(Δ)) in {summary['n_rows']} rows",
        ),
        dict(
            claim="errors outside the task's contexts leave its loss unchanged",
            verdict="PASS" if summary["outside_max_abs_excess"] < 1e-9 else "FAIL",
            measured=f"max |excess| {summary['outside_max_abs_excess']:.2e}",
        ),
    ]
    for key, s in summary["slopes"].items():
        if key.startswith("concentrated/") and key.endswith("/planted"):
            eps = key.split("/")[1]
            refit = summary["slopes"][f"concentrated/{eps}"]
            ok = slope_consistent(s, -0.5)
            out.append(
                dict(
                    claim="concentrated errors cost ∝ √(1/γ) for the planted classifier "
                    f"(γ exponent −0.5 ± 0.1, ε = {eps})",
                    verdict="PASS" if ok else "FAIL",
                    measured=f"exponent {s['slope']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}]; refitted probe: "
                    f"{refit['slope']:.3f} [{refit['lo']:.3f}, {refit['hi']:.3f}]",
                )
            )
    return out


def plot(rows: list[dict], summary: dict, stem) -> list:
    eps_values = sorted({r["target_eps"] for r in rows})
    fig, axes = new_figure(len(eps_values) + 1, height=4.4)
    for ax, target in zip(axes[0], eps_values, strict=False):
        for placement in PLACEMENTS:
            sel = [r for r in rows if r["placement"] == placement and r["target_eps"] == target]
            if not sel:
                continue
            g = np.array([r["gamma_ratio"] for r in sel])
            y = np.array([r["excess"] for r in sel])
            s = summary["slopes"].get(f"{placement}/{target:g}", {})
            lo, hi = s.get("lo", math.nan), s.get("hi", math.nan)
            label = f"{placement}: γ exponent {s.get('slope', math.nan):.2f} [{lo:.2f}, {hi:.2f}]"
            pos = y > 1e-12
            style = PLACEMENT_STYLE[placement]
            if pos.any():
                ax.loglog(g[pos], y[pos], linestyle="none", markersize=6, alpha=0.8, label=label, **style)
            if (~pos).any():
                floor = np.full((~pos).sum(), 1e-9)
                plot_hollow(ax, g[~pos], floor, style, f"{placement}: |excess| ≤ 1e-12 (drawn at 1e-9)")
            yp = np.array([r["planted_excess"] for r in sel])
            sp = summary["slopes"].get(f"{placement}/{target:g}/planted", {})
            if (yp > 1e-12).any():
                label = f"{placement}, planted (v*, b*): exponent {sp.get('slope', math.nan):.2f}"
                plot_hollow(ax, g[yp > 1e-12], yp[yp > 1e-12], style, label, markersize=4, markerfacecolor="white")
        gg = np.geomspace(min(r["gamma_ratio"] for r in rows), 1.0, 20)
        conc = [
            r["planted_excess"]
            for r in rows
            if r["placement"] == "concentrated" and r["target_eps"] == target and r["gamma_ratio"] == 1.0
        ]
        if conc:
            ax.loglog(gg, np.mean(conc) / np.sqrt(gg), "k--", lw=1, label="√(1/γ) through the planted γ = 1 points")
        B = 1.0
        ax.loglog(
            gg, [theory.natural_task_bound(0.0, B, target, x) for x in gg], "k-", lw=1.5, label="bound − τ with γ_ratio"
        )
        ax.set_xlabel("γ = p_L(S_T)  (= γ_ratio)")
        ax.set_ylabel("excess loss (filled: refitted box probe; hollow: planted)")
        ax.set_title(f"ε = {target:g}")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=7, frameon=False)
    ax = axes[0][-1]
    for placement in ("concentrated", "spread"):
        sel = [r for r in rows if r["placement"] == placement and math.isfinite(r["gamma_tight"])]
        if sel:
            ax.loglog(
                [r["gamma_ratio"] for r in sel],
                [r["gamma_tight"] for r in sel],
                linestyle="none",
                markersize=6,
                label=f"{placement}",
                **PLACEMENT_STYLE[placement],
            )
    gg = np.geomspace(min(r["gamma_ratio"] for r in rows), 1.0, 10)
    ax.loglog(gg, gg, "k-", lw=1, label="γ(Δ) = γ_ratio")
    n_inf = sum(1 for r in rows if math.isinf(r["gamma_tight"]))
    ax.set_xlabel("γ_ratio (task only)")
    ax.set_ylabel("tight γ(Δ) of each LM")
    ax.set_title(f"γ(Δ) ≥ γ_ratio  (outside: γ(Δ) = ∞ for {n_inf} LMs)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=7, frameon=False)
    v1, v2 = summary["violations_gamma_ratio"], summary["violations_gamma_tight"]
    return finish_figure(
        fig,
        "transferability: same ε, errors placed on / across / outside the task's contexts S_T, p_L(S_T) = γ\n"
        f"bound violations: {v1} with γ_ratio, {v2} with tight γ(Δ);  "
        f"max |excess| for errors outside S_T: {summary['outside_max_abs_excess']:.1e}",
        v1 == v2 == 0,
        stem,
    )


EXPERIMENT = Experiment(
    name="transferability",
    title="same ε placed on, across or outside a task slice of mass γ: excess vs γ, γ_ratio vs γ(Δ)",
    profiles=PROFILES,
    work_units=work_units,
    run_seed=run_seed,
    summarize=summarize,
    plot=plot,
    claims=claims,
)
