"""Experiment `tightness`: how close do ε-optimal LMs come to τ + √(2B²ε/γ)?

Claims checked (DESIGN.md (R2), (R8); arXiv:2010.03648 §4): √ε is the
worst-case rate; at the same ε, different LMs transfer very differently (the
bound is an envelope, not a prediction); on a family of worlds built to make
every proof step tight, excess / (bound − τ) → 1.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np

import theory

from .. import _lm
from .. import _worst_case as wc
from .._config import check_range, check_run_fields
from .._keys import numpy_rng, streams
from .._plotting import FAMILY_STYLE, finish_figure, new_figure
from .._probe import fit_probe
from .._stats import loglog_slope, slope_consistent
from .._task import TaskConfig, make_task
from .._world import WorldConfig, make_world
from ._common import Experiment

STRIP_KINDS = ("random", "mixed", "adversarial", "trained", "worst_case")
STRIP_STYLE = {
    "random": FAMILY_STYLE["random"],
    "mixed": dict(color="#ff7f0e", marker="^"),
    "adversarial": FAMILY_STYLE["adversarial"],
    "trained": FAMILY_STYLE["trained"],
    "worst_case": FAMILY_STYLE["worst_case"],
}


@dataclasses.dataclass(frozen=True)
class TightnessConfig:
    """Sizes and seeds of `tightness`.

    eps_targets: ε grid of the ratio curves.  strip_eps: the fixed ε values of
    the strips.  n_random: random tilt directions per strip.  n_mixed: mixtures
    cos φ·adversarial + sin φ·random, φ evenly in (0, π/2).  train_seeds: LMs
    trained (exact objective) from different initialisations, and
    corpus_sizes: LMs trained on sampled corpora; each trained LM's error
    F − θ* is scaled to land exactly on the strip's ε.  rounds: alternations
    of the max–min search.  tight_k: length of the tight family.
    """

    world: WorldConfig = WorldConfig()
    task: TaskConfig = TaskConfig()
    lm: _lm.TrainConfig = _lm.TrainConfig(steps=200, checkpoints=5, corpus_size=20_000, batch_size=512)
    eps_targets: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
    strip_eps: tuple[float, ...] = (1e-4, 1e-2)
    n_random: int = 8
    n_mixed: int = 4
    train_seeds: int = 2
    corpus_sizes: tuple[int, ...] = (5_000, 50_000)
    rounds: int = 2
    tight_k: int = 12
    seeds: tuple[int, ...] = (0,)
    bootstrap: int = 200
    violation_tol: float = 1e-7

    def __post_init__(self):
        for name in ("eps_targets", "strip_eps"):
            vals = getattr(self, name)
            if not vals:
                raise ValueError(f"{name} must not be empty")
            for e in vals:
                check_range(name, e, 0.0, 1.0, lo_open=True)
        check_range("n_random", self.n_random, 0, integer=True)
        check_range("n_mixed", self.n_mixed, 0, integer=True)
        check_range("train_seeds", self.train_seeds, 0, integer=True)
        for c in self.corpus_sizes:
            check_range("corpus_sizes", c, 1, integer=True)
        check_range("rounds", self.rounds, 1, integer=True)
        check_range("tight_k", self.tight_k, 2, 40, integer=True)
        check_run_fields(self)


PROFILES = {
    "quick": TightnessConfig(world=WorldConfig(vocab_size=150, num_contexts=300, dim=6)),
    "standard": TightnessConfig(
        world=WorldConfig(vocab_size=1000, num_contexts=2000, dim=16),
        lm=_lm.TrainConfig(steps=300, checkpoints=6, corpus_size=100_000, batch_size=1024),
        eps_targets=(1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1),
        strip_eps=(1e-5, 1e-3, 1e-1),
        n_random=12,
        n_mixed=6,
        train_seeds=3,
        corpus_sizes=(10_000, 100_000),
        rounds=3,
        seeds=(0, 1),
        bootstrap=1000,
    ),
}


def work_units(cfg: TightnessConfig) -> int:
    return 5  # tilt curves, trained curve, worst-case curves, trained directions, strips


def run_seed(cfg: TightnessConfig, seed: int, tick=lambda: None) -> list[dict]:
    """Rows of kind "curve" (ratio vs ε per family) and "strip" (many LMs at one ε).

    Every LM is measured twice: with the planted classifier (v*, b*) fixed
    (excess over τ_planted, bound with τ_planted) and with the refitted box
    probe (excess over τ_fit, bound with τ_fit). ratio = excess / (bound − τ).
    """
    keys = streams(seed)
    world = make_world(keys["world"], cfg.world)
    task = make_task(keys["task"], world, cfg.task)
    gamma = theory.transferability_ratio(world.p_L, task.p_T)
    ref = fit_probe(world.p_star, task.p_T, task.eta, box=task.B, init=(task.v, task.b))
    rows: list[dict] = []

    def measure(kind, family, target, q, eps, refit_excess=None):
        planted = theory.probe_loss(q, task.v, task.b, task.p_T, task.eta) - task.tau_planted
        if refit_excess is None:
            refit_excess = fit_probe(q, task.p_T, task.eta, box=task.B, init=(ref.v, ref.b)).loss - ref.loss
        for clf, excess, tau in (("planted", planted, task.tau_planted), ("refit", refit_excess, ref.loss)):
            bound_excess = theory.natural_task_bound(tau, task.B, eps, gamma) - tau
            rows.append(
                dict(
                    kind=kind,
                    family=family,
                    target_eps=float(target),
                    eps=float(eps),
                    classifier=clf,
                    excess=float(excess),
                    bound_excess=float(bound_excess),
                    ratio=float(excess / bound_excess) if bound_excess > 0 else math.nan,
                    seed=int(seed),
                )
            )

    targets = np.asarray(cfg.eps_targets)
    for family in _lm.TILT_KINDS:
        u = _lm.tilt_direction(keys["tilt"], world, task, family)
        ts, es = _lm.calibrate_tilts(world, u, targets)
        for target, t, e in zip(targets, ts, es, strict=True):
            measure("curve", family, target, _lm.tilt_model(world, u, t), e)
    tick()
    ckpts = _lm.train(keys["init"], keys["data"], world, cfg.lm, "exact")
    for _, params in ckpts:
        q = _lm.lm_probs(params)
        measure("curve", "trained", math.nan, q, theory.expected_kl(world.p_star, q, world.p_L))
    tick()
    planted_wc = wc.search_fixed(world, task, (task.v, task.b), targets)
    refit_wc, _ = wc.search_refit(world, task, targets, rounds=cfg.rounds, planted=planted_wc)
    for target, pw, rw in zip(targets, planted_wc, refit_wc, strict=True):
        # the worst case for each classifier is a different LM: record each with its own measure
        measure("curve", "worst_case_planted", target, pw.q, pw.eps)
        measure("curve", "worst_case", target, rw.q, rw.eps, refit_excess=rw.excess)
    tick()
    # Trained LMs for the strips: their errors F − θ*, later scaled to each strip's ε.
    trained_dirs = []
    for i in range(cfg.train_seeds):
        k_init = jax.random.fold_in(keys["init"], i + 1)
        _, p = _lm.train(k_init, keys["data"], world, dataclasses.replace(cfg.lm, checkpoints=1))[-1]
        trained_dirs.append(("trained", (p.F - world.theta) @ p.Phi))
    for j, size in enumerate(cfg.corpus_sizes):
        lm_cfg = dataclasses.replace(cfg.lm, checkpoints=1, corpus_size=size)
        _, p = _lm.train(keys["init"], jax.random.fold_in(keys["data"], j + 1), world, lm_cfg, "corpus")[-1]
        trained_dirs.append(("trained", (p.F - world.theta) @ p.Phi))
    tick()
    u_adv = _lm.tilt_direction(keys["tilt"], world, task, "adversarial")
    rng = numpy_rng(jax.random.fold_in(keys["tilt"], 7))
    directions = [("adversarial", u_adv)]
    rand = [rng.normal(size=world.p_star.shape) for _ in range(max(cfg.n_random, cfg.n_mixed))]
    rand = [r - np.sum(world.p_star * r, axis=-1, keepdims=True) for r in rand]
    directions += [("random", r) for r in rand[: cfg.n_random]]
    for i in range(cfg.n_mixed):
        phi = (i + 1) * (math.pi / 2) / (cfg.n_mixed + 1)
        r = rand[i] * np.linalg.norm(u_adv) / np.linalg.norm(rand[i])
        directions.append(("mixed", math.cos(phi) * u_adv + math.sin(phi) * r))
    directions += trained_dirs
    strip = np.asarray(cfg.strip_eps)
    worst_strip, _ = wc.search_refit(world, task, strip, rounds=cfg.rounds)
    for family, u in directions:
        u = u - np.sum(world.p_star * u, axis=-1, keepdims=True)
        ts, es = _lm.calibrate_tilts(world, u, strip)
        for target, t, e in zip(strip, ts, es, strict=True):
            measure("strip", family, target, _lm.tilt_model(world, u, t), e)
    for target, w in zip(strip, worst_strip, strict=True):
        measure("strip", "worst_case", target, w.q, w.eps, refit_excess=w.excess)
    tick()
    return rows


def summarize(cfg: TightnessConfig, rows: list[dict]) -> dict:
    rng = numpy_rng(streams(cfg.seeds[0])["stats"])
    violations = [r for r in rows if r["excess"] > r["bound_excess"] + cfg.violation_tol]
    tight = wc.tight_family(cfg.tight_k)
    ratios = [p.ratio for p in tight]
    best = {}
    for clf in ("refit", "planted"):
        for target in cfg.eps_targets:
            sel = [r for r in rows if r["kind"] == "curve" and r["classifier"] == clf and r["target_eps"] == target]
            if sel:
                top = max(sel, key=lambda r: r["ratio"])
                best[f"{clf}/{target:g}"] = dict(ratio=top["ratio"], family=top["family"], seed=top["seed"])
    # Compared by ratio to the bound's excess at each LM's own ε: the
    # adversarial rows are calibrated to ε within 1% (possibly above the
    # budget), the search stays at or below it.
    adv_beaten = all(
        w["ratio"] >= a["ratio"] - 1e-9
        for w in rows
        if w["kind"] == "curve" and w["family"] == "worst_case" and w["classifier"] == "refit"
        for a in rows
        if a["kind"] == "curve"
        and a["family"] == "adversarial"
        and a["classifier"] == "refit"
        and a["seed"] == w["seed"]
        and a["target_eps"] == w["target_eps"]
    )
    slopes = {}
    for fam in ("worst_case", "adversarial", "random"):
        sel = [r for r in rows if r["kind"] == "curve" and r["family"] == fam and r["classifier"] == "refit"]
        if sel:
            slopes[fam] = loglog_slope(
                [r["eps"] for r in sel], [abs(r["excess"]) for r in sel], [r["seed"] for r in sel], rng, cfg.bootstrap
            )
    spread = {}
    for target in cfg.strip_eps:
        sel = [
            r["ratio"]
            for r in rows
            if r["kind"] == "strip" and r["classifier"] == "refit" and r["target_eps"] == target
        ]
        if sel:
            spread[f"{target:g}"] = dict(min=min(sel), max=max(sel), n=len(sel))
    return dict(
        experiment="tightness",
        n_rows=len(rows),
        violations=len(violations),
        violation_rows=[
            {k: r[k] for k in ("kind", "family", "eps", "classifier", "seed", "ratio")} for r in violations
        ],
        best_ratio=best,
        best_ratio_overall=max(r["ratio"] for r in rows if not math.isnan(r["ratio"])),
        worst_case_beats_adversarial=bool(adv_beaten),
        slopes=slopes,
        strip_ratio_range=spread,
        tight_family=[p._asdict() for p in tight],
        tight_monotone=bool(np.all(np.diff(ratios) >= 0)),
        tight_limit=ratios[-1],
    )


def claims(summary: dict) -> list[dict]:
    wcs = summary["slopes"].get("worst_case", {})
    out = [
        dict(
            claim="(R2) no LM above the bound (any family, either classifier)",
            verdict="PASS" if summary["violations"] == 0 else "FAIL",
            measured=f"{summary['violations']} violations in {summary['n_rows']} rows; "
            f"best ratio {summary['best_ratio_overall']:.3f}",
        ),
        dict(
            claim="(R8) tight family: ratio non-decreasing and > 0.9 at its end",
            verdict="PASS" if summary["tight_monotone"] and summary["tight_limit"] > 0.9 else "FAIL",
            measured=f"ratio at k={len(summary['tight_family'])}: {summary['tight_limit']:.6f}",
        ),
        dict(
            claim="worst-case search never below the adversarial tilt",
            verdict="PASS" if summary["worst_case_beats_adversarial"] else "FAIL",
            measured="checked at every ε and seed",
        ),
    ]
    if wcs:
        ok = slope_consistent(wcs, 0.5)
        out.append(
            dict(
                claim="(R8) worst-case excess grows as √ε (slope 0.5 ± 0.1)",
                verdict="PASS" if ok else "FAIL",
                measured=f"slope {wcs['slope']:.3f} [{wcs['lo']:.3f}, {wcs['hi']:.3f}]",
            )
        )
    return out


def plot(rows: list[dict], summary: dict, stem) -> list:
    fig, axes = new_figure(3, height=4.6)
    ax = axes[0][0]
    styles = dict(FAMILY_STYLE, worst_case_planted=dict(color="#7f7f7f", marker="x"))
    for family in ("random", "adversarial", "trained", "worst_case_planted", "worst_case"):
        for clf in ("refit",) if family != "worst_case_planted" else ("planted",):
            sel = [r for r in rows if r["kind"] == "curve" and r["family"] == family and r["classifier"] == clf]
            if not sel:
                continue
            x = np.array([r["eps"] for r in sel])
            y = np.array([r["ratio"] for r in sel])
            label = {
                "worst_case": "worst case (refitted probe)",
                "worst_case_planted": "worst case (planted v*, b*)",
            }.get(family, family)
            ax.semilogx(x, np.abs(y), linestyle="none", markersize=6, label=label, **styles[family])
    ax.axhline(1.0, color="k", lw=1.5, label="bound")
    ax.set_yscale("log")
    ax.set_xlabel("ε (exact)")
    ax.set_ylabel("|excess| / (bound − τ)")
    ax.set_title("how much of the bound is used")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=7, frameon=False)

    ax = axes[0][1]
    strips = sorted({r["target_eps"] for r in rows if r["kind"] == "strip"})
    for i, target in enumerate(strips):
        for j, kind in enumerate(STRIP_KINDS):
            sel = [
                r
                for r in rows
                if r["kind"] == "strip"
                and r["classifier"] == "refit"
                and r["target_eps"] == target
                and r["family"] == kind
            ]
            if not sel:
                continue
            y = np.array([r["excess"] for r in sel])
            x = i + (j - 2) * 0.12 + np.linspace(-0.04, 0.04, len(sel))
            ax.plot(
                x,
                np.abs(y),
                linestyle="none",
                markersize=5,
                alpha=0.8,
                label=kind if i == 0 else None,
                **STRIP_STYLE[kind],
            )
            if (y < 0).any():
                ax.plot(
                    x[y < 0],
                    -y[y < 0],
                    linestyle="none",
                    marker="o",
                    markersize=9,
                    markerfacecolor="none",
                    markeredgecolor="k",
                )
        be = [
            r["bound_excess"]
            for r in rows
            if r["kind"] == "strip" and r["classifier"] == "refit" and r["target_eps"] == target
        ]
        ax.plot([i - 0.4, i + 0.4], [np.mean(be)] * 2, "k-", lw=2, label="bound − τ" if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xticks(range(len(strips)), [f"ε = {t:g}" for t in strips])
    ax.set_ylabel("|excess loss| of the refitted probe (circled: negative)")
    ax.set_title("same ε, different LMs: the bound is an envelope")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=7, ncol=3, frameon=False)

    ax = axes[0][2]
    tight = summary["tight_family"]
    ax.plot([p["k"] for p in tight], [p["ratio"] for p in tight], "k*-", label="excess / (bound − τ)")
    ax.axhline(1.0, color="k", lw=1, ls="--")
    ax.set_xlabel("k  (margin M = k, δ = ¼·2^(−k))")
    ax.set_ylabel("ratio")
    ax.set_title(f"tight family: ratio → 1 (at k={tight[-1]['k']}: {summary['tight_limit']:.6f})")
    ax.legend(loc="lower right")

    best = max(
        (v for k, v in summary["best_ratio"].items() if k.startswith("refit/")), key=lambda v: v["ratio"], default=None
    )
    v = summary["violations"]
    return finish_figure(
        fig,
        "tightness: excess loss of ε-optimal LMs against the natural-task bound τ + √(2B²ε/γ) (Saunshi et al. 2021)\n"
        + (f"best ratio (refitted probe) {best['ratio']:.3f} by {best['family']};  " if best else "")
        + f"best ratio overall {summary['best_ratio_overall']:.3f};  tight-family limit {summary['tight_limit']:.6f};  "
        + ("0 bound violations" if v == 0 else f"!!! {v} BOUND VIOLATIONS !!!"),
        v == 0,
        stem,
    )


EXPERIMENT = Experiment(
    name="tightness",
    title="worst-case LMs at fixed ε, strips of many LMs at one ε, and a tight family",
    profiles=PROFILES,
    work_units=work_units,
    run_seed=run_seed,
    summarize=summarize,
    plot=plot,
    claims=claims,
)
