"""The figure of `conditional_mean`, drawn from its stored rows and summary."""

from __future__ import annotations

import math
from pathlib import Path

from ..kit import (
    FAMILY_STYLE,
    LEGEND_BELOW,
    Claim,
    claims_title,
    column,
    finish_figure,
    new_figure,
    plot_signed,
    select,
    values,
    words,
)


def draw(rows: list, summary: dict, stem: Path, verdicts: list[Claim]) -> list[Path]:
    """Three panels: the conditional means against ε_Φ, and the probes on the two tasks (natural w.r.t. Φ, and not)."""
    fig, axes = new_figure(3, height=4.8)
    ax = axes[0][0]
    fixed = select(rows, training="exact", feature="phi_p_f", task="row_space")
    for i, k in enumerate(sorted(set(column(fixed, "extra_dims")))):
        sel = select(fixed, extra_dims=k)
        x, color = column(sel, "eps_phi"), f"C{i}"
        ax.loglog(x, column(sel, "mean_gap"), "o", color=color, label=f"‖Φ(p_f − P*)‖, {k} hidden dims")
        ax.loglog(x, column(sel, "mean_gap_bound"), "_", color=color, markersize=8, label="its (R4) bound")
        ax.loglog(x, column(sel, "tv"), "s", mfc="none", color=color, label=f"TV(p_f, P*); floor {sel[0].tv_floor:.3f}")
    ax.set_xlabel("ε_Φ(F): suboptimality against the best model with Φ")
    ax.set_ylabel("distance to P* (p_L-weighted)")
    ax.set_title("(R3) the conditional means converge, p_f does not")
    ax.legend(**LEGEND_BELOW)
    for ax, task in zip(axes[0][1:], ("row_space", "word_groups"), strict=True):
        for feature, marker in (("p_f", "s"), ("phi_p_f", "o")):
            for training in values(rows, "training"):
                sel = select(rows, task=task, feature=feature, training=training)
                y = column(sel, "probe_loss") - column(sel, "tau_planted")
                style = dict(FAMILY_STYLE[training], marker=marker)
                plot_signed(
                    ax, column(sel, "eps_bound"), y, style, f"{words(feature)}, {words(training)}", markersize=5
                )
        gap = summary["tau_phi_vs_planted"].get(task, math.nan)
        ax.axhline(abs(gap), color="k", ls=":", label=f"|τ_Φ − τ_planted| = {abs(gap):.3g} ({'+' if gap > 0 else '−'})")
        ax.set_xlabel("ε the bound uses (ε_Φ for Φp_f, ε for p_f)")
        ax.set_ylabel("probe loss − τ_planted (hollow: below)")
        names = {
            "row_space": "task natural w.r.t. Φ (v* = Φᵀλ)",
            "word_groups": "natural, not w.r.t. Φ (word groups)",
        }
        ax.set_title(names[task])
        ax.legend(**LEGEND_BELOW)
    what = "Softmax LMs with d < V: the conditional means Φp_f converge to ΦP* while p_f stays at the bottleneck"
    title, verdict = claims_title(what, verdicts)
    return finish_figure(fig, title, verdict, stem)
