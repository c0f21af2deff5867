"""The summary of `sequence_world`, from its stored rows: τ against B per suffix, zero-shot, the readers' bounds."""

from __future__ import annotations

import math

import numpy as np

from ...probes import GAP_TOL
from ..kit import select, values

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


def summarize_rows(cfg, rows: list) -> dict:
    """Every number the claims, the figure and the report read."""
    Bs = sorted(values(select(rows, kind="tau"), "B"))
    suffixes = [s for s in ("none", "prompt", "inert") if select(rows, suffix=s)]
    tau_by_B = {s: [_mean(select(rows, kind="tau", suffix=s, B=B), "loss") for B in Bs] for s in suffixes}
    acc_by_B = {s: [_mean(select(rows, kind="tau", suffix=s, B=B), "accuracy") for B in Bs] for s in suffixes}
    B_delta = {}
    for s, taus in tau_by_B.items():
        settled = len(taus) > 1 and abs(taus[-2] - taus[-1]) <= TAU_DELTA
        B_delta[s] = dict(B=min(B for B, t in zip(Bs, taus, strict=True) if t <= taus[-1] + TAU_DELTA),
                          limit=taus[-1], settled=settled)  # fmt: skip
    at = Bs.index(cfg.B) if cfg.B in Bs else None
    gains = {s: tau_by_B["none"][at] - tau_by_B[s][at] for s in suffixes if s != "none" and at is not None}
    zero_shot = {s: _mean(select(rows, kind="zero_shot", suffix=s), "accuracy") for s in suffixes}
    readers = [r for r in select(rows, kind=("lm", "fixed")) if r.eps > 0]
    checks = {}
    for field, label in BOUNDS:
        sel = [r for r in readers if math.isfinite(getattr(r, field))]
        lower = {id(r): r.loss - (r.gap if r.kind == "lm" else 0.0) for r in sel}
        # a refitted probe never loses more than the constant predictor (H(η̄)), a fixed one never more than its cap
        # (`theory.fixed_probe_cap`): a row is informative only where its bound is below that
        informative = [r for r in sel if getattr(r, field) < (r.cap if r.kind == "fixed" else r.trivial)]
        above = [r for r in sel if r.loss > getattr(r, field) + cfg.violation_tol]
        violations = sum(1 for r in above if lower[id(r)] > getattr(r, field) + cfg.violation_tol)
        checks[field] = dict(
            label=label,
            n=len(sel),
            violations=violations,
            unresolved=len(above) - violations,  # above the bound, but not by more than the fit's certificate
            informative=len(informative),
            closest={kind: max(((r.loss - r.tau) / (getattr(r, field) - r.tau) for r in informative
                                if r.kind == kind and getattr(r, field) > r.tau), default=math.nan)
                     for kind in ("lm", "fixed")},
        )  # fmt: skip
    oracle = select(rows, kind="lm", window=max(values(select(rows, kind="lm"), "window"), default=0))
    windows = sorted(values(select(rows, kind="lm"), "window"))
    by_window = [
        dict(k=k, eps_prefixes=_mean(select(rows, kind="lm", suffix="none", window=k), "eps_prefixes"),
                     eps_se=_mean(select(rows, kind="lm", suffix="none", window=k), "eps_se"),
                     eps_ends=_mean(select(rows, kind="lm", suffix="none", window=k), "eps"),
                     eps_prompt=_mean(select(rows, kind="lm", suffix="prompt", window=k), "eps"),
                     excess=_mean(select(rows, kind="lm", suffix="none", window=k), "loss")
                     - _mean(select(rows, kind="lm", suffix="none", window=k), "tau"))
        for k in windows
    ]  # fmt: skip
    first = min(values(rows, "seed"), default=0)
    doc = select(rows, kind="document", seed=first)
    return dict(
        n_rows=len(rows),
        B=cfg.B,
        B_sweep=Bs,
        tau_by_B=tau_by_B,
        accuracy_by_B=acc_by_B,
        B_delta=B_delta,
        prompt_gain=gains,
        floor={s: _mean(select(rows, kind="tau", suffix=s), "floor") for s in suffixes},
        trivial={s: _mean(select(rows, kind="tau", suffix=s), "trivial") for s in suffixes},
        zero_shot_accuracy=zero_shot,
        checks=checks,
        uncertified=sum(1 for r in readers if r.kind == "lm" and not r.gap <= GAP_TOL),
        uncertified_tau=sum(1 for r in select(rows, kind="tau") if not r.gap <= GAP_TOL),
        max_tau_gap=max((r.gap for r in select(rows, kind="tau")), default=math.nan),
        oracle_eps=dict(
            prefixes=max((r.eps_prefixes for r in oracle if r.suffix == "none"), default=math.nan),
            ends=max((r.eps for r in oracle), default=math.nan),
        ),  # fmt: skip
        windows=by_window,
        document=doc[0].text if doc else "",
        next_words={
            s: [
                [r.text, r.loss, r.accuracy]
                for r in sorted(select(rows, kind="next", suffix=s, seed=first), key=lambda r: r.window)
            ]
            for s in suffixes
        },  # fmt: skip
    )
