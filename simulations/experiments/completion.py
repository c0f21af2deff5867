"""Experiment `completion`: tasks as sentence completion in a world with named words (the synthetic Table 1).

Claims (docs/design.md (R2), (R10); arXiv:2010.03648 §3-§4 and its Table 1):
a prompt ("This movie is") makes sentiment tasks more natural (smaller τ at
every B) and zero-shot reading of the class words works only with it; every
probe of the theorem's class (p_f on all words or on the class words, K
classes, box B) stays under the multi-class bound τ + 2B√(2ε/γ). Beside them:
the synthetic Table 1 (features × tasks, with and without the prompt) and how
many labelled samples each feature kind needs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

import theory

from ..core import check_choices, check_range, check_ranges, numpy_rng, streams
from ..features import CLASS_FEATURES, class_feature_values, fit_class_probe, zero_shot
from ..models import TrainConfig, calibrate_tilts, center, lm_eps, lm_probs, tilt_model, train
from ..probes import fit_multiclass_probe
from ..worlds import CLASS_TASKS, LexiconConfig, make_class_task, make_lexicon
from .kit import FAMILY_STYLE, LEGEND_BELOW, Experiment, RunConfig, column, finish_figure, new_figure, select, values

BOUNDED = ("p_f", "p_f_class")  # the theorem's classes: K-class box probes on next-word probabilities
PROMPT_MARGIN = 0.01
ZERO_SHOT_MARGIN = 0.05


@dataclasses.dataclass(frozen=True)
class Config(RunConfig):
    """Sizes and seeds of `completion`.

    lexicon: the named-word world.  lm: training of the softmax LMs (exact
    objective, the world's Φ).  eps_targets: random tilts of P*.  B: the box
    of every probe (and the bound's B).  B_sweep: the B's at which τ is
    computed with and without the prompt.  sample_sizes: labelled contexts
    drawn for the finite-sample probes (sentiment task, with the prompt).
    """

    lexicon: LexiconConfig = LexiconConfig(vocab_size=200, num_contexts=300)
    lm: TrainConfig = TrainConfig(steps=300, checkpoints=3)
    eps_targets: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
    tasks: tuple[str, ...] = CLASS_TASKS
    features: tuple[str, ...] = CLASS_FEATURES
    B: float = 4.0
    B_sweep: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
    sample_sizes: tuple[int, ...] = (10, 30, 100, 300, 1000, 3000, 10000)
    sample_features: tuple[str, ...] = ("p_f", "p_f_class", "phi_p_f", "f")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choices("tasks", self.tasks, CLASS_TASKS)
        check_choices("features", self.features, CLASS_FEATURES)
        check_choices("sample_features", self.sample_features, CLASS_FEATURES[:4])
        check_ranges("eps_targets", self.eps_targets, 0.0, 10.0, lo_open=True)
        check_range("B", self.B, 0.0, 1e4, lo_open=True)
        check_ranges("B_sweep", self.B_sweep, 0.0, 1e4, lo_open=True)
        check_ranges("sample_sizes", self.sample_sizes, 1, 10**7, integer=True)


@dataclasses.dataclass(frozen=True)
class Row:
    """One measurement: τ on P* at one B ("tau"), a probe on one LM ("probe"), or a probe fitted on n
    sampled labelled contexts and tested on the exact population ("samples")."""

    kind: str
    task: str
    prompted: bool
    feature: str
    family: str  # p_star, random (tilt), trained
    eps: float
    step: int
    B: float
    n: int  # labelled samples (samples rows), else 0
    loss: float
    accuracy: float
    tau: float  # the same class's loss on P* (probe rows)
    excess: float
    bound: float  # τ + 2B√(2ε/γ) for the theorem's classes, NaN otherwise
    gap: float
    seed: int


#: `Row` under a name that the `Row` class attribute of the experiment does not shadow.
_Row = Row


def _row(kind, task, feature, family, eps, step, B, n, loss, acc, tau=math.nan, bound=math.nan, gap=math.nan, seed=0):
    return Row(kind, task.name, task.prompted, feature, family, eps, step, B, n, loss, acc, tau, loss - tau, bound,
               gap, seed)  # fmt: skip


class Completion(Experiment[Config]):
    name = "completion"
    title = "sentence completion in a named-word world: prompts, K-class tasks, zero-shot, finite samples (Table 1)"
    Row = Row
    profiles = {
        "tiny": Config(
            lexicon=LexiconConfig(vocab_size=80, num_contexts=60),
            lm=TrainConfig(steps=40, checkpoints=2),
            eps_targets=(1e-2,),
            B_sweep=(1.0, 4.0),
            sample_sizes=(10, 100, 1000),
            seeds=(0, 1),
            bootstrap=20,
        ),
        "quick": Config(lexicon=LexiconConfig(vocab_size=120, num_contexts=200), sample_sizes=(10, 100, 1000, 10000)),
        "standard": Config(
            lexicon=LexiconConfig(vocab_size=300, num_contexts=500),
            lm=TrainConfig(steps=400, checkpoints=4),
            eps_targets=(1e-4, 1e-3, 1e-2, 1e-1),
            seeds=(0, 1, 2),
        ),
    }
    claim_statements = {
        "prompt_makes_natural": "sentiment tasks: the prompt lowers τ (best box probe on P*) by "
        f"≥ {PROMPT_MARGIN} at every B of the sweep",
        "zero_shot_needs_prompt": "zero-shot reading of the class words (no probe): sentiment accuracy on P* higher "
        f"with the prompt by ≥ {ZERO_SHOT_MARGIN} (through the sharper valence it gives the next word; the mass it "
        "moves onto evaluative words cancels in the comparison)",
        "bound_holds": "(R10) every K-class box probe on p_f (all words or class words) stays under τ + 2B√(2ε/γ) "
        "(certified fits)",
    }

    def world_size(self, cfg: Config) -> tuple[str, int, int]:
        return "lexicon", cfg.lexicon.vocab_size, 2 * cfg.lexicon.num_contexts  # each context also prompted

    def work_units(self, cfg: Config) -> int:
        return 3 + len(cfg.eps_targets) + cfg.lm.checkpoints

    def run_seed(self, cfg: Config, seed: int, tick: Callable[[], None]) -> list[_Row]:
        keys = streams(seed)
        lex = make_lexicon(numpy_rng(keys["world"]), cfg.lexicon)
        world = lex.world
        tasks = [make_class_task(lex, name, prompted) for name in cfg.tasks for prompted in (False, True)]
        rows, ref = [], {}
        for task in tasks:  # τ against B, with and without the prompt
            for feature in BOUNDED:
                vals = class_feature_values(lex, world.p_star, None, task, feature)
                if vals is None:  # BOUNDED features are read from Q, never from F
                    raise ValueError(f"feature {feature!r} has no values without F")
                for B in sorted({*cfg.B_sweep, cfg.B}):
                    f = fit_class_probe(vals, task, B)
                    ref[task.name, task.prompted, feature, B] = f.loss
                    if B in cfg.B_sweep:
                        rows.append(_row("tau", task, feature, "p_star", 0.0, 0, B, 0, f.loss, f.accuracy, f.loss,
                                         gap=f.gap, seed=seed))  # fmt: skip
        tick()
        u = center(world, numpy_rng(keys["tilt"]).normal(size=world.p_star.shape))
        ts, eps = calibrate_tilts(world, u, cfg.eps_targets)
        lms: list[tuple[str, np.ndarray, np.ndarray | None, float, int]] = [
            ("p_star", world.p_star, world.theta, 0.0, 0)
        ]
        lms += [("random", tilt_model(world, u, t), None, float(e), 0) for t, e in zip(ts, eps, strict=True)]
        for step, params in train(keys["init"], keys["data"], world, cfg.lm, "exact"):
            lms.append(("trained", lm_probs(params), params.F, lm_eps(world, params), step))
        tick()
        for family, q, F, e, step in lms:
            for task in tasks:
                for feature in cfg.features:
                    rows += self._probe_rows(cfg, lex, task, feature, family, q, F, e, step, ref, seed)
            tick()
        rows += self._sample_rows(cfg, lex, lms, numpy_rng(keys["stats"]), seed)
        tick()
        return rows

    def _probe_rows(self, cfg, lex, task, feature, family, q, F, eps, step, ref, seed) -> list[_Row]:
        if feature == "zero_shot":
            loss, acc = zero_shot(q, task)
            return [_row("probe", task, feature, family, eps, step, math.nan, 0, loss, acc, seed=seed)]
        vals = class_feature_values(lex, q, F, task, feature)
        if vals is None:
            return []
        f = fit_class_probe(vals, task, cfg.B)
        tau, bound = math.nan, math.nan
        if feature in BOUNDED:
            tau = ref[task.name, task.prompted, feature, cfg.B]
            bound = theory.multiclass_task_bound(tau, cfg.B, eps, task.gamma)
        return [_row("probe", task, feature, family, eps, step, cfg.B, 0, f.loss, f.accuracy, tau, bound, f.gap, seed)]

    def _sample_rows(self, cfg, lex, lms, rng, seed) -> list[_Row]:
        """Probes fitted on n labelled contexts drawn from p_T (labels from η), tested on the exact population."""
        task = make_class_task(lex, "sentiment", True)
        live = np.flatnonzero(task.p_T > 0)
        rows = []
        for family, q, F, e, step in (lms[0], lms[-1]):
            for n in cfg.sample_sizes:
                ctx = rng.choice(live, size=n, p=task.p_T[live])
                labels = (rng.random(n) < task.eta[ctx, 1]).astype(int)
                counts = np.bincount(ctx, minlength=task.p_T.size).astype(float)
                pos = np.bincount(ctx, weights=labels, minlength=task.p_T.size)
                seen = counts > 0
                eta = np.zeros((task.p_T.size + 1, 2))  # the sample's labels, context by context
                eta[:-1][seen, 1] = pos[seen] / counts[seen]
                eta[:, 0] = 1.0 - eta[:, 1]
                eta[-1] = 0.5  # one virtual example, half of each class, with all features 0: it touches only the
                weights = np.append(counts, 1.0) / (n + 1)  # bias, and keeps its optimum finite when a sample
                for feature in cfg.sample_features:  # holds one class only
                    vals = class_feature_values(lex, q, F, task, feature)
                    if vals is None:
                        continue
                    padded = np.vstack([vals, np.zeros((1, vals.shape[1]))])
                    f = fit_multiclass_probe(padded, weights, eta, box=cfg.B)
                    test = theory.multiclass_probe_loss(vals[live], f.W, f.b, task.p_T[live], task.eta[live])
                    rows.append(_row("samples", task, feature, family, e, step, cfg.B, n, test, math.nan,
                                     gap=f.gap, seed=seed))  # fmt: skip
        return rows

    def summarize(self, cfg: Config, rows: list[_Row]) -> dict:
        taus = select(rows, kind="tau", feature="p_f")
        prompt_gain = {}
        for name in values(taus, "task"):
            gains = []
            for B in cfg.B_sweep:
                at = lambda p: np.mean([r.loss for r in taus if r.task == name and r.B == B and r.prompted == p])  # noqa: E731, B023
                gains.append(float(at(False) - at(True)))
            prompt_gain[name] = gains
        probes = select(rows, kind="probe")
        zs = select(probes, feature="zero_shot", family="p_star")
        zero_shot_acc = {
            f"{t}/{'prompt' if p else 'none'}": float(np.mean([r.accuracy for r in select(zs, task=t, prompted=p)]))
            for t in values(zs, "task")
            for p in (False, True)
        }
        bounded = [r for r in probes if r.feature in BOUNDED]
        violations = sum(1 for r in bounded if r.loss > r.bound + cfg.violation_tol)
        uncertified = sum(1 for r in bounded if not r.gap <= 1e-6)
        last = max((r.step for r in probes if r.family == "trained"), default=0)
        table = {}
        for family, step in (("p_star", 0), ("trained", last)):
            sel = [r for r in probes if r.family == family and r.step == step]
            table[family] = {
                feat: {f"{t}/{'prompt' if p else 'none'}": [float(np.mean([r.accuracy for r in c])),
                                                             float(np.mean([r.loss for r in c]))]
                       for t in cfg.tasks for p in (False, True)
                       if (c := [r for r in sel if r.feature == feat and r.task == t and r.prompted == p])}
                for feat in cfg.features
            }  # fmt: skip
        trained_eps = float(np.mean([r.eps for r in probes if r.family == "trained" and r.step == last] or [math.nan]))
        return dict(
            experiment=self.name,
            n_rows=len(rows),
            B=cfg.B,
            B_sweep=list(cfg.B_sweep),
            prompt_gain=prompt_gain,
            zero_shot_accuracy=zero_shot_acc,
            n_bounded=len(bounded),
            violations=violations,
            uncertified=uncertified,
            max_ratio_to_bound=max(
                ((r.loss - r.tau) / (r.bound - r.tau) for r in bounded if r.bound > r.tau), default=math.nan
            ),  # fmt: skip
            table=table,
            trained_eps=trained_eps,
            trained_step=last,
        )

    def claims(self, cfg: Config | None, summary: dict) -> list:
        out = []
        gains = {t: g for t, g in summary["prompt_gain"].items() if t in ("sentiment", "fine_sentiment")}
        if gains:
            ok = all(min(g) >= PROMPT_MARGIN for g in gains.values())
            measured = "; ".join(f"{t}: τ(no prompt) − τ(prompt) ≥ {min(g):.3f} over B" for t, g in gains.items())
            out.append(self.claim("prompt_makes_natural", ok, measured))
        zs = summary["zero_shot_accuracy"]
        if "sentiment/prompt" in zs:
            gain = zs["sentiment/prompt"] - zs["sentiment/none"]
            measured = f"accuracy {zs['sentiment/none']:.3f} → {zs['sentiment/prompt']:.3f} with the prompt"
            out.append(self.claim("zero_shot_needs_prompt", gain >= ZERO_SHOT_MARGIN, measured))
        v, n, u = summary["violations"], summary["n_bounded"], summary["uncertified"]
        ratio = summary["max_ratio_to_bound"]
        measured = f"{v} violations in {n} rows ({u} uncertified); max (loss − τ)/(bound − τ) {ratio:.3f}"
        out.append(self.claim("bound_holds", v == u == 0 and n > 0, measured))
        return out

    def report(self, summary: dict) -> str:
        """The synthetic Table 1: accuracy (loss) of each feature kind on each task, without and with the prompt."""
        lines = []
        trained = f"trained LM (step {summary['trained_step']}, ε = {summary['trained_eps']:.2g})"
        for family, title in (("p_star", "P* (ε = 0)"), ("trained", trained)):
            table = summary["table"][family]
            cols = sorted({c for row in table.values() for c in row}, key=lambda c: (c.split("/")[0], c))
            lines.append(f"synthetic Table 1, {title}: accuracy (loss), box B = {summary['B']:g}")
            lines.append(f"{'feature':<11}" + "".join(f"{c:>24}" for c in cols))
            for feat, row in table.items():
                cells = "".join(
                    f"{f'{row[c][0]:.3f} ({row[c][1]:.3f})':>24}" if c in row else f"{'—':>24}" for c in cols
                )
                lines.append(f"{feat:<11}" + cells)
            lines.append("")
        return "\n".join(lines)

    def plot(self, rows: list[_Row], summary: dict, stem: Path) -> list:
        fig, axes = new_figure(3, height=4.4, width=4.8)
        taus = select(rows, kind="tau", feature="p_f")
        colors = {"sentiment": "#d62728", "topic": "#1f77b4", "fine_sentiment": "#ff7f0e"}
        for name in values(taus, "task"):
            for prompted, ls in ((False, "--"), (True, "-")):
                sel = [r for r in taus if r.task == name and r.prompted == prompted]
                Bs = sorted(values(sel, "B"))
                mean = [np.mean([r.loss for r in sel if r.B == B]) for B in Bs]
                axes[0][0].plot(Bs, mean, ls, marker="o", color=colors[name],
                                label=f"{name}, {'with' if prompted else 'without'} prompt")  # fmt: skip
        axes[0][0].set_xscale("log")
        axes[0][0].xaxis.set_minor_formatter("")
        axes[0][0].xaxis.set_major_formatter("{x:g}")
        axes[0][0].set_xticks(summary["B_sweep"])
        axes[0][0].set_xlabel("B (box of the probe on p_f)")
        axes[0][0].set_ylabel("τ: best box probe's loss on P*")
        axes[0][0].set_title("the prompt: sentiment more natural, topic less")
        _table_panel(axes[0][1], summary)
        probes = [r for r in select(rows, kind="probe", feature="p_f") if r.family != "p_star"]
        for family in values(probes, "family"):
            sel = select(probes, family=family)
            label = f"{family} LMs: probe loss − τ (floored at 1e-8)"
            excess = np.maximum(column(sel, "excess"), 1e-8)
            axes[0][2].loglog(column(sel, "eps"), excess, linestyle="none", label=label, **FAMILY_STYLE[family])
        if probes:
            eps = np.geomspace(min(column(probes, "eps")), max(column(probes, "eps")), 30)
            axes[0][2].loglog(eps, [2 * summary["B"] * math.sqrt(2 * e / 0.5) for e in eps], "k-",
                              label="2B√(2ε/γ), γ = 1/2")  # fmt: skip
        axes[0][2].set_xlabel("ε (exact)")
        axes[0][2].set_ylabel("excess loss of the K-class probe on p_f")
        axes[0][2].set_title("(R10) the multi-class bound")
        for ax in (axes[0][0], axes[0][2]):
            ax.legend(**LEGEND_BELOW)
        verdicts = self.claims(None, summary)
        title = (
            'completion: tasks as sentence completion in a named-word world (after "This movie is" the next word '
            "carries the sentiment)\n" + ";  ".join(f"{c.id}: {c.verdict}" for c in verdicts)
        )
        paths = finish_figure(fig, title, all(c.passed for c in verdicts), stem)
        return (
            paths + _samples_figure(select(rows, kind="samples"), str(stem) + "_samples") + [_table_csv(summary, stem)]
        )


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
    ax.set_xticks(range(len(cols)), [c.replace("/", "\n") for c in cols], fontsize=6)
    ax.set_yticks(range(len(feats)), feats)
    ax.set_title(f"accuracy, trained LM (step {summary['trained_step']}, ε = {summary['trained_eps']:.2g})")
    ax.grid(False)


def _table_csv(summary: dict, stem) -> Path:
    """The synthetic Table 1 as CSV beside the figure: one line per (LM, feature, task, prompt)."""
    path = Path(str(stem) + "_table.csv")
    lines = ["lm,feature,task,prompt,accuracy,loss"]
    for family, table in summary["table"].items():
        for feature, cells in table.items():
            for col, (acc, loss) in cells.items():
                task, prompt = col.split("/")
                lines.append(f"{family},{feature},{task},{prompt},{acc!r},{loss!r}")
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
            ax.semilogx(ns, [np.mean([r.loss for r in fs if r.n == n]) for n in ns], marker="o", label=feature)
        ax.set_xlabel("labelled contexts n (drawn from p_T, labels from η)")
        ax.set_ylabel("population loss of the probe (exact)")
        eps = np.mean(column(sel, "eps")) if sel else math.nan
        ax.set_title(f"{family} (ε = {eps:.2g}): sentiment with the prompt")
        ax.legend(fontsize=7)
    uncertified = sum(1 for r in rows if not r.gap <= 1e-6)
    title = (
        "completion: how many labelled samples each feature kind needs\n(box probes, B fixed; one virtual "
        f"half-and-half example keeps the bias finite; mean over seeds;\nfits not certified to a gap ≤ 1e-6: "
        f"{uncertified} of {len(rows)})"
    )
    return finish_figure(fig, title, True, stem)


EXPERIMENT = Completion()
