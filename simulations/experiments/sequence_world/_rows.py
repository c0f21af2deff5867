"""Rows of `sequence_world`: τ on the ends at one B, zero-shot, an exact LM's probe next to its bounds (a window
reader, or P* tilted at the document ends), the sampled document and its next words."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.stats

import theory

from ...features import measure, reference_probe, soft_accuracy, zero_shot_margins
from ...models import LanguageModel, adversarial_direction, calibrate_tilts, tilt_model
from ...probes import ProbeFit, fit_probe
from ...worlds import EndView, SequenceWorld


@dataclasses.dataclass(frozen=True)
class Row:
    """One measurement on the document ends read with a suffix ("none", "prompt", or a control "order: …",
    "random: …"; the concept task's labels are the bare document's for every suffix).

    kind: "tau" (the box probe on P* at box B), "zero_shot" (P(positive words) against P(negative words) on P*),
      "lm" (the box probe at the config's B refitted on an exact LM's Q at the ends), "fixed" (the τ probe kept
      fixed on that Q), "document" (the first sampled document, in `text`), "next" (one of its top next words
      after the suffix: the word in `text`, p*(w|s) in `loss`, its valence in `accuracy`, its rank in `window`).
    family: of an "lm"/"fixed" row, the exact LM: "reader" (filters the last `window` tokens) or "end tilt" (P*
      tilted at the document ends only, against the concept's τ probe, to ε ≈ `target`); "" otherwise.
    window: the reader's window k (the oracle reads all L tokens); 0 for rows about P* and for end tilts.
    target: an end tilt's ε target on the ends; NaN otherwise.
    eps: ε on the task's contexts (the ends after the suffix): the bound's ε with γ = 1.
    eps_prefixes, eps_se: ε over all M·L prefixes of the population and its Monte Carlo standard error over
      documents (NaN after a suffix: those contexts are not prefixes of the population). An end tilt's is its
      ε on the ends over L exactly (every other prefix is exact).
    bound, r9: (R2) τ + √(2B²ε) and (R9) with ε on the ends, γ = 1.
    bound_prefixes, r9_prefixes: the same with ε over all prefixes and γ_ratio = 1/L.
    trivial: H(η̄), the constant predictor's loss.  floor: E_T H(η), the loss of the exact posterior itself
      (no predictor of y from s does better).
    rho: (R9)'s residual ρ of the τ probe on P* (capped at 1), NaN for rows without bounds.
    cap: for "fixed" rows, the largest loss the τ probe kept fixed can have on any Q (`theory.fixed_probe_cap`):
      a bound at or above it cannot be violated; NaN otherwise.
    eta_shift: the mean |η after filtering through the suffix − η of the document| over the ends: how far the
      label would move if the suffix were taken as evidence (it is not; a diagnostic).
    """

    kind: str
    suffix: str
    B: float
    window: int
    eps: float
    eps_prefixes: float
    eps_se: float
    loss: float
    accuracy: float
    tau: float
    bound: float
    r9: float
    bound_prefixes: float
    r9_prefixes: float
    trivial: float
    floor: float
    gap: float
    seed: int
    rho: float = math.nan
    cap: float = math.nan
    text: str = ""
    family: str = ""
    target: float = math.nan
    eta_shift: float = math.nan


def _base(view: EndView) -> dict:
    task = view.inst.task
    floor = float(task.p_T @ scipy.stats.entropy(np.stack([task.eta, 1.0 - task.eta])))
    shift = float(task.p_T @ np.abs(view.eta_suffix - task.eta))
    return dict(suffix=view.suffix, trivial=theory.trivial_loss(task.p_T, task.eta), floor=floor,
                seed=int(view.inst.seed), eta_shift=shift)  # fmt: skip


def tau_row(view: EndView, B: float) -> Row:
    """τ at box B: the certified box probe on P* at the ends."""
    task, p = view.inst.task, view.inst.world.p_star
    f: ProbeFit = fit_probe(p, task.p_T, task.eta, box=B)
    acc = soft_accuracy(p @ f.v + f.b, task.eta, task.p_T)
    nan = math.nan
    return Row("tau", B=B, window=0, eps=0.0, eps_prefixes=nan, eps_se=nan, loss=f.loss, accuracy=acc, tau=f.loss,
               bound=nan, r9=nan, bound_prefixes=nan, r9_prefixes=nan, gap=f.gap, **_base(view))  # fmt: skip


def zero_shot_row(world: SequenceWorld, view: EndView) -> Row:
    """Zero-shot on P* at the ends, calibrated (`simulations.features.zero_shot_margins`); the loss is that of
    σ(margin)."""
    task, p = view.inst.task, view.inst.world.p_star
    z = zero_shot_margins(world, p, task.p_T)
    loss = float(task.p_T @ theory.context_loss(z, task.eta))
    nan = math.nan
    return Row("zero_shot", B=nan, window=0, eps=0.0, eps_prefixes=nan, eps_se=nan, loss=loss,
               accuracy=soft_accuracy(z, task.eta, task.p_T), tau=nan, bound=nan, r9=nan, bound_prefixes=nan,
               r9_prefixes=nan, gap=nan, **_base(view))  # fmt: skip


def reader_rows(view: EndView, q: np.ndarray, window: int, eps_prefixes: float, eps_se: float) -> list[Row]:
    """A window reader's rows (`exact_lm_rows`, family "reader")."""
    return exact_lm_rows(view, q, "reader", eps_prefixes, eps_se, window=window)


def end_tilt_rows(view: EndView, targets: tuple[float, ...]) -> list[Row]:
    """P* tilted at the document ends only, against the concept task's τ probe (the (R8) adversarial direction
    −sign(2η − 1)·v̂/B at every end, centred under p*), to each ε target on the ends; every other prefix of a
    document keeps p*, so ε over all M·L prefixes is exactly the ends' ε over L, and the ε-term of the prefix
    form, √(2B²(ε/L)/(1/L)), is that of the ends form: the prefix form is as tight here as the ends form, and a
    bound that lost its √L is √L too low. It is then broken wherever √L exceeds that bound's flip factor (for
    (R9) already at the tiny world's L = 12; for the looser (R2) from L ≈ 20 on)."""
    world, task = view.inst.world, view.inst.task
    L = round(1.0 / view.gamma_prefixes)
    ref = reference_probe(view.inst, "p_f")
    u = adversarial_direction(world, task.eta, ref.v, task.B)
    ts, _ = calibrate_tilts(world, u, targets)
    rows = []
    for target, t in zip(targets, ts, strict=True):
        q = tilt_model(world, u, float(t))
        kl_end = theory.kl_divergence(world.p_star, q)  # (M,) the only non-zero KL of each document
        per_doc = kl_end / L
        se = float(per_doc.std(ddof=1) / np.sqrt(per_doc.size)) if per_doc.size > 1 else math.nan
        rows += exact_lm_rows(view, q, "end tilt", float(per_doc.mean()), se, target=float(target))
    return rows


def exact_lm_rows(
    view: EndView, q: np.ndarray, family: str, eps_prefixes: float, eps_se: float, window: int = 0,
    target: float = math.nan,
) -> list[Row]:  # fmt: skip
    """The box probe refitted on an exact LM's Q at the ends ("lm"), and the τ probe kept fixed on it ("fixed"),
    each next to (R2) and (R9) in both forms: ε on the ends with γ = 1, and ε over all prefixes with γ = 1/L
    (only for ends without a suffix)."""
    inst = view.inst
    task, world = inst.task, inst.world
    eps = theory.expected_kl(world.p_star, q, task.p_T)
    lm = LanguageModel(family.replace(" ", "_"), q, eps, step=window, world_id=inst.world_id)
    m = measure(inst, lm, "p_f")[0]
    ref = reference_probe(inst, "p_f")
    rho = min(theory.probe_residual(world.p_star, task.p_T, task.eta, ref.v, ref.b), 1.0)
    g = view.gamma_prefixes
    prefixes = (dict(bound_prefixes=theory.natural_task_bound(m.tau, task.B, eps_prefixes, g),
                     r9_prefixes=theory.residual_bound(m.tau, rho, task.B, eps_prefixes, g))
                if math.isfinite(g) else dict(bound_prefixes=math.nan, r9_prefixes=math.nan))  # fmt: skip
    common = dict(B=task.B, window=window, eps=eps, eps_prefixes=eps_prefixes, eps_se=eps_se, tau=m.tau,
                  bound=m.bound, r9=m.r9_bound, **prefixes, rho=rho, family=family, target=target,
                  **_base(view))  # fmt: skip
    fixed_loss = theory.probe_loss(q, ref.v, ref.b, task.p_T, task.eta)
    return [
        Row("lm", loss=m.fit.loss, accuracy=soft_accuracy(q @ m.fit.v + m.fit.b, task.eta, task.p_T),
            gap=m.fit.gap, **common),
        Row("fixed", loss=fixed_loss, accuracy=soft_accuracy(q @ ref.v + ref.b, task.eta, task.p_T), gap=0.0,
            cap=theory.fixed_probe_cap(ref.v, ref.b, task.p_T, task.eta), **common),
    ]  # fmt: skip


def document_rows(world: SequenceWorld, views: list[EndView], tokens: np.ndarray, top: int) -> list[Row]:
    """The first document that does not end inside the prompt's phrase ("document") and, after each suffix,
    its `top` most likely next words ("next")."""
    nan = math.nan
    blank = dict(B=nan, eps=0.0, eps_prefixes=nan, eps_se=nan, tau=nan, bound=nan, r9=nan, bound_prefixes=nan,
                 r9_prefixes=nan, gap=nan)  # fmt: skip
    base = _base(views[0])
    clean = ~np.isin(tokens[:, -len(world.prompt) :], world.prompt).any(axis=1)
    i = int(np.argmax(clean))  # the first such document (the first of all if every one ends in the phrase)
    rows = [Row("document", window=0, loss=nan, accuracy=nan, text=world.text(tokens[i]), **blank | base)]
    for view in views:
        p = view.inst.world.p_star[i]
        for rank, w in enumerate(np.argsort(-p, kind="stable")[:top], start=1):
            rows.append(Row("next", window=rank, loss=float(p[w]), accuracy=float(world.words.valence[w]),
                            text=world.words.words[w], **blank | _base(view)))  # fmt: skip
    return rows
