"""The figure of `random_errors`, drawn from its stored rows and summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..kit import (
    LEGEND_BELOW,
    Claim,
    claims_title,
    column,
    finish_figure,
    format_slope,
    new_figure,
    plot_signed,
    select,
)


def draw(rows: list, summary: dict, stem: Path, verdicts: list[Claim]) -> list[Path]:
    """Three panels: the refitted excess and its first-order term against ε, their difference, and the term
    against N_T."""
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
    plot_signed(ax, column(sweep, "eps"), column(sweep, "first_order"), dict(color="k", marker="+"), "first-order term")
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
    what = (
        "Errors unrelated to the task cost a refitted probe a first-order term of random sign, not O(ε): "
        f"{summary['negative_share']:.0%} of the LMs do better than on P*"
    )
    title, verdict = claims_title(what, verdicts)
    return finish_figure(fig, title, verdict, stem)
