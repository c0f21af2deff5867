"""The figure and the printed report of `sequence`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
    words,
)
from ._summary import FEATURES

COLOURS = ("C0", "C1", "C2", "C3", "C4", "C5")


def draw(rows: list, summary: dict, stem: Path, verdicts: list[Claim]) -> list[Path]:
    """Three panels: exact ε through training (held-out and train); the p_f probe's excess against ε on the
    ends with the bounds; the synthetic Table 1 of each model's last checkpoint."""
    fig, axes = new_figure(3, height=4.4, width=4.8)
    ax = axes[0][0]
    for i, (lm, c) in enumerate(summary["curves"].items()):
        colour = COLOURS[i % len(COLOURS)]
        ax.errorbar(c["step"], c["eps_heldout"], yerr=c["eps_se"], fmt="o-", color=colour, ms=4,
                    label=f"{lm}: held-out ε (± Monte Carlo s.e.)")  # fmt: skip
        ax.loglog(c["step"], c["eps_train"], "x:", color=colour, label=f"{lm}: ε on training documents")
    ax.axhline(
        summary["decide_below"],
        color="0.5",
        ls="--",
        lw=1,
        label=f"decide_below = {summary['decide_below']:g}: the trained-model claims read checkpoints below it",
    )
    ax.xaxis.set_minor_formatter("")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("ε over all prefixes (exact)")
    ax.set_title("exact ε through training")
    ax.legend(**LEGEND_BELOW)
    ax = axes[0][1]
    probes = [r for r in select(rows, kind="probe", feature="p_f", suffix="none") if r.eps > 0]
    for i, lm in enumerate(summary["curves"]):
        sel = select(probes, lm=lm)
        if sel:
            marks = dict(color=COLOURS[i % len(COLOURS)], marker="o")
            plot_signed(ax, column(sel, "eps"), column(sel, "loss") - column(sel, "tau"), marks,
                        f"{lm}: refitted p_f probe, loss − τ")  # fmt: skip
    fixed = [r for r in select(rows, kind="fixed", suffix="none") if r.eps > 0]
    if fixed:
        plot_signed(ax, column(fixed, "eps"), column(fixed, "loss") - column(fixed, "tau"), dict(color="k", marker="+"),
                    "τ probe kept fixed, loss − τ")  # fmt: skip
    plot_bound_terms(ax, probes)
    if probes:
        ax.axhline(min(r.trivial - r.tau for r in probes), color="0.6", ls=":", lw=1,
                   label="H(η̄) − τ (smallest over seeds): no refitted excess exceeds its own")  # fmt: skip
    ax.xaxis.set_minor_formatter("")
    ax.yaxis.set_minor_formatter("")
    ax.set_xlabel("ε on the document ends (exact)")
    ax.set_ylabel("excess loss of the box probe on p_f")
    ax.set_title("the concept task at the ends, every checkpoint")
    ax.legend(**LEGEND_BELOW)
    _table_panel(axes[0][2], summary)
    what = "Transformers and a GRU trained on sampled documents, measured exactly at each checkpoint"
    title, verdict = claims_title(what, verdicts)
    return finish_figure(fig, title, verdict, stem)


def _table_panel(ax, summary: dict) -> None:
    table = summary["table"]
    cols = [f"{_short(lm)}\n{s}" for lm in table for s in ("no\nprompt", "with\nprompt")]
    acc = np.array([[table[lm][f"{feat}/{s}"] for lm in table for s in ("none", "prompt")] for feat in FEATURES])
    ax.imshow(acc, vmin=0.5, vmax=1, cmap="viridis", aspect="auto")
    for i in range(acc.shape[0]):
        for j in range(acc.shape[1]):
            if np.isfinite(acc[i, j]):
                ax.text(j, i, f"{acc[i, j]:.2f}", ha="center", va="center", color="w" if acc[i, j] < 0.8 else "k",
                        fontsize=7)  # fmt: skip
    ax.set_xticks(range(len(cols)), cols, fontsize=6)
    ax.set_yticks(range(len(FEATURES)), [words(f) for f in FEATURES])
    eps = ", ".join(f"{_short(lm)} {c['eps_heldout'][-1]:.3f}" for lm, c in summary["curves"].items() if c["step"])
    ax.set_xlabel(f"held-out ε at the last step:\n{eps}", fontsize=7)
    ax.set_title(f"accuracy on the concept, last checkpoints\n(probes in the box B = {summary['B']:g})", fontsize=9)
    ax.grid(False)


def _short(lm: str) -> str:
    """A model's name short enough for a table's column (transformer-64 -> trf-64)."""
    return lm.replace("transformer", "trf")


def report_text(summary: dict) -> str:
    """Training curves, the bounds' numbers, the prompt, same-ε pairs and the synthetic Table 1."""
    lines = []
    for lm, c in summary["curves"].items():
        lines.append(f"{lm}: step, held-out ε ± s.e. (mean over seeds), train ε, ε on the ends, excess of the "
                     "refitted box probe on p_f at the ends")  # fmt: skip
        for k, s in enumerate(c["step"]):
            lines.append(f"  {s:>6}  {c['eps_heldout'][k]:.4g} ± {c['eps_se'][k]:.2g}  {c['eps_train'][k]:.4g}  "
                         f"{c['eps_ends'][k]:.4g}  {c['excess'][k]:+.4f}")  # fmt: skip
    b = summary["bounds"]
    lines += ["", f"bounds: {b['violations']} violations in {b['n']} (row, bound) pairs, {b['informative']} "
              f"informative, {b['unresolved']} unresolved; closest approach (loss − τ)/(bound − τ):"]  # fmt: skip
    lines += [f"  {k}: {v:.3f}" for k, v in sorted(b["closest"].items())]
    table = summary["table"]
    lines += ["", f"synthetic Table 1: accuracy on the concept at the last checkpoint, mean over seeds (box B = "
              f"{summary['B']:g}; f unconstrained; zero-shot calibrated)"]  # fmt: skip
    cols = [f"{lm}/{s}" for lm in table for s in ("none", "prompt")]
    lines.append(f"{'feature':<22}" + "".join(f"{c:>24}" for c in cols))
    for feat in FEATURES:
        lines.append(f"{words(feat):<22}" + "".join(
            f"{table[c.rsplit('/', 1)[0]][f'{feat}/' + c.rsplit('/', 1)[1]]:>24.3f}" for c in cols))  # fmt: skip
    return "\n".join(lines)
