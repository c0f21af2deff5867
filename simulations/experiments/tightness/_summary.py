"""The refitted family's summary in `tightness`: the window where it is tight and its ratios, from the rows."""

from __future__ import annotations

import itertools
import math

FAMILY_RTOL = 0.05


def family_window(B: float, kappa: float) -> float:
    """The ε below which the refitted family is tight: 2(κ/B)². Near ½ the KL of moving the group mass ½ + κ/B
    by δ is ≈ 2δ², so past this ε the tilt moves it across ½ and the refitted probe changes sign."""
    return 2.0 * (kappa / B) ** 2


#: The smallest family ε must lie this far inside the window: the refitted ratio approaches 1 from above as
#: ε → 0 and is within 5% of it only below about window/50 (measured at κ = 0.5, B = 32: 1.41 at window/1,
#: 1.12 at window/10, 1.053 at window/49).
WINDOW_MARGIN = 100.0


def check_family_window(B: float, kappas, family_eps) -> None:
    """Refuse a family whose smallest ε is not well inside some κ's window: there the claim could not hold."""
    for kappa in kappas:
        if min(family_eps) > family_window(B, kappa) / WINDOW_MARGIN:
            raise ValueError(
                f"family_eps: refit_family_tight is tested at the smallest ε, {min(family_eps):g}, but the "
                f"family with κ = {kappa:g} and B = {B:g} is tight only for ε ≲ 2(κ/B)² = "
                f"{family_window(B, kappa):.3g}, within 5% only below about a hundredth of that "
                f"({family_window(B, kappa) / WINDOW_MARGIN:.3g}): lower family_eps or raise family_kappas"
            )


def family_summary(B: float, kappa: float, refit: list, fixed: list) -> dict:
    """One κ of the refitted family: the refitted ratio excess / ρ√X at each ε (the claim reads its smallest),
    the paper's ratio, the fixed (planted) classifier's ratio, the window and where the ratio stays within
    FAMILY_RTOL of 1."""
    ratios = [r.excess / r.first_order for r in refit]
    holds = list(itertools.takewhile(lambda pair: abs(pair[1] - 1) <= FAMILY_RTOL, zip(refit, ratios, strict=True)))
    return dict(
        kappa=kappa,
        B=B,
        window=family_window(B, kappa),
        eps=refit[0].eps,
        r9_ratio=ratios[0],
        paper_ratio=refit[0].ratio,
        ratios=dict(eps=[r.eps for r in refit], refit=ratios, paper=[r.ratio for r in refit],
                    fixed=[r.excess / r.first_order for r in fixed]),
        holds_up_to=holds[-1][0].eps if holds else math.nan,
    )  # fmt: skip
