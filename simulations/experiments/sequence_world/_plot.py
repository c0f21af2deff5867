"""The figure and the printed report of `sequence_world`."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np

from ...probes import GAP_TOL
from ..kit import (
    LEGEND_BELOW,
    PROBES,
    Claim,
    claims_title,
    closest_text,
    column,
    finish_figure,
    new_figure,
    plot_bound_terms,
    plot_signed,
    select,
)
from ._summary import BOUNDS, TAU_DELTA, without_sqrt_L

SUFFIX_STYLE = {"none": ("C0", "o", "no suffix"), "prompt": ("C3", "s", "+ prompt")}
FAMILY_MARKERS = {"reader": ("C2", "o"), "end tilt": ("C4", "D")}


def draw(rows: list, summary: dict, stem: Path, verdicts: list[Claim]) -> list[Path]:
    """Four panels: τ against B with and without the prompt; the prompt's gain beside each control's (the claim's
    quantity next to its controls'); the exact LMs' excess against ε with both bounds and the bound that lost its
    √L (the end tilts must be above it); the sampled document's next words without and with the prompt."""
    fig, axes = new_figure(4, height=4.6, width=4.6)
    _tau_panel(axes[0][0], summary)
    _gains_panel(axes[0][1], summary)
    _bound_panel(axes[0][2], rows, summary)
    _words_panel(axes[0][3], summary)
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


def _gains_panel(ax, summary: dict) -> None:
    """τ(no suffix) − τ(suffix) at the bound's B for the prompt and each control, with the margin the prompt must
    beat the best control by."""
    gains, share, vs = summary["prompt_gain"], summary["information_share"], summary["prompt_vs_controls"]
    names = ["prompt"] + [s for s in gains if s != "prompt"]
    y = np.arange(len(names))[::-1]
    colours = ["C3" if n == "prompt" else "C1" if n == vs["best_control"] else "0.6" for n in names]
    ax.barh(y, [gains[n] for n in names], color=colours)
    ax.set_yticks(y, [f"{n} ({share[n]:.2f})" for n in names], fontsize=6)
    ax.axvline(0, color="k", lw=0.8)
    if math.isfinite(vs["best_control_gain"]):
        ax.axvline(vs["best_control_gain"] + vs["margin"], color="C3", ls=":", lw=1,
                   label=f"best control + {vs['margin']:g}: the prompt must reach it")  # fmt: skip
    ax.set_xlabel(f"τ(no suffix) − τ(+ suffix) at B = {summary['B']:g} (nats); same labels for every suffix")
    ax.set_title("the prompt against its controls\n(in brackets: share of H(η̄) a probe reads)", fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**LEGEND_BELOW)


def _bound_panel(ax, rows: list, summary: dict) -> None:
    lms = [r for r in select(rows, kind=("lm", "fixed"), suffix="none") if r.eps > 0]
    for family, (colour, marker) in FAMILY_MARKERS.items():
        fam = select(lms, family=family)
        lm, fixed = select(fam, kind="lm"), select(fam, kind="fixed")
        name = "window readers" if family == "reader" else "P* tilted at the ends"
        if lm:
            plot_signed(ax, column(lm, "eps"), column(lm, "loss") - column(lm, "tau"),
                        dict(color=colour, marker=marker), f"{name}: refitted probe, loss − τ")  # fmt: skip
        if fixed:
            plot_signed(ax, column(fixed, "eps"), column(fixed, "loss") - column(fixed, "tau"),
                        dict(color="k", marker="+" if family == "reader" else "x"),
                        f"{name}: τ probe kept fixed, loss − τ")  # fmt: skip
    plot_bound_terms(ax, select(lms, kind="lm"))
    tilts = sorted(select(lms, kind="fixed", family="end tilt"), key=lambda r: r.eps)
    if tilts:
        lost = summary["lost_sqrt_L"]
        ax.loglog([r.eps for r in tilts], [without_sqrt_L(r, "r9_prefixes") - r.tau for r in tilts], color="C4",
                  ls="-.", lw=1, label=f"(R9) over all prefixes without its √L (γ taken as 1): the end tilts' fixed "
                  f"probe reaches {lost['(R9) fixed']:.2f}× it, (R2)'s {lost['(R2) fixed']:.2f}×")  # fmt: skip
    if lms:
        ax.axhline(min(r.trivial - r.tau for r in lms), color="0.6", ls=":", lw=1,
                   label="H(η̄) − τ (smallest over seeds): no refitted excess exceeds its own")  # fmt: skip
    ax.set_xlabel("ε on the document ends (exact)")
    ax.set_ylabel("excess loss of the box probe on p_f")
    ax.set_title("exact LMs: both forms of the bound")
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
    ax.set_xlabel("p*(next word | end [+ prompt])")
    tail = " ".join(summary["document"].split()[-8:])
    ax.set_title("a sampled document's next words\n" + textwrap.shorten(f"… {tail}", 60), fontsize=8)


def report_text(summary: dict) -> str:
    """The sampled document with its exact next words, τ against B, the prompt against its controls, zero-shot,
    the oracle's ε, the exact LMs' ε and the bounds' numbers."""
    lines = ["a sampled document (seed of the first row):", textwrap.fill(summary["document"], 110), ""]
    for s in [s for s in ("none", "prompt") if s in summary["next_words"]]:
        cells = ", ".join(f"{w} {p:.3f}" for w, p, _ in summary["next_words"][s])
        lines.append(f"p*(next | end{'' if s == 'none' else ' + ' + s}): {cells}")
    Bs = summary["B_sweep"]
    head = f"{'suffix':<10}" + "".join(f"{b:>9g}" for b in Bs) + "   E_T H(η)   H(η̄)"
    lines += ["", "τ_B of the concept task at the ends (box probe on P*), mean over seeds", head]
    for s, taus in summary["tau_by_B"].items():
        lines.append(f"{s:<10}" + "".join(f"{t:>9.4f}" for t in taus)
                     + f"{summary['floor'][s]:>10.4f}{summary['trivial'][s]:>8.4f}")  # fmt: skip
    lines.append(
        f"τ fits not certified to {GAP_TOL:g}: {summary['uncertified_tau']} (largest gap "
        f"{summary['max_tau_gap']:.2g}, at large B: their τ is known to that much); exact LMs' refitted probes "
        f"not certified to {GAP_TOL:g}: {summary['uncertified']} (the bound checks subtract each fit's gap)"
    )
    lines.append(f"{'B_δ':<10}" + "  ".join(f"{s}: {d['B']:g}" if d["settled"] else f"{s}: not reached"
                                            for s, d in summary["B_delta"].items()))  # fmt: skip
    vs = summary["prompt_vs_controls"]
    lines += [
        "",
        f"at B = {summary['B']:g}, every suffix with the bare documents' labels: τ, its gain over no suffix, "
        "the share of H(η̄) read, the label shift it would cause as evidence (mean |Δη|), zero-shot accuracy",
    ]
    width = max(len(s) for s in summary["suffixes"]) + 2
    for s in summary["suffixes"]:
        gain = summary["prompt_gain"].get(s, 0.0)
        lines.append(f"  {s:<{width}} τ {summary['tau_at_B'][s]:.4f}  gain {gain:+.4f}  share "
                     f"{summary['information_share'][s]:.3f}  shift {summary['eta_shift'][s]:.3f}  zero-shot "
                     f"{summary['zero_shot_accuracy'][s]:.3f}")  # fmt: skip
    lines.append(f"the prompt gains {vs['prompt']:+.4f}; the best of {vs['controls']} controls ({vs['best_control']}) "
                 f"{vs['best_control_gain']:+.4f}; the prompt beats it by {vs['beats_best_by']:+.4f} (needs "
                 f"{vs['margin']:g})")  # fmt: skip
    oracle = summary["oracle_eps"]
    lines += ["", f"the oracle (the true conditionals): ε = {oracle['prefixes']:g} over all prefixes, "
              f"{oracle['ends']:g} on the ends", "readers of the last k tokens: ε over all prefixes (no suffix) and "
              "on the ends, and after the prompt (a reader of fewer tokens than the prompt cannot see it, hence its "
              "large ε there); excess of the refitted box probe on p_f at the ends (no suffix)"]  # fmt: skip
    for w in summary["windows"]:
        lines.append(f"  k = {w['k']:>3}: ε over all prefixes {w['eps_prefixes']:.4g} ± {w['eps_se']:.2g} (Monte Carlo "
                     f"s.e. over documents), on the ends {w['eps_ends']:.4g}, after the prompt {w['eps_prompt']:.4g}; "
                     f"probe excess {w['excess']:+.4f}")  # fmt: skip
    lines.append("P* tilted at the ends against the concept: ε on the ends, over all prefixes (= ends / L), excess of "
                 "the τ probe kept fixed and of the refitted probe")  # fmt: skip
    for t in summary["end_tilts"]:
        lines.append(f"  target {t['target']:g}: ε ends {t['eps_ends']:.4g}, prefixes {t['eps_prefixes']:.4g}; "
                     f"excess fixed {t['excess_fixed']:+.4f}, refitted {t['excess_refitted']:+.4f}")  # fmt: skip
    lost = ", ".join(f"{k} {v:.3f}" for k, v in summary["lost_sqrt_L"].items())
    lines.append(f"  closest approach to the prefix forms without their √L (γ = 1 for ε over all prefixes; above 1 "
                 f"is a violation, so a lost √L shows): {lost}")  # fmt: skip
    for field, label in BOUNDS:
        c = summary["checks"][field]
        parts = []
        for probe, name in PROBES:
            p = c["probes"][probe]
            parts.append(f"{name}: {p['informative']} informative, closest {closest_text(c, probe)}, flip factor "
                         f"{p['flip']:.3g}")  # fmt: skip
        lines.append(f"{label}: {c['violations']} violations in {c['n']} rows; " + "; ".join(parts))
    return "\n".join(lines)
