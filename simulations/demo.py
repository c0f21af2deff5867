"""`natural-tasks demo`: the theory on one context, in a few tables and one figure (for a class; seconds).

A context of the named-word world, its next words under P* and under a
language model Q at a chosen ε (adversarial, random or trained), with and
without the prompt "This movie is"; the sentiment task, its τ, a probe on the
LM's next-word probabilities, the bound τ + 2B√(2ε/γ) it must stay under, the
ε up to which that bound says something, and the zero-shot reading of the
class words with the measured reason it can beat the probe (arXiv:2010.03648,
§3-§4; docs/design.md (R10)). With a PNG path it also draws the probe's excess
loss against ε on log-log axes under the bound, the vacuous region marked.

`demo` returns the numbers beside the text (`DemoResult`); `run_demo` returns
the text only.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

import theory

from .core import PNG_METADATA, atomic_write, streams
from .experiments.kit import FAMILY_STYLE, STYLE, pyplot
from .features import fit_class_probe, zero_shot
from .models import (
    TrainConfig,
    adversarial_class_direction,
    calibrate_tilts,
    center,
    lm_eps,
    lm_probs,
    tilt_model,
    train,
)
from .probes import MultiProbeFit
from .runs import check_output_path
from .worlds import PROMPT, TOPICS, ClassTask, Lexicon, LexiconConfig, make_class_task, make_lexicon, named_words

#: The demo's world and probe box.
DEMO_LEXICON = LexiconConfig(vocab_size=150, num_contexts=200)
DEMO_B = 4.0
TOP = 8
#: The kinds of language model the demo makes (`--kind`).
KINDS = ("adversarial", "random", "trained")
DEFAULT_KIND = "adversarial"
#: The default ε: for the default seed the bound is below the constant predictor's loss on both copies
#: (informative) at this ε; it stops being so near ε = 6e-5 without the prompt (the text prints where).
DEFAULT_EPS = 1e-5
#: ε of the tilted LMs drawn on the figure (the trained LM is drawn at its checkpoints).
PLOT_EPS = tuple(float(10.0**e) for e in np.arange(-7.0, -0.99, 0.5))
#: The trained LM: Adam on the exact cross-entropy, read at log-spaced checkpoints (about 1 s on 2 cores).
TRAINING = TrainConfig(steps=3000, checkpoints=16)
#: The boxes at which the demo measures the probe's accuracy on P* (the zero-shot comparison).
ZERO_SHOT_BOXES = (DEMO_B, 16.0, 64.0)
#: Each copy's colour on the figure.
COPY_COLOUR = {False: "#636363", True: "#e6550d"}


def _table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


class TaskLine(NamedTuple):
    """The sentiment task on one copy of the contexts (without or with the prompt), for the demo's LM.

    tau, tau_accuracy, tau_gap: the box-B 2-class probe on p_f fitted on P* (τ, the reference; its certified
    gap).  probe_loss,
    probe_accuracy, gap: the same class refitted on Q (certified gap).  bound: τ + 2B√(2ε/γ) from
    `theory.multiclass_task_bound`.  trivial: the constant predictor's loss H(η̄) (`theory.trivial_loss`).
    eps_vacuous: the ε at which the bound reaches `trivial` (above it the bound says nothing).
    zero_shot_accuracy: the zero-shot rule on Q.  holds: probe_loss − gap ≤ bound.  vacuous: bound ≥ trivial.
    """

    prompted: bool
    gamma: float
    tau: float
    tau_accuracy: float
    tau_gap: float
    probe_loss: float
    probe_accuracy: float
    gap: float
    bound: float
    trivial: float
    eps_vacuous: float
    zero_shot_accuracy: float
    holds: bool
    vacuous: bool


class CurvePoint(NamedTuple):
    """One LM of the figure: its exact ε; on each copy (no prompt, with prompt) the excess loss on Q over τ of the
    probe refitted on Q (`excess`) and of the τ probe kept fixed (`fixed_excess`, the left side of (R10) as
    proved)."""

    eps: float
    excess: tuple[float, float]
    fixed_excess: tuple[float, float]
    gap: tuple[float, float]


class DemoResult(NamedTuple):
    """The demo's numbers beside its text.

    q: the LM's next-word distributions (2N, V), float64; eps: its exact ε (a float64 KL against P*);
    target_eps: the ε asked for; step: the trained LM's checkpoint (0 for tilts).  tasks: (no prompt, with
    prompt).  boxes, box_accuracy: the probe's accuracy on P* (no prompt) at each box B; zero_shot_p_star:
    zero-shot's accuracy on P* (no prompt); class_mass: the mean mass of the class words (no prompt, with
    prompt) on P*.  curve: the figure's LMs (empty without a plot); plot: the PNG written, or None.
    """

    text: str
    seed: int
    kind: str
    target_eps: float
    eps: float
    q: np.ndarray
    step: int
    tasks: tuple[TaskLine, TaskLine]
    boxes: tuple[float, ...]
    box_accuracy: tuple[float, ...]
    zero_shot_p_star: float
    class_mass: tuple[float, float]
    curve: tuple[CurvePoint, ...]
    plot: Path | None


def check_plot_path(plot: str | Path) -> Path:
    """The figure's path, refused (ValueError) before any work unless it names a .png file that may be written:
    new, or a figure natural-tasks wrote there before, outside every results folder
    (`simulations.runs.check_output_path`; its folder is created if needed)."""
    path = Path(plot)
    if path.suffix.lower() != ".png":
        raise ValueError(f"--plot writes a PNG: give a file name ending in .png, got {str(plot)!r}")
    return check_output_path(path, "demo --plot")


def _check(eps: object, kind: object) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0.0 < float(eps) <= 10.0:
        raise ValueError(f"eps must be in (0, 10], got {eps!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return float(eps)


def _tasks(lex: Lexicon) -> list[ClassTask]:
    return [make_class_task(lex, "sentiment", prompted) for prompted in (False, True)]


def adversarial_tilt(lex: Lexicon, B: float = DEMO_B) -> np.ndarray:
    """The direction U (2N, V) of the demo's adversarial LM: on each copy of the contexts, the direction in which
    the sentiment task's τ probe (fitted on P* in the box B) loses loss fastest per unit of KL
    (`adversarial_class_direction`, docs/design.md (R11)); the two copies' directions added."""
    u = np.zeros_like(lex.world.p_star)
    for task in _tasks(lex):
        fit = fit_class_probe(lex.world.p_star, task, B)
        u += adversarial_class_direction(lex.world, fit.W, fit.b, task.eta, task.p_T, B)
    return u


def _lms(
    lex: Lexicon, rng: np.random.Generator, seed: int, kind: str, targets: Sequence[float]
) -> list[tuple[np.ndarray, float, int]]:
    """(Q, exact ε, step) of the kind's LMs: one per target for the tilts; every checkpoint for the trained LM."""
    world = lex.world
    if kind == "trained":
        keys = streams(seed)
        return [(lm_probs(p), lm_eps(world, p), step) for step, p in train(keys["init"], keys["data"], world, TRAINING)]
    u = adversarial_tilt(lex) if kind == "adversarial" else center(world, rng.normal(size=world.p_star.shape))
    ts, es = calibrate_tilts(world, u, targets)
    return [(tilt_model(world, u, float(t)), float(e), 0) for t, e in zip(ts, es, strict=True)]


def _pick(lms: list[tuple[np.ndarray, float, int]], kind: str, eps: float) -> tuple[np.ndarray, float, int]:
    if kind != "trained":
        return lms[0]
    for lm in lms:
        if lm[1] <= eps:
            return lm
    raise ValueError(
        f"the trained LM reached ε = {lms[-1][1]:.3g} after {TRAINING.steps} steps, not {eps:g}: ask for a larger "
        "--eps or a tilted LM (--kind adversarial or random)"
    )


def _task_line(task: ClassTask, ref: MultiProbeFit, q: np.ndarray, eps: float) -> TaskLine:
    fit = fit_class_probe(q, task, DEMO_B)
    bound = theory.multiclass_task_bound(ref.loss, DEMO_B, eps, task.gamma)
    trivial = theory.trivial_loss(task.p_T, task.eta[:, 1])
    # the K-class bound's excess 2B√(2ε/γ) is the binary form √(2B'²ε/γ) with B' = 2B: invert that
    eps_vac = theory.required_eps(trivial - ref.loss, 2.0 * DEMO_B, task.gamma) if trivial > ref.loss else 0.0
    return TaskLine(
        prompted=task.prompted,
        gamma=float(task.gamma),
        tau=float(ref.loss),
        tau_accuracy=float(ref.accuracy),
        tau_gap=float(ref.gap),
        probe_loss=float(fit.loss),
        probe_accuracy=float(fit.accuracy),
        gap=float(fit.gap),
        bound=float(bound),
        trivial=float(trivial),
        eps_vacuous=float(eps_vac),
        zero_shot_accuracy=float(zero_shot(q, task)[1]),
        holds=bool(fit.loss - (fit.gap if math.isfinite(fit.gap) else 0.0) <= bound),
        vacuous=bool(bound >= trivial),
    )


def _point(q: np.ndarray, eps: float, tasks: list[ClassTask], refs: list[MultiProbeFit]) -> CurvePoint:
    pairs = list(zip(tasks, refs, strict=True))
    fits = [fit_class_probe(q, t, DEMO_B) for t, _ in pairs]
    refit = [float(f.loss - ref.loss) for f, ref in zip(fits, refs, strict=True)]
    fixed = [float(theory.multiclass_probe_loss(q, ref.W, ref.b, t.p_T, t.eta) - ref.loss) for t, ref in pairs]
    return CurvePoint(float(eps), (refit[0], refit[1]), (fixed[0], fixed[1]), (float(fits[0].gap), float(fits[1].gap)))


def demo(
    seed: int = 0, eps: float = DEFAULT_EPS, kind: str = DEFAULT_KIND, plot: str | Path | None = None
) -> DemoResult:
    """The walk-through (see the module docstring) as text and numbers; with `plot`, also the figure (a PNG).

    kind: "adversarial" (P* tilted against the sentiment task's labels, `adversarial_tilt`), "random" (P* tilted
    along a random direction) or "trained" (a softmax LM trained with `TRAINING`, at its first checkpoint with
    ε ≤ `eps`). A tilt's ε is within 1% of `eps`; every ε reported is the exact KL of the LM's Q.
    ValueError (before any work) for an ε outside (0, 10], an unknown kind or an unusable plot path.
    """
    eps = _check(eps, kind)
    path = None if plot is None else check_plot_path(plot)
    rng = np.random.default_rng(seed)
    lex = make_lexicon(rng, DEMO_LEXICON)
    world = lex.world
    lms = _lms(lex, rng, seed, kind, (eps, *(PLOT_EPS if path is not None else ())))
    q, e, step = _pick(lms, kind, eps)
    tasks = _tasks(lex)
    refs = [fit_class_probe(world.p_star, t, DEMO_B) for t in tasks]  # τ: the box probe fitted on P*
    lines = (_task_line(tasks[0], refs[0], q, e), _task_line(tasks[1], refs[1], q, e))
    plain = tasks[0]
    box_acc = tuple(float(fit_class_probe(world.p_star, plain, B).accuracy) for B in ZERO_SHOT_BOXES)
    zs_star = float(zero_shot(world.p_star, plain)[1])
    mass = tuple(float(t.p_T @ world.p_star[:, np.concatenate(t.class_words)].sum(axis=1)) for t in tasks)
    curve: tuple[CurvePoint, ...] = ()
    if path is not None:  # the tilts of the plot's grid, or every checkpoint of the trained LM
        curve = tuple(_point(qi, ei, tasks, refs) for qi, ei, _ in (lms if kind == "trained" else lms[1:]))
    result = DemoResult("", seed, kind, eps, float(e), q, int(step), lines, ZERO_SHOT_BOXES, box_acc, zs_star,
                        (mass[0], mass[1]), curve, path)  # fmt: skip
    text = _text(lex, result)
    if path is not None:
        draw_demo(result, path)
        text += "\n\n" + _figure_text(result)
    return result._replace(text=text)


def run_demo(seed: int = 0, eps: float = DEFAULT_EPS, kind: str = DEFAULT_KIND, plot: str | Path | None = None) -> str:
    """The walk-through as text (see `demo`)."""
    return demo(seed, eps, kind, plot).text


def _describe(r: DemoResult) -> str:
    if r.kind == "adversarial":
        return ("P* tilted against the sentiment task's labels (on each copy, along the direction in which the τ "
                "probe's loss grows fastest per unit of KL)")  # fmt: skip
    if r.kind == "random":
        return "P* tilted along a random direction (errors the task mostly does not read)"
    return (f"a softmax LM softmax(FΦ) with the world's embeddings Φ, trained with Adam on the exact "
            f"cross-entropy (JAX/optax), at its first checkpoint with ε ≤ {r.target_eps:g}: step {r.step} of "
            f"{TRAINING.steps}")  # fmt: skip


def _text(lex: Lexicon, r: DemoResult) -> str:
    world, N = lex.world, lex.num_contexts
    s = int(np.flatnonzero(lex.level == 2)[0]) if (lex.level == 2).any() else 0
    topic = list(TOPICS)[lex.topic[s]]
    out = [
        f"natural-tasks demo (seed {r.seed}): a world of {len(lex.words)} words ({len(named_words())} named, the "
        f'rest filler) and {N} contexts, each also followed by the prompt "{PROMPT}".',
        f"Context #{s}: latent sentiment level {lex.level[s]:+d} (of −2 … +2), topic {topic!r}.",
        f"The language model Q ({r.kind}) is {_describe(r)}.",
        f"Its ε = Σ_s p_L(s) KL(P*(·|s) ‖ Q(·|s)) = {r.eps:.4g} (exact, float64).",
        "",
    ]
    cols = []
    views = (("P*, no prompt", s), ("P*, with prompt", N + s), ("Q, no prompt", s), ("Q, with prompt", N + s))
    for label, row in views:
        dist = world.p_star[row] if label.startswith("P*") else r.q[row]
        top = np.argsort(-dist)[:TOP]
        cols.append((label, [f"{lex.words[i]} {dist[i]:.3f}" for i in top]))
    out.append("Top next words:")
    out.append(_table([c[0] for c in cols], [[c[1][i] for c in cols] for i in range(TOP)]))
    out.append("")
    out.append(f"Task: is the context positive? (label probability σ(6·sentiment)); probes: 2-class, box B = "
               f"{DEMO_B:g}, on the next-word distribution (all words), fitted on the exact population.")  # fmt: skip
    rows = [
        ["with prompt" if t.prompted else "no prompt", f"{t.tau:.3f}", f"{t.tau_accuracy:.3f}", f"{t.probe_loss:.3f}",
         f"{t.probe_accuracy:.3f}", f"{t.bound:.3f}" + (" (vacuous)" if t.vacuous else ""), f"{t.eps_vacuous:.2g}",
         f"{t.zero_shot_accuracy:.3f}"]
        for t in r.tasks
    ]  # fmt: skip
    out.append(_table(["contexts", "τ (on P*)", "acc (P*)", "loss on Q", "acc on Q", "bound τ+2B√(2ε/γ)",
                       "informative for ε <", "zero-shot acc (Q)"], rows))  # fmt: skip
    out.append("")
    plain, prompted = r.tasks
    trivial = plain.trivial  # the same labels with or without the prompt
    vacuous = [("without the prompt", "with the prompt")[t.prompted] for t in r.tasks if t.vacuous]
    out.append(
        f"The constant predictor (always the average label) has loss {trivial:.3f}: a bound at or above it says "
        + (f"nothing (vacuous: {' and '.join(vacuous)} here; the column 'informative for ε <' says how small ε "
           "must be)." if vacuous else
           "nothing (vacuous); both bounds here are below it, so the bound is informative.")
    )  # fmt: skip
    room = plain.bound - plain.tau
    verdict = "both under the bound" if all(t.holds for t in r.tasks) else "ABOVE THE BOUND (the theorem says never)"
    out.append(
        f"The probe refitted on Q lost {plain.probe_loss - plain.tau:+.4f} (no prompt) and "
        f"{prompted.probe_loss - prompted.tau:+.4f} (with the prompt) against τ; the bound allowed {room:.4f}: "
        f"{verdict}."
    )
    better = plain.zero_shot_accuracy > plain.probe_accuracy
    accs = ", ".join(f"{a:.3f} at B = {b:g}" for b, a in zip(r.boxes, r.box_accuracy, strict=True))
    rises = all(b >= a for a, b in zip(r.box_accuracy, r.box_accuracy[1:], strict=False))
    reaches = r.box_accuracy[-1] >= r.zero_shot_p_star
    out.append(
        ("Why zero-shot beats the probe here (no prompt: " if better else "Zero-shot does not beat the probe here "
         "(no prompt: ")
        + f"{plain.zero_shot_accuracy:.3f} against {plain.probe_accuracy:.3f}): τ is the loss of a probe whose "
        f"weights are boxed (|W| ≤ B = {DEMO_B:g}) on raw probabilities, which are small numbers (the class words "
        f"carry {r.class_mass[0]:.3f} of the next word's mass without the prompt, {r.class_mass[1]:.3f} with it), "
        "so a box-limited probe cannot scale them up enough to be confident; zero-shot compares P(positive words) "
        "with P(negative words), a ratio that does not care about scale. Measured on P* (no prompt): the probe's "
        f"accuracy is {accs}"
        + ("; it rises with B" if rises else "; it does NOT rise with B here")
        + (f" and passes zero-shot's {r.zero_shot_p_star:.3f}." if reaches else
           f" and stays below zero-shot's {r.zero_shot_p_star:.3f} (the explanation does not cover this seed).")
    )  # fmt: skip
    out.append(
        "Read it: the prompt puts the next word's mass on evaluative words and makes their valence follow the "
        "context's sentiment more sharply, so the same linear probe reads the label better (smaller τ). γ = 1/2: "
        "the task sees half the contexts. The bound is the K-class (R10), for weights |W_kw| ≤ B; with two "
        "classes it is the paper's √(2B'²ε/γ) for the binary probe v = W₊ − W₋, whose box is B' = 2B."
    )
    return "\n".join(out)


def _figure_text(r: DemoResult) -> str:
    """What the figure shows, in words, from its numbers: how many LMs, whether each stayed under the bound, and
    where the refitted probe gained."""
    gamma = r.tasks[0].gamma
    room = [theory.multiclass_task_bound(0.0, DEMO_B, p.eps, gamma) for p in r.curve]
    above = [(p.eps, k) for p, b in zip(r.curve, room, strict=True) for k in range(2)
             if p.excess[k] - (p.gap[k] if math.isfinite(p.gap[k]) else 0.0) > b]  # fmt: skip
    out = [
        f"Figure: {r.plot}: the probe's excess loss (its loss on Q − τ) for {len(r.curve)} {r.kind} LMs from ε = "
        f"{min(p.eps for p in r.curve):.2g} to {max(p.eps for p in r.curve):.2g}, under the bound on the excess "
        "2B√(2ε/γ); right of each dotted line that copy's bound is vacuous. "
        + ("Every one is under the bound." if not above else
           f"{len(above)} ABOVE THE BOUND (the theorem says never): at ε = "
           + ", ".join(f"{e:.3g} ({('no prompt', 'prompt')[k]})" for e, k in above) + ".")
    ]  # fmt: skip
    for k, name in enumerate(("no prompt", "with the prompt")):
        gained = [p for p in r.curve if p.excess[k] < -_tolerance(p, r.tasks[k], k)]
        if gained:
            p = min(gained, key=lambda x: x.eps)
            out.append(
                f"{name.capitalize()}: the probe refitted on Q gained (beyond its fits' certified error) at "
                f"{len(gained)} of them; at the first, "
                f"ε = {p.eps:.3g}, it gained {-p.excess[k]:.3g} while the τ probe kept fixed changed by "
                f"{p.fixed_excess[k]:+.3g}"
                + (" (the tilt is built from the labels, so at large ε it writes them into Q, where a refitted probe "
                   "reads them)." if r.kind == "adversarial" else ".")
            )  # fmt: skip
    return "\n".join(out)


def _tolerance(p: CurvePoint, line: TaskLine, k: int) -> float:
    """How far the excess of copy k at `p` may be from its true value: the two fits' certified gaps (τ and Q)."""
    gaps = (p.gap[k], line.tau_gap)
    return float(sum(g for g in gaps if math.isfinite(g)))


def draw_demo(r: DemoResult, path: str | Path) -> Path:
    """The hero figure of `demo(..., plot=...)` as a PNG: the refitted probe's excess against ε (log-log) for
    the result's LMs, the bound on the excess 2B√(2ε/γ) (`theory.multiclass_task_bound`), each copy's constant
    predictor's excess and the ε where the bound reaches it (vacuous beyond)."""
    if not r.curve:
        raise ValueError("the result has no curve: call demo(..., plot=PATH)")
    plt = pyplot()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.6, 6.6))
        eps = np.array([p.eps for p in r.curve])
        excess = np.array([p.excess for p in r.curve])  # (n, 2)
        positive = excess[excess > 1e-12]
        floor = float(min(positive.min() / 3.0, 1e-4)) if positive.size else 1e-6
        lo, hi = float(eps.min()) / 2.0, float(eps.max()) * 2.0
        grid = np.geomspace(lo, hi, 200)
        gamma = r.tasks[0].gamma
        bound = [theory.multiclass_task_bound(0.0, DEMO_B, float(x), gamma) for x in grid]
        ax.plot(grid, bound, "k-", lw=2, label=f"the theorem's bound on the excess, 2B√(2ε/γ) (B = {DEMO_B:g}, γ = "
                f"{gamma:g})")  # fmt: skip
        marker = FAMILY_STYLE.get(r.kind, {}).get("marker", "o")
        for k, t in enumerate(r.tasks):
            colour, name = COPY_COLOUR[t.prompted], ("with the prompt" if t.prompted else "no prompt")
            tol = np.array([_tolerance(p, t, k) for p in r.curve])
            up = excess[:, k] > tol
            down = ~up
            ax.plot(eps[up], excess[up, k], marker, color=colour, ls="none", ms=6,
                    label=f"probe's excess on the LM's next words, {name}")  # fmt: skip
            if down.any():
                ax.plot(eps[down], np.full(down.sum(), floor), marker, color=colour, mfc="none", ls="none", ms=7,
                        label=f"{name}: excess ≤ 0 or within the fits' certificates, drawn at the bottom")  # fmt: skip
            room = t.trivial - t.tau
            ax.axhline(room, color=colour, ls="--", lw=1, label=f"{name}: the constant predictor's excess")
            if t.eps_vacuous > 0:
                ax.axvline(t.eps_vacuous, color=colour, ls=":", lw=1.5)
                ax.plot([t.eps_vacuous], [room], "o", color=colour, ms=9, mfc="white", mew=2,
                        label=f"{name}: bound vacuous from ε = {t.eps_vacuous:.2g} on")  # fmt: skip
        ax.plot([r.eps] * 2, [max(t.probe_loss - t.tau, floor) for t in r.tasks], "o", ms=14, mfc="none",
                mec="#3182bd", mew=1.5, label=f"the LM of the demo's tables (ε = {r.eps:.3g})")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(floor / 1.5, 1.5 * max(bound))
        ax.set_xlabel("ε: how far the language model is from the truth (expected KL, nats)")
        ax.set_ylabel("refitted probe's loss on the LM minus τ (best boxed probe on the truth)")
        ax.set_title(f"{r.kind.capitalize()} LMs: the probe's extra loss stays under the bound, which says "
                     "nothing past the dotted lines", fontsize=9)  # fmt: skip
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=6.5, frameon=False)
        fig.tight_layout()
        target = Path(path)
        try:
            atomic_write(target, lambda fh: fig.savefig(fh, format="png", metadata=PNG_METADATA), binary=True)
        finally:
            plt.close(fig)
    return target
