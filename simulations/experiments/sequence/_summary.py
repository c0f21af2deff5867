"""The summary of `sequence`, from its stored rows: training curves, the bounds' numbers, the prompt, same-ε pairs."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..kit import select, values

#: The prompt lowers the trained transformer's probe loss by at least this (nats) to count.
PROMPT_MARGIN = 0.01
#: The bounds checked on a row: (field, words). The prefixes form exists for p_f rows without a suffix only.
BOUNDS = (
    ("bound", "the feature's bound (R2/R6), ε on the ends, γ = 1"),
    ("r9", "(R9), ε on the ends, γ = 1"),
    ("bound_prefixes", "(R2), ε over all prefixes, γ = 1/L"),
    ("r9_prefixes", "(R9), ε over all prefixes, γ = 1/L"),
)
FEATURES = ("f", "p_f", "p_f_class", "phi_p_f", "zero_shot")


def _mean(rows: list, field: str) -> float:
    return float(np.mean([getattr(r, field) for r in rows])) if rows else math.nan


def _bounds(cfg, rows: list) -> dict:
    """Violations, informative rows and closest approaches of every bound on the probe and fixed rows."""
    theorem = [r for r in select(rows, kind=("probe", "fixed"), feature=("p_f", "phi_p_f", "f")) if r.eps > 0]
    n = violations = informative = unresolved = 0
    closest: dict[str, float] = {}
    for r in theorem:
        gap = r.gap if math.isfinite(r.gap) else 0.0  # f's probe has no certificate: its loss is the comparator's
        for field, words in BOUNDS:
            bound = getattr(r, field)
            if not math.isfinite(bound):
                continue
            n += 1
            if r.loss - gap > bound + cfg.violation_tol:
                violations += 1
            elif r.loss > bound + cfg.violation_tol:
                unresolved += 1
            # a refitted probe never loses more than H(η̄), a fixed one never more than its cap: only a bound below
            # that can bind
            if bound < (r.cap if r.kind == "fixed" else r.trivial):
                informative += 1
                if bound > r.tau:
                    key = f"{r.feature} {'fixed' if r.kind == 'fixed' else 'refitted'} {words}"
                    closest[key] = max(closest.get(key, -math.inf), (r.loss - r.tau) / (bound - r.tau))
    return dict(n=n, violations=violations, informative=informative, unresolved=unresolved, closest=closest)


def _same_eps(cfg, rows: list) -> dict:
    """Pairs of checkpoints of different models (same seed) within same_eps_rtol of the same held-out ε: the
    largest ratio of their p_f probes' excess over τ, and how many pairs have a member above a bound."""
    probes = [r for r in select(rows, kind="probe", feature="p_f", suffix="none")
              if r.loss - r.tau > 0 and r.eps_heldout < cfg.decide_below]  # fmt: skip
    pairs, best = 0, dict[str, Any](ratio=math.nan)
    above = 0
    for a, b in itertools.combinations(probes, 2):
        if a.lm == b.lm or a.seed != b.seed:
            continue
        if abs(a.eps_heldout - b.eps_heldout) > cfg.same_eps_rtol * max(a.eps_heldout, b.eps_heldout):
            continue
        pairs += 1
        ea, eb = a.loss - a.tau, b.loss - b.tau
        ratio = max(ea, eb) / min(ea, eb)
        above += any(r.loss - r.gap > min(r.bound, r.r9) + cfg.violation_tol for r in (a, b))
        if not ratio <= best["ratio"]:  # NaN at first
            best = dict(ratio=ratio, a=f"{a.lm} step {a.step}", b=f"{b.lm} step {b.step}", eps_a=a.eps_heldout,
                        eps_b=b.eps_heldout, excess_a=ea, excess_b=eb)  # fmt: skip
    return dict(n_pairs=pairs, best=best, above_bound=above, rtol=cfg.same_eps_rtol, factor=cfg.same_eps_factor)


def summarize_rows(cfg, rows: list) -> dict:
    """Every number the claims, the figure and the report read."""
    lms = values(rows, "lm")
    curves = {}
    for lm in lms:
        sel = select(rows, kind="probe", feature="p_f", suffix="none", lm=lm)
        steps = sorted(values(sel, "step"))
        curves[lm] = dict(
            step=steps,
            eps_heldout=[_mean(select(sel, step=s), "eps_heldout") for s in steps],
            # independent seeds: the s.e. of their mean is √(Σ s.e.²)/n
            eps_se=[
                float(np.sqrt(np.sum(np.square([r.eps_se for r in select(sel, step=s)]))) / len(select(sel, step=s)))
                for s in steps
            ],
            eps_train=[_mean(select(sel, step=s), "eps_train") for s in steps],
            eps_ends=[_mean(select(sel, step=s), "eps") for s in steps],
            excess=[_mean(select(sel, step=s), "loss") - _mean(select(sel, step=s), "tau") for s in steps],
        )
    last = {lm: max(curves[lm]["step"]) for lm in lms if curves[lm]["step"]}
    prompt_gain = {
        lm: {s: _mean(select(rows, kind="probe", feature="p_f", suffix=s, lm=lm, step=last[lm]), "loss")
             for s in ("none", "prompt", "inert")}
        | dict(eps=_mean(select(rows, kind="probe", feature="p_f", suffix="none", lm=lm, step=last[lm]),
                         "eps_heldout"))
        for lm in lms if lm.startswith("transformer") and lm in last
    }  # fmt: skip
    table = {
        lm: {f"{feat}/{s}": _mean(select(rows, feature=feat, suffix=s, lm=lm, step=last[lm]), "accuracy")
             for feat in FEATURES for s in ("none", "prompt")}
        for lm in last
    }  # fmt: skip
    return dict(
        n_rows=len(rows),
        B=cfg.B,
        lms=lms,
        curves=curves,
        bounds=_bounds(cfg, rows),
        prompt_gain=prompt_gain,
        same_eps=_same_eps(cfg, rows),
        decide_below=cfg.decide_below,
        min_pairs=cfg.min_pairs,
        table=table,
        uncertified=sum(1 for r in select(rows, kind="probe") if r.feature != "f" and not r.gap <= 1e-6),
    )
