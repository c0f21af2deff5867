"""Claims as data: a stable id, the statement, the verdict computed from the rows, what was measured."""

from __future__ import annotations

import dataclasses

PASS, FAIL = "PASS", "FAIL"


@dataclasses.dataclass(frozen=True)
class Claim:
    """One checked claim of an experiment.

    id: stable identifier, unique within its experiment (tests and tables
      refer to claims by id, never by their wording).
    statement: what is claimed, citing the result of docs/design.md.
    verdict: "PASS" or "FAIL", computed from the experiment's rows.
    measured: the numbers the verdict rests on, in one line.
    """

    id: str
    statement: str
    verdict: str
    measured: str

    def __post_init__(self) -> None:
        if self.verdict not in (PASS, FAIL):
            raise ValueError(f"verdict must be {PASS} or {FAIL}, got {self.verdict!r}")

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    @classmethod
    def check(cls, id: str, statement: str, ok: bool, measured: str) -> Claim:
        return cls(id, statement, PASS if ok else FAIL, measured)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def claims_by_id(summary: dict) -> dict[str, dict]:
    """The claims of a stored summary, keyed by id."""
    return {c["id"]: c for c in summary["claims"]}
