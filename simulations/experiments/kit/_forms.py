"""Bound checks by form and probe: the sequence experiments' bounds, each decided where it can bind.

A bound has forms (ε on the task's contexts with γ = 1; ε over all prefixes with γ_ratio = 1/L) and is checked
for two probes: the one refitted on the LM's features (the theorem's quantity) and the τ probe kept fixed (the
left side as proved). Each (form, probe) is its own part of the verdict: FAIL on a violation (a row whose
certified lower end is above its bound), INCONCLUSIVE where no row is informative (a refitted row's bound at or
above H(η̄), the most a probe with a free bias can lose; a fixed row's at or above its cap, the most that probe
can lose on any Q), PASS otherwise. Beside the verdict: the closest approach (loss − τ)/(bound − τ) and the flip
factor, by how much the ε-term could be divided before some row is above it (1 / the closest approach).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ._claims import Verdict

#: The probes of a check: (kind of the row, its name).
PROBES = (("refitted", "refitted"), ("fixed", "τ probe kept fixed"))


def form_checks(rows: Sequence[Any], forms: Sequence[tuple[str, str]], tol: float, refitted: str) -> dict:
    """{bound field: its numbers} over `rows`, each form (field, words) for both probes.

    rows need `kind` (`refitted` for refitted rows, "fixed" for the τ probe kept fixed), `loss`, `tau`, `gap`
    (NaN when uncertified, counted as 0), `trivial`, `cap` and the bound fields. A row whose form does not apply
    has a NaN bound there and is left out.
    """
    checks = {}
    for field, label in forms:
        sel = [r for r in rows if math.isfinite(getattr(r, field))]
        above = [r for r in sel if r.loss > getattr(r, field) + tol]
        lower = {id(r): r.loss - (r.gap if r.kind == refitted and math.isfinite(r.gap) else 0.0) for r in above}
        violations = sum(1 for r in above if lower[id(r)] > getattr(r, field) + tol)
        probes = {}
        for probe, _ in PROBES:
            kind = refitted if probe == "refitted" else "fixed"
            # a refitted probe never loses more than the constant predictor (H(η̄)), a fixed one never more than its
            # cap: only a bound below that can bind
            informative = [r for r in sel if r.kind == kind and getattr(r, field) < (r.cap if kind == "fixed"
                                                                                     else r.trivial)]  # fmt: skip
            closest = max(((r.loss - r.tau) / (getattr(r, field) - r.tau) for r in informative
                           if getattr(r, field) > r.tau), default=math.nan)  # fmt: skip
            flip = math.nan if math.isnan(closest) else 1.0 / closest if closest > 0 else math.inf
            probes[probe] = dict(informative=len(informative), closest=closest, flip=flip)
        checks[field] = dict(label=label, n=len(sel), violations=violations, unresolved=len(above) - violations,
                             probes=probes)  # fmt: skip
    return checks


def closest_text(check: dict, probe: str) -> str:
    """A check's closest approach for one probe ("refitted" or "fixed"), or why there is none."""
    x = check["probes"][probe]["closest"]
    return f"{x:.3f}" if math.isfinite(x) else "— (no informative row)"


def forms_verdict(checks: dict, every_form: bool = True) -> tuple[Verdict, str]:
    """The verdict of `form_checks`'s numbers and the line of what was measured.

    FAIL on any violation. With `every_form`, every (form, probe) is a part of the verdict and one with no
    informative row makes it INCONCLUSIVE. Without it, a probe is decided on the forms where it has informative
    rows (the others are named in the line as untested) and the verdict is INCONCLUSIVE only for a probe that
    has none in any form: for LMs whose ε can never make a form bind (trained LMs and the prefix form, whose
    ε-term carries √L), that form is reported, not decided.
    """
    parts, measured = {}, []
    for probe, name in PROBES:
        informative = {c["label"]: c["probes"][probe]["informative"] for c in checks.values()}
        untested = [label for label, n in informative.items() if not n]
        if any(c["violations"] for c in checks.values()):
            parts[name] = Verdict.of(False)
        elif every_form and untested:
            parts[name] = Verdict.undecided(f"no informative row in {'; '.join(untested)}")
        elif not any(informative.values()):
            parts[name] = Verdict.undecided("no informative row in any form")
        else:
            parts[name] = Verdict.of(True)
    for c in checks.values():
        if c["unresolved"] and not c["violations"]:
            parts[c["label"]] = Verdict.undecided(f"{c['unresolved']} row(s) above a bound within their certificate")
        untested = [name for probe, name in PROBES if not c["probes"][probe]["informative"]]
        measured.append(
            f"{c['label']}: {c['violations']} violations in {c['n']} rows (informative: "
            f"{c['probes']['refitted']['informative']} refitted, {c['probes']['fixed']['informative']} fixed), "
            f"closest approach {closest_text(c, 'fixed')} fixed, {closest_text(c, 'refitted')} refitted"
            + (f" [untested: {', '.join(untested)}]" if untested else "")
        )
    return Verdict.combine(parts), "; ".join(measured)
