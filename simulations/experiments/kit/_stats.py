"""Log-log slopes with a bootstrap interval over seeds."""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def loglog_slope(
    x: ArrayLike, y: ArrayLike, groups: ArrayLike, rng: np.random.Generator, n_boot: int = 1000, level: float = 0.95
) -> dict:
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
