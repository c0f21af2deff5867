"""The figure of `completion`, drawn from its stored rows and summary."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ...probes import MULTI_GAP_TOL
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
from ._rows import Row
from ._summary import SENTIMENT_TASKS, TAU_DELTA, hurts


def draw(rows: list, summary: dict, stem: Path, verdicts: list[Claim]) -> list[Path]:
    """Three panels (τ against B with and without the prompt, the synthetic Table 1, the (R10) bound), then the
    samples figure and the Table 1 CSV beside it."""
    fig, axes = new_figure(3, height=4.4, width=4.8)
    taus = select(rows, kind="tau", feature="p_f")
    colors = {"sentiment": "#d62728", "topic": "#1f77b4", "fine_sentiment": "#ff7f0e"}
    for name in values(taus, "task"):
        for prompted, ls in ((False, "--"), (True, "-")):
            sel = [r for r in taus if r.task == name and r.prompted == prompted]
            Bs = sorted(values(sel, "B"))
            mean = [np.mean([r.loss for r in sel if r.B == B]) for B in Bs]
            axes[0][0].plot(Bs, mean, ls, marker="o", color=colors[name], mfc=colors[name] if prompted else "w",
                            label=f"{words(name)}, {'with' if prompted else 'without'} prompt")  # fmt: skip
            d = summary["B_delta"][f"{name}/{'prompt' if prompted else 'none'}"]
            if d["settled"]:  # B_δ inside the sweep; otherwise τ is still moving at its largest B
                axes[0][0].plot([d["B"]], [mean[Bs.index(d["B"])]], "*", ms=13, color=colors[name], mfc="w", zorder=3)
    axes[0][0].set_xscale("log")
    axes[0][0].xaxis.set_minor_formatter("")
    axes[0][0].xaxis.set_major_formatter("{x:g}")
    axes[0][0].set_xticks(summary["B_sweep"])
    axes[0][0].set_xlabel("B (box of the probe on p_f)")
    axes[0][0].set_ylabel("τ: best box probe's loss on P*")
    axes[0][0].plot([], [], "*", ms=10, color="k", mfc="w",
                    label=f"B_δ: τ within δ = {TAU_DELTA:g} of τ(largest B), where τ has settled")  # fmt: skip
    axes[0][0].axvline(summary["B"], color="0.5", ls=":", lw=1)
    hurt = [words(t) for t, g in summary["prompt_gain"].items() if hurts(g) and t in SENTIMENT_TASKS]
    axes[0][0].set_title(f"at B = {summary['B']:g} the prompt makes sentiment more natural, topic less"
                         + (f"\nat B = {summary['B_sweep'][-1]:g} it HURTS {', '.join(hurt)}" if hurt else ""),
                         color="C3" if hurt else "k")  # fmt: skip
    _table_panel(axes[0][1], summary)
    probes = [r for r in select(rows, kind="probe", feature="p_f") if r.family != "p_star"]
    for family in values(probes, "family"):
        sel = select(probes, family=family)
        plot_signed(axes[0][2], column(sel, "eps"), column(sel, "excess"), FAMILY_STYLE[family],
                    f"{family} LMs: probe loss − τ")  # fmt: skip
    fixed = [r for r in select(rows, kind="fixed", feature="p_f") if r.family == "adversarial"]
    if fixed:
        plot_signed(axes[0][2], column(fixed, "eps"), column(fixed, "excess"), dict(color="k", marker="+"),
                    "adversarial LMs: the τ probe kept fixed, loss − τ")  # fmt: skip
    terms = sorted({(r.eps, r.bound - r.tau) for r in probes if r.eps > 0 and math.isfinite(r.bound)})
    if terms:  # the rows' own bounds (theory.multiclass_task_bound): one γ per task, ½ for these tasks
        axes[0][2].loglog(*zip(*terms, strict=True), "k-", label="bound − τ = 2B√(2ε/γ)")
        r11 = [(r.eps, r.r11_bound - r.tau) for r in probes if r.eps > 0 and math.isfinite(r.r11_bound)]
        axes[0][2].loglog(*zip(*r11, strict=True), "x", color="0.4", ms=4, label="(R11) bound − τ, each row")
        gap = [(r.eps, r.trivial - r.tau) for r in probes if r.eps > 0]
        axes[0][2].axhline(min(g for _, g in gap), color="0.5", ls=":", lw=1,
                           label="H(η̄) − τ (smallest): bounds above it are vacuous")  # fmt: skip
    axes[0][2].set_xlabel("ε (exact)")
    axes[0][2].set_ylabel("excess loss of the K-class probe on p_f")
    axes[0][2].set_title("(R10) and (R11): the multi-class bounds")
    for ax in (axes[0][0], axes[0][2]):
        ax.legend(**LEGEND_BELOW)
    what = 'Tasks as sentence completion among named words: after "This movie is" the next word carries the sentiment'
    title, verdict = claims_title(what, verdicts)
    paths = finish_figure(fig, title, verdict, stem)
    return paths + _samples_figure(select(rows, kind="samples"), str(stem) + "_samples") + [_table_csv(summary, stem)]


def _table_panel(ax, summary: dict) -> None:
    """The synthetic Table 1 (trained LM) as an annotated heat map of accuracy."""
    table = summary["table"]["trained"]
    feats = list(table)
    cols = sorted({c for row in table.values() for c in row}, key=lambda c: (c.split("/")[0], c))
    acc = np.array([[table[f].get(c, [np.nan])[0] for c in cols] for f in feats])
    ax.imshow(acc, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for i in range(len(feats)):
        for j in range(len(cols)):
            if np.isfinite(acc[i, j]):
                ax.text(j, i, f"{acc[i, j]:.2f}", ha="center", va="center", color="w" if acc[i, j] < 0.6 else "k",
                        fontsize=7)  # fmt: skip
    short = {"fine_sentiment": "5 levels", "none": "no prompt"}  # a column is ~0.8 inches wide
    ax.set_xticks(range(len(cols)), ["\n".join(short.get(w, w) for w in c.split("/")) for c in cols], fontsize=6)
    ax.set_yticks(range(len(feats)), [words(f) for f in feats])
    ax.set_title(f"accuracy, trained LM (step {summary['trained_step']}, ε = {summary['trained_eps']:.2g})")
    ax.grid(False)


def _table_csv(summary: dict, stem) -> Path:
    """The synthetic Table 1 as CSV beside the figure: one line per (LM, feature, task, prompt)."""
    path = Path(str(stem) + "_table.csv")
    lines = ["lm,feature,task,prompt,B,accuracy,loss"]
    for family, table in summary["table"].items():
        for feature, cells in table.items():
            for col, (acc, loss) in cells.items():
                task, prompt = col.split("/")
                lines.append(f"{family},{feature},{task},{prompt},{summary['B']!r},{acc!r},{loss!r}")
    for feature, cells in summary["table_large_B"].items():  # P*'s bounded probes at B_δ and the largest B
        for col, ats in cells.items():
            task, prompt = col.split("/")
            for at in ("B_delta", "B_max"):
                if at not in ats:
                    continue
                B, acc, loss = ats[at]
                lines.append(f"p_star,{feature},{task},{prompt},{B!r},{acc!r},{loss!r}")
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
    return path


def _samples_figure(rows: list[Row], stem) -> list:
    if not rows:
        return []
    fig, axes = new_figure(2, height=4.0, width=4.8)
    for ax, family in zip(axes[0], ("p_star", "trained"), strict=True):
        sel = select(rows, family=family)
        for feature in values(sel, "feature"):
            fs = select(sel, feature=feature)
            ns = sorted(values(fs, "n"))
            ax.semilogx(ns, [np.mean([r.loss for r in fs if r.n == n]) for n in ns], marker="o", label=words(feature))
        ax.set_xlabel("labelled contexts n (drawn from p_T, labels from η)")
        ax.set_ylabel("population loss of the probe (exact)")
        eps = np.mean(column(sel, "eps")) if sel else math.nan
        ax.set_title(f"{family} (ε = {eps:.2g}): sentiment with the prompt")
        ax.legend(fontsize=7)
    uncertified = sum(1 for r in rows if not r.gap <= MULTI_GAP_TOL)
    title = (
        "How many labelled contexts each feature kind needs (probes in the box B with scikit-learn's default ridge, "
        "C = 1, on standardised features; mean over seeds)\n"
        f"fits not certified to a gap ≤ {MULTI_GAP_TOL:g}: {uncertified} of {len(rows)}"
    )
    return finish_figure(fig, title, True, stem)


def table_text(summary: dict) -> str:
    """τ against B with and without the prompt, then the synthetic Table 1: accuracy (loss) of each feature kind on
    each task, without and with the prompt."""
    Bs = summary["B_sweep"]
    lines = ["τ_B (best box probe on p_f, P*) against B", f"{'task/prompt':<22}" + "".join(f"{b:>9g}" for b in Bs)]
    for col, taus in summary["tau_by_B"].items():
        lines.append(f"{col:<22}" + "".join(f"{t:>9.4f}" for t in taus))
    lines.append(f"{'B_δ (δ = ' + format(TAU_DELTA, 'g') + ')':<22}" + "".join(
        f"  {col}: {d['B']:g}" if d["settled"] else f"  {col}: not reached (τ still moving at B = {Bs[-1]:g})"
        for col, d in summary["B_delta"].items()))  # fmt: skip
    for task, gains in summary["prompt_gain"].items():
        if hurts(gains) and task in SENTIMENT_TASKS:
            lines.append(f"NOTE {task}: at B = {Bs[-1]:g} the prompt raises τ by {-gains[-1]:.4f} (it hurts)")
    lines.append("")
    trained = f"trained LM (step {summary['trained_step']}, ε = {summary['trained_eps']:.2g})"
    for family, title in (("p_star", "P* (ε = 0)"), ("trained", trained)):
        table = summary["table"][family]
        cols = sorted({c for row in table.values() for c in row}, key=lambda c: (c.split("/")[0], c))
        lines.append(f"synthetic Table 1, {title}: accuracy (loss), box B = {summary['B']:g}")
        lines.append(f"{'feature':<11}" + "".join(f"{c:>24}" for c in cols))
        for feat, row in table.items():
            cells = "".join(f"{f'{row[c][0]:.3f} ({row[c][1]:.3f})':>24}" if c in row else f"{'—':>24}" for c in cols)
            lines.append(f"{feat:<11}" + cells)
        lines.append("")
        if family == "p_star":
            lines.append(f"the same box probes on P* at B_δ (of p_f's τ curve) and at B = {Bs[-1]:g}: accuracy (loss)")
            lines.append(f"{'feature':<15}" + "".join(f"{c:>24}" for c in cols))
            for feat, cells in summary["table_large_B"].items():
                for at in ("B_delta", "B_max"):
                    cells_text = "".join(
                        f"{f'{cells[c][at][1]:.3f} ({cells[c][at][2]:.3f})':>24}"
                        if at in cells.get(c, {})
                        else f"{'not reached' if at == 'B_delta' else '—':>24}"
                        for c in cols
                    )
                    lines.append(f"{feat + (' B_δ' if at == 'B_delta' else ' B_max'):<15}" + cells_text)
            lines.append("")
    return "\n".join(lines)
