"""The summary of `sequence`, from its stored rows: training curves, the bounds' numbers, the prompt, same-ε pairs."""

from __future__ import annotations

import collections
import itertools
import math
from typing import Any

import numpy as np
import scipy.stats

from ..kit import (
    column,
    form_checks,
    ledger_steps,
    prompt_against_controls,
    select,
    suffix_names,
    values,
)

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
#: Same-ε pairs: the points of ε (log-spaced over the range every curve of the pair covers) at which two
#: architectures' curves are compared.
MATCH_POINTS = 8
#: The test level of "same ε, different downstream" (shared by the pairs of architectures).
SAME_EPS_ALPHA = 0.05
#: The concept is readable at a checkpoint when its refitted p_f probe reads at least this share of what the box
#: probe reads on P*: (H(η̄) − loss)/(H(η̄) − τ) ≥ READABLE_SHARE.
READABLE_SHARE = 0.5
#: The trained models' rate is decided over a range of ε on the ends of at least this factor, its slope against
#: [0.5 − RATE_MARGIN, 1 + RATE_MARGIN].
RATE_SPAN = 10.0
RATE_MARGIN = 0.1


def _mode(rows: list, field: str) -> int:
    """The most frequent value of an integer field (the smallest of the most frequent; 0 for no rows)."""
    counts = collections.Counter(getattr(r, field) for r in rows)
    return min((v for v, n in counts.items() if n == max(counts.values())), default=0)


def _mean(rows: list, field: str) -> float:
    return float(np.mean([getattr(r, field) for r in rows])) if rows else math.nan


def _curves(rows: list, decide_below: float) -> dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """{model: {seed: (log held-out ε, log excess)}} of the refitted p_f probe without a suffix, each model's
    checkpoints below `decide_below` with a positive excess (at least 2), sorted by ε; the exact readers as the
    model "reader" (every window)."""
    probes = [r for r in select(rows, kind="probe", feature="p_f", suffix="none") if r.eps_heldout < decide_below]
    probes += select(rows, kind="reader")
    curves: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {}
    for lm in values(probes, "lm"):
        for seed in values(select(probes, lm=lm), "seed"):
            pts = sorted((math.log(r.eps_heldout), math.log(r.loss - r.tau)) for r in select(probes, lm=lm, seed=seed)
                         if r.loss - r.tau > 0 and r.eps_heldout > 0)  # fmt: skip
            if len(pts) >= 2:
                curves.setdefault(lm, {})[seed] = (np.array([x for x, _ in pts]), np.array([y for _, y in pts]))
    return curves


def paired_difference(curves: dict, a: str, b: str, factor: float, level: float) -> dict:
    """Models `a` and `b` at matched held-out ε, seed by seed (see `same_eps`): D, its paired t interval at `level`
    (two-sided), and the verdict of "they differ downstream by `factor` or more, beyond the spread between
    seeds"."""
    shared = sorted(set(curves.get(a, {})) & set(curves.get(b, {})))
    # each seed (a world) compared on the ε range both of its curves cover; seeds whose curves do not meet are left
    # out (and counted)
    windows = {s: (max(curves[a][s][0].min(), curves[b][s][0].min()), min(curves[a][s][0].max(), curves[b][s][0].max()))
               for s in shared}  # fmt: skip
    seeds = [s for s in shared if windows[s][0] <= windows[s][1]]
    out: dict[str, Any] = dict(a=a, b=b, seeds=len(seeds), apart=len(shared) - len(seeds))
    if len(seeds) < 3:
        why = (f"fewer than 3 seeds in which both have 2 checkpoints below decide_below at a common ε ({len(shared)} "
               f"with both, {len(shared) - len(seeds)} of them apart in ε)")  # fmt: skip
        return out | dict(verdict="INCONCLUSIVE", reason=why)
    grids = {s: np.linspace(*windows[s], MATCH_POINTS) for s in seeds}
    la = np.array([np.interp(grids[s], *curves[a][s]).mean() for s in seeds])
    lb = np.array([np.interp(grids[s], *curves[b][s]).mean() for s in seeds])
    lo = min(windows[s][0] for s in seeds)
    hi = max(windows[s][1] for s in seeds)
    d = la - lb
    n, D = d.size, float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n))
    half = float(scipy.stats.t.ppf(1 - level / 2, n - 1)) * se
    ci = [D - half, D + half]
    p = float(2 * scipy.stats.t.sf(abs(D) / se, n - 1)) if se > 0 else (0.0 if D else 1.0)
    if abs(D) >= math.log(factor) and (ci[0] > 0 or ci[1] < 0):
        verdict, reason = "PASS", ""
    elif -math.log(factor) < ci[0] and ci[1] < math.log(factor):
        verdict, reason = "FAIL", ""
    else:
        verdict = "INCONCLUSIVE"
        reason = (f"|D| = {abs(D):.3f} (ratio {math.exp(abs(D)):.2f}), {100 * (1 - level):.3g}% interval "
                  f"[{ci[0]:.3f}, {ci[1]:.3f}] against 0 and ±log {factor:g} over {n} seeds")  # fmt: skip
    # p is the paired t test's, unadjusted (the interval is at the Bonferroni level); eps_range spans the seeds'
    # windows (each seed is compared on its own)
    return out | dict(
        eps_range=[math.exp(lo), math.exp(hi)], D=D, ratio=math.exp(D), p=p, level=level, ci=ci,
        seed_spread=float(d.std(ddof=1)), levels_a=la.tolist(), levels_b=lb.tolist(), verdict=verdict, reason=reason,
    )  # fmt: skip


def same_eps(rows: list, decide_below: float, factor: float, alpha: float) -> dict:
    """Same ε, different downstream, decided against seed noise: for every pair of architectures, and for every
    architecture against the exact readers of the world, the refitted p_f probe's excess at matched held-out ε,
    seed by seed (`paired_difference`).

    A seed is a world (its own HMM, documents and initialisations), and every model of a pair is trained (or, a
    reader, computed) in it, so the comparison is paired. Each (model, seed) is a curve of log excess against
    log held-out ε over its checkpoints below `decide_below` (positive excesses only; the readers: every
    window); in each seed, on `MATCH_POINTS` log-spaced ε inside the range both curves cover, a curve's level is
    its mean interpolated log excess, and d_s = level_a − level_b. D = mean d_s, with the paired t
    interval D ± t(1 − α/2m, n − 1)·sd/√n over the n seeds (m comparisons of the claim: a Bonferroni share of α
    each). A pair differs (PASS) when its interval excludes 0 and |D| ≥ log(factor): the difference beats the
    spread of d between seeds (initialisations and worlds); it is the same to within the factor (FAIL) when its
    interval lies inside ±log(factor); otherwise, or with fewer than 3 seeds, undecided.
    """
    curves = _curves(rows, decide_below)
    archs = sorted(a for a in curves if a != "reader")
    pairs = list(itertools.combinations(archs, 2))
    level = alpha / max(1, len(pairs))
    by_pair = {f"{a} vs {b}": paired_difference(curves, a, b, factor, level) for a, b in pairs}
    level_r = alpha / max(1, len(archs))
    by_reader = {f"{a} vs the exact readers": paired_difference(curves, a, "reader", factor, level_r) for a in archs}
    return dict(pairs=by_pair, readers=by_reader, factor=factor, alpha=alpha, decide_below=decide_below)


def readable_onset(rows: list, share: float) -> dict:
    """Per model, the largest held-out ε (mean over seeds, by checkpoint) at which its refitted p_f probe reads at
    least `share` of what the box probe reads on P* at the ends, (H(η̄) − loss)/(H(η̄) − τ) ≥ share; NaN when no
    checkpoint does."""
    out = {}
    probes = select(rows, kind="probe", feature="p_f", suffix="none")
    for lm in values(probes, "lm"):
        sel = select(probes, lm=lm)
        steps = sorted(values(sel, "step"))
        at = [select(sel, step=s) for s in steps]
        reads = [(_mean(a, "eps_heldout"), _mean(a, "trivial") - _mean(a, "loss"),
                  _mean(a, "trivial") - _mean(a, "tau")) for a in at]  # fmt: skip
        ok = [e for e, got, room in reads if room > 0 and got >= share * room]
        out[lm] = max(ok, default=math.nan)
    return out


def trained_rate(rows: list, decide_below: float, share: float) -> dict:
    """The refitted p_f excess against ε on the ends (no suffix) of the trained checkpoints in the readable regime
    (held-out ε below `decide_below`, the probe reading at least `share` of what it reads on P*): the log-log
    slope within each model's curve (log ε and log excess centred per model and seed, so that models apart in ε
    do not make a slope), one per seed pooled over its models, and their mean with the t interval over seeds
    (95%, n − 1 degrees of freedom). `span` is the largest factor of ε one curve covers."""
    sel = [r for r in select(rows, kind="probe", feature="p_f", suffix="none")
           if r.eps_heldout < decide_below and r.trivial - r.tau > 0 and r.loss > r.tau and r.eps > 0
           and r.trivial - r.loss >= share * (r.trivial - r.tau)]  # fmt: skip
    per_seed, span = {}, math.nan
    for seed in values(sel, "seed"):
        xs, ys = [], []
        for lm in values(select(sel, seed=seed), "lm"):
            curve = select(sel, seed=seed, lm=lm)
            if len(curve) < 2:
                continue
            x, y = np.log(column(curve, "eps")), np.log(column(curve, "loss") - column(curve, "tau"))
            xs.append(x - x.mean())
            ys.append(y - y.mean())
            span = max(span, float(np.exp(np.ptp(x)))) if math.isfinite(span) else float(np.exp(np.ptp(x)))
        if xs and (sxx := float(np.sum(np.concatenate(xs) ** 2))) > 0:
            per_seed[seed] = float(np.sum(np.concatenate(xs) * np.concatenate(ys)) / sxx)
    slopes = np.array(list(per_seed.values()))
    slope, lo, hi = (float(slopes.mean()) if slopes.size else math.nan), math.nan, math.nan
    if slopes.size >= 2:
        half = float(scipy.stats.t.ppf(0.975, slopes.size - 1) * slopes.std(ddof=1) / math.sqrt(slopes.size))
        lo, hi = slope - half, slope + half
    eps = column(sel, "eps")
    return dict(slope=slope, lo=lo, hi=hi, n=len(sel), groups=len(per_seed), distinct=int(np.unique(eps).size),
                per_seed={str(k): v for k, v in per_seed.items()}, span=span,
                eps_min=float(eps.min()) if eps.size else math.nan, eps_max=float(eps.max()) if eps.size else math.nan,
                models=sorted(values(sel, "lm")))  # fmt: skip


def ledger(rows: list, decide_below: float) -> dict:
    """The proof ledger of every checkpoint (no suffix; mean over seeds), per model and step: the (R2) chain from the
    refitted probe to the prefix form's ε-term, and the (R9) chain; and, over the trained checkpoints (held-out ε
    below `decide_below`), each step's mean log ratio (`ledger_steps`): the costliest step is the largest."""
    fixed = select(rows, kind="fixed", feature="p_f", suffix="none")
    probes = select(rows, kind="probe", feature="p_f", suffix="none")
    chains: dict[str, dict[str, dict]] = {}
    for lm in values(fixed, "lm"):
        chains[lm] = {}
        for step in sorted(values(select(fixed, lm=lm), "step")):
            f, p_ = select(fixed, lm=lm, step=step), select(probes, lm=lm, step=step)
            chains[lm][str(step)] = dict(
                refitted=_mean(p_, "loss") - _mean(p_, "tau"), fixed=_mean(f, "loss") - _mean(f, "tau"),
                lipschitz=_mean(f, "lipschitz"), jensen=_mean(f, "jensen"), holder=_mean(f, "holder"),
                pinsker=_mean(f, "pinsker"), transfer=_mean(f, "bound_prefixes") - _mean(f, "tau"),
                taylor=_mean(f, "taylor"), cauchy_schwarz=_mean(f, "cauchy_schwarz"),
                r9_pinsker=_mean(f, "r9") - _mean(f, "tau"), eps=_mean(f, "eps_heldout"),
            )  # fmt: skip
    trained = [c for by_step in chains.values() for c in by_step.values() if c["eps"] < decide_below]
    return dict(chains=chains, **ledger_steps(trained))


def _prompt(rows: list, lms: list[str], decide_below: float) -> dict:
    """Per transformer, its last checkpoints: the refitted p_f probe's loss after each suffix (mean over seeds), its
    held-out ε, and the prompt against its controls, seed by seed (`prompt_against_controls`)."""
    out = {}
    for lm in lms:
        if not lm.startswith("transformer"):
            continue
        sel = select(rows, kind="probe", feature="p_f", lm=lm)
        last = max(values(sel, "step"), default=None)
        if last is None:
            continue
        at = select(sel, step=last)
        loss = {s: _mean(select(at, suffix=s), "loss") for s in suffix_names(r.suffix for r in at)}
        if "none" not in loss or "prompt" not in loss:
            continue
        by_seed = {seed: {r.suffix: r.loss for r in select(at, seed=seed)} for seed in values(at, "seed")}
        out[lm] = dict(loss=loss, eps=_mean(select(at, suffix="none"), "eps_heldout"), step=last,
                       trained=_mean(select(at, suffix="none"), "eps_heldout") < decide_below,
                       vs=prompt_against_controls(by_seed, PROMPT_MARGIN))  # fmt: skip
    return out


def summarize_rows(cfg, rows: list) -> dict:
    """Every number the claims, the figure and the report read."""
    lms = values([r for r in rows if r.kind != "reader"], "lm")
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
            # the exact reader nearest the model (by ε, by the profile over positions), the most frequent over seeds
            near_eps=[_mode(select(sel, step=s), "near_eps") for s in steps],
            near_profile=[_mode(select(sel, step=s), "near_profile") for s in steps],
        )
    last = {lm: max(curves[lm]["step"]) for lm in lms if curves[lm]["step"]}
    table = {
        lm: {f"{feat}/{s}": _mean(select(rows, feature=feat, suffix=s, lm=lm, step=last[lm]), "accuracy")
             for feat in FEATURES for s in ("none", "prompt")}
        for lm in last
    }  # fmt: skip
    theorem = [r for r in select(rows, kind=("probe", "fixed"), feature=("p_f", "phi_p_f", "f")) if r.eps > 0]
    return dict(
        n_rows=len(rows),
        B=cfg.B,
        lms=lms,
        curves=curves,
        bounds=form_checks(theorem, BOUNDS, cfg.violation_tol, refitted="probe"),
        prompt=_prompt(rows, lms, cfg.decide_below),
        same_eps=same_eps(rows, cfg.decide_below, cfg.same_eps_factor, SAME_EPS_ALPHA),
        onset=readable_onset(rows, READABLE_SHARE),
        rate=trained_rate(rows, cfg.decide_below, READABLE_SHARE),
        ledger=ledger(rows, cfg.decide_below),
        readers={
            str(k): _mean(select(rows, kind="reader", step=k), "eps_heldout")
            for k in sorted(values(select(rows, kind="reader"), "step"))
        },
        decide_below=cfg.decide_below,
        table=table,
        uncertified=sum(1 for r in select(rows, kind="probe") if r.feature != "f" and not r.gap <= 1e-6),
    )
