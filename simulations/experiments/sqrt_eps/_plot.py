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
    claims_title,
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
    what = (
        "Downstream excess loss of probes against the language model's ε, under the paper's bound and the "
        f"residual-weighted one: {s['violations'] + s['r9_violations']} violations in {s['n_checked']} rows"
        + _world_words(s.get("world"))
    )
    title, verdict = claims_title(what, verdicts)
    return finish_figure(fig, title, verdict, stem)


def _world_words(world: dict | None) -> str:
    """', at V = 50,257 words (held a row chunk at a time)' for a chunked world ('' otherwise)."""
    if not world or not world["chunked"]:
        return ""
    return f" (V = {world['vocab_size']:,} words, N = {world['num_contexts']:,}, d* = {world['dim']}, in row chunks)"


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
