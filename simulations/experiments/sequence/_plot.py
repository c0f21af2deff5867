"""The figure and the printed report of `sequence`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

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
    words,
)
from ._summary import FEATURES

COLOURS = ("C0", "C1", "C2", "C3", "C4", "C5")


def draw(rows: list, summary: dict, stem: Path, verdicts: list[Claim]) -> list[Path]:
    """Six panels. Top: exact ε through training (held-out and train) with the exact readers' ε; the p_f probe's
    excess against ε on the ends with the bounds; the synthetic Table 1 of each model's last checkpoint. Bottom:
    the prompt's gain beside each control's (the prompt claim's quantity beside its controls'); the difference
    of log excess at matched ε per seed, between architectures and against the exact readers (the same-ε
    claims' difference beside the spread between seeds); the proof ledger of each model's last checkpoint."""
    fig, axes = new_figure(3, nrows=2, height=4.4, width=4.8)
    _eps_panel(axes[0][0], summary)
    _excess_panel(axes[0][1], rows, summary)
    _table_panel(axes[0][2], summary)
    _prompt_panel(axes[1][0], summary)
    _same_eps_panel(axes[1][1], summary)
    _ledger_panel(axes[1][2], summary)
    models = list(summary["curves"])
    names = ", ".join(models[:-1]) + f" and {models[-1]}" if len(models) > 1 else models[0]
    what = f"{names} trained on sampled documents, measured exactly at each checkpoint"
    title, verdict = claims_title(what, verdicts)
    return finish_figure(fig, title, verdict, stem)


def _eps_panel(ax, summary: dict) -> None:
    for i, (lm, c) in enumerate(summary["curves"].items()):
        colour = COLOURS[i % len(COLOURS)]
        ax.errorbar(c["step"], c["eps_heldout"], yerr=c["eps_se"], fmt="o-", color=colour, ms=4,
                    label=f"{lm}: held-out ε (± Monte Carlo s.e.)")  # fmt: skip
        if any(np.isfinite(c["eps_train"])):
            ax.loglog(c["step"], c["eps_train"], "x:", color=colour, label=f"{lm}: ε on training documents")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for k, eps in summary["readers"].items():  # the exact readers: a model's phase is the reader it matches
        ax.axhline(eps, color="C7", ls=":", lw=0.8)
        ax.annotate(f"reader k = {k}", (1.0, eps), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                    fontsize=6, color="C7")  # fmt: skip
    ax.axhline(summary["decide_below"], color="0.5", ls="--", lw=1, label=f"decide_below = "
               f"{summary['decide_below']:g}: the trained-model claims read checkpoints below it")  # fmt: skip
    ax.xaxis.set_minor_formatter("")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("ε over all prefixes (exact)")
    ax.set_title("exact ε through training")
    ax.legend(**LEGEND_BELOW)


def _excess_panel(ax, rows: list, summary: dict) -> None:
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
                   label="H(η̄) − τ (smallest over seeds): bounds above it are not informative")  # fmt: skip
    ax.xaxis.set_minor_formatter("")
    ax.yaxis.set_minor_formatter("")
    ax.set_xlabel("ε on the document ends (exact)")
    ax.set_ylabel("excess loss of the box probe on p_f")
    ax.set_title("the concept task at the ends, every checkpoint")
    ax.legend(**LEGEND_BELOW)


def _prompt_panel(ax, summary: dict) -> None:
    """Per transformer, the loss without a suffix minus the loss with each suffix (last checkpoint, mean over
    seeds): the prompt beside its controls, the best control marked."""
    prompts = summary["prompt"]
    ys: list[float] = []
    labels, colours, gains = [], [], []
    y = 0.0
    for lm, g in prompts.items():
        seed_gains = g["vs"]["gains"]  # each suffix's gain in its own seed, the mean over the seeds that have it
        names = ["prompt"] + sorted((s for s in seed_gains if s != "prompt"), key=lambda s: -seed_gains[s])
        for n in names:
            ys.append(y)
            labels.append(f"{_short(lm)}: {n}")
            gains.append(seed_gains[n])
            colours.append("C3" if n == "prompt" else "C1" if n == g["vs"]["best_control"] else "0.6")
            y -= 1
        y -= 0.5
    if ys:
        ax.barh(ys, gains, color=colours)
        ax.set_yticks(ys, labels, fontsize=5.5)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("p_f probe's loss without a suffix − with it (nats; same labels)")
    ax.set_title("the prompt against its controls, last checkpoints\n(red: the prompt; orange: the best control)",
                 fontsize=9)  # fmt: skip


def _same_eps_panel(ax, summary: dict) -> None:
    """For each pair of architectures, and each architecture against the exact readers, the difference of their
    mean log excess at matched ε in each seed (dots), its mean with the paired interval (bar), and the band
    ±log(factor) within which they count as the same: the difference the claims decide, beside the spread
    between seeds."""
    same = summary["same_eps"]
    pairs = [(name, p) for name, p in {**same["pairs"], **same["readers"]}.items() if "D" in p]
    band = math.log(same["factor"])
    ax.axhspan(-band, band, color="0.9", label=f"within a factor {same['factor']:g}: the same downstream")
    ax.axhline(0, color="k", lw=0.8)
    for i, (_, p) in enumerate(pairs):
        d = np.array(p["levels_a"]) - np.array(p["levels_b"])
        ax.plot(np.full(d.size, i) + np.linspace(-0.1, 0.1, d.size), d, "o", color="C0", ms=5,
                label="one seed (a world in which both are measured)" if i == 0 else None)  # fmt: skip
        ax.errorbar([i + 0.25], [p["D"]], yerr=[[p["D"] - p["ci"][0]], [p["ci"][1] - p["D"]]], fmt="s", color="k",
                    capsize=4, label="mean, paired interval" if i == 0 else None)  # fmt: skip
        ax.annotate(p["verdict"], (i + 0.25, p["ci"][1]), ha="center", va="bottom", fontsize=7)
    names = [n.replace("transformer", "trf").replace(" vs the exact readers", "\nvs readers").replace(" vs ", "\nvs ")
             for n, _ in pairs]  # fmt: skip
    ax.set_xticks(range(len(pairs)), names, fontsize=6)
    ax.set_ylabel("log(excess a / excess b) at matched held-out ε")
    ax.set_title("same ε, different downstream?", fontsize=9)
    if not pairs:
        ax.text(0.5, 0.5, "nothing decided at matched ε\n(fewer than 3 seeds, or no ε in common)", ha="center",
                va="center", transform=ax.transAxes, fontsize=8)  # fmt: skip
    ax.legend(**LEGEND_BELOW)


def _ledger_panel(ax, summary: dict) -> None:
    """The (R2) proof ledger of each model's last checkpoint (no suffix): each link from the refitted probe's
    excess to the prefix form's ε-term, on a log axis; the costliest step over the trained checkpoints named."""
    links = ("refitted", "fixed", "lipschitz", "jensen", "holder", "pinsker", "transfer")
    names = ("refitted", "τ probe\nkept fixed", "Lipschitz", "Jensen", "Hölder", "Pinsker\n(ε on ends)",
             "transfer\n(γ = 1/L)")  # fmt: skip
    chains = summary["ledger"]["chains"]
    for i, (lm, by_step) in enumerate(chains.items()):
        if not by_step:
            continue
        last = by_step[max(by_step, key=int)]
        y = [last[k] for k in links]
        pos = [j for j, v in enumerate(y) if v > 0]
        ax.semilogy(pos, [y[j] for j in pos], "o-", color=COLOURS[i % len(COLOURS)], ms=4,
                    label=f"{lm}, step {max(by_step, key=int)} (held-out ε {last['eps']:.2g})")  # fmt: skip
    ax.set_xticks(range(len(links)), names, fontsize=6)
    steps = summary["ledger"]["steps"]
    costliest = summary["ledger"]["costliest"]
    cost = f"{costliest}: ×{math.exp(steps[costliest]['mean_log_ratio']):.3g}" if costliest else "—"
    ax.set_ylabel("excess over τ (nats), each link of the proof")
    ax.set_title(f"where the bound's slack lies\n(costliest step, trained: {cost})", fontsize=9)
    ax.legend(**LEGEND_BELOW)


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
    """Training curves, the bounds' numbers, the prompt against its controls, same-ε pairs and the synthetic
    Table 1."""
    lines = []
    for lm, c in summary["curves"].items():
        lines.append(f"{lm}: step, held-out ε ± s.e. (mean over seeds), train ε, ε on the ends, excess of the "
                     "refitted box probe on p_f at the ends")  # fmt: skip
        for k, s in enumerate(c["step"]):
            lines.append(f"  {s:>6}  {c['eps_heldout'][k]:.4g} ± {c['eps_se'][k]:.2g}  {c['eps_train'][k]:.4g}  "
                         f"{c['eps_ends'][k]:.4g}  {c['excess'][k]:+.4f}")  # fmt: skip
    lines += ["", "bounds, by form and probe:"]
    for c in summary["bounds"].values():
        parts = [f"{name}: {c['probes'][probe]['informative']} informative, closest {closest_text(c, probe)}, flip "
                 f"factor {c['probes'][probe]['flip']:.3g}" for probe, name in PROBES]  # fmt: skip
        lines.append(f"  {c['label']}: {c['violations']} violations in {c['n']} rows; " + "; ".join(parts))
    lines += ["", "the prompt against its controls (last checkpoint, mean over seeds; p_f probe's loss, same labels):"]
    for lm, g in summary["prompt"].items():
        vs = g["vs"]
        lines.append(f"  {lm} (held-out ε {g['eps']:.3g}): no suffix {g['loss']['none']:.4f}, prompt "
                     f"{g['loss']['prompt']:.4f} (gain {vs['prompt']:+.4f}); best of {vs['controls']} controls "
                     f"{vs['best_control'] or '—'} {vs['best_control_gain']:+.4f}; the prompt beats it by "
                     f"{vs['beats_best_by']:+.4f}")  # fmt: skip
    lines += ["", "same ε, different downstream (matched held-out ε; each seed's mean log excess):"]
    for name, p in summary["same_eps"]["pairs"].items():
        if "D" in p:
            lines.append(f"  {name}: ε {p['eps_range'][0]:.3g}–{p['eps_range'][1]:.3g}, ratio {p['ratio']:.2f} "
                         f"(log {p['D']:+.3f}, {100 * (1 - p['level']):.3g}% paired interval [{p['ci'][0]:+.3f}, "
                         f"{p['ci'][1]:+.3f}]), spread of the difference between seeds {p['seed_spread']:.3f}, "
                         f"unadjusted p = {p['p']:.3g}: {p['verdict']}")  # fmt: skip
        else:
            lines.append(f"  {name}: {p['verdict']} ({p['reason']})")
    for name, p in summary["same_eps"]["readers"].items():
        lines.append(f"  {name}: {p['verdict']}" + (f", ratio {p['ratio']:.2f}, p = {p['p']:.3g}" if "D" in p
                                                    else f" ({p['reason']})"))  # fmt: skip
    rate = summary["rate"]
    lines += ["", f"the trained models' rate (readable checkpoints, ε on the ends {rate['eps_min']:.3g}–"
              f"{rate['eps_max']:.3g}): refitted p_f excess ∝ ε^{rate['slope']:.2f}, 95% interval over seeds "
              f"[{rate['lo']:.2f}, {rate['hi']:.2f}]; readable from held-out ε "
              + ", ".join(f"{m} {e:.3g}" for m, e in summary["onset"].items())]  # fmt: skip
    steps = summary["ledger"]["steps"]
    lines += ["", "the proof ledger over the trained checkpoints: mean factor of each step (link over the one before)"]
    lines += ["  " + ", ".join(f"{k} ×{math.exp(v['mean_log_ratio']):.3g} (n={v['n']})" for k, v in steps.items()
                               if math.isfinite(v["mean_log_ratio"]))
              + f"; costliest: {summary['ledger']['costliest'] or '—'}"]  # fmt: skip
    lines += ["", "phases: the exact reader nearest each checkpoint (by ε / by the profile over positions)"]
    for lm, c in summary["curves"].items():
        if lm != "reader":
            near = zip(c["step"], c["near_eps"], c["near_profile"], strict=True)
            lines.append(f"  {lm}: " + ", ".join(f"step {s}: k={a}/{b}" for s, a, b in near))
    table = summary["table"]
    lines += ["", f"synthetic Table 1: accuracy on the concept at the last checkpoint, mean over seeds (box B = "
              f"{summary['B']:g}; f unconstrained; zero-shot calibrated)"]  # fmt: skip
    cols = [f"{lm}/{s}" for lm in table for s in ("none", "prompt")]
    lines.append(f"{'feature':<22}" + "".join(f"{c:>24}" for c in cols))
    for feat in FEATURES:
        lines.append(f"{words(feat):<22}" + "".join(
            f"{table[c.rsplit('/', 1)[0]][f'{feat}/' + c.rsplit('/', 1)[1]]:>24.3f}" for c in cols))  # fmt: skip
    return "\n".join(lines)
