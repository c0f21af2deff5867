"""Lesson 3, "prompts": how "This movie is" turns a context's next words into a sentiment readout, what the
probe's τ(B) does with it, and why reading the class words (zero-shot) can beat a probe.

The named-word world (docs/design.md, "named words") holds each context twice, without and with the prompt;
the sentiment task's labels are the same. τ(B) is the loss of the best 2-class linear probe with weights
|W_kw| ≤ B on P*'s next-word distributions (arXiv:2010.03648, §3-§4; (R10)); zero-shot compares the next
word's mass on positive words with its mass on negative words, with no probe at all.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, CustomJS, Slider, Span
from bokeh.plotting import figure

from ..features import fit_class_probe, zero_shot
from ..worlds import PROMPT, LexiconConfig, make_class_task, make_lexicon, named_words
from ._page import JS_FORMAT, Page, frame, legend_outside, readout, rounded

LEXICON = LexiconConfig(vocab_size=150, num_contexts=200)
LOG2_B = tuple(range(-2, 7))
TOP = 10


class PromptLesson(NamedTuple):
    """The exact numbers of lesson 3. contexts (5,): one context of each sentiment level −2 … +2; levels;
    p_plain, p_prompt (5, V) their next words without and with the prompt; words, valence (V,);
    tau, acc[prompted] (len(LOG2_B),) the fitted probe's loss and accuracy on P*; certified; zs_acc[prompted]:
    zero-shot's accuracy on P*."""

    contexts: np.ndarray
    levels: np.ndarray
    p_plain: np.ndarray
    p_prompt: np.ndarray
    words: tuple[str, ...]
    valence: np.ndarray
    tau: dict[bool, np.ndarray]
    acc: dict[bool, np.ndarray]
    certified: dict[bool, np.ndarray]
    zs_acc: dict[bool, float]


def prompt_numbers(seed: int = 0) -> PromptLesson:
    """Lesson 3's numbers, all on the exact population of the seed's named-word world."""
    lex = make_lexicon(np.random.default_rng(seed), LEXICON)
    N = lex.num_contexts
    contexts = np.array([int(np.flatnonzero(lex.level == lv)[0]) for lv in range(-2, 3)])
    tau, acc, cert, zs = {}, {}, {}, {}
    for prompted in (False, True):
        task = make_class_task(lex, "sentiment", prompted)
        fits = [fit_class_probe(lex.world.p_star, task, 2.0**k) for k in LOG2_B]
        tau[prompted] = np.array([f.loss for f in fits])
        acc[prompted] = np.array([f.accuracy for f in fits])
        cert[prompted] = np.array([f.converged for f in fits])
        zs[prompted] = float(zero_shot(lex.world.p_star, task)[1])
    return PromptLesson(contexts, lex.level[contexts], lex.world.p_star[contexts], lex.world.p_star[N + contexts],
                        lex.words, lex.valence, tau, acc, cert, zs)  # fmt: skip


def _top(d: PromptLesson, p: np.ndarray) -> dict:
    idx = np.argsort(-p, kind="stable")[:TOP]
    color = ["#1a9850" if d.valence[i] > 0 else "#d73027" if d.valence[i] < 0 else "#969696" for i in idx]
    return dict(y=list(range(TOP, 0, -1)), p=rounded(p[idx]), word=[d.words[i] for i in idx], color=color)


def prompt_page(seed: int = 0) -> Page:
    """The HTML page of lesson 3."""
    d = prompt_numbers(seed)
    pos, neg = d.valence > 0, d.valence < 0
    data: dict[str, Any] = dict(
        plain=[_top(d, p) for p in d.p_plain],
        prompt=[_top(d, p) for p in d.p_prompt],
        mass=[[rounded([p[pos].sum(), p[neg].sum()]) for p in ps] for ps in (d.p_plain, d.p_prompt)],
        levels=[int(x) for x in d.levels],
        contexts=[int(x) for x in d.contexts],
        tau=[rounded(d.tau[False]), rounded(d.tau[True])],
        acc=[rounded(d.acc[False]), rounded(d.acc[True])],
        cert=[[bool(x) for x in d.certified[False]], [bool(x) for x in d.certified[True]]],
        zs=[d.zs_acc[False], d.zs_acc[True]],
        B=[2.0**k for k in LOG2_B],
    )
    ctx = Slider(start=-2, end=2, step=1, value=2, width=420, name="level",
                 title="the context's latent sentiment (−2 very negative … +2 very positive)")  # fmt: skip
    box = Slider(start=LOG2_B[0], end=LOG2_B[-1], step=1, value=2, width=420, name="log2_B",
                 title="log₂ B, the probe's box |W| ≤ B")  # fmt: skip
    figs, sources = [], []
    for title in ("next words, no prompt", f'next words after "{PROMPT}"'):
        src = ColumnDataSource(dict(y=[], p=[], word=[], color=[]))
        f = figure(width=360, height=330, title=title, x_axis_label="probability", toolbar_location=None,
                   x_range=(0, 1), y_range=(0.3, TOP + 0.7))  # fmt: skip
        f.hbar(y="y", right="p", height=0.75, color="color", source=src)
        f.text(x="p", y="y", text="word", source=src, x_offset=4, text_baseline="middle", text_font_size="11px")
        f.yaxis.visible = False
        figs.append(f)
        sources.append(src)
    curves = ColumnDataSource(dict(B=data["B"], tau0=data["tau"][0], tau1=data["tau"][1], acc0=data["acc"][0],
                                   acc1=data["acc"][1]))  # fmt: skip
    tauf = figure(width=360, height=390, x_axis_type="log", title="τ(B): the best probe's loss on P*",
                  x_axis_label="B", y_axis_label="logistic loss", toolbar_location=None)  # fmt: skip
    tauf.line("B", "tau0", source=curves, color="#636363", line_width=2, legend_label="no prompt")
    tauf.line("B", "tau1", source=curves, color="#e6550d", line_width=2, legend_label="with the prompt")
    accf = figure(width=360, height=390, x_axis_type="log", title="accuracy on P*: probe (lines), zero-shot (dashed)",
                  x_axis_label="B", y_axis_label="accuracy", toolbar_location=None)  # fmt: skip
    accf.line("B", "acc0", source=curves, color="#636363", line_width=2, legend_label="probe, no prompt")
    accf.line("B", "acc1", source=curves, color="#e6550d", line_width=2, legend_label="probe, with the prompt")
    for k, color in ((0, "#636363"), (1, "#e6550d")):
        accf.add_layout(Span(location=d.zs_acc[bool(k)], dimension="width", line_color=color, line_dash="dashed"))
    legend_outside(tauf)
    legend_outside(accf)
    marks = [Span(location=4.0, dimension="height", line_color="#3182bd", line_width=2) for _ in range(2)]
    tauf.add_layout(marks[0])
    accf.add_layout(marks[1])
    out = readout()
    code = (
        JS_FORMAT
        + """
const j = ctx.value + 2, b = box.value - box.start;
plain.data = D.plain[j];
prompt.data = D.prompt[j];
for (const m of marks) m.location = D.B[b];
const row = (k, what) => `${what}: τ(B) = ${fmt(D.tau[k][b])}${D.cert[k][b] ? '' : ' (NOT CERTIFIED)'}, ` +
  `probe accuracy ${fmt(D.acc[k][b])}, zero-shot accuracy ${fmt(D.zs[k])}`;
out.text = `context #${D.contexts[j]}, sentiment ${D.levels[j]}: ` +
  `P(positive words) = ${fmt(D.mass[0][j][0])}, P(negative words) = ${fmt(D.mass[0][j][1])} without the prompt; ` +
  `${fmt(D.mass[1][j][0])} and ${fmt(D.mass[1][j][1])} with it<br>` +
  `B = ${fmt(D.B[b])}<br>` + row(0, 'no prompt  ') + '<br>' + row(1, 'with prompt');
"""
    )
    cb = CustomJS(args=dict(D=data, ctx=ctx, box=box, plain=sources[0], prompt=sources[1], marks=marks, out=out),
                  code=code)  # fmt: skip
    ctx.js_on_change("value", cb)
    box.js_on_change("value", cb)
    look = [
        f'Move the sentiment: without the prompt the next words are mostly topic and filler words (grey); after "'
        f'{PROMPT}" the mass moves to evaluative words (green positive, red negative) and their colour follows the '
        "context's sentiment. The prompt turns the task into reading the next word.",
        "τ(B), the best probe's loss on the true next-word distributions, is much lower with the prompt: the same "
        "linear probe reads the label better. That is the paper's reason prompts help.",
        "Zero-shot (dashed) can beat the probe at small B. τ is a loss of a box-limited probe on raw "
        "probabilities, which are small numbers, so weights |W| ≤ B cannot scale them up enough to be confident; "
        "zero-shot compares P(positive words) with P(negative words), a ratio that does not care about scale. "
        "Move B up: the probe catches up and passes it.",
    ]
    how = [
        f"The named-word world of the package: {LEXICON.vocab_size} words ({len(named_words())} named: sentiment "
        f"words, topic nouns, function words; the rest filler), {LEXICON.num_contexts} contexts, each also "
        f'followed by the prompt "{PROMPT}" (seed {seed}); the task: is the context positive?',
        "Every τ and accuracy is a 2-class probe fitted on the exact population with a certified optimality gap; "
        "zero-shot is the package's zero_shot rule. No LM here: these are the truth's own next words (ε = 0).",
    ]
    body = column(row(ctx, box), out, row(*figs), row(tauf, accf))
    return Page("3-prompts", "Prompts", frame("Prompts: why the next word can carry the label", look, body, how, cb))
