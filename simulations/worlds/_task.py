"""Planted natural tasks: labels readable from the true next-word distribution."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import numpy as np
from scipy.special import expit

import theory

from ..core import check_choice, check_range, numpy_rng
from ._loglinear import World

#: How v* is planted: in the row space of Φ (natural w.r.t. Φ), or on two groups of words.
STRUCTURES = ("row_space", "word_groups")


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    """A planted (τ, B)-natural task (docs/design.md, "Task", "Natural task").

    Attributes:
      structure: "row_space": v* = Φᵀλ (natural w.r.t. the LMs' Φ, so Φp_f and f
        features are covered by (R5)/(R6)); "word_groups": v* = +B on one
        group of words and −B on a disjoint one (natural, not w.r.t. Φ).
      B: ℓ∞ bound of the probe class, > 0; v* is scaled to ‖v*‖_∞ = B.
      alpha: label sharpness: η(s) = σ(α(v*ᵀP*[s] + b*)), > 0. α = 1 makes
        the planted probe Bayes-optimal (then every LM's excess is O(ε));
        larger α makes the best in-box probe hit the box, where the √ε rate
        lives (docs/design.md (R8)).
      group_fraction: for "word_groups", the fraction of words in each group.
      task_fraction: p_T = p_L restricted to the first ⌈fraction·N⌉ contexts
        (in a random order), renormalised; 1 = p_T = p_L (γ_ratio = 1).
    """

    structure: str = "row_space"
    B: float = 1.0
    alpha: float = 8.0
    group_fraction: float = 0.1
    task_fraction: float = 1.0

    def __post_init__(self) -> None:
        check_choice("task.structure", self.structure, set(STRUCTURES))
        check_range("task.B", self.B, 0.0, lo_open=True)
        check_range("task.alpha", self.alpha, 0.0, 1e6, lo_open=True)
        check_range("task.group_fraction", self.group_fraction, 0.0, 0.5, lo_open=True)
        check_range("task.task_fraction", self.task_fraction, 0.0, 1.0, lo_open=True)


class Task(NamedTuple):
    """v: (V,) planted word weights, ‖v‖_∞ = B. b: planted bias.
    lam: (d,) with v = Φᵀλ for "row_space" tasks, else None.
    eta: (N,) P(y=+1|s). p_T: (N,) task weights. B: the box.
    tau_planted: ℓ_T(P*, v, b), a valid τ (exact weighted sum).
    """

    v: np.ndarray
    b: float
    lam: np.ndarray | None
    eta: np.ndarray
    p_T: np.ndarray
    B: float
    tau_planted: float


def make_task(key: jax.Array, world: World, cfg: TaskConfig) -> Task:
    """Plant a natural task in `world` with the `task` PRNG stream `key`.

    The bias b* is the p_T-weighted median of v*ᵀP*[s], so both labels are
    equally likely under p_T.
    """
    rng = numpy_rng(key)
    V = world.Phi.shape[1]
    lam = None
    if cfg.structure == "row_space":
        lam = np.zeros(world.Phi.shape[0])
        n_free = world.Phi.shape[0] - (1 if _has_bias_row(world) else 0)
        lam[:n_free] = rng.normal(size=n_free)
        v = world.Phi.T @ lam
        scale = cfg.B / np.max(np.abs(v))
        v, lam = v * scale, lam * scale
    else:
        k = max(1, int(round(cfg.group_fraction * V)))
        perm = rng.permutation(V)
        v = np.zeros(V)
        v[perm[:k]], v[perm[k : 2 * k]] = cfg.B, -cfg.B
    N = world.p_L.shape[0]
    keep = np.zeros(N, dtype=bool)
    keep[rng.permutation(N)[: int(np.ceil(cfg.task_fraction * N))]] = True
    p_T = np.where(keep, world.p_L, 0.0)
    p_T = p_T / p_T.sum()
    score = world.p_star @ v
    b = -_weighted_median(score, p_T)
    eta = expit(cfg.alpha * (score + b))
    tau = theory.probe_loss(world.p_star, v, b, p_T, eta)
    return Task(v, float(b), lam, eta, p_T, float(cfg.B), tau)


def _has_bias_row(world: World) -> bool:
    return bool(np.all(world.theta[:, -1] == 1.0)) and world.Phi.shape[0] > 1


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    return float(x[order][np.searchsorted(cum, 0.5)])
