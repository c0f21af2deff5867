"""What every experiment provides, and the shared per-seed setting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Experiment(NamedTuple):
    """A registered experiment (DESIGN.md §3: config + run + plot + claim check).

    name: registry key.  title: one line for `natural-tasks list`.
    profiles: {"quick": Config, "standard": Config}.
    work_units: cfg -> number of progress ticks one seed makes.
    run_seed: (cfg, seed, tick) -> list of result rows (dicts) for one seed.
    summarize: (cfg, rows) -> summary dict (JSON-able), verdicts included.
    plot: (rows, summary, stem) -> list of written figure paths.
    claims: summary -> list of dict(claim, verdict, measured).
    """

    name: str
    title: str
    profiles: dict[str, Any]
    work_units: Callable
    run_seed: Callable
    summarize: Callable
    plot: Callable
    claims: Callable
