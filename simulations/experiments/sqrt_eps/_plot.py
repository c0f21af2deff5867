"""The figure of `sqrt_eps`, drawn from its stored rows and summary."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import theory

from ...features import FEATURES, LABELS
from ..kit import (
    FAMILY_STYLE,
    LEGEND_BELOW,
    Claim,
    ProbeRow,
    column,
    finish_figure,
    new_figure,
    plot_signed,
    select,
    slope_label,
)


def draw(rows: list, summary: dict, stem: Path, verdicts: list[Claim], families: Sequence[str]) -> list[Path]:
    """One panel per feature kind: excess against ε for every family, the paper's bound and (R9) beside them."""
    feats = [f for f in FEATURES if select(rows, feature=f)]
    fig, axes = new_figure(len(feats), height=6.0, width=4.2 if len(feats) > 1 else 6.5)
    for ax, feature in zip(axes[0], feats, strict=True):
        sel = [r for r in select(rows, feature=feature, probe="box") if not r.flag]
        for family in families:
            fam = select(sel, family=family)
            if fam:
                label = f"{family}: {slope_label(summary['slopes'].get(f'box/{family}/{feature}'))}"
                plot_signed(ax, column(fam, "eps"), column(fam, "excess"), FAMILY_STYLE[family], label, alpha=0.8)
        _bound_lines(ax, sel, feature)
        ax.set_xlabel("ε = Σ p_L KL(P*‖Q)  (exact)")
        ax.set_ylabel("excess probe loss ℓ_T(features) − ℓ_T(ε = 0 features)")
        ax.set_title(LABELS[feature] + ("  (class ‖Φᵀλ‖∞ ≤ B)" if feature == "phi_p_f" else ""))
        ax.legend(ncol=1, **LEGEND_BELOW)
    s = summary
    ok = s["violations"] == s["r9_violations"] == s["unresolved"] == 0
    verdict = "0 violations" if ok else f"!!! {s['violations']} + {s['r9_violations']} (R9) VIOLATIONS !!!"
    extras = []
    if select(rows, feature="f"):
        extras.append(f"(R6) bound on f vacuous (≥ the constant predictor's loss) in {s['vacuous']['f']} rows")
    if select(rows, probe="l2"):
        extras.append(f"ℓ2 probes above the bound (class not covered): {s['l2_above_bound']}")
    if select(rows, family="trained") or select(rows, family="corpus") or s["flagged"]:
        extras.append(f"LMs flagged (diverged): {len(s['flagged'])}")
    one_seed = len({r.seed for r in rows}) == 1
    title = (
        "sqrt_eps: downstream excess loss vs LM suboptimality ε, next to the natural-task bound τ + √(2B²ε/γ) "
        "and the residual-weighted bound (R9)\n"
        f"{_world_line(s.get('world'))}"
        f"theorem's classes: {verdict} in {s['n_checked']} rows (fits certified to gap ≤ {s['max_gap']:.0e});  "
        f"max (loss−τ)/(bound−τ) for p_f: {s['max_ratio_to_bound_p_f']:.3f} (paper), "
        f"{s['max_ratio_to_r9_p_f']:.3f} (R9)\n"
        + (f"{';  '.join(extras)}\n" if extras else "")
        + "hollow markers: negative excess at |excess|;  slopes fitted on |excess| with a 95% seed bootstrap"
        + (" (one seed: the interval is the estimate itself)" if one_seed else "")
    )
    return finish_figure(fig, title, ok, stem)


def _world_line(world: dict | None) -> str:
    """The world's size, and how a chunked run's tilts differ, as one title line ('' for an older summary)."""
    if not world:
        return ""
    line = f"world: V = {world['vocab_size']:,} words, N = {world['num_contexts']:,} contexts, d* = {world['dim']}"
    if world["chunked"]:
        line += (";  held a row chunk at a time, tilts along signed word directions "
                 "(random: random signs, Gaussian word weights)")  # fmt: skip
    return line + "\n"


def _bound_lines(ax, rows: list[ProbeRow], feature: str) -> None:
    """The paper's bound − τ against ε (one curve; ε_Φ = ε here when the world is well specified), and per-LM
    markers for (R9) and, on f, for the (R6) bound with its ‖λ̂‖₂δ_T term."""
    bounded = [r for r in rows if math.isfinite(r.bound)]
    if not bounded:
        return
    eps = column(bounded, "eps")
    grid = np.geomspace(eps.min(), eps.max(), 50)
    B, gamma = float(np.mean(column(bounded, "B"))), bounded[0].gamma
    curve = [theory.natural_task_bound(0.0, B, e, gamma) for e in grid]
    ax.loglog(grid, curve, "k-", lw=1.5, label=f"paper: √(2B²ε/γ), B={B:.2f}, γ={gamma:.2f}")
    if feature == "f":
        extra = column(bounded, "bound") - column(bounded, "tau")
        ax.loglog(eps, extra, "k_", markersize=7, label="(R6) bound incl. ‖λ̂‖₂δ_T, per LM")
    else:
        r9 = column(bounded, "r9_bound") - column(bounded, "tau")
        ax.loglog(eps, r9, "_", color="#555555", markersize=7, label="(R9) ρ√X + X/8, per LM")
