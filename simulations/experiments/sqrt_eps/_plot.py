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
    row_chain,
    select,
    slope_label,
)


def draw(rows: list, summary: dict, stem: Path, verdicts: list[Claim], families: Sequence[str]) -> list[Path]:
    """One panel per feature kind: excess against ε for every family, the paper's bound and (R9) beside them."""
    feats = [f for f in FEATURES if select(rows, feature=f)]
    chained = [r for r in select(rows, feature="p_f", probe="box") if math.isfinite(r.fixed)]
    fig, axes = new_figure(len(feats) + bool(chained), height=6.0, width=4.2 if len(feats) > 1 else 6.5)
    if chained:
        _ledger_panel(axes[0][-1], chained, summary)
    for ax, feature in zip(axes[0], feats, strict=False):
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


def _ledger_panel(ax, rows: list[ProbeRow], summary: dict) -> None:
    """The (R2) proof ledger of the p_f box rows: for each family, the mean over seeds of each link at each ε target
    (tilts) or the last checkpoint (trained LMs), on a log axis; the costliest step per family in the legend."""
    links = ("refitted", "fixed", "lipschitz", "jensen", "holder", "pinsker", "transfer")
    names = ("refitted", "τ probe\nkept fixed", "Lipschitz", "Jensen", "Hölder", "Pinsker", "transfer")
    for family in ("adversarial", "random", "trained", "corpus"):
        fam = select(rows, family=family)
        if not fam:
            continue
        groups = ([select(fam, target_eps=t) for t in sorted({r.target_eps for r in fam})]
                  if family in ("adversarial", "random") else [select(fam, step=max(r.step for r in fam))])  # fmt: skip
        cost = summary.get("ledger", {}).get(family, {})
        label = f"{family} (costliest: {cost.get('costliest') or '—'})"
        for i, group in enumerate(groups):
            chain = {k: float(np.mean([row_chain(r)[k] for r in group])) for k in links}
            pos = [j for j, k in enumerate(links) if chain[k] > 0]
            ax.semilogy(pos, [chain[links[j]] for j in pos], "-", ms=4, alpha=0.8, label=label if i == 0 else None,
                        **FAMILY_STYLE[family])  # fmt: skip
    ax.set_xticks(range(len(links)), names, fontsize=6)
    ax.set_ylabel("excess over τ (nats), each link of the proof")
    ax.set_title("the (R2) proof ledger on p_f: where the slack lies\n(per ε target or last checkpoint; seeds' mean)",
                 fontsize=9)  # fmt: skip
    ax.legend(**LEGEND_BELOW)


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
