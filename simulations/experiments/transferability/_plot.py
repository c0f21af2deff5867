"""The figure of `transferability`, drawn from its stored rows and summary."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import theory

from ..kit import (
    LEGEND_BELOW,
    Claim,
    claims_title,
    column,
    finish_figure,
    format_slope,
    new_figure,
    plot_hollow,
    plot_signed,
    select,
)
from ._rows import Row


def draw(rows: list, summary: dict, stem: Path, verdicts: list[Claim]) -> list[Path]:
    """One panel per ε (excess against γ), and γ(Δ) against γ_ratio."""
    eps_values = sorted(set(column(rows, "target_eps")))
    fig, axes = new_figure(len(eps_values) + 1, height=4.4)
    for ax, target in zip(axes[0], eps_values, strict=False):
        _plot_excess(ax, select(rows, target_eps=target), summary, target)
    _plot_gamma(axes[0][-1], rows)
    v = summary["violations"]
    what = (
        f"The same ε placed on, across or outside a task slice of mass γ: {sum(v.values())} violations of the "
        f"bounds in {summary['n_rows']} rows"
    )
    title, verdict = claims_title(what, verdicts)
    return finish_figure(fig, title, verdict, stem)


def refit_note(fit: dict) -> str:
    """The refitted probe's γ exponent, flagged when negative excesses make a log-log fit meaningless."""
    if fit["negative"]:
        return f"{fit['negative']} of {fit['n'] + fit['dropped']} excesses negative, no log-log rate"
    return format_slope(fit, 3)


PLACEMENT_STYLE = {
    "concentrated": dict(color="#d62728", marker="v"),
    "spread": dict(color="#1f77b4", marker="o"),
    "outside": dict(color="#2ca02c", marker="s"),
}


def _plot_excess(ax, rows: list[Row], summary: dict, target: float) -> None:
    for placement in ("concentrated", "spread"):
        sel = select(rows, placement=placement)
        if not sel:
            continue
        g, style = column(sel, "gamma_ratio"), PLACEMENT_STYLE[placement]
        fit = summary["slopes"].get(f"{placement}/{target:g}", {})
        label = f"{placement}, refitted: {refit_note(fit) if fit else ''}"
        plot_signed(ax, g, column(sel, "excess"), style, label, markersize=6, alpha=0.8)
        sp = summary["slopes"].get(f"{placement}/{target:g}/planted", {})
        label = f"{placement}, planted (v*, b*): exponent {sp.get('slope', math.nan):.2f}"
        plot_hollow(ax, g, column(sel, "planted_excess"), style, label, markersize=4, markerfacecolor="white")
    gg = np.geomspace(column(rows, "gamma_ratio").min(), 1.0, 20)
    conc = column(select(rows, placement="concentrated", gamma_ratio=1.0), "planted_excess")
    if conc.size:
        ax.loglog(gg, np.mean(conc) / np.sqrt(gg), "k--", lw=1, label="√(1/γ) through the planted γ = 1 points")
    B = float(np.mean(column(rows, "B")))
    curve = [theory.natural_task_bound(0.0, B, target, x) for x in gg]
    ax.loglog(gg, curve, "k-", lw=1.5, label=f"paper's bound − τ with γ_ratio (B = {B:g})")
    ax.set_xlabel("γ = p_L(S_T)  (= γ_ratio)")
    ax.set_ylabel("excess (refitted: filled, negative hollow; planted: small white)")
    ax.set_title(f"ε = {target:g}")
    ax.legend(**LEGEND_BELOW)


def _plot_gamma(ax, rows: list[Row]) -> None:
    for placement in ("concentrated", "spread"):
        sel = [r for r in select(rows, placement=placement) if math.isfinite(r.gamma_tight)]
        if sel:
            x, y = column(sel, "gamma_ratio"), column(sel, "gamma_tight")
            ax.loglog(x, y, linestyle="none", markersize=6, label=placement, **PLACEMENT_STYLE[placement])
    gg = np.geomspace(column(rows, "gamma_ratio").min(), 1.0, 10)
    ax.loglog(gg, gg, "k-", lw=1, label="γ(Δ) = γ_ratio")
    n_inf = int(np.sum(np.isinf(column(rows, "gamma_tight"))))
    ax.set_xlabel("γ_ratio (task only)")
    ax.set_ylabel("tight γ(Δ) of each LM")
    ax.set_title(f"tight γ(Δ) ≥ γ_ratio ({n_inf} LMs err outside S_T: γ(Δ) = ∞)", fontsize=9)
    ax.legend(**LEGEND_BELOW)
