"""Experiment `log_partition`: when is log Z_θ = log Σ_w exp(θᵀφ_w) close to quadratic?

Claims (docs/design.md (R6); arXiv:2010.03648 §5.2, the quadratic
log-partition assumption): for light-tailed embeddings the Gaussian form
log V + θᵀμ + ½θᵀΣθ errs by ∝ 1/√V (the sample mean of exp(θᵀφ) over V
words); for heavy-tailed (Student-t) embeddings it does not converge at all;
and the quadratic is local: its relative error grows with the spread of the
logits. Beside the samples, the (R6) bound on the f(s) features of trained
softmax LMs, with δ_T measured on the range of f actually used, and whether
that bound says anything (is below the best constant predictor's loss).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ...core import MAX_COUNT, check_choices, check_range, check_ranges, numpy_rng, streams
from ...models import TrainConfig, trained_lms
from ...worlds import (
    SAMPLED_FAMILIES,
    TaskConfig,
    WorldConfig,
    make_instance,
    make_world,
    sample_embeddings,
)
from ..kit import (
    TINY_LM,
    TINY_WORLD,
    Experiment,
    RunConfig,
    Verdict,
    check_distinct,
    check_slope_grid,
    format_slope,
    rate_verdict,
    select,
    slopes_by,
    threshold_verdict,
    values,
)
from ._plot import draw
from ._rows import Row, lm_row, sample_rows

#: `Row` under a name that the `Row` class attribute of the experiment does not shadow.
_Row = Row

FAMILIES = (*SAMPLED_FAMILIES, "zipf", "learned")
LM_FAMILIES = ("trained", "learned")


@dataclasses.dataclass(frozen=True)
class Config(RunConfig):
    """Sizes and seeds of `log_partition`.

    families: embedding families sampled at every V (isotropic, anisotropic,
      student_t, zipf: the world's Φ with its Zipf bias row) and learned (the
      Φ of an LM trained with learn_phi on the world at the last of
      `theta_scales`, at the world's V only).
    vocab_sizes, dim: V grid and d of the sampled families.
    spreads: target spread std_w(θᵀφ_w) of the sampled θ's logits.
    n_thetas: θ's per (family, V, spread), >= d + 2 for every Φ sampled
      (dim, and world.dim + 1 for the learned Φ with its bias row).
    rate_spread: the spread at which the V-rate claims are read.
    df: Student-t degrees of freedom (> 2).  distinct: if > 0, sampled
      families have only this many distinct words (a negative control).
    local_families: the families the locality claim is read on (light tails).
    lm_families: trained (Φ fixed to the world's) and learned (Φ trained);
      their checkpoints' f(s) on `world` at each of `theta_scales` (the
      world's logit scale), with `task` (B = 8, α = 1: room between τ and the
      constant predictor's loss at every scale).
    """

    families: tuple[str, ...] = FAMILIES
    vocab_sizes: tuple[int, ...] = (100, 1000, 10_000)
    dim: int = 8
    spreads: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    n_thetas: int = 64
    rate_spread: float = 1.0
    df: float = 3.0
    distinct: int = 0
    local_families: tuple[str, ...] = ("isotropic", "anisotropic")
    world: WorldConfig = WorldConfig()
    task: TaskConfig = TaskConfig(B=8.0, alpha=1.0)
    lm: TrainConfig = TrainConfig(steps=200, checkpoints=4)
    lm_families: tuple[str, ...] = LM_FAMILIES
    theta_scales: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choices("families", self.families, FAMILIES)
        check_choices("local_families", self.local_families, SAMPLED_FAMILIES)
        check_choices("lm_families", self.lm_families, LM_FAMILIES)
        check_ranges("vocab_sizes", self.vocab_sizes, 2, 10**6, integer=True)
        check_slope_grid("vocab_sizes", self.vocab_sizes, "gaussian_sqrt_v or heavy_tails_no_gaussian")
        check_range("dim", self.dim, 1, 1000, integer=True)
        check_ranges("spreads", self.spreads, 0.0, 50.0, lo_open=True)
        check_slope_grid("spreads", self.spreads, "quadratic_is_local", span=4.0)
        check_distinct("theta_scales", self.theta_scales)
        check_range("n_thetas", self.n_thetas, max(self.dim, self.world.dim + 1) + 2, MAX_COUNT, integer=True)
        if self.rate_spread not in self.spreads:
            raise ValueError(f"rate_spread must be one of spreads {self.spreads}, got {self.rate_spread}")
        check_range("df", self.df, 2.0, lo_open=True)
        check_range("distinct", self.distinct, 0, 10**6, integer=True)
        check_ranges("theta_scales", self.theta_scales, 0.0, 20.0, lo_open=True)


class LogPartition(Experiment[Config]):
    name = "log_partition"
    title = "how close log Z_θ is to quadratic (R6), by embedding family, V and ‖θ‖; the f(s) bound on trained LMs"
    Row = Row
    profiles = {
        "tiny": Config(
            vocab_sizes=(50, 500, 5000),
            dim=3,
            spreads=(0.5, 1.0, 2.0),
            n_thetas=24,
            world=TINY_WORLD,
            lm=TINY_LM,
            seeds=(0, 1),
            bootstrap=20,
        ),
        "quick": Config(seeds=(0, 1)),
        "standard": Config(
            vocab_sizes=(100, 1000, 10_000, 100_000),
            dim=16,
            n_thetas=128,
            world=WorldConfig(vocab_size=500, num_contexts=1000, dim=16),
            lm=TrainConfig(steps=400, checkpoints=5),
            seeds=(0, 1, 2),
        ),
    }
    claim_statements = {
        "gaussian_sqrt_v": "(R6) light tails (isotropic Gaussian Φ): the Gaussian form's error on log Z falls as "
        "1/√V (log-log slope −0.5 ± 0.1; decided with ≥ 3 distinct V over a decade, ≥ 2 seeds and a 95% interval "
        "narrower than 0.2)",
        "heavy_tails_no_gaussian": "(R6) heavy tails (Student-t, df = 3): the Gaussian form's error does not fall "
        "as V grows over the V grid (the slope's whole 95% interval above −0.25; ≥ 3 distinct V, ≥ 2 seeds)",
        "quadratic_is_local": "(R6) the quadratic is local: the gradient fit's relative δ grows with the logits' "
        "spread (the slope's whole 95% interval above 0, light-tailed families, largest V; ≥ 3 distinct spreads "
        "over a factor of 4, ≥ 2 seeds)",
    }

    claim_labels = {
        "gaussian_sqrt_v": "light tails: Gaussian form's error ∝ V^(−1/2)",
        "heavy_tails_no_gaussian": "heavy tails: it does not fall",
        "quadratic_is_local": "the quadratic is local",
    }

    def work_units(self, cfg: Config) -> int:
        sampled = sum(1 for f in cfg.families if f != "learned")
        return sampled * len(cfg.vocab_sizes) + len(cfg.lm_families) * len(cfg.theta_scales)

    def run_seed(self, cfg: Config, seed: int, tick: Callable[[], None]) -> list[_Row]:
        keys = streams(seed)  # the same streams every Instance of this seed uses
        rng = numpy_rng(keys["stats"])
        rows = []
        for family in cfg.families:
            if family == "learned":
                continue
            for V in cfg.vocab_sizes:
                bias = None
                if family == "zipf":  # the world's Φ: Gaussian rows and the Zipf bias row (its θ coordinate is 1)
                    wcfg = WorldConfig(vocab_size=V, num_contexts=1, dim=cfg.dim, word_zipf=max(cfg.world.word_zipf, 1))
                    world_phi = make_world(keys["world"], wcfg).Phi
                    phi, bias = world_phi[:-1], world_phi[-1]
                else:
                    phi = sample_embeddings(rng, family, V, cfg.dim, df=cfg.df, distinct=cfg.distinct)
                rows += sample_rows(rng, cfg.spreads, cfg.n_thetas, family, phi, seed, bias)
                tick()
        for family in cfg.lm_families:
            for scale in cfg.theta_scales:
                sub = make_instance(seed, dataclasses.replace(cfg.world, theta_scale=scale), cfg.task)
                lms = trained_lms(sub, dataclasses.replace(cfg.lm, learn_phi=family == "learned"), family=family)
                rows += [lm_row(sub, lm, scale) for lm in lms if math.isfinite(lm.eps)]
                if family == "learned" and "learned" in cfg.families and scale == cfg.theta_scales[-1]:
                    learned_phi = lms[-1].Phi
                    if learned_phi is None:  # trained LMs are softmax LMs: they always carry their Φ
                        raise ValueError(f"the last {family} LM has no Φ")
                    rows += sample_rows(rng, cfg.spreads, cfg.n_thetas, "learned", learned_phi, seed)
                tick()
        return rows

    def summarize(self, cfg: Config, rows: list[_Row]) -> dict:
        samples = select(rows, kind="sample")
        at_rate = [r for r in samples if r.spread == cfg.rate_spread and r.family != "learned"]
        largest = [r for r in samples if r.vocab_size == max(cfg.vocab_sizes)]
        lm = select(rows, kind="lm")
        by = lambda sel, y, x: slopes_by(sel, ("family",), x, y, cfg.seeds[0], cfg.bootstrap)  # noqa: E731
        return dict(
            experiment=self.name,
            n_rows=len(rows),
            rate_spread=cfg.rate_spread,
            spreads=list(cfg.spreads),
            vocab_sizes=list(cfg.vocab_sizes),
            local_families=list(cfg.local_families),
            gauss_slope_v=by(at_rate, "gauss_rel_err", "vocab_size"),
            quad_slope_v=by(at_rate, "quad_rel_err", "vocab_size"),
            delta_slope_spread=by(largest, "rel_delta", "logit_std"),
            at_largest_v={
                f: {
                    s: float(np.mean([r.rel_delta for r in select(largest, family=f) if r.spread == s]))
                    for s in cfg.spreads
                    if any(r.spread == s for r in select(largest, family=f))
                }
                for f in values(largest, "family")
            },  # fmt: skip
            lm_informative={
                f"{f}/{s:g}": [sum(1 for r in sel if not r.vacuous), len(sel)]
                for f in cfg.lm_families
                for s in cfg.theta_scales
                if (sel := [r for r in select(lm, family=f) if r.theta_scale == s])
            },
            lm_rel_delta={
                f"{f}/{s:g}": float(np.mean([r.rel_delta for r in sel]))
                for f in cfg.lm_families
                for s in cfg.theta_scales
                if (sel := [r for r in select(lm, family=f) if r.theta_scale == s])
            },
            lm_violations=sum(1 for r in lm if r.f_loss > r.bound + cfg.violation_tol),
        )

    def claims(self, cfg: Config | None, summary: dict) -> list:
        out = []
        iso = summary["gauss_slope_v"].get("isotropic")
        if iso:
            out.append(self.claim("gaussian_sqrt_v", rate_verdict(iso, -0.5, 0.1, 0.2), format_slope(iso)))
        heavy = summary["gauss_slope_v"].get("student_t")
        if heavy:
            out.append(self.claim("heavy_tails_no_gaussian", threshold_verdict(heavy, -0.25), format_slope(heavy)))
        slopes = summary["delta_slope_spread"]
        local = {f: slopes[f] for f in summary["local_families"] if f in slopes}
        if local:
            measured = "; ".join(f"{f}: {format_slope(s)}" for f, s in local.items())
            verdict = Verdict.combine({f: threshold_verdict(s, 0.0) for f, s in local.items()})
            out.append(self.claim("quadratic_is_local", verdict, measured))
        return out

    def plot(self, rows: list, summary: dict, stem: Path) -> list:
        return draw(rows, summary, stem, self.all_claims(None, summary))


EXPERIMENT = LogPartition()
