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
    values,
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
        "How close ε-optimal language models come to the bounds: the worst found uses "
        f"{sup['ratio']:.0%} of the paper's bound (refitted probe)"
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
    chain = summary["chain"]
    ax.semilogx(
        [p["eps"] for p in chain],
        [p["ratio"] for p in chain],
        "k*-",
        label="fixed classifier chain: excess / √X (analytic; its refitted excess is 0)",
    )
    for i, name in enumerate(values(select(rows, panel="family"), "family")):
        sel = sorted(select(rows, panel="family", family=name), key=lambda r: r.eps)
        color = f"C{i}"
        ax.semilogx(
            column(sel, "eps"),
            column(sel, "excess") / column(sel, "first_order"),
            "o-",
            color=color,
            label=f"refitted family {name}: excess / ρ√X (R9)",
        )
        ax.semilogx(
            column(sel, "eps"),
            column(sel, "ratio"),
            "s--",
            color=color,
            mfc="none",
            label=f"refitted family {name}: excess / √X (paper)",
        )
    ax.axhline(1.0, color="k", lw=1, ls=":")
    ax.set_xlabel("ε")
    ax.set_ylabel("ratio")
    ax.set_title("where each quantity is tight")
    ax.legend(**dict(LEGEND_BELOW, bbox_to_anchor=(0.5, -0.18)))  # fmt: skip
