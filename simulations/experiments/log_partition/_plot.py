"""The figure of `log_partition`, drawn from its stored rows and summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..kit import (
    FAMILY_STYLE,
    LEGEND_BELOW,
    Claim,
    claims_title,
    column,
    finish_figure,
    label_panels,
    new_figure,
    select,
    slope_label,
    values,
    words,
)
from ._rows import Row

STYLE = {
    "isotropic": dict(color="#1f77b4", marker="o"),
    "anisotropic": dict(color="#17becf", marker="s"),
    "student_t": dict(color="#d62728", marker="v"),
    "zipf": dict(color="#9467bd", marker="D"),
    "learned": FAMILY_STYLE["learned"],
    "trained": FAMILY_STYLE["trained"],
}


def draw(rows: list, summary: dict, stem: Path, verdicts: list[Claim]) -> list[Path]:
    """Four panels: the Gaussian form against V, the gradient fit against V and against the spread, and the
    (R6) bound on trained LMs."""
    fig, axes = new_figure(4, height=4.6)
    samples = select(rows, kind="sample")
    rate_spread, largest = summary["rate_spread"], max(summary["vocab_sizes"])
    for family in values(samples, "family"):
        sel, style = select(samples, family=family), STYLE[family]
        at = [r for r in sel if r.spread == rate_spread]
        g = summary["gauss_slope_v"].get(family)
        axes[0][0].loglog(column(at, "vocab_size"), column(at, "gauss_rel_err"), linestyle="none", alpha=0.8,
                          label=f"{words(family)}: {slope_label(g)}" if g else words(family), **style)  # fmt: skip
        axes[0][1].loglog(column(at, "vocab_size"), column(at, "rel_delta"), linestyle="none", alpha=0.8,
                          label=words(family), **style)  # fmt: skip
        big = [r for r in sel if r.vocab_size == largest] or sel  # learned: at the world's V only
        s = summary["delta_slope_spread"].get(family)
        axes[0][2].loglog(column(big, "logit_std"), column(big, "rel_delta"), linestyle="none", alpha=0.8,
                          label=f"{words(family)}: {slope_label(s)}" if s else words(family), **style)  # fmt: skip
    v0 = min(summary["vocab_sizes"])
    iso = [r.gauss_rel_err for r in select(samples, family="isotropic", vocab_size=v0) if r.spread == rate_spread]
    if iso:  # the 1/√V rate drawn through the isotropic family's mean at the smallest V
        v = np.geomspace(v0, largest, 20)
        axes[0][0].loglog(v, np.mean(iso) * np.sqrt(v0 / v), "k:", label="∝ 1/√V")
    _lm_panel(axes[0][3], select(rows, kind="lm"))
    panels = (
        ("V (words)", "mean |log Z − form| / mean |log Z − log V − θᵀμ|",
         f"Gaussian form log V + θᵀμ + ½θᵀΣθ (spread {rate_spread:g})"),
        ("V (words)", "mean ‖Φp_θ − (Aθ + c)‖₂ / mean ‖Φp_θ − μ‖₂",
         f"(R6) gradient fit, relative δ (spread {rate_spread:g})"),
        ("spread of the logits std_w(θᵀφ_w)", "relative δ of the gradient fit",
         f"the quadratic is local (V = {largest:,}; learned: world's V)"),
    )  # fmt: skip
    axes[0][2].set_xticks(summary["spreads"])
    for ax in axes[0][2:]:
        ax.xaxis.set_minor_formatter("")
        ax.xaxis.set_major_formatter("{x:g}")
    label_panels(axes[0], panels)
    good, total = (sum(v[i] for v in summary["lm_informative"].values()) for i in (0, 1))
    what = (
        "How close log Z_θ is to quadratic, by embedding family; the quadratic-partition bound on trained LMs' f(s) "
        f"says something at {good} of {total} checkpoints" + ("" if good else " (VACUOUS EVERYWHERE)")
    )
    title, verdict = claims_title(what, verdicts)
    return finish_figure(fig, title, verdict, stem)


def _lm_panel(ax, rows: list[Row]) -> None:
    """Per LM family and world logit scale, at the last checkpoint (mean over seeds): the room the (R5) bound
    on Φp_f leaves below the constant predictor's loss, against what (R6) adds for f, ‖λ̂‖₂δ_T. The f bound
    says something only where the penalty is below the room."""
    last = max((r.step for r in rows), default=0)
    for family in values(rows, "family"):
        sel = [r for r in select(rows, family=family) if r.step == last]
        scales = sorted(values(sel, "theta_scale"))
        room = [np.mean([r.trivial - r.phi_bound for r in sel if r.theta_scale == s]) for s in scales]
        penalty = [np.mean([r.bound - r.phi_bound for r in sel if r.theta_scale == s]) for s in scales]
        style = STYLE[family]
        ax.plot(scales, room, "-", label=f"{words(family)}: room = constant predictor − (R5) bound", **style)
        ax.plot(scales, penalty, "--", markerfacecolor="none", label=f"{words(family)}: (R6) penalty ‖λ̂‖₂δ_T", **style)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xticks(sorted(values(rows, "theta_scale")))
    ax.set_xlabel("world logit scale (std of θ*(s) entries)")
    ax.set_ylabel(f"difference of losses (nats), last checkpoint (step {last})")
    ax.set_title("(R6) on f(s): informative where penalty < room")
    ax.legend(**LEGEND_BELOW)
