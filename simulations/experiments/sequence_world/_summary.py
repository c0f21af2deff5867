"""The summary of `sequence_world`, from its stored rows: τ against B with and without the prompt, the prompt's gain
against its controls', zero-shot, the exact LMs' bounds in both forms."""

from __future__ import annotations

import math

import numpy as np

import theory

from ...probes import GAP_TOL
from ..kit import form_checks, prompt_against_controls, select, suffix_names, values

#: The prompt lowers τ at the bound's box by at least this (nats) to count.
PROMPT_MARGIN = 0.01
#: (τ, B) trade-off: B_δ is the smallest B of the sweep whose τ is within TAU_DELTA nats of τ at the largest B.
TAU_DELTA = 0.02
#: The bounds checked on every reader row: (row field of the bound, words for it).
BOUNDS = (
    ("bound", "(R2), ε on the ends, γ = 1"),
    ("r9", "(R9), ε on the ends, γ = 1"),
    ("bound_prefixes", "(R2), ε over all prefixes, γ = 1/L"),
    ("r9_prefixes", "(R9), ε over all prefixes, γ = 1/L"),
)


def _mean(rows: list, field: str) -> float:
    return float(np.mean([getattr(r, field) for r in rows])) if rows else math.nan


def without_sqrt_L(row, field: str) -> float:
    """The row's prefix-form bound `field` ("bound_prefixes" or "r9_prefixes") with γ = 1 instead of 1/L: the bound
    that lost its √L."""
    if field == "bound_prefixes":
        return theory.natural_task_bound(row.tau, row.B, row.eps_prefixes, 1.0)
    return theory.residual_bound(row.tau, row.rho, row.B, row.eps_prefixes, 1.0)


def summarize_rows(cfg, rows: list) -> dict:
    """Every number the claims, the figure and the report read."""
    Bs = sorted(values(select(rows, kind="tau", suffix="none"), "B"))
    suffixes = suffix_names(r.suffix for r in rows)
    curves = [s for s in ("none", "prompt") if s in suffixes]
    tau_by_B = {s: [_mean(select(rows, kind="tau", suffix=s, B=B), "loss") for B in Bs] for s in curves}
    acc_by_B = {s: [_mean(select(rows, kind="tau", suffix=s, B=B), "accuracy") for B in Bs] for s in curves}
    B_delta = {}
    for s, taus in tau_by_B.items():
        if not all(math.isfinite(t) for t in taus):  # a suffix measured at the claim's B only
            continue
        settled = len(taus) > 1 and abs(taus[-2] - taus[-1]) <= TAU_DELTA
        B_delta[s] = dict(B=min(B for B, t in zip(Bs, taus, strict=True) if t <= taus[-1] + TAU_DELTA),
                          limit=taus[-1], settled=settled)  # fmt: skip
    tau_at_B = {s: _mean(select(rows, kind="tau", suffix=s, B=cfg.B), "loss") for s in suffixes}
    trivial = {s: _mean(select(rows, kind="tau", suffix=s), "trivial") for s in suffixes}
    by_seed = {seed: {s: _mean(select(rows, kind="tau", suffix=s, B=cfg.B, seed=seed), "loss")
                      for s in suffix_names(r.suffix for r in select(rows, seed=seed))}
               for seed in values(rows, "seed")}  # fmt: skip
    vs = prompt_against_controls(by_seed, PROMPT_MARGIN)
    gains = vs["gains"]
    # the share of the information there is (H(η̄) − τ)/H(η̄): the labels are the same for every suffix, so a
    # suffix can only gain by reading the concept better, never by moving the labels
    share = {s: (trivial[s] - tau_at_B[s]) / trivial[s] for s in suffixes}
    zero_shot = {s: _mean(select(rows, kind="zero_shot", suffix=s), "accuracy") for s in suffixes}
    exact_lms = [r for r in select(rows, kind=("lm", "fixed")) if r.eps > 0]
    checks = form_checks(exact_lms, BOUNDS, cfg.violation_tol, refitted="lm")
    end_tilts = select(exact_lms, family="end tilt")
    oracle = select(rows, kind="lm", family="reader",
                    window=max(values(select(rows, kind="lm", family="reader"), "window"), default=0))  # fmt: skip
    windows = sorted(values(select(rows, kind="lm", family="reader"), "window"))

    def reader(k, suffix="none"):
        return select(rows, kind="lm", family="reader", suffix=suffix, window=k)

    by_window = [
        dict(k=k, eps_prefixes=_mean(reader(k), "eps_prefixes"), eps_se=_mean(reader(k), "eps_se"),
             eps_ends=_mean(reader(k), "eps"), eps_prompt=_mean(reader(k, "prompt"), "eps"),
             excess=_mean(reader(k), "loss") - _mean(reader(k), "tau"))
        for k in windows
    ]  # fmt: skip
    targets = sorted(values(end_tilts, "target"))
    by_target = [
        dict(target=t, eps_ends=_mean(select(end_tilts, kind="lm", target=t), "eps"),
             eps_prefixes=_mean(select(end_tilts, kind="lm", target=t), "eps_prefixes"),
             excess_fixed=_mean(select(end_tilts, kind="fixed", target=t), "loss")
             - _mean(select(end_tilts, kind="fixed", target=t), "tau"),
             excess_refitted=_mean(select(end_tilts, kind="lm", target=t), "loss")
             - _mean(select(end_tilts, kind="lm", target=t), "tau"))
        for t in targets
    ]  # fmt: skip
    # a √L lost from the prefix form: γ taken as 1 where it is 1/L. The end tilts put all their error on the task's
    # contexts, so their rows come close to the forms with γ = 1/L; the closest approach to the forms without √L
    # (above 1: a violation) is the control's quantity beside the claim's
    lost = {}
    for field, label in (("bound_prefixes", "(R2)"), ("r9_prefixes", "(R9)")):
        for kind, probe in (("fixed", "fixed"), ("lm", "refitted")):
            sel = [r for r in select(end_tilts, kind=kind) if math.isfinite(r.eps_prefixes)]
            terms = [(r, without_sqrt_L(r, field) - r.tau) for r in sel]
            lost[f"{label} {probe}"] = max(((r.loss - r.tau) / e for r, e in terms if e > 0), default=math.nan)
    first = min(values(rows, "seed"), default=0)
    doc = select(rows, kind="document", seed=first)
    return dict(
        n_rows=len(rows),
        B=cfg.B,
        B_sweep=Bs,
        length=cfg.world.length,
        suffixes=suffixes,
        tau_by_B=tau_by_B,
        accuracy_by_B=acc_by_B,
        B_delta=B_delta,
        tau_at_B=tau_at_B,
        prompt_gain=gains,
        information_share=share,
        prompt_vs_controls=vs,
        eta_shift={s: _mean(select(rows, kind="tau", suffix=s), "eta_shift") for s in suffixes},
        floor={s: _mean(select(rows, kind="tau", suffix=s), "floor") for s in suffixes},
        trivial=trivial,
        zero_shot_accuracy=zero_shot,
        checks=checks,
        lost_sqrt_L=lost,
        uncertified=sum(1 for r in exact_lms if r.kind == "lm" and not r.gap <= GAP_TOL),
        uncertified_tau=sum(1 for r in select(rows, kind="tau") if not r.gap <= GAP_TOL),
        max_tau_gap=max((r.gap for r in select(rows, kind="tau")), default=math.nan),
        oracle_eps=dict(
            prefixes=max((r.eps_prefixes for r in oracle if r.suffix == "none"), default=math.nan),
            ends=max((r.eps for r in oracle), default=math.nan),
        ),  # fmt: skip
        windows=by_window,
        end_tilts=by_target,
        document=doc[0].text if doc else "",
        next_words={
            s: [
                [r.text, r.loss, r.accuracy]
                for r in sorted(select(rows, kind="next", suffix=s, seed=first), key=lambda r: r.window)
            ]
            for s in curves
        },  # fmt: skip
    )
