"""The summary of `completion`, from its stored rows: τ against B and B_δ, zero-shot, the bounds' rows, Table 1."""

from __future__ import annotations

import math

import numpy as np

from ...probes import MULTI_GAP_TOL
from ..kit import select, values

#: the prompt lowers τ by at least this (nats) to count; it "hurts" where it raises τ by more than this
PROMPT_MARGIN = 0.01
BOUNDED = ("p_f", "p_f_class")  # the theorem's classes: K-class box probes on next-word probabilities
#: the tasks the prompt is meant to help (it makes topic less natural, by design of the world)
SENTIMENT_TASKS = ("sentiment", "fine_sentiment")
#: (τ, B) trade-off: B_δ is the smallest B of the sweep whose τ is within TAU_DELTA nats of τ at the largest B
TAU_DELTA = 0.02


def hurts(gains: list[float]) -> bool:
    """The prompt raises τ at the sweep's largest B by more than PROMPT_MARGIN."""
    return gains[-1] < -PROMPT_MARGIN


def B_delta(Bs: tuple[float, ...], taus: list[float]) -> dict:
    """B_δ of one τ(B) curve: the smallest B with τ(B) ≤ τ(B_max) + δ, the large-B value τ(B_max) it is measured
    against, and whether that value has settled (its last step of the sweep moved τ by at most δ; if not, B_δ
    is not reached within the sweep and only a lower end of it is known)."""
    limit = taus[-1]
    settled = len(taus) > 1 and abs(taus[-2] - taus[-1]) <= TAU_DELTA
    return dict(B=min(B for B, t in zip(Bs, taus, strict=True) if t <= limit + TAU_DELTA), limit=limit,
                settled=settled)  # fmt: skip


def summarize_rows(cfg, rows: list) -> dict:
    """Every number the claims, the figure and the report read."""
    taus = select(rows, kind="tau", feature="p_f")
    Bs = tuple(sorted(cfg.B_sweep))
    tau_by_B = {  # mean τ over seeds at each B of the sweep
        f"{t}/{'prompt' if p else 'none'}": [
            float(np.mean([r.loss for r in select(taus, task=t, prompted=p, B=B)])) for B in Bs
        ]
        for t in values(taus, "task")
        for p in (False, True)
    }
    prompt_gain = {
        t: [none - prompt for none, prompt in zip(tau_by_B[f"{t}/none"], tau_by_B[f"{t}/prompt"], strict=True)]
        for t in values(taus, "task")
    }
    B_deltas = {col: B_delta(Bs, tau) for col, tau in tau_by_B.items()}
    # Table 1's P* rows for the bounded classes at B_δ (of p_f's τ curve, where it has settled) and at the sweep's
    # largest B, beside B
    large_B = {
        feat: {
            col: {
                at: [B, *(float(np.mean([getattr(r, k) for r in c])) for k in ("accuracy", "loss"))]
                for at, B in (("B_delta", B_deltas[col]["B"]), ("B_max", Bs[-1]))
                if at == "B_max" or B_deltas[col]["settled"]
                if (c := select(rows, kind="tau", feature=feat, task=col.split("/")[0],
                                prompted=col.endswith("/prompt"), B=B))
            }
            for col in tau_by_B
        }
        for feat in BOUNDED
    }  # fmt: skip
    probes = select(rows, kind="probe")
    zs = select(probes, feature="zero_shot", family="p_star")
    zero_shot_acc = {
        f"{t}/{'prompt' if p else 'none'}": float(np.mean([r.accuracy for r in select(zs, task=t, prompted=p)]))
        for t in values(zs, "task")
        for p in (False, True)
    }
    # at ε = 0 the bound is τ itself
    fixed = [r for r in select(rows, kind="fixed") if r.feature in BOUNDED and r.eps > 0]
    refit = [r for r in probes if r.feature in BOUNDED and r.eps > 0]
    bounded = refit + fixed
    # a refitted probe never loses more than H(η̄), the τ probe kept fixed never more than its cap: only a bound
    # below that can be violated
    informative = [r for r in refit if min(r.bound, r.r11_bound) < r.trivial] + [
        r for r in fixed if min(r.bound, r.r11_bound) < r.cap
    ]
    violations = sum(1 for r in bounded if r.loss - r.gap > r.bound + cfg.violation_tol)
    r11_violations = sum(1 for r in bounded if r.loss - r.gap > r.r11_bound + cfg.violation_tol)
    uncertified = sum(1 for r in bounded if not r.gap <= MULTI_GAP_TOL)
    last = max((r.step for r in probes if r.family == "trained"), default=0)
    table = {}
    for family, step in (("p_star", 0), ("trained", last)):
        sel = [r for r in probes if r.family == family and r.step == step]
        table[family] = {
            feat: {f"{t}/{'prompt' if p else 'none'}": [float(np.mean([r.accuracy for r in c])),
                                                         float(np.mean([r.loss for r in c]))]
                   for t in cfg.tasks for p in (False, True)
                   if (c := [r for r in sel if r.feature == feat and r.task == t and r.prompted == p])}
            for feat in cfg.features
        }  # fmt: skip
    trained_eps = float(np.mean([r.eps for r in probes if r.family == "trained" and r.step == last] or [math.nan]))
    return dict(
        n_rows=len(rows),
        B=cfg.B,
        B_sweep=list(Bs),
        prompt_gain=prompt_gain,
        zero_shot_accuracy=zero_shot_acc,
        tau_by_B=tau_by_B,
        B_delta=B_deltas,
        n_bounded=len(bounded),
        n_informative=len(informative),
        violations=violations,
        r11_violations=r11_violations,
        uncertified=uncertified,
        n_fixed=len(fixed),
        closest={
            name: [
                max(
                    ((r.loss - r.tau) / (getattr(r, b) - r.tau) for r in sel if getattr(r, b) > r.tau), default=math.nan
                )
                for b in ("bound", "r11_bound")
            ]
            for name, sel in (
                ("refitted", [r for r in informative if r.kind == "probe"]),
                ("fixed", [r for r in informative if r.kind == "fixed"]),
            )
        },
        max_ratio_to_bound=max(
            ((r.loss - r.tau) / (r.bound - r.tau) for r in informative if r.bound > r.tau), default=math.nan
        ),  # fmt: skip
        max_ratio_to_r11=max(
            ((r.loss - r.tau) / (r.r11_bound - r.tau) for r in informative if r.r11_bound > r.tau),
            default=math.nan,
        ),
        table=table,
        table_large_B=large_B,
        trained_eps=trained_eps,
        trained_step=last,
    )
