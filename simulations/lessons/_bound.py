"""Lesson 2, "the bound": the probe's excess loss against ε, next to √(2B²ε/γ), as ε, B, γ and the kind of LM move.

For a natural task (arXiv:2010.03648, Definition 3.1 and Theorem 4.1; docs/design.md (R2)) the logistic
loss of the best linear probe with |v_w| ≤ B on an LM's next-word distributions p_f is at most
τ + √(2B²ε/γ), τ the same probe class's loss on P*. The page plots, on log-log axes, the measured excess
(probe loss − τ) of LMs at many ε, the bound on it, the constant predictor's excess (above it the bound says
nothing) and the ε where the bound crosses it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, CustomJS, Div, RadioButtonGroup, Slider, Span
from bokeh.plotting import figure

import theory

from ..classroom import KINDS, ProbeReport, probe_vs_bound
from ..models import TrainConfig, tilted_lms, trained_lms
from ..worlds import TaskConfig, WorldConfig, make_instance
from ._page import JS_FORMAT, Page, frame, legend_outside, readout, rounded

BOXES = (0.5, 1.0, 2.0, 4.0)
#: The task's share of the contexts (TaskConfig.task_fraction): γ = that share of p_L's mass here.
SHARES = (1.0, 0.5, 0.25)
LOG_EPS = tuple(np.round(np.arange(-6.0, 0.001, 0.5), 2))
WORLD = WorldConfig(vocab_size=60, num_contexts=120, dim=4)
#: The smallest excess the log axis shows; a probe that gains (excess ≤ 0) is drawn there.
FLOOR = 1e-7
CURVE = np.logspace(-7, 0.5, 61)


class Cell(NamedTuple):
    """One (B, share) task: its γ, the constant predictor's loss, the ε where the bound stops saying
    anything, and each kind's LMs measured by `probe_vs_bound`."""

    B: float
    gamma: float
    trivial: float
    tau: float
    eps_vacuous: float
    reports: dict[str, list[ProbeReport]]


def bound_numbers(seed: int = 0) -> list[Cell]:
    """Every (B, share) cell of lesson 2 (B-major). The trained LMs are one softmax LM of the world trained
    once (12 checkpoints); the tilted ones are made for each task (the adversarial tilt is against its labels)."""
    world_only = make_instance(seed, WORLD, TaskConfig())
    trained = trained_lms(world_only, TrainConfig(steps=2000, checkpoints=12))
    cells = []
    for B in BOXES:
        for share in SHARES:
            inst = make_instance(seed, WORLD, TaskConfig(B=B, task_fraction=share))
            reports = {
                kind: [probe_vs_bound(inst, lm) for lm in tilted_lms(inst, kind, [10.0**e for e in LOG_EPS])]
                for kind in KINDS
                if kind != "trained"
            }
            reports["trained"] = [probe_vs_bound(inst, lm) for lm in trained]
            tau = reports["random"][0].tau_fitted
            trivial = theory.trivial_loss(inst.task.p_T, inst.task.eta)
            eps_vac = theory.required_eps(trivial - tau, B, inst.gamma) if trivial > tau else 0.0
            cells.append(Cell(B, float(inst.gamma), float(trivial), float(tau), float(eps_vac), reports))
    return cells


def _cell_data(c: Cell) -> dict:
    out: dict = dict(B=c.B, gamma=c.gamma, trivial=c.trivial, tau=c.tau, eps_vac=c.eps_vacuous,
                     curve=rounded([theory.natural_task_bound(0.0, c.B, e, c.gamma) for e in CURVE]))  # fmt: skip
    for kind, reps in c.reports.items():
        out[kind] = {
            f: rounded([getattr(r, f) for r in reps])
            for f in ("eps", "probe_loss", "tau_fitted", "excess", "bound", "bound_excess", "gap")
        } | {f: [bool(getattr(r, f)) for r in reps] for f in ("certified", "holds", "vacuous")}
    return out


def bound_page(seed: int = 0) -> Page:
    """The HTML page of lesson 2."""
    cells = bound_numbers(seed)
    data = [_cell_data(c) for c in cells]
    eps_slider = Slider(start=LOG_EPS[0], end=LOG_EPS[-1], step=0.5, value=-3.0, width=360, name="log_eps",
                        title="log₁₀ ε (the trained LM: its nearest checkpoint)")  # fmt: skip
    kind = RadioButtonGroup(labels=list(KINDS), active=0, name="kind")
    box = RadioButtonGroup(labels=[f"B = {b:g}" for b in BOXES], active=1, name="B")
    share = RadioButtonGroup(labels=["all contexts", "half", "a quarter"], active=0, name="gamma")
    fig = figure(width=760, height=560, x_axis_type="log", y_axis_type="log", x_range=(CURVE[0], CURVE[-1]),
                 y_range=(FLOOR / 2, 20), x_axis_label="ε (nats)", y_axis_label="excess loss over τ",
                 title="the probe's excess (dots) under the bound √(2B²ε/γ) (black line)",
                 toolbar_location=None)  # fmt: skip
    curve = ColumnDataSource(dict(x=rounded(CURVE), y=[1.0] * len(CURVE)), name="bound_curve")
    pts = ColumnDataSource(dict(x=[1.0], y=[1.0]), name="excess_dots")
    low = ColumnDataSource(dict(x=[1.0], y=[FLOOR]), name="excess_low")
    now = ColumnDataSource(dict(x=[1.0], y=[1.0]), name="picked")
    fig.line("x", "y", source=curve, color="black", line_width=2, legend_label="bound on the excess √(2B²ε/γ)")
    fig.scatter("x", "y", source=pts, size=8, color="#3182bd", legend_label="probe's excess, one LM each")
    fig.scatter("x", "y", source=low, size=9, marker="triangle", color="#3182bd", fill_alpha=0.2,
                legend_label="excess ≤ 0 (the probe gained; drawn at the bottom)")  # fmt: skip
    fig.scatter("x", "y", source=now, size=16, color="#e6550d", fill_alpha=0.35, line_width=2,
                legend_label="the LM you picked")  # fmt: skip
    trivial = Span(location=1.0, dimension="width", line_color="#b2182b", line_dash="dashed", line_width=2,
                   name="trivial_line")  # fmt: skip
    vac = Span(location=1.0, dimension="height", line_color="#b2182b", line_dash="dotted", line_width=2,
               name="vacuous_line")  # fmt: skip
    fig.add_layout(trivial)
    fig.add_layout(vac)
    legend = legend_outside(fig)
    gained = legend.items[2]  # "excess ≤ 0": listed only while such a dot is drawn
    key = Div(text="<span style='color:#b2182b'>dashed red: the constant predictor's excess (a bound above it "
                   "says nothing); dotted red: the ε where the bound reaches it</span>", width=760)  # fmt: skip
    out = readout()
    code = (
        JS_FORMAT
        + """
const c = D[box.active * nshare + share.active], K = kind.labels[kind.active], L = c[K];
const want = eps_slider.value;
let i = 0;
for (let j = 1; j < L.eps.length; j++) {
  if (Math.abs(Math.log10(L.eps[j]) - want) < Math.abs(Math.log10(L.eps[i]) - want)) i = j;
}
curve.data = {x: curve.data.x, y: c.curve};
const up = L.excess.map((e, j) => e > floor ? j : -1).filter((j) => j >= 0);
const down = L.excess.map((e, j) => e > floor ? -1 : j).filter((j) => j >= 0);
pts.data = {x: up.map((j) => L.eps[j]), y: up.map((j) => L.excess[j])};
low.data = {x: down.map((j) => L.eps[j]), y: down.map(() => floor)};
gained.visible = down.length > 0;
now.data = {x: [L.eps[i]], y: [Math.max(L.excess[i], floor)]};
trivial.location = c.trivial - c.tau;
vac.location = c.eps_vac;
const say = L.vacuous[i]
  ? `VACUOUS: the bound is above the constant predictor's loss (ε ≥ ${fmt(c.eps_vac)}), it says nothing here`
  : `informative: the bound is below the constant predictor's loss (ε < ${fmt(c.eps_vac)})`;
out.text = `LM: ${K}, ε = ${fmt(L.eps[i])} nats` +
  `${K === 'trained' ? ' (the checkpoint nearest 10^' + want + ')' : ' (target 10^' + want + ')'}<br>` +
  `task: B = ${fmt(c.B)}, γ = ${fmt(c.gamma)}<br>` +
  `probe loss on the LM's p_f = ${fmt(L.probe_loss[i])}${L.certified[i] ? '' : ' (NOT CERTIFIED: an upper end)'}<br>` +
  `τ (same probe class on P*) = ${fmt(L.tau_fitted[i])}<br>` +
  `excess = probe loss − τ = ${fmt(L.excess[i])}<br>` +
  `bound on the excess √(2B²ε/γ) = ${fmt(L.bound_excess[i])}: ${L.holds[i] ? 'holds' : 'VIOLATED'}<br>` +
  `constant predictor's loss = ${fmt(c.trivial)}; ${say}`;
"""
    )
    cb = CustomJS(args=dict(D=data, nshare=len(SHARES), floor=FLOOR, eps_slider=eps_slider, kind=kind, box=box,
                            share=share, curve=curve, pts=pts, low=low, gained=gained, now=now, trivial=trivial,
                            vac=vac, out=out),
                  code=code)  # fmt: skip
    eps_slider.js_on_change("value", cb)
    for w in (kind, box, share):
        w.js_on_change("active", cb)
    g = {c.gamma for c in cells}
    look = [
        "Move ε: the dots (how much worse the best probe does on the LM's next-word probabilities than on the "
        "truth's) fall as ε falls, and stay under the black line, the theorem's bound.",
        "The adversarial LM spends its whole ε against the task: its dots climb the line at its √ε slope. The random "
        "LM wastes most of its ε on directions the task ignores: far under the line. The trained LM is real "
        "training (gradient descent on the cross-entropy), read at 12 checkpoints.",
        "Raise B (a bigger probe box) or lower γ (a task that looks at fewer contexts): the line rises. Where it "
        "crosses the dashed red line the bound is vacuous: it allows more loss than predicting a constant.",
    ]
    how = [
        f"A log-linear world of {WORLD.vocab_size} words and {WORLD.num_contexts} contexts (seed {seed}) with a "
        f"planted natural task for each B; the task looks at all, half or a quarter of the contexts (γ = "
        f"{', '.join(f'{x:.4g}' for x in sorted(g, reverse=True))}).",
        "Each dot is one LM: P* tilted to ε (adversarially or at random, ε to 1%), or a softmax LM trained with "
        "JAX/optax; ε is the exact KL in float64. The probe is fitted on the exact population with a certified "
        "optimality gap; τ is the same class fitted on P*; the bound comes from the package's theory module.",
    ]
    body = column(row(eps_slider, column(kind, box, share)), out, fig, key)
    return Page("2-the-bound", "The bound", frame("The bound: excess loss against ε", look, body, how, cb))
