"""Lesson 1, "a world where ε is known": P* and a language model Q side by side, for one context, as ε moves.

The world is a log-linear world of the package (`make_instance`); each Q is P* tilted along one random
direction until its suboptimality ε = Σ_s p_L(s) KL(P*(·|s) ‖ Q(·|s)) hits a target (arXiv:2010.03648,
Definition 2.2; docs/design.md (R1)). The page shows, for the picked context s and target ε, the two
next-word distributions, KL(P*(·|s) ‖ Q(·|s)) of every context, and ε, their p_L-weighted mean.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, CustomJS, Slider, Span
from bokeh.plotting import figure
from bokeh.transform import dodge

import theory

from ..models import tilted_lms
from ..worlds import TaskConfig, WorldConfig, make_instance
from ._page import JS_FORMAT, Page, frame, legend_outside, readout, rounded

#: log10 of the target ε on the slider.
LOG_EPS = tuple(np.round(np.arange(-3.0, 0.001, 0.25), 2))
CONTEXTS = 8
WORLD = WorldConfig(vocab_size=40, num_contexts=60, dim=4)


class WorldLesson(NamedTuple):
    """The exact numbers of lesson 1. p_star (N, V), p_L (N,); q (E, N, V) one LM per target ε; eps (E,) their
    exact ε; kl (E, N) KL(P*(·|s) ‖ Q(·|s)); contexts: the contexts the slider offers (the first 8)."""

    log_eps: tuple[float, ...]
    p_star: np.ndarray
    p_L: np.ndarray
    q: np.ndarray
    eps: np.ndarray
    kl: np.ndarray
    contexts: np.ndarray


def world_numbers(seed: int = 0) -> WorldLesson:
    """Lesson 1's LMs: one random tilt of the seed's world per target ε of the slider."""
    inst = make_instance(seed, WORLD, TaskConfig())
    lms = tilted_lms(inst, "random", [10.0**e for e in LOG_EPS])
    q = np.stack([lm.q for lm in lms])
    kl = np.stack([theory.kl_divergence(inst.world.p_star, lm.q) for lm in lms])
    contexts = np.arange(CONTEXTS)
    return WorldLesson(LOG_EPS, inst.world.p_star, inst.world.p_L, q, np.array([lm.eps for lm in lms]), kl,
                       contexts)  # fmt: skip


def world_page(seed: int = 0) -> Page:
    """The HTML page of lesson 1."""
    d = world_numbers(seed)
    V = d.p_star.shape[1]
    order = [np.argsort(-d.p_star[s], kind="stable") for s in d.contexts]  # words, most likely under P* first
    data = dict(
        pstar=[rounded(d.p_star[s][o]) for s, o in zip(d.contexts, order, strict=True)],
        q=[[rounded(d.q[k, s][o]) for s, o in zip(d.contexts, order, strict=True)] for k in range(len(d.eps))],
        words=[[f"w{int(i)}" for i in o] for o in order],
        kl=rounded(d.kl),
        eps=rounded(d.eps),
        pL=rounded(d.p_L),
        contexts=[int(s) for s in d.contexts],
    )
    eps_slider = Slider(start=LOG_EPS[0], end=LOG_EPS[-1], step=0.25, value=-1.0, width=420, name="log_eps",
                        title="log₁₀ of the target ε")  # fmt: skip
    which = f"which context (the first {len(d.contexts)} of {len(d.p_L)}; orange on the right)"
    ctx_slider = Slider(start=0, end=len(d.contexts) - 1, step=1, value=0, width=420, name="context", title=which)
    bars = ColumnDataSource(dict(x=list(range(V)), pstar=[0.0] * V, q=[0.0] * V, word=[""] * V))
    kls = ColumnDataSource(dict(s=list(range(len(d.p_L))), kl=[0.0] * len(d.p_L), color=["#9ecae1"] * len(d.p_L)))
    dist = figure(width=540, height=370, title="next-word distributions of the picked context",
                  x_axis_label="words, most likely under P* first", y_axis_label="probability",
                  toolbar_location=None)  # fmt: skip
    dist.vbar(x=dodge("x", -0.22), top="pstar", width=0.44, source=bars, color="#333333",
              legend_label="P*(·|s), the truth")  # fmt: skip
    dist.vbar(x=dodge("x", 0.22), top="q", width=0.44, source=bars, color="#e6550d", legend_label="Q(·|s), the LM")
    legend_outside(dist).orientation = "horizontal"
    per = figure(width=540, height=370, title="KL(P*(·|s) ‖ Q(·|s)) of every context; the line is ε",
                 x_axis_label="context s", y_axis_label="KL (nats)", toolbar_location=None)  # fmt: skip
    per.vbar(x="s", top="kl", width=0.8, source=kls, color="color")
    mean = Span(location=0.0, dimension="width", line_color="#e6550d", line_width=2, line_dash="dashed")
    per.add_layout(mean)
    out = readout()
    code = (
        JS_FORMAT
        + """
const k = Math.round((eps_slider.value - lo) / step);
const j = ctx_slider.value, s = D.contexts[j];
bars.data = {x: bars.data.x, pstar: D.pstar[j], q: D.q[k][j], word: D.words[j]};
kls.data = {s: kls.data.s, kl: D.kl[k], color: D.kl[k].map((_, i) => i === s ? '#e6550d' : '#9ecae1')};
mean.location = D.eps[k];
out.text = `context s = ${s}<br>` +
  `KL(P*(·|s) ‖ Q(·|s)) = ${fmt(D.kl[k][s])} nats; its weight p_L(s) = ${fmt(D.pL[s])}<br>` +
  `ε = Σ_s p_L(s) KL(P*(·|s) ‖ Q(·|s)) = ${fmt(D.eps[k])} nats (target 10^${eps_slider.value})`;
"""
    )
    cb = CustomJS(args=dict(D=data, lo=LOG_EPS[0], step=0.25, eps_slider=eps_slider, ctx_slider=ctx_slider,
                            bars=bars, kls=kls, mean=mean, out=out), code=code)  # fmt: skip
    eps_slider.js_on_change("value", cb)
    ctx_slider.js_on_change("value", cb)
    look = [
        "Move ε to the left: Q's orange bars settle onto P*'s black ones, and every context's KL shrinks.",
        "ε is not any one context's KL: it is their average, each context weighted by how often it occurs, "
        "p_L(s) (here all equally often). Some contexts sit far above the dashed line, many below it.",
        "Pick other contexts: the same ε hides very different errors on different contexts. This is why the "
        "theorem needs γ, how much of the language's contexts the task looks at.",
    ]
    how = [
        f"A log-linear world of the package: {V} words, {len(d.p_L)} contexts, embeddings of dimension "
        f"{WORLD.dim} (seed {seed}); P*(·|s) = softmax(Φᵀθ(s)).",
        "Each Q is P* tilted along one random direction, the tilt solved so that ε hits the target to 1%; "
        "the ε shown is the exact one, KL summed in float64 over all contexts (no sampling).",
    ]
    return Page("1-a-world-where-eps-is-known", "A world where ε is known", frame("A world where ε is known", look,
                column(row(eps_slider, ctx_slider), out, row(dist, per)), how, cb))  # fmt: skip
