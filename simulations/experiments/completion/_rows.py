"""Rows of `completion`: τ at one B, a probe on one LM, or a probe fitted on sampled labels."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import scipy.stats

import theory

from ...features import class_feature_values
from ...probes import fit_multiclass_probe
from ...worlds import ClassTask, Lexicon, make_class_task

#: The ridge of the probes fitted on n samples, as l2·(n + 1) on the mean loss over the n samples and the virtual
#: one (`sample_rows`): scikit-learn's default C = 1.
SAMPLE_L2 = 1.0


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
    trivial: float  # H(η̄): the constant predictor's loss, which every probe with a free bias reaches
    r11_bound: float  # (R11) τ + Bρ₁√Y + B²Y/2 with ρ₁ of the τ probe on P*, NaN outside the theorem's classes
    rho1: float  # ρ₁ of the τ probe on P* (`theory.multiclass_residual`), NaN outside the theorem's classes
    gamma: float  # the task's γ (min p_L/p_T on its contexts), NaN outside the theorem's classes
    cap: float = math.nan  # "fixed" rows: the largest loss the τ probe kept fixed can have on any Q


def trivial_loss(task: ClassTask) -> float:
    """H(η̄), η̄ = Σ_s p_T(s) η(s): the loss of the best constant predictor (W = 0, b = log η̄), which every
    K-class probe with a free bias reaches without features; a bound at or above it is vacuous."""
    mean = task.p_T @ task.eta
    return float(scipy.stats.entropy(mean))


def make_row(
    kind,
    task,
    feature,
    family,
    eps,
    step,
    B,
    n,
    loss,
    acc,
    tau=math.nan,
    bound=math.nan,
    gap=math.nan,
    seed=0,
    r11_bound=math.nan,
    rho1=math.nan,
) -> Row:
    """A row of one task (its name and prompt) with excess = loss − τ."""
    return Row(kind, task.name, task.prompted, feature, family, eps, step, B, n, loss, acc, tau, loss - tau, bound,
               gap, seed, trivial_loss(task), r11_bound, rho1,
               task.gamma if math.isfinite(r11_bound) else math.nan)  # fmt: skip


def sample_rows(
    lex: Lexicon,
    lms: list,
    rng: np.random.Generator,
    seed: int,
    sizes: Sequence[int],
    features: Sequence[str],
    B: float,
) -> list[Row]:
    """Probes fitted on n labelled contexts drawn from p_T (labels from η), tested on the exact population.

    Each is the box probe of the config's B with the ridge of scikit-learn's default logistic regression (C = 1,
    on standardised features: Σ_i loss_i + ½‖w‖², `SAMPLE_L2`), as practitioners fit a probe on samples. The
    ridge makes the fitted probe unique: with the box alone, n labelled contexts fewer than the features leave
    a flat valley of minimisers, and the population loss of the one a solver stops at moved by 10% (f, n = 10)
    when the LM's float32 features moved by one ulp.
    """
    task = make_class_task(lex, "sentiment", True)
    live = np.flatnonzero(task.p_T > 0)
    rows = []
    for family, q, F, e, step in (lms[0], lms[-1]):
        for n in sizes:
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
            for feature in features:  # holds one class only
                vals = class_feature_values(lex, q, F, task, feature)
                if vals is None:
                    continue
                padded = np.vstack([vals, np.zeros((1, vals.shape[1]))])
                f = fit_multiclass_probe(padded, weights, eta, box=B, l2=SAMPLE_L2 / (n + 1))
                test = theory.multiclass_probe_loss(vals[live], f.W, f.b, task.p_T[live], task.eta[live])
                rows.append(make_row("samples", task, feature, family, e, step, B, n, test, math.nan,
                                 gap=f.gap, seed=seed))  # fmt: skip
    return rows
