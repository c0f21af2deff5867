"""The figure and the printed report of `sequence_world`."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np

from ...probes import GAP_TOL
from ..kit import (
    LEGEND_BELOW,
    Claim,
    claims_title,
    column,
    finish_figure,
    new_figure,
    plot_bound_terms,
    plot_signed,
    select,
)
from ._summary import BOUNDS, TAU_DELTA

SUFFIX_STYLE = {"none": ("C0", "o", "no suffix"), "prompt": ("C3", "s", "+ prompt"), "inert": ("0.5", "^", "+ inert")}


def draw(rows: list, summary: dict, stem: Path, verdicts: list[Claim]) -> list[Path]:
    """Three panels: τ against B per suffix; the window readers' excess against ε with both bounds; the sampled
    document's next words without and with the prompt."""
    fig, axes = new_figure(3, height=4.4, width=4.8)
    _tau_panel(axes[0][0], summary)
    _bound_panel(axes[0][1], rows, summary)
    _words_panel(axes[0][2], summary)
    what = "Documents from a mixture of HMMs over real words: after the prompt the next word carries the concept"
    title, verdict = claims_title(what, verdicts)
    return finish_figure(fig, title, verdict, stem)


def _tau_panel(ax, summary: dict) -> None:
    Bs = summary["B_sweep"]
    for s, taus in summary["tau_by_B"].items():
        color, marker, label = SUFFIX_STYLE[s]
        ax.plot(Bs, taus, "-", marker=marker, color=color, label=f"τ, ends {label}")
        d = summary["B_delta"][s]
        if d["settled"]:
            ax.plot([d["B"]], [taus[Bs.index(d["B"])]], "*", ms=13, color=color, mfc="w", zorder=3)
    floor = summary["floor"]["none"]
    ax.axhline(floor, color="k", ls="--", lw=1, label=f"E_T H(η) = {floor:.3f}: the exact posterior's own loss")
    ax.axhline(summary["trivial"]["none"], color="k", ls=":", lw=1, label="H(η̄): the constant predictor")
    ax.plot([], [], "*", ms=10, color="k", mfc="w", label=f"B_δ: τ within {TAU_DELTA:g} of τ(largest B), settled")
    ax.axvline(summary["B"], color="0.5", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("B (box of the probe on p*(·|s))")
    ax.set_ylabel("τ: best box probe's loss, concept task")
    ax.set_title(f"τ(B) at the document ends (bound's B = {summary['B']:g} dotted)")
    ax.legend(**LEGEND_BELOW)


def _bound_panel(ax, rows: list, summary: dict) -> None:
    readers = [r for r in select(rows, kind=("lm", "fixed"), suffix="none") if r.eps > 0]
    lm, fixed = select(readers, kind="lm"), select(readers, kind="fixed")
    if lm:
        plot_signed(ax, column(lm, "eps"), column(lm, "loss") - column(lm, "tau"), dict(color="C2", marker="o"),
                    "window readers: refitted probe, loss − τ")  # fmt: skip
    if fixed:
        plot_signed(ax, column(fixed, "eps"), column(fixed, "loss") - column(fixed, "tau"),
                    dict(color="k", marker="+"), "window readers: τ probe kept fixed, loss − τ")  # fmt: skip
    plot_bound_terms(ax, lm)
    if readers:
        ax.axhline(min(r.trivial - r.tau for r in readers), color="0.6", ls=":", lw=1,
                   label="H(η̄) − τ (smallest over seeds): no refitted excess exceeds its own")  # fmt: skip
    ax.set_xlabel("ε on the document ends (exact)")
    ax.set_ylabel("excess loss of the box probe on p_f")
    ax.set_title("readers of the last k tokens: both forms of the bound")
    ax.legend(**LEGEND_BELOW)


def _words_panel(ax, summary: dict) -> None:
    words = summary["next_words"]
    labels, probs, colors = [], [], []
    for s in ("none", "prompt"):
        color = SUFFIX_STYLE[s][0]
        for word, p, _ in words.get(s, [])[:6]:
            labels.append(f"{word} ({SUFFIX_STYLE[s][2]})")
            probs.append(p)
            colors.append(color)
    y = np.arange(len(labels))[::-1]
    ax.barh(y, probs, color=colors)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("p*(next word | document end [+ prompt])")
    tail = " ".join(summary["document"].split()[-8:])
    ax.set_title("a sampled document's next words\n" + textwrap.shorten(f"… {tail}", 60), fontsize=8)


def closest(check: dict, kind: str) -> str:
    """A check's closest approach for the "lm" (refitted) or "fixed" rows, or why there is none."""
    x = check["closest"][kind]
    return f"{x:.3f}" if math.isfinite(x) else "— (no informative row)"


def report_text(summary: dict) -> str:
    """The sampled document with its exact next words, τ against B per suffix, zero-shot, the oracle's ε, the
    readers' ε and the bounds' numbers."""
    lines = ["a sampled document (seed of the first row):", textwrap.fill(summary["document"], 110), ""]
    for s in [s for s in ("none", "prompt", "inert") if s in summary["next_words"]]:
        cells = ", ".join(f"{w} {p:.3f}" for w, p, _ in summary["next_words"][s])
        lines.append(f"p*(next | end{'' if s == 'none' else ' + ' + s}): {cells}")
    Bs = summary["B_sweep"]
    head = f"{'suffix':<10}" + "".join(f"{b:>9g}" for b in Bs) + "   E_T H(η)   H(η̄)   zero-shot acc. (calibrated)"
    lines += ["", "τ_B of the concept task at the ends (box probe on P*), mean over seeds", head]
    for s, taus in summary["tau_by_B"].items():
        lines.append(f"{s:<10}" + "".join(f"{t:>9.4f}" for t in taus)
                     + f"{summary['floor'][s]:>10.4f}{summary['trivial'][s]:>8.4f}"
                     + f"{summary['zero_shot_accuracy'][s]:>14.3f}")  # fmt: skip
    lines.append(
        f"τ fits not certified to {GAP_TOL:g}: {summary['uncertified_tau']} (largest gap "
        f"{summary['max_tau_gap']:.2g}, at large B: their τ is known to that much); readers' refitted probes "
        f"not certified to {GAP_TOL:g}: {summary['uncertified']} (the bound checks subtract each fit's gap)"
    )
    lines.append(f"{'B_δ':<10}" + "  ".join(f"{s}: {d['B']:g}" if d["settled"] else f"{s}: not reached"
                                            for s, d in summary["B_delta"].items()))  # fmt: skip
    oracle = summary["oracle_eps"]
    lines += ["", f"the oracle (the true conditionals): ε = {oracle['prefixes']:g} over all prefixes, "
              f"{oracle['ends']:g} on the ends", "readers of the last k tokens: ε over all prefixes (no suffix) and "
              "on the ends, and after the prompt (a reader of fewer tokens than the prompt cannot see it, hence its "
              "large ε there); excess of the refitted box probe on p_f at the ends (no suffix)"]  # fmt: skip
    for w in summary["windows"]:
        lines.append(f"  k = {w['k']:>3}: ε over all prefixes {w['eps_prefixes']:.4g} ± {w['eps_se']:.2g} (Monte Carlo "
                     f"s.e. over documents), on the ends {w['eps_ends']:.4g}, after the prompt {w['eps_prompt']:.4g}; "
                     f"probe excess {w['excess']:+.4f}")  # fmt: skip
    for field, label in BOUNDS:
        c = summary["checks"][field]
        lines.append(f"{label}: {c['violations']} violations in {c['n']} rows, {c['informative']} informative; "
                     f"closest approach (loss − τ)/(bound − τ): τ probe kept fixed {closest(c, 'fixed')}, refitted "
                     f"{closest(c, 'lm')}")  # fmt: skip
    return "\n".join(lines)
