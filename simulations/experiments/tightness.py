"""Experiment `tightness`: how close do ε-optimal LMs come to the bounds, and for which quantity?

Claims (docs/design.md (R2), (R8), (R9); arXiv:2010.03648 §4): no LM found,
however adversarial, exceeds the paper's bound or the residual-weighted one;
the worst case grows as √ε; on a family of worlds the theorem's own quantity
(the refitted probe's excess) reaches the (R9) first-order term ρ√X as ε → 0.
"Tight" always names its quantity: the analytic fixed-classifier chain
(shown, not claimed) is tight for one confidently wrong classifier, whose
refitted excess is 0.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

import theory

from ..core import MAX_CORPUS, MAX_COUNT, check_range, check_ranges
from ..features import measure, reference_probe
from ..models import (
    TILT_FAMILIES,
    LanguageModel,
    TrainConfig,
    fixed_classifier_chain,
    lms_at_eps,
    refit_family,
    tilt_directions,
    tilted_lms,
    trained_directions,
    trained_lms,
    worst_lms,
)
from ..worlds import Instance, TaskConfig, WorldConfig, make_instance
from .kit import (
    FAMILY_STYLE,
    LEGEND_BELOW,
    TINY_LM,
    TINY_WORLD,
    Experiment,
    RunConfig,
    column,
    finish_figure,
    format_slope,
    new_figure,
    plot_strips,
    select,
    slope_consistent,
    slopes_by,
    values,
)

STRIP_FAMILIES = ("random", "mixed", "adversarial", "trained", "worst_case")
#: fold_in index of the `tilt` stream that draws the strips' random directions.
STRIP_STREAM = 7
#: The refitted family is tight when its excess / (R9 first-order term) is within this of 1 at its smallest ε.
FAMILY_RTOL = 0.05


@dataclasses.dataclass(frozen=True)
class Config(RunConfig):
    """Sizes and seeds of `tightness`.

    eps_targets: ε grid of the curves.  strip_eps: the ε of the strips (many
    LMs at one ε: n_random random directions, n_mixed mixtures with the
    adversarial one, the error directions of train_seeds LMs trained from other
    initialisations and of LMs trained on corpora of corpus_sizes).  rounds:
    alternations of the max–min searches; general_rounds and general_steps:
    alternations and projected-ascent steps of the search over general logit
    perturbations (run on the curves' budgets only).  family_B, family_kappas,
    family_eps: the refitted family (`refit_family`): its box, margins 2κ and ε
    grid.  chain_k: length of the analytic fixed-classifier chain.
    """

    world: WorldConfig = WorldConfig()
    task: TaskConfig = TaskConfig()
    lm: TrainConfig = TrainConfig(steps=200, checkpoints=5, corpus_size=20_000, batch_size=512)
    eps_targets: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
    strip_eps: tuple[float, ...] = (1e-4, 1e-2)
    n_random: int = 8
    n_mixed: int = 4
    train_seeds: int = 2
    corpus_sizes: tuple[int, ...] = (5_000, 50_000)
    rounds: int = 2
    general_rounds: int = 1
    general_steps: int = 30
    family_B: float = 32.0
    family_kappas: tuple[float, ...] = (0.5, 0.1)
    family_eps: tuple[float, ...] = (1e-9, 1e-8, 1e-7, 1e-6, 1e-5)
    chain_k: int = 12

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("eps_targets", "strip_eps", "family_eps"):
            check_ranges(name, getattr(self, name), 0.0, 1.0, lo_open=True)
        for name in ("n_random", "n_mixed", "train_seeds", "general_rounds", "general_steps"):
            check_range(name, getattr(self, name), 0, MAX_COUNT, integer=True)
        check_ranges("corpus_sizes", self.corpus_sizes, 1, MAX_CORPUS, integer=True)
        check_range("rounds", self.rounds, 1, MAX_COUNT, integer=True)
        check_range("family_B", self.family_B, 0.0, lo_open=True)
        check_ranges("family_kappas", self.family_kappas, 0.0, self.family_B / 2, lo_open=True)
        check_range("chain_k", self.chain_k, 2, 40, integer=True)


@dataclasses.dataclass(frozen=True)
class Row:
    """One LM measured with one classifier: the planted (v*, b*) kept fixed, or the refitted box probe."""

    panel: str  # "curve" (against ε), "strip" (many LMs at one ε) or "family" (the refitted family)
    family: str
    target_eps: float
    eps: float
    classifier: str  # "planted" or "refit"
    excess: float
    bound_excess: float  # the paper's bound − τ
    r9_excess: float  # the (R9) bound − τ
    first_order: float  # ρ√X, the first-order part of (R9)
    ratio: float  # excess / (bound − τ)
    gap: float  # certificate of the refit (0 for the fixed classifier)
    source: str  # which search found a worst case ("" for the other LMs)
    seed: int


#: `Row` under a name that the `Row` class attribute of the experiment does not shadow.
_Row = Row


class Tightness(Experiment[Config]):
    name = "tightness"
    title = "worst-case LMs at fixed ε, strips of many LMs at one ε, and the families where the bounds are tight"
    Row = Row
    profiles = {
        "tiny": Config(
            world=TINY_WORLD,
            lm=TINY_LM,
            eps_targets=(1e-4, 1e-3, 1e-2),
            strip_eps=(1e-3,),
            n_random=2,
            n_mixed=1,
            train_seeds=1,
            corpus_sizes=(1000,),
            rounds=1,
            general_steps=10,
            family_eps=(1e-8, 1e-6),
            bootstrap=10,
        ),  # fmt: skip
        "quick": Config(world=WorldConfig(vocab_size=150, num_contexts=300, dim=6)),
        "standard": Config(
            world=WorldConfig(vocab_size=600, num_contexts=1200, dim=16),
            lm=TrainConfig(steps=300, checkpoints=6, corpus_size=100_000, batch_size=1024),
            eps_targets=(1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1),
            strip_eps=(1e-5, 1e-3, 1e-1),
            n_random=12,
            n_mixed=6,
            train_seeds=3,
            corpus_sizes=(10_000, 100_000),
            rounds=3,
            family_kappas=(1.0, 0.5, 0.2, 0.05),
            seeds=(0, 1),
            bootstrap=1000,
        ),
    }
    claim_statements = {
        "bound_holds": "(R2/R9) no LM found above the paper's bound or (R9) (any family, either classifier)",
        "worst_case_sqrt_rate": "(R8) the worst case found for the refitted probe grows as √ε (slope 0.5 ± 0.1)",
        "refit_family_tight": "(R9) refitted family: excess / ρ√X within "
        f"{FAMILY_RTOL:.0%} of 1 at its smallest ε, for every κ",
    }

    def arrays_nv(self, cfg: Config) -> int:
        return 12 + cfg.n_random + cfg.n_mixed + cfg.train_seeds + len(cfg.corpus_sizes) + 2 * len(cfg.eps_targets)

    def work_units(self, cfg: Config) -> int:
        return 5

    def run_seed(self, cfg: Config, seed: int, tick: Callable[[], None]) -> list[_Row]:
        inst = make_instance(seed, cfg.world, cfg.task)
        lms = [lm for family in TILT_FAMILIES for lm in tilted_lms(inst, family, cfg.eps_targets)]
        rows = [r for lm in lms + trained_lms(inst, cfg.lm) for r in _measure(inst, "curve", lm)]
        tick()
        rows += _worst_cases(inst, cfg.eps_targets, cfg, "curve")
        tick()
        directions = tilt_directions(inst, cfg.n_random, cfg.n_mixed, STRIP_STREAM)
        directions += trained_directions(inst, cfg.lm, cfg.train_seeds, cfg.corpus_sizes)
        tick()
        rows += [r for lm in lms_at_eps(inst, directions, cfg.strip_eps) for r in _measure(inst, "strip", lm)]
        rows += [r for r in _worst_cases(inst, cfg.strip_eps, cfg, "strip", general=False) if r.classifier == "refit"]
        tick()
        if seed == cfg.seeds[0]:  # the family does not depend on the seed
            for kappa in cfg.family_kappas:
                fam = refit_family(cfg.family_B, kappa, keys=inst.keys)
                fam_lms = tilted_lms(fam, "adversarial", cfg.family_eps)
                rows += [r for lm in fam_lms for r in _measure(fam, "family", lm._replace(family=f"κ={kappa:g}"))]
        tick()
        return [dataclasses.replace(r, seed=seed) for r in rows]

    def summarize(self, cfg: Config, rows: list[_Row]) -> dict:
        tol = cfg.violation_tol
        lower = {id(r): r.excess - r.gap for r in rows}
        paper = [r for r in rows if lower[id(r)] > r.bound_excess + tol]
        r9 = [r for r in rows if lower[id(r)] > r.r9_excess + tol]
        refit = [r for r in select(rows, classifier="refit", panel=("curve", "strip")) if r.bound_excess > 0]
        top = max(refit, key=lambda r: r.ratio)
        top_r9 = max(refit, key=lambda r: r.excess / r.r9_excess)
        family = {}
        for name in values(select(rows, panel="family"), "family"):
            sel = sorted(select(rows, panel="family", family=name), key=lambda r: r.eps)
            family[name] = dict(r9_ratio=sel[0].excess / sel[0].first_order, paper_ratio=sel[0].ratio, eps=sel[0].eps)
        chain = fixed_classifier_chain(cfg.chain_k)
        curves = select(rows, panel="curve", classifier="refit", family=("worst_case", "adversarial", "random"))
        return dict(
            experiment=self.name,
            n_rows=len(rows),
            violations=len(paper),
            r9_violations=len(r9),
            violation_rows=[{k: getattr(r, k) for k in ("panel", "family", "eps", "classifier")} for r in paper + r9],
            sup_refit_ratio=dict(ratio=top.ratio, family=top.family, eps=top.eps),
            sup_refit_ratio_r9=dict(ratio=top_r9.excess / top_r9.r9_excess, family=top_r9.family, eps=top_r9.eps),
            worst_case_sources=sorted({r.source for r in select(rows, family="worst_case")}),
            slopes=slopes_by(curves, ("family",), "eps", "excess", cfg.seeds[0], cfg.bootstrap),
            strip_ratio_range={f"{t:g}": dict(min=float(np.min(x)), max=float(np.max(x))) for t in cfg.strip_eps
                               if (x := column(select(refit, panel="strip", target_eps=t), "ratio")).size},
            family=family,
            chain=[p._asdict() for p in chain],
        )  # fmt: skip

    def claims(self, cfg: Config | None, summary: dict) -> list:
        v, r9, wcs, fam = (
            summary["violations"],
            summary["r9_violations"],
            summary["slopes"].get("worst_case"),
            summary["family"],
        )
        sup = summary["sup_refit_ratio"]
        out = [
            self.claim(
                "bound_holds",
                v == r9 == 0,
                f"{v} violations of the paper's bound, {r9} of (R9), in "
                f"{summary['n_rows']} rows; sup refitted excess / (bound − τ) {sup['ratio']:.3f} ({sup['family']})",
            )
        ]
        if wcs:
            out.append(self.claim("worst_case_sqrt_rate", slope_consistent(wcs, 0.5), format_slope(wcs, 3)))
        if fam:
            ok = all(abs(f["r9_ratio"] - 1) <= FAMILY_RTOL for f in fam.values())
            measured = "; ".join(
                f"{k}: {f['r9_ratio']:.4f} (to the paper's √X: {f['paper_ratio']:.3f})" for k, f in fam.items()
            )
            out.append(self.claim("refit_family_tight", ok, measured))
        return out  # fmt: skip

    def plot(self, rows: list[_Row], summary: dict, stem: Path) -> list:
        fig, axes = new_figure(3, height=4.8)
        _plot_curves(axes[0][0], rows)
        plot_strips(axes[0][1], select(rows, panel="strip", classifier="refit"), STRIP_FAMILIES, "paper's bound − τ")
        axes[0][1].set_ylabel("|refitted excess| (circled: negative)")
        axes[0][1].set_title("same ε, different LMs: the bound is an envelope")
        axes[0][1].legend(**dict(LEGEND_BELOW, ncol=3))
        _plot_families(axes[0][2], rows, summary)
        verdicts = self.claims(None, summary)
        sup, sup9 = summary["sup_refit_ratio"], summary["sup_refit_ratio_r9"]
        fam = ", ".join(f"{k}: {f['r9_ratio']:.4f}" for k, f in summary["family"].items())
        title = (
            "tightness: excess loss of ε-optimal LMs against the natural-task bound τ + √(2B²ε/γ) and (R9)\n"
            f"sup over every LM searched of refitted excess / (paper's bound − τ): {sup['ratio']:.3f} "
            f"({sup['family']}, ε = {sup['eps']:.0e});  / ((R9) − τ): {sup9['ratio']:.3f};  "
            f"refitted family at its smallest ε, excess / ρ√X: {fam}\n"
            + ";  ".join(f"{c.id}: {c.verdict}" for c in verdicts)
        )
        return finish_figure(fig, title, all(c.passed for c in verdicts), stem)


def _measure(inst: Instance, panel: str, lm: LanguageModel, source: str = "") -> list[Row]:
    """The two rows of one LM: the planted classifier kept fixed, and the box probe refitted (certified)."""
    task, ref = inst.task, reference_probe(inst, "p_f")
    (m,) = measure(inst, lm, "p_f")
    planted = theory.probe_loss(lm.q, task.v, task.b, task.p_T, task.eta) - task.tau_planted
    x = theory.natural_task_bound(0.0, task.B, lm.eps, inst.gamma) ** 2  # X = 2B²ε/γ
    rows = []
    for clf, exc, gap, (v, b) in (
        ("planted", planted, 0.0, (task.v, task.b)),
        ("refit", m.excess, m.fit.gap, (ref.v, ref.b)),
    ):
        first = min(theory.probe_residual(inst.world.p_star, task.p_T, task.eta, v, b), 1.0) * math.sqrt(x)
        rows.append(
            Row(
                panel,
                lm.family,
                float(lm.target_eps),
                float(lm.eps),
                clf,
                float(exc),
                math.sqrt(x),
                first + x / 8,
                first,
                exc / math.sqrt(x) if x > 0 else math.nan,
                gap,
                source,
                inst.seed,
            )
        )
    return rows  # fmt: skip


def _worst_cases(inst: Instance, budgets, cfg: Config, panel: str, general: bool = True) -> list[Row]:
    """Rows of the worst LMs found (`worst_lms`), each measured with the classifier it was searched against."""
    steps = cfg.general_steps if general else 0
    planted, refit = worst_lms(inst.world, inst.task, np.asarray(budgets), cfg.rounds, cfg.general_rounds, steps)
    rows = []
    for target, p, r in zip(budgets, planted, refit, strict=True):
        lm_p, lm_r = (
            LanguageModel(f, w.q, w.eps, target_eps=target) for f, w in (("worst_case_planted", p), ("worst_case", r))
        )
        rows += select(_measure(inst, panel, lm_p, p.source), classifier="planted")
        rows += select(_measure(inst, panel, lm_r, r.source), classifier="refit")
    return rows  # fmt: skip


def _plot_curves(ax, rows: list[Row]) -> None:
    labels = {"worst_case": "worst case (refitted probe)", "worst_case_planted": "worst case (planted v*, b* fixed)"}
    for family in ("random", "adversarial", "trained", "worst_case_planted", "worst_case"):
        clf = "planted" if family == "worst_case_planted" else "refit"
        sel = select(rows, panel="curve", family=family, classifier=clf)
        if sel:
            ax.semilogx(
                column(sel, "eps"),
                column(sel, "ratio"),
                linestyle="none",
                markersize=6,
                label=labels.get(family, family),
                **FAMILY_STYLE[family],
            )
    ax.axhline(1.0, color="k", lw=1.5, label="paper's bound")
    ax.set_xlabel("ε (exact)")
    ax.set_ylabel("excess / (paper's bound − τ)  (signed)")
    ax.set_title("how much of the bound is used")
    ax.legend(**dict(LEGEND_BELOW, bbox_to_anchor=(0.5, -0.18)))  # fmt: skip


def _plot_families(ax, rows: list[Row], summary: dict) -> None:
    chain = summary["chain"]
    ax.semilogx(
        [p["eps"] for p in chain],
        [p["ratio"] for p in chain],
        "k*-",
        label="fixed classifier chain: excess / √X (analytic; its refitted excess is 0)",
    )
    for i, name in enumerate(values(select(rows, panel="family"), "family")):
        sel = sorted(select(rows, panel="family", family=name), key=lambda r: r.eps)
        color = f"C{i}"
        ax.semilogx(
            column(sel, "eps"),
            column(sel, "excess") / column(sel, "first_order"),
            "o-",
            color=color,
            label=f"refitted family {name}: excess / ρ√X (R9)",
        )
        ax.semilogx(
            column(sel, "eps"),
            column(sel, "ratio"),
            "s--",
            color=color,
            mfc="none",
            label=f"refitted family {name}: excess / √X (paper)",
        )
    ax.axhline(1.0, color="k", lw=1, ls=":")
    ax.set_xlabel("ε")
    ax.set_ylabel("ratio")
    ax.set_title("where each quantity is tight")
    ax.legend(**dict(LEGEND_BELOW, bbox_to_anchor=(0.5, -0.18)))  # fmt: skip


EXPERIMENT = Tightness()
