"""Lesson 4, "a review and its next word": a document drawn from the sequence world, the exact next-token
distribution p*(·|w≤t) after each prefix, the concept the reader believes in, and what the prompt does.

The sequence world (docs/design.md, "The sequence world") is a mixture of concept HMMs over real English
words; the belief state after a prefix is exact (the forward pass in float64), so p*(·|w≤t) = b_t E is exact
too. Appending the world's prompt to a review moves the next word's mass onto evaluative words whose valence
follows the review's concept: the task "is this review positive?" becomes a reading of the next word
(arXiv:2010.03648, §3, the sentence-completion view).
"""

from __future__ import annotations

import html
from typing import NamedTuple

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, CustomJS, Div, Slider
from bokeh.plotting import figure

from ..core import streams
from ..worlds import (
    SequenceConfig,
    SequenceWorld,
    append_suffix,
    forward,
    make_sequence_world,
    next_token_probs,
    sample_population,
)
from ._page import JS_FORMAT, WIDTH, Page, frame, readout, rounded

WORLD = SequenceConfig(vocab_size=300, concept_strength=1.5, length=24, documents=6)
TOP = 10
POOL = 48  # reviews drawn; the page shows WORLD.documents of them, a clear one first and a misread one second
CLEAR = 0.9  # a clear review: its reader puts at least this on the concept it was drawn from


class SequenceLesson(NamedTuple):
    """The exact numbers of lesson 4, for the M reviews shown. tokens (M, L), concepts (M,); p_next (M, L, V):
    p*(·|w≤t) at t = 1..L; concept_post (M, L, C) P(concept | w≤t); p_prompt (M, V): p*(·| review + prompt);
    roles (M,): why a review is shown ("clear", "misread" or ""); names (C,): each concept by its sentiment."""

    world: SequenceWorld
    tokens: np.ndarray
    concepts: np.ndarray
    p_next: np.ndarray
    concept_post: np.ndarray
    p_prompt: np.ndarray
    roles: list[str]
    names: list[str]


def concept_names(levels: np.ndarray) -> list[str]:
    """Each concept named by the sign of its sentiment level ("positive", "negative", "neutral"), numbered
    only where two share a name."""
    base = ["positive" if lv > 0 else "negative" if lv < 0 else "neutral" for lv in np.asarray(levels)]
    return [b if base.count(b) == 1 else f"{b} {c}" for c, b in enumerate(base)]


def pick_reviews(world: SequenceWorld, tokens: np.ndarray, concepts: np.ndarray, post: np.ndarray,
                 p_prompt: np.ndarray, shown: int) -> tuple[list[int], list[str]]:  # fmt: skip
    """Which of the drawn reviews the page shows, in order, and why.

    First a clear review: its reader ends with P(its concept | review) >= CLEAR, the prompt's next-word mass
    leans to its concept's sentiment and the prompt's most likely next word is an evaluative word of that
    sentiment; among those, the one with the most evaluative words of its sentiment. Second a misread review:
    the reader's belief ends below 1/2 on the concept it was drawn from (the lowest such belief). Then the
    others in the order drawn. With no review of a kind, the page says so instead of showing one.
    """
    w = world.words
    sign = np.sign(world.levels[concepts])  # (M,) the sentiment of each review's concept
    pos = w.evaluative & (w.valence > 0)
    neg = w.evaluative & (w.valence < 0)
    lean = np.sign(p_prompt[:, pos].sum(axis=1) - p_prompt[:, neg].sum(axis=1))
    top = np.argmax(p_prompt, axis=1)
    belief = post[np.arange(len(concepts)), -1, concepts]  # P(drawn concept | whole review)
    ev_sign = np.where(w.evaluative, np.sign(w.valence), 0.0)
    agreeing = (ev_sign[tokens] == sign[:, None]).sum(axis=1)
    clear = (belief >= CLEAR) & (lean == sign) & (sign != 0) & w.evaluative[top] & (ev_sign[top] == sign)
    order: list[int] = []
    roles: list[str] = []
    if clear.any():
        order.append(int(np.argmax(np.where(clear, agreeing, -1))))
        roles.append("clear")
    misread = np.flatnonzero(belief < 0.5)
    if misread.size:
        order.append(int(misread[np.argmin(belief[misread])]))
        roles.append("misread")
    rest = [m for m in range(len(concepts)) if m not in order][: shown - len(order)]
    return order + rest, roles + [""] * len(rest)


def sequence_numbers(seed: int = 0) -> SequenceLesson:
    """Lesson 4's reviews (`pick_reviews` out of POOL drawn) and their exact next-token distributions."""
    keys = streams(seed)
    world = make_sequence_world(keys["world"], WORLD)
    docs = sample_population(keys["data"], world, POOL, WORLD.length)
    after = forward(world.hmm, append_suffix(docs.tokens, world.prompt)).pred[:, -1]
    p_prompt = next_token_probs(world.hmm, after)
    post = docs.filtered.concept_posterior()
    order, roles = pick_reviews(world, docs.tokens, docs.concepts, post, p_prompt, WORLD.documents)
    p_next = next_token_probs(world.hmm, docs.filtered.pred[order])
    return SequenceLesson(world, docs.tokens[order], docs.concepts[order], p_next, post[order], p_prompt[order],
                          roles, concept_names(world.levels))  # fmt: skip


def sequence_page(seed: int = 0) -> Page:
    """The HTML page of lesson 4."""
    d = sequence_numbers(seed)
    w = d.world.words
    M, L = d.tokens.shape
    pos, neg = w.evaluative & (w.valence > 0), w.evaluative & (w.valence < 0)

    def top(p: np.ndarray) -> dict:
        idx = np.argsort(-p, kind="stable")[:TOP]
        color = ["#1a9850" if pos[i] else "#d73027" if neg[i] else "#969696" for i in idx]
        return dict(y=list(range(TOP, 0, -1)), p=rounded(p[idx]), word=[w.words[i] for i in idx], color=color)

    role_text = {
        "clear": "a clear review: its words, the reader's belief and the prompt's answer all agree with its concept",
        "misread": "a misread review: the reader's belief disagrees with the concept it was drawn from",
        "": "",
    }
    data = dict(
        words=[[html.escape(w.words[i]) for i in doc] for doc in d.tokens],
        wcolor=[["#1a9850" if pos[i] else "#d73027" if neg[i] else "" for i in doc] for doc in d.tokens],
        role=[role_text[r] for r in d.roles],
        names=d.names,
        next=[[top(d.p_next[m, t]) for t in range(L)] for m in range(M)],
        actual=[
            [rounded(d.p_next[m, t, d.tokens[m, t + 1]]) if t + 1 < L else None for t in range(L)] for m in range(M)
        ],  # fmt: skip
        post=rounded(d.concept_post),
        levels=rounded(d.world.levels),
        concept=[int(c) for c in d.concepts],
        prompt=[top(p) for p in d.p_prompt],
        mass=[
            [
                rounded([d.p_next[m, -1][pos].sum(), d.p_next[m, -1][neg].sum()]),
                rounded([d.p_prompt[m][pos].sum(), d.p_prompt[m][neg].sum()]),
            ]
            for m in range(M)
        ],  # fmt: skip
        prompt_words=" ".join(w.words[i] for i in d.world.prompt),
    )
    doc = Slider(start=0, end=M - 1, step=1, value=0, width=420, name="review", title="which review")
    pos_t = Slider(start=1, end=L, step=1, value=5, width=420, name="position", title="words read so far (t)")
    text = Div(text="", width=WIDTH, name="text", styles={"font-size": "16px", "line-height": "1.6"})
    srcs, figs = [], []
    after = f'p*(next word | the whole review + "{data["prompt_words"]}")'
    for title in ("p*(next word | the words read so far)", after):
        src = ColumnDataSource(dict(y=[], p=[], word=[], color=[]))
        f = figure(width=400, height=330, title=title, x_axis_label="probability", toolbar_location=None,
                   x_range=(0, 1), y_range=(0.3, TOP + 0.7))  # fmt: skip
        f.hbar(y="y", right="p", height=0.75, color="color", source=src)
        f.text(x="p", y="y", text="word", source=src, x_offset=4, text_baseline="middle", text_font_size="11px")
        f.yaxis.visible = False
        srcs.append(src)
        figs.append(f)
    post = ColumnDataSource(dict(c=[], p=[], color=[]))
    C = d.world.levels.shape[0]
    pf = figure(width=260, height=330, title="P(concept | words read)", x_range=list(d.names),
                y_range=(0, 1), toolbar_location=None)  # fmt: skip
    pf.vbar(x="c", top="p", width=0.7, color="color", source=post)
    out = readout()
    code = (
        JS_FORMAT
        + """
const m = doc.value, t = pos_t.value - 1, W = D.words[m];
const word = (i) => D.wcolor[m][i] ? `<span style="color:${D.wcolor[m][i]}">${W[i]}</span>` : W[i];
const read = W.map((_, i) => i).slice(0, t + 1).map(word), unread = W.map((_, i) => i).slice(t + 1).map(word);
text.text = '<b>' + read.join(' ') + '</b> <span style="opacity:0.45">' + unread.join(' ') +
  '</span> <span style="color:#e6550d">+ ' + D.prompt_words + '</span>';
nxt.data = D.next[m][t];
prm.data = D.prompt[m];
post.data = {c: D.names, p: D.post[m][t],
             color: D.levels.map((l) => l > 0 ? '#1a9850' : '#d73027')};
const lv = D.levels.map((l, c) => `${D.names[c]}: level ${fmt(l)}`).join(', ');
out.text = (D.role[m] ? `<b>${D.role[m]}</b><br>` : '') +
  `review ${m}, drawn from the ${D.names[D.concept[m]]} concept (${lv})<br>` +
  `after ${t + 1} words: P(concept | words) = [${D.post[m][t].map(fmt).join(', ')}]<br>` +
  (D.actual[m][t] === null ? 'the review ends here' :
    `the word that actually came next, "${W[t + 1]}", had p* = ${fmt(D.actual[m][t])}`) + '<br>' +
  `at the end of the review: P(concept | whole review) = [${D.post[m][L - 1].map(fmt).join(', ')}] ` +
  `(${D.names.join(', ')}); ` +
  `P(positive words) = ${fmt(D.mass[m][0][0])}, P(negative words) = ` +
  `${fmt(D.mass[m][0][1])}; after the prompt: ${fmt(D.mass[m][1][0])} and ${fmt(D.mass[m][1][1])}`;
"""
    )
    cb = CustomJS(args=dict(D=data, L=L, doc=doc, pos_t=pos_t, text=text, nxt=srcs[0], prm=srcs[1], post=post, out=out),
                  code=code)  # fmt: skip
    doc.js_on_change("value", cb)
    pos_t.js_on_change("value", cb)
    start = "Review 0 is a clear one: move t along it." if "clear" in d.roles else "Move t along a review."
    look = [
        start + " The bold words are what the reader has seen, the evaluative ones coloured (green positive, red "
        "negative). The next-word distribution on the "
        "left is exact, not estimated: the belief over the hidden states is updated word by word (the forward "
        "pass), and the next word is drawn from that belief.",
        "Watch P(concept | words read): each review comes from one hidden concept, and a few words already give "
        "it away. That belief is all a perfect language model knows about the review.",
        "Now the right panel: the same review followed by the prompt. The next word is most likely an evaluative "
        "word (green positive, red negative), and the balance between them follows P(concept | the whole review): "
        "the reader's belief, not the concept the review was really drawn from (a review whose words look "
        "positive gets a positive answer). A classifier of the review's sentiment can read that belief off the "
        "next word: what the paper calls a natural task.",
    ]
    if "misread" in d.roles:
        look.append(
            f"Review {d.roles.index('misread')} is misread: drawn from one concept, its words are more likely under "
            "the other, so the reader's belief and the prompt's answer go the other way. No model can do better than "
            "that belief: it is the error a perfect language model still makes, part of τ."
        )
    else:
        look.append(f"None of the {POOL} reviews drawn is misread (the reader ends above 1/2 on each one's concept).")
    how = [
        f"A sequence world of the package: a mixture of {C} concept HMMs over {WORLD.vocab_size} real English words "
        f"(frequencies from wordfreq, valences from the VADER lexicon), {POOL} reviews of {L} words drawn with "
        f"seed {seed}, of which the page shows {M}: the clear one with the most evaluative words first, the most "
        "misread one second, then the rest in the order drawn.",
        "Every probability is exact in float64: the normalised forward recursion over the hidden states, then "
        "p*(·|w≤t) = b_t E. No language model is trained here: this is the truth an LM is measured against.",
    ]
    body = column(row(doc, pos_t), text, out, row(figs[0], pf, figs[1]))
    return Page("4-a-review-and-its-next-word", "A review and its next word",
                frame("A review and its next word", look, body, how, cb))  # fmt: skip
