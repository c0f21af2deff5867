"""Log-log slopes with a bootstrap interval over seeds."""

from __future__ import annotations

import math

import numpy as np


def loglog_slope(x, y, groups, rng: np.random.Generator, n_boot: int = 1000, level: float = 0.95) -> dict:
    """Least-squares slope of log y on log x, and a bootstrap interval over groups.

    Points with y <= 0 or x <= 0 cannot be placed on log axes; they are left
    out and counted (`dropped`), never hidden. The bootstrap resamples whole
    groups (seeds) with replacement, so the interval reflects seed-to-seed
    variation; with a single group the interval collapses to the estimate.

    Returns:
      dict(slope, lo, hi, n, dropped, groups).
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
    """Whether a `loglog_slope` result agrees with `expected`: its bootstrap
    interval, widened by `margin`, contains it (or, with no interval, the
    estimate is within `margin`)."""
    if math.isnan(fit["lo"]):
        return abs(fit["slope"] - expected) < margin
    return fit["lo"] - margin <= expected <= fit["hi"] + margin
