"""The lesson pages in a real browser: each loads offline without errors, a slider moved through BokehJS's model
interface redraws the page, and the numbers it then shows match the package's exact values, recomputed here
independently (KL with SciPy, the forward pass by hand, bounds and constant predictors from their formulas).
"""

import math
import re

import numpy as np
import pytest
import scipy.stats

import simulations as sim
import theory
from simulations import lessons
from simulations.cli import main

from .layout import legend_faults

RTOL = 5e-6  # the data drawn (full float64, printed by JSON to at least six digits)
TEXT_RTOL = 5e-3  # the readouts print three significant digits


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("lessons")
    assert main(["lesson", "--out", str(out)]) == 0
    found = {p.name: p for p in out.glob("*.html")}
    assert len(found) == 5  # four lessons and the index
    return out


def _page(pages, n):
    (path,) = pages.glob(f"{n}-*.html")
    return path


def move(page, name, value, attr="value"):
    """Set a widget's value as a user's drag would (the model's property; its callbacks run), return the readout."""
    page.evaluate(f"Bokeh.documents[0].get_model_by_name('{name}').{attr} = {value}")
    return page.evaluate("Bokeh.documents[0].get_model_by_name('readout').text")


def number(text, label):
    """The number printed right after `label` (and '=' or ':'), as a float."""
    m = re.search(re.escape(label) + r"\s*[=:]?\s*(-?[0-9.]+(?:e[-+]?\d+)?)", text)
    assert m, f"{label!r} not in {text!r}"
    return float(m.group(1))


def close(shown, exact, rtol=TEXT_RTOL):
    """A number shown against the package's: to the three digits a readout prints (drawn data: `rtol=RTOL`)."""
    return math.isclose(shown, exact, rel_tol=rtol, abs_tol=1e-12)


def test_index_links_every_lesson(pages, open_page):
    page = open_page(pages / "index.html", bokeh=False)
    links = page.evaluate("[...document.querySelectorAll('a')].map((a) => a.getAttribute('href'))")
    assert links == [_page(pages, i).name for i in (1, 2, 3, 4)]


def test_world_lesson_shows_the_exact_kl_and_eps(pages, open_page):
    page = open_page(_page(pages, 1))
    move(page, "log_eps", -2)
    text = move(page, "context", 3)
    d = lessons.world_numbers(0)
    inst = sim.make_instance(0, sim.WorldConfig(vocab_size=40, num_contexts=60, dim=4), sim.TaskConfig())
    np.testing.assert_array_equal(d.p_star, inst.world.p_star)
    k = d.log_eps.index(-2.0)
    p, q, w = inst.world.p_star, d.q[k], inst.world.p_L
    kl_rows = scipy.stats.entropy(p, q, axis=1)  # SciPy's KL, not the package's
    assert number(text, "context s") == 3
    assert close(number(text, "KL(P*(·|s) ‖ Q(·|s))"), kl_rows[3])
    assert close(number(text, "p_L(s)"), w[3])
    assert close(number(text, "Σ_s p_L(s) KL(P*(·|s) ‖ Q(·|s))"), float(w @ kl_rows))
    assert abs(float(w @ kl_rows) / 1e-2 - 1) < 0.01  # the target ε, to 1%
    bars = page.evaluate(
        "(() => { for (const m of Bokeh.documents[0].all_models) if (m.data && m.data.pstar) return m.data; })()"
    )
    np.testing.assert_allclose(bars["pstar"], np.sort(p[3])[::-1], rtol=1e-12)
    np.testing.assert_allclose(bars["q"], q[3][np.argsort(-p[3], kind="stable")], rtol=1e-12)


def _trivial(task):
    """The constant predictor's logistic loss: the entropy (nats) of the task's mean label."""
    live = task.p_T > 0
    m = float(task.p_T[live] @ task.eta[live])
    return -(m * math.log(m) + (1 - m) * math.log(1 - m))


@pytest.fixture(scope="module")
def bound_cells():
    return lessons.bound_numbers(0)


@pytest.mark.parametrize(
    ("kind", "b", "g", "log_eps", "vacuous"),
    [("trained", 2, 1, -3.0, None), ("adversarial", 1, 0, -1.0, True), ("random", 0, 2, -5.0, False)],
)
def test_bound_lesson_shows_the_probe_and_the_bound(pages, open_page, bound_cells, kind, b, g, log_eps, vacuous):
    page = open_page(_page(pages, 2))
    move(page, "kind", ["adversarial", "random", "trained"].index(kind), "active")
    move(page, "B", b, "active")
    move(page, "gamma", g, "active")
    text = move(page, "log_eps", log_eps)
    B, share = (0.5, 1.0, 2.0, 4.0)[b], (1.0, 0.5, 0.25)[g]
    world = sim.WorldConfig(vocab_size=60, num_contexts=120, dim=4)
    inst = sim.make_instance(0, world, sim.TaskConfig(B=B, task_fraction=share))
    reps = bound_cells[b * 3 + g].reports[kind]
    rep = min(reps, key=lambda r: abs(math.log10(r.eps) - log_eps))  # the LM nearest the slider
    if kind == "trained":  # its ε recomputed with SciPy from the trained LM itself
        lms = sim.trained_lms(
            sim.make_instance(0, world, sim.TaskConfig()), sim.TrainConfig(steps=2000, checkpoints=12)
        )
        (lm,) = [m for m in lms if m.eps == rep.eps]
        assert close(rep.eps, float(inst.world.p_L @ scipy.stats.entropy(inst.world.p_star, lm.q, axis=1)))
    else:
        assert abs(rep.eps / 10.0**log_eps - 1) < 0.01
    eps = number(text, "ε =")
    assert close(eps, rep.eps)
    assert close(number(text, "B ="), B) and close(number(text, "γ ="), inst.gamma)
    assert math.isclose(inst.gamma, share, rel_tol=0.05)  # about the task's share of a uniform p_L
    assert close(number(text, "probe loss on the LM's p_f"), rep.probe_loss)
    assert close(number(text, "τ (same probe class on P*)"), rep.tau_fitted)
    assert close(number(text, "excess = probe loss − τ"), rep.probe_loss - rep.tau_fitted)
    by_hand = math.sqrt(2 * B**2 * rep.eps / inst.gamma)
    assert close(number(text, "√(2B²ε/γ)"), by_hand)
    trivial = _trivial(inst.task)
    assert close(number(text, "constant predictor's loss"), trivial)
    vacuous_eps = inst.gamma * (trivial - rep.tau_fitted) ** 2 / (2 * B**2)
    assert close(number(text, "ε ≥" if "VACUOUS" in text else "ε <"), vacuous_eps)
    assert ("VACUOUS" in text) == (rep.tau_fitted + by_hand >= trivial)
    assert vacuous is None or ("VACUOUS" in text) == vacuous  # both sides of the crossing are exercised
    assert ("holds" in text) == (rep.probe_loss - rep.gap <= rep.tau_fitted + by_hand)
    drawn = page.evaluate(
        """() => { const g = (n) => Bokeh.documents[0].get_model_by_name(n), a = (n, k) => Array.from(g(n).data[k]);
        return {cx: a('bound_curve', 'x'), cy: a('bound_curve', 'y'), dx: a('excess_dots', 'x'),
                dy: a('excess_dots', 'y'), lx: a('excess_low', 'x'), ly: a('excess_low', 'y'),
                nx: a('picked', 'x'), trivial: g('trivial_line').location, vac: g('vacuous_line').location}; }"""
    )
    # what is drawn, against the same numbers by hand: the bound's curve, the two red lines, the dots as excesses
    assert all(close(y, math.sqrt(2 * B**2 * x / inst.gamma)) for x, y in zip(drawn["cx"], drawn["cy"], strict=True))
    assert close(drawn["trivial"], trivial - rep.tau_fitted) and close(drawn["vac"], vacuous_eps)
    excess = {r.eps: r.probe_loss - r.tau_fitted for r in reps}

    def excess_at(x):  # the drawn ε is the report's, printed to six digits
        return excess[min(excess, key=lambda e: abs(e - x))]

    assert sorted(drawn["dx"] + drawn["lx"]) == pytest.approx(sorted(excess), rel=RTOL)
    assert all(close(y, excess_at(x), RTOL) for x, y in zip(drawn["dx"], drawn["dy"], strict=True))
    floor = min(drawn["ly"] + drawn["dy"])  # the low markers sit at the plot's floor, below every drawn dot
    assert all(excess_at(x) <= floor for x in drawn["lx"])
    assert close(drawn["nx"][0], rep.eps)


def test_prompt_lesson_shows_tau_zero_shot_and_the_prompts_words(pages, open_page):
    page = open_page(_page(pages, 3))
    move(page, "level", -2)
    text = move(page, "log2_B", 5)
    lex = sim.make_lexicon(np.random.default_rng(0), sim.LexiconConfig(vocab_size=150, num_contexts=200))
    s = int(np.flatnonzero(lex.level == -2)[0])
    N = lex.num_contexts
    pos, neg = lex.valence > 0, lex.valence < 0
    assert number(text, "context #") == s
    assert close(number(text, "P(positive words)"), lex.world.p_star[s, pos].sum())
    assert close(number(text, "P(negative words)"), lex.world.p_star[s, neg].sum())
    after = re.search(r"without the prompt; ([0-9.e-]+) and ([0-9.e-]+) with it", text)
    assert close(float(after[1]), lex.world.p_star[N + s, pos].sum())
    assert close(float(after[2]), lex.world.p_star[N + s, neg].sum())
    for prompted, label in ((False, "no prompt  :"), (True, "with prompt:")):
        line = text.split(label)[1].split("<br>")[0]
        task = sim.make_class_task(lex, "sentiment", prompted)
        fit = sim.fit_multiclass_probe(lex.world.p_star, task.p_T, task.eta, box=32.0)
        assert np.abs(fit.W).max() <= 32.0 + 1e-9
        loss = theory.multiclass_probe_loss(lex.world.p_star, fit.W, fit.b, task.p_T, task.eta)
        assert close(number(line, "τ(B)"), loss)
        # zero-shot by hand: the class whose words have more mass, scored against the soft labels
        mass = np.stack([lex.world.p_star[:, idx].sum(axis=1) for idx in task.class_words], axis=1)
        pick = mass.argmax(axis=1)
        live = task.p_T > 0
        acc = float(task.p_T[live] @ task.eta[live][np.arange(live.sum()), pick[live]])
        assert close(number(line, "zero-shot accuracy"), acc)


def _forward_by_hand(hmm, tokens):
    """p*(·|w≤t) for t = 1..L by the unnormalised-then-normalised forward recursion, written out here."""
    pi, A, E = hmm.dense()
    b, out = pi, []
    for w in tokens:
        a = b * E[:, w]
        b = (a / a.sum()) @ A
        out.append(b @ E)
    return np.array(out), b


def _review_shown(page, world):
    """The review on the page, read back from its text (words, tags stripped) as token ids."""
    html_text = page.evaluate("Bokeh.documents[0].get_model_by_name('text').text")
    review = re.sub(r"<[^>]+>", " ", html_text.split("+ ")[0]).split()
    return np.array([world.words.words.index(word) for word in review])


def _sequence_world():
    keys = sim.streams(0)
    cfg = sim.SequenceConfig(vocab_size=300, concept_strength=1.5, length=24, documents=6)
    return sim.make_sequence_world(keys["world"], cfg)


def test_sequence_lesson_shows_exact_next_words(pages, open_page):
    page = open_page(_page(pages, 4))
    move(page, "review", 2)
    text = move(page, "position", 10)
    world = _sequence_world()
    tokens = _review_shown(page, world)
    assert len(tokens) == 24
    p_next, _ = _forward_by_hand(world.hmm, tokens)
    _, end = _forward_by_hand(world.hmm, list(tokens) + list(world.prompt))
    after = end @ world.hmm.dense()[2]
    shown = page.evaluate(
        "(() => { const out = []; for (const m of Bokeh.documents[0].all_models) "
        "if (m.data && m.data.word && m.data.p) out.push(m.data); return out; })()"
    )
    words = world.words.words
    top_next = np.argsort(-p_next[9])[:10]
    top_after = np.argsort(-after)[:10]
    datas = {tuple(d["word"]): d for d in shown}
    assert tuple(words[i] for i in top_next) in datas
    assert tuple(words[i] for i in top_after) in datas
    np.testing.assert_allclose(datas[tuple(words[i] for i in top_next)]["p"], p_next[9][top_next], rtol=1e-10)
    np.testing.assert_allclose(datas[tuple(words[i] for i in top_after)]["p"], after[top_after], rtol=1e-10)
    nxt = words[tokens[10]]
    assert f'"{nxt}", had p*' in text
    assert close(number(text, "had p* ="), p_next[9][tokens[10]])
    ev = world.words.evaluative
    pos, neg = ev & (world.words.valence > 0), ev & (world.words.valence < 0)
    tail = text.split("after the prompt:")[1]
    assert close(float(tail.split(" and ")[0]), after[pos].sum())
    assert close(float(tail.split(" and ")[1]), after[neg].sum())


#: The widget states each lesson's layout is checked in: its first view, then the sliders at their ends.
LAYOUT_STATES = {
    1: [[], [("log_eps", -3, "value")], [("log_eps", 0, "value"), ("context", 7, "value")]],
    2: [[], *([("kind", k, "active"), ("log_eps", e, "value")] for k in (0, 1, 2) for e in (-6, 0))],
    3: [[], [("level", -2, "value"), ("log2_B", -2, "value")], [("level", 2, "value"), ("log2_B", 6, "value")]],
}


@pytest.mark.parametrize("n", sorted(LAYOUT_STATES))
def test_no_legend_covers_a_glyph_and_every_entry_draws_something(pages, open_page, n):
    page = open_page(_page(pages, n))
    for state in LAYOUT_STATES[n]:
        for name, value, attr in state:
            move(page, name, value, attr)
        page.wait_for_timeout(100)
        assert legend_faults(page) == [], state


def test_the_layout_check_sees_a_covering_legend_and_an_empty_entry(tmp_path, open_page):
    """The negative control of the test above: a legend inside the frame over a curve, and an entry whose
    points are none, are both reported; the same figure with its legend moved out (as the lessons do) is not."""
    from bokeh.embed import file_html
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    def page_of(outside: bool):
        fig = figure(width=400, height=300, toolbar_location=None, title="control")
        fig.line([0, 1, 2, 3], [9.5, 9.5, 9.5, 9.5], line_width=3, legend_label="a curve along the top")
        fig.scatter([], [], legend_label="points there are none of")
        fig.scatter([0, 3], [0, 10], alpha=0)
        fig.legend.location = "top_right"
        if outside:  # as the lessons place theirs: under the plotting area
            legend = fig.legend[0]
            fig.center = [r for r in fig.center if r is not legend]
            fig.add_layout(legend, "below")
        path = tmp_path / f"control-{outside}.html"
        path.write_text(file_html(fig, INLINE, "control"))
        return open_page(path)

    faults = legend_faults(page_of(False))
    assert any("covers" in f for f in faults), faults
    assert any("'points there are none of' has nothing drawn" in f for f in faults), faults
    empty = "figure 'control': legend entry 'points there are none of' has nothing drawn"
    assert legend_faults(page_of(True)) == [empty]


def test_sequence_lesson_opens_on_a_clear_review_then_a_misread_one(pages, open_page):
    """Review 0 is labelled clear: its reader ends ≥ 0.9 on the concept it was drawn from (named by sentiment),
    and after the prompt the positive-vs-negative mass and the most likely word side with that sentiment. Review 1
    is labelled misread: its reader ends below 1/2 on its concept. Each recomputed by hand from the words shown."""
    page = open_page(_page(pages, 4))
    world = _sequence_world()
    C, S = world.hmm.init.shape
    ev, val = world.words.evaluative, world.words.valence
    for m, role in ((0, "a clear review"), (1, "a misread review")):
        move(page, "review", m)
        text = move(page, "position", 24)
        assert role in text
        sentiment = re.search(r"drawn from the (\w+) concept", text)[1]
        levels = world.levels
        c = [i for i in range(C) if ("positive" if levels[i] > 0 else "negative") == sentiment]
        assert len(c) == 1, (sentiment, levels)
        tokens = _review_shown(page, world)
        _, end = _forward_by_hand(world.hmm, tokens)
        belief = end.reshape(C, S).sum(axis=1)[c[0]]  # P(its concept | whole review), A keeps concept mass
        _, after_prompt = _forward_by_hand(world.hmm, list(tokens) + list(world.prompt))
        nxt = after_prompt @ world.hmm.dense()[2]
        sign = 1 if sentiment == "positive" else -1
        lean = np.sign(nxt[ev & (val > 0)].sum() - nxt[ev & (val < 0)].sum())
        if m == 0:
            assert belief >= 0.9 and lean == sign
            top = int(np.argmax(nxt))
            assert ev[top] and np.sign(val[top]) == sign
        else:
            assert belief < 0.5
        bars = page.evaluate(
            "(() => { for (const m of Bokeh.documents[0].all_models) if (m.data && m.data.c) return m.data; })()"
        )
        assert bars["c"] == [("positive" if lv > 0 else "negative") for lv in levels]
