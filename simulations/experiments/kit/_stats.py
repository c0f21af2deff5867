"""Log-log slopes with a bootstrap interval over seeds, and the three-valued verdicts of rate claims."""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._claims import FAIL, PASS, Verdict


def loglog_slope(
    x: ArrayLike, y: ArrayLike, groups: ArrayLike, rng: np.random.Generator, n_boot: int = 1000, level: float = 0.95
) -> dict:
    """Least-squares slope of log y on log x, and a bootstrap interval over groups.

    Points with y <= 0 or x <= 0 cannot be placed on log axes; they are left
    out and counted (`dropped`), never hidden. The bootstrap resamples whole
    groups (seeds) with replacement, so the interval reflects seed-to-seed
    variation; with a single group the interval collapses to the estimate.

    Returns:
      dict(slope, lo, hi, n, dropped, groups, distinct): `distinct` counts the
      distinct x values among the points kept (a slope needs two, a test of one
      needs more).
    """
    x, y, groups = np.asarray(x, float), np.asarray(y, float), np.asarray(groups)
    ok = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    lx, ly, g = np.log(x[ok]), np.log(y[ok]), groups[ok]
    out = dict(
        slope=float("nan"),
        lo=float("nan"),
        hi=float("nan"),
        n=int(ok.sum()),
        dropped=int((~ok).sum()),
    )
    uniq = np.unique(g)
    out["groups"] = int(uniq.size)
    out["distinct"] = int(np.unique(lx).size)
    if ok.sum() < 2 or np.ptp(lx) == 0:
        return out
    out["slope"] = float(np.polyfit(lx, ly, 1)[0])
    boots = []
    for _ in range(n_boot):
        pick = rng.choice(uniq, size=uniq.size, replace=True)
        idx = np.concatenate([np.flatnonzero(g == p) for p in pick])
        if np.ptp(lx[idx]) > 0:
            boots.append(np.polyfit(lx[idx], ly[idx], 1)[0])
    if boots:
        a = (1 - level) / 2
        out["lo"], out["hi"] = (float(q) for q in np.quantile(boots, [a, 1 - a]))
    return out


def slope_consistent(fit: dict, expected: float, margin: float = 0.1) -> bool:
    """Whether a `loglog_slope` result is consistent with `expected`: its bootstrap
    interval, widened by `margin`, contains it (or, with no interval, the
    estimate is within `margin`).

    Consistency is not a verdict: an interval wide enough contains every slope.
    Claims decide with `rate_verdict`, which also asks for a narrow interval.
    """
    if math.isnan(fit["lo"]):
        return abs(fit["slope"] - expected) < margin
    return fit["lo"] - margin <= expected <= fit["hi"] + margin


def slopes_by(rows: Iterable[Any], by: tuple[str, ...], x: str, y: str, seed: int, n_boot: int) -> dict:
    """`loglog_slope` of |y| on x for every group of rows with equal `by` fields, keyed "a/b/c".

    Each group's bootstrap draws from its own generator, seeded by (seed,
    the group's key), so a group's interval does not depend on which other
    groups exist. Each result also counts the rows whose y is negative (`negative`): a
    refitted probe can do better on a perturbed LM than on P*; the size of
    such an excess still has a rate, and the negatives are never hidden.
    """
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault(tuple(getattr(r, k) for k in by), []).append(r)
    out = {}
    for key, sel in groups.items():
        yy = np.array([getattr(r, y) for r in sel], dtype=float)
        xx = np.array([getattr(r, x) for r in sel], dtype=float)
        name = "/".join(f"{k:g}" if isinstance(k, float) else str(k) for k in key)
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        fit = loglog_slope(xx, np.abs(yy), [r.seed for r in sel], rng, n_boot)
        out[name] = dict(fit, negative=int(np.sum(yy < 0)))
    return out


def format_slope(fit: dict, digits: int = 2) -> str:
    """'slope 0.49 [0.48, 0.50] (n=10, dropped 0)' from a `loglog_slope` result."""
    d = digits
    return f"slope {fit['slope']:.{d}f} [{fit['lo']:.{d}f}, {fit['hi']:.{d}f}] (n={fit['n']}, dropped {fit['dropped']})"


#: A log-log slope is tested on at least this many distinct x values (two fix a line; a third tests it).
MIN_SLOPE_POINTS = 3
#: ... and on seeds enough for a bootstrap interval over them.
MIN_SLOPE_SEEDS = 2


def _power(fit: dict, min_points: int, min_groups: int) -> str:
    """Why `fit` cannot decide a claim ('' if it can): too few distinct x, too few seeds, no estimate."""
    if fit.get("distinct", 0) < min_points:
        return f"{fit.get('distinct', 0)} distinct x value(s), a slope claim needs {min_points}"
    if fit.get("groups", 0) < min_groups:
        return f"{fit.get('groups', 0)} seed(s): no interval over seeds (a rate claim needs {min_groups})"
    if not all(math.isfinite(fit.get(k, math.nan)) for k in ("slope", "lo", "hi")):
        return "no finite slope or interval"
    return ""


def rate_verdict(
    fit: dict,
    target: float,
    margin: float,
    max_width: float,
    min_points: int = MIN_SLOPE_POINTS,
    min_groups: int = MIN_SLOPE_SEEDS,
) -> Verdict:
    """The verdict of "the log-log slope is `target` ± `margin`" from a `loglog_slope` result.

    PASS: the estimate is within `margin` of `target` and the 95% interval is
    at most `max_width` wide. FAIL: the interval, widened by `margin`, excludes
    `target`. INCONCLUSIVE otherwise, with the reason: too few distinct x or
    seeds, an interval too wide to decide, or an estimate outside the margin
    whose interval does not exclude the target.
    """
    if why := _power(fit, min_points, min_groups):
        return Verdict.undecided(why)
    slope, lo, hi = fit["slope"], fit["lo"], fit["hi"]
    if lo - margin > target or hi + margin < target:
        return Verdict(FAIL)
    if hi - lo > max_width:
        return Verdict.undecided(f"interval [{lo:.3g}, {hi:.3g}] wider than {max_width:g}")
    if abs(slope - target) <= margin:
        return Verdict(PASS)
    return Verdict.undecided(f"estimate {slope:.3g} outside {target:g} ± {margin:g}, interval does not exclude it")


def threshold_verdict(
    fit: dict,
    above: float,
    min_points: int = MIN_SLOPE_POINTS,
    min_groups: int = MIN_SLOPE_SEEDS,
) -> Verdict:
    """The verdict of "the log-log slope is above `above`" from a `loglog_slope` result: PASS when the whole
    95% interval is above it, FAIL when the whole interval is at or below it, INCONCLUSIVE when it straddles
    (or the fit has too few distinct x or seeds)."""
    if why := _power(fit, min_points, min_groups):
        return Verdict.undecided(why)
    if fit["lo"] > above:
        return Verdict(PASS)
    if fit["hi"] <= above:
        return Verdict(FAIL)
    return Verdict.undecided(f"interval [{fit['lo']:.3g}, {fit['hi']:.3g}] straddles {above:g}")


def band_verdict(fit: dict, low: float, high: float, min_points: int = MIN_SLOPE_POINTS,
                 min_groups: int = MIN_SLOPE_SEEDS) -> Verdict:  # fmt: skip
    """The verdict of "the log-log slope lies in [low, high]" from a `loglog_slope` result: PASS when the whole 95%
    interval lies inside, FAIL when it lies wholly outside, INCONCLUSIVE when it crosses an end (or the fit has
    too few distinct x or seeds)."""
    if why := _power(fit, min_points, min_groups):
        return Verdict.undecided(why)
    if low <= fit["lo"] and fit["hi"] <= high:
        return Verdict(PASS)
    if fit["hi"] < low or fit["lo"] > high:
        return Verdict(FAIL)
    return Verdict.undecided(f"interval [{fit['lo']:.3g}, {fit['hi']:.3g}] crosses [{low:g}, {high:g}]")


def wilson_interval(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a proportion `share` observed on `n` independent draws."""
    if n < 1:
        return 0.0, 1.0
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def share_verdict(lo: float, hi: float, low: float, high: float) -> Verdict:
    """The verdict of "a proportion lies in [low, high]" from its interval [lo, hi]: PASS inside, FAIL outside,
    INCONCLUSIVE when the interval crosses an end."""
    if low <= lo and hi <= high:
        return Verdict(PASS)
    if hi < low or lo > high:
        return Verdict(FAIL)
    return Verdict.undecided(f"interval [{lo:.0%}, {hi:.0%}] crosses [{low:.0%}, {high:.0%}]")
