"""Claims as data: a stable id, the statement, a three-valued verdict computed from the rows, what was measured.

A claim is PASS (the measurement agrees with the theory, with the power to
tell), FAIL (the measurement contradicts it) or INCONCLUSIVE (the run could
not decide: too few distinct points, one seed, an interval too wide, no row
where a bound could bind). An INCONCLUSIVE claim always says why, and is
never counted as a PASS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import NamedTuple

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
VERDICTS = (PASS, FAIL, INCONCLUSIVE)


class Verdict(NamedTuple):
    """A verdict and, when INCONCLUSIVE, why the run could not decide (empty otherwise)."""

    verdict: str
    reason: str = ""

    @classmethod
    def of(cls, ok: bool) -> Verdict:
        return cls(PASS if ok else FAIL)

    @classmethod
    def undecided(cls, reason: str) -> Verdict:
        return cls(INCONCLUSIVE, reason)

    @classmethod
    def combine(cls, parts: Mapping[str, Verdict]) -> Verdict:
        """One verdict for a claim checked on several parts (each ε, each family): `overall` of theirs, with the
        undecided parts' reasons, each named by its key, when the result is INCONCLUSIVE."""
        verdict = overall(v.verdict for v in parts.values())
        if verdict != INCONCLUSIVE:
            return cls(verdict)
        return cls(verdict, "; ".join(f"{k}: {v.reason}" for k, v in parts.items() if v.verdict == INCONCLUSIVE))


@dataclasses.dataclass(frozen=True)
class Claim:
    """One checked claim of an experiment.

    id: stable identifier, unique within its experiment (tests and tables
      refer to claims by id, never by their wording).
    statement: what is claimed, citing the result of docs/design.md, and the
      power it needs to be decided (distinct points, seeds).
    verdict: "PASS", "FAIL" or "INCONCLUSIVE", computed from the experiment's rows.
    measured: the numbers the verdict rests on, in one line.
    reason: why an INCONCLUSIVE claim could not be decided (empty for PASS and FAIL).
    label: the claim in a few words, for a figure's title (its id with spaces if empty).
    """

    id: str
    statement: str
    verdict: str
    measured: str
    reason: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {self.verdict!r}")
        if (self.verdict == INCONCLUSIVE) != bool(self.reason):
            raise ValueError(f"claim {self.id}: an INCONCLUSIVE verdict needs a reason, and only it has one")

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    @property
    def failed(self) -> bool:
        return self.verdict == FAIL

    @classmethod
    def check(cls, id: str, statement: str, ok: bool | Verdict, measured: str, label: str = "") -> Claim:
        """The claim with verdict PASS/FAIL for a bool, or the given `Verdict`."""
        v = ok if isinstance(ok, Verdict) else Verdict.of(bool(ok))
        return cls(id, statement, v.verdict, measured, v.reason, label)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def claims_by_id(summary: dict) -> dict[str, dict]:
    """The claims of a stored summary, keyed by id."""
    return {c["id"]: c for c in summary["claims"]}


def claims_title(what: str, claims: Iterable[Claim]) -> tuple[str, str]:
    """A figure's two-line title and its overall verdict: `what` it shows (one line, in words), then each claim's
    label and verdict."""
    claims = list(claims)
    line = "  ·  ".join(f"{c.label or c.id.replace('_', ' ')}: {c.verdict}" for c in claims)
    return f"{what}\n{line}", overall(c.verdict for c in claims)


def overall(verdicts: Iterable[str]) -> str:
    """FAIL if any claim FAILed, else INCONCLUSIVE if any was undecided, else PASS (PASS for no claims)."""
    seen = set(verdicts)
    return FAIL if FAIL in seen else INCONCLUSIVE if INCONCLUSIVE in seen else PASS
