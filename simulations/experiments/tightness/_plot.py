"""The figure of `tightness`, drawn from its stored rows and summary."""

from __future__ import annotations

from pathlib import Path

from ..kit import (
    FAMILY_STYLE,
    LEGEND_BELOW,
    Claim,
    claims_title,
    column,
    finish_figure,
    new_figure,
    plot_strips,
    select,
)
from ._rows import Row

STRIP_FAMILIES = ("random", "mixed", "adversarial", "trained", "worst_case")


def draw(rows: list[Row], summary: dict, stem: Path, verdicts: list[Claim]) -> list[Path]:
    """The three panels: how much of the bound is used, strips of many LMs at one ε, and the tight families."""
    fig, axes = new_figure(3, height=4.8)
    _plot_curves(axes[0][0], rows)
    plot_strips(axes[0][1], select(rows, panel="strip", classifier="refit"), STRIP_FAMILIES, "paper's bound − τ")
    axes[0][1].set_ylabel("|refitted excess| (circled: negative)")
    axes[0][1].set_title("same ε, different LMs: the bound is an envelope")
    axes[0][1].legend(**dict(LEGEND_BELOW, ncol=3))
    _plot_families(axes[0][2], rows, summary)
    sup = summary["sup_refit_ratio"]
    what = (
        "How close ε-optimal language models come to the bounds: the worst found reaches "
        f"{sup['ratio']:.0%} of the paper's bound − τ (refitted probe)"
    )
    title, verdict = claims_title(what, verdicts)
    return finish_figure(fig, title, verdict, stem)


def _plot_curves(ax, rows: list[Row]) -> None:
    labels = {"worst_case": "worst case (refitted probe)", "worst_case_planted": "worst case (planted v*, b* fixed)"}
    for family in ("random", "adversarial", "trained", "worst_case_planted", "worst_case"):
        clf = "planted" if family == "worst_case_planted" else "refit"
        sel = select(rows, panel="curve", family=family, classifier=clf)
        if sel:
            ax.semilogx(
                column(sel, "eps"),
                column(sel, "ratio"),
                linestyle="none",
                markersize=6,
                label=labels.get(family, family),
                **FAMILY_STYLE[family],
            )
    ax.axhline(1.0, color="k", lw=1.5, label="paper's bound")
    ax.set_xlabel("ε (exact)")
    ax.set_ylabel("excess / (paper's bound − τ)  (signed)")
    ax.set_title("how much of the bound is used")
    ax.legend(**dict(LEGEND_BELOW, bbox_to_anchor=(0.5, -0.18)))  # fmt: skip


def _plot_families(ax, rows: list[Row], summary: dict) -> None:
    """The analytic fixed-classifier chain, and each κ of the refitted family: the refitted probe's excess over
    ρ√X (the claim) and over the paper's √X, the planted classifier kept fixed beside them, and the window
    ε ≲ 2(κ/B)² past which the refitted family stops being tight."""
    chain = summary["chain"]
    ax.semilogx([p["eps"] for p in chain], [p["ratio"] for p in chain], "k*-",
                label="fixed-classifier chain: excess / √X (analytic; its refitted excess is 0)")  # fmt: skip
    for i, (name, fam) in enumerate(summary["family"].items()):
        color, eps = f"C{i}", fam["ratios"]["eps"]
        ax.semilogx(eps, fam["ratios"]["refit"], "o-", color=color, label=f"{name}: refitted excess / ρ√X")
        ax.semilogx(eps, fam["ratios"]["paper"], "s--", color=color, mfc="none",
                    label=f"{name}: refitted excess / √X (paper)")  # fmt: skip
        if len(fam["ratios"]["fixed"]) == len(eps):
            ax.semilogx(eps, fam["ratios"]["fixed"], "+:", color="k", ms=9, zorder=3,
                        label="each κ: planted (v*, b*) kept fixed / ρ√X (on the circles until the window)" if i == 0
                        else "_nolegend_")  # fmt: skip
        ax.axvline(fam["window"], color=color, lw=0.8, ls=(0, (1, 3)))
    ax.axhline(1.0, color="k", lw=1, ls=":")
    ax.set_xlabel("ε  (dotted verticals: each κ's window 2(κ/B)²)")
    ax.set_ylabel("ratio")
    ax.set_title("where each quantity is tight")
    ax.legend(**dict(LEGEND_BELOW, bbox_to_anchor=(0.5, -0.18)))  # fmt: skip
