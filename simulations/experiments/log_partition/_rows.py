"""Rows of `log_partition`: one set of θ's (a sample at one logit spread, or one LM's f(s)) and how close log Z
is to quadratic on it."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

import theory

from ...features import measure
from ...worlds import (
    sample_thetas,
)


@dataclasses.dataclass(frozen=True)
class Row:
    """One set of θ's: a sample at one logit spread ("sample"), or the f(s) of one LM weighted by p_T ("lm")."""

    kind: str
    family: str
    vocab_size: int
    spread: float  # target std_w(θᵀφ_w) of a sample (NaN for lm rows)
    logit_std: float  # measured mean spread of the θ's logits
    delta_max: float  # (R6) δ: max ‖Φp_θ − (Aθ + c)‖₂
    delta_mean: float  # mean residual (δ_T for lm rows)
    rel_delta: float  # delta_mean / mean ‖Φp_θ − μ‖₂
    quad_rel_err: float  # quadratic from the gradient fit: error on log Z / its curvature part
    gauss_rel_err: float  # Gaussian form: error on log Z / its curvature part
    gauss_delta: float  # mean ‖Φp_θ − (μ + Σθ)‖₂
    theta_scale: float  # lm rows: the world's logit scale (NaN for samples)
    step: int  # lm rows: the checkpoint's step
    eps: float  # lm rows: ε of the LM
    tau: float  # lm rows: τ_Φ, the polytope class's best on ΦP* (R5)
    f_loss: float  # lm rows: the probe on f(s), started at the (R6) comparator
    phi_bound: float  # lm rows: (R5) bound on Φp_f
    bound: float  # lm rows: (R6) = phi_bound + ‖λ̂‖₂ δ_T
    trivial: float  # lm rows: the best constant predictor's loss
    vacuous: bool  # lm rows: bound >= trivial
    seed: int


def _nan_lm_fields() -> dict:
    return dict(theta_scale=math.nan, step=0, eps=math.nan, tau=math.nan, f_loss=math.nan, phi_bound=math.nan,
                bound=math.nan, trivial=math.nan, vacuous=False)  # fmt: skip


def _fit_fields(fit: theory.PartitionFit) -> dict:
    names = ("logit_std", "delta_max", "delta_mean", "rel_delta", "quad_rel_err", "gauss_rel_err")
    return {n: getattr(fit, n) for n in names} | {"gauss_delta": fit.gauss_delta_mean}


def sample_rows(
    rng, spreads: Sequence[float], n_thetas: int, family: str, phi: np.ndarray, seed: int, bias=None
) -> list[Row]:
    """One row per spread: `n_thetas` θ's sampled at that logit spread, and the partition fit on them."""
    rows = []
    uniform = theory.embedding_moments(phi)
    moments = uniform if bias is None else theory.embedding_moments(phi, bias)
    for spread in spreads:  # spreads of the logits over the words, uniformly weighted
        thetas = sample_thetas(rng, phi, spread, n_thetas, uniform.sigma)
        fit = theory.partition_fit(phi, thetas, bias=bias, moments=moments)
        rows.append(Row("sample", family, phi.shape[1], spread, **_fit_fields(fit), **_nan_lm_fields(), seed=seed))
    return rows


def lm_row(inst, lm, scale: float) -> Row:
    """The (R6) bound on one LM's f(s), with log Z measured on the range of f weighted by p_T."""
    task = inst.task
    phi_m = measure(inst, lm, "phi_p_f")[0]
    f_m = measure(inst, lm, "f", phi_box=phi_m)[0]
    fit = theory.partition_fit(lm.Phi, lm.F, task.p_T)
    trivial = theory.trivial_loss(task.p_T, task.eta)
    return Row("lm", lm.family, lm.Phi.shape[1], math.nan, **_fit_fields(fit), theta_scale=scale, step=lm.step,
               eps=lm.eps, tau=phi_m.tau, f_loss=f_m.fit.loss, phi_bound=phi_m.bound, bound=f_m.bound, trivial=trivial,
               vacuous=f_m.vacuous, seed=int(inst.seed))  # fmt: skip
