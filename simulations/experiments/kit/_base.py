"""What every experiment provides: the contract of `Experiment` and the fields every config shares."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

import numpy as np

from ...core import MAX_COUNT, check_range, check_ranges, numpy_rng, streams
from ...models import TrainConfig
from ...worlds import WorldConfig
from ._claims import Claim, Verdict
from ._stats import MIN_SLOPE_POINTS

#: The profiles every experiment defines: seconds (tests), under a minute, the figures.
PROFILES = ("tiny", "quick", "standard")
#: The world and training of every tiny profile (a few seconds per experiment).
TINY_WORLD = WorldConfig(vocab_size=30, num_contexts=60, dim=3)
TINY_LM = TrainConfig(steps=20, checkpoints=2, corpus_size=2000, batch_size=128)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Fields every experiment config shares.

    seeds: the run seeds (each one world, task and set of LMs).
    bootstrap: resamples of the seed bootstrap behind every slope interval.
    violation_tol: a measured loss above its bound by more than this is a
      violation (fits are certified to about 1e-9 in loss).
    """

    seeds: tuple[int, ...] = (0,)
    bootstrap: int = 200
    violation_tol: float = 1e-7

    def __post_init__(self) -> None:
        check_ranges("seeds", self.seeds, 0, 2**31 - 1, integer=True)
        check_distinct("seeds", self.seeds, "each seed is one world, and a repeated one would count its rows twice")
        check_range("bootstrap", self.bootstrap, 1, MAX_COUNT, integer=True)
        check_range("violation_tol", self.violation_tol, 0.0)


def check_distinct(name: str, values: Sequence[Any], why: str = "") -> None:
    """Refuse a repeated value in a list-valued field, naming the field and the value."""
    seen = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{name}: {v!r} appears twice" + (f" ({why})" if why else ""))
        seen.add(v)


def check_slope_grid(name: str, values: Sequence[float], claim: str, span: float = 10.0) -> None:
    """Refuse a grid on which the log-log slope of claim `claim` cannot be tested: repeated values, fewer than
    `MIN_SLOPE_POINTS` distinct ones, or a range max/min narrower than `span` (a slope over less cannot tell
    one rate from another)."""
    check_distinct(name, values)
    need = f"the claim {claim} fits a log-log slope over {name} and needs at least {MIN_SLOPE_POINTS} distinct values"
    if len(values) < MIN_SLOPE_POINTS:
        raise ValueError(f"{name}: {need} spanning a factor of {span:g}, got {tuple(values)}")
    if max(values) < span * min(values):
        raise ValueError(f"{name}: {need} spanning a factor of {span:g}, got {tuple(values)} "
                         f"(a factor of {max(values) / min(values):.3g})")  # fmt: skip


#: The config dataclass of one experiment (a subclass of `RunConfig`).
C = TypeVar("C", bound=RunConfig)


class _HasWorld(Protocol):
    world: WorldConfig


class Experiment(abc.ABC, Generic[C]):
    """One experiment: a config with profiles, per-seed rows, a summary, claims and a figure.

    A subclass sets the class attributes and implements the four abstract
    methods; the runner (`run_experiment`) does the rest: the results store,
    resuming, progress, the claims table. Registering it is one line in
    `simulations.experiments.REGISTRY`. The type parameter is the config
    dataclass (`class Quad(Experiment[Config])`), so that the methods of a
    subclass take its own config.

    Class attributes:
      name: registry key (also the figure's file stem).
      title: one line for `natural-tasks list`.
      Row: the frozen dataclass of one result row (its fields are the CSV columns).
      profiles: {"tiny": cfg, "quick": cfg, "standard": cfg}.
      claim_statements: {claim id: statement}; `claims` returns one `Claim`
        per id, in this order.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    Row: ClassVar[type]
    profiles: ClassVar[Mapping[str, RunConfig]]
    claim_statements: ClassVar[Mapping[str, str]]
    #: {claim id: the claim in a few words} for the figure's title (the id with spaces where missing).
    claim_labels: ClassVar[Mapping[str, str]] = {}
    #: The runner gives `run_seed` a `folder` (keyword) for files kept beside the seed's rows (checkpoints).
    stores_files: ClassVar[bool] = False

    def work_units(self, cfg: C) -> int:
        """Progress ticks one seed makes (`run_seed` calls `tick` this often)."""
        return 1

    def arrays_nv(self, cfg: C) -> int:
        """How many float64 N × V arrays one seed holds at once (P*, log P*, tilt directions, Q,
        the probe's standardised copies); the runner refuses a config whose arrays exceed the
        available memory before it allocates anything."""
        return 12

    def world_size(self, cfg: C) -> tuple[str, int, int]:
        """(config field, V, N) of the largest world one seed builds, for the memory check.

        The default reads `cfg.world`; an experiment whose config has no `world` field overrides it.
        """
        world = cast(_HasWorld, cfg).world
        return "world", world.vocab_size, world.num_contexts

    def memory_parts(self, cfg: C) -> list[tuple[str, float]]:
        """The parts of one seed's peak memory: (the config fields the part scales with, its bytes). The runner
        refuses a config whose parts add up to more than is available, before any work, naming the largest.

        The default counts `arrays_nv` float64 arrays of the largest world (`world_size`); an experiment whose
        peak scales with other sizes (a training batch, a corpus, a population of prefixes) lists them.
        """
        field, V, N = self.world_size(cfg)
        return [(f"{field}.vocab_size × {field}.num_contexts ({self.arrays_nv(cfg)} float64 arrays of N × V)",
                 self.arrays_nv(cfg) * 8.0 * V * N)]  # fmt: skip

    def report(self, summary: dict) -> str:
        """Text the command line prints after the run (a table of the results); empty by default."""
        return ""

    @abc.abstractmethod
    def run_seed(self, cfg: C, seed: int, tick: Callable[[], None]) -> list:
        """All rows (instances of `Row`) of one seed; deterministic given (cfg, seed)."""

    @abc.abstractmethod
    def summarize(self, cfg: C, rows: list) -> dict:
        """JSON-able numbers computed from the rows of every seed (slopes, counts, ratios)."""

    @abc.abstractmethod
    def claims(self, cfg: C | None, summary: dict) -> list[Claim]:
        """One `Claim` per id of `claim_statements`, each verdict computed from `summary`.

        `cfg` may be None: `plot` draws the verdicts from a stored summary, without a config.
        """

    @abc.abstractmethod
    def plot(self, rows: list, summary: dict, stem: Path) -> list[Path]:
        """Draw the figure from stored rows and summary; return the written files."""

    def all_claims(self, cfg: C | None, summary: dict) -> list[Claim]:
        """`claims`, with every declared claim that the config did not measure (a `--set` that leaves out the
        families, features or tasks it is about) reported INCONCLUSIVE with that reason, never dropped: the
        runner, the figures and the exit code read this list."""
        made = {c.id: c for c in self.claims(cfg, summary)}
        missing = Verdict.undecided("this config measures nothing it is about (its families, features or tasks "
                                    "were left out)")  # fmt: skip
        return [made.get(cid) or self.claim(cid, missing, "not measured") for cid in self.claim_statements]

    def claim(self, id: str, ok: bool | Verdict, measured: str) -> Claim:
        """The claim `id` with the verdict `ok` (PASS/FAIL for a bool, or a `Verdict`, which may be INCONCLUSIVE
        with its reason); its statement from `claim_statements`."""
        return Claim.check(id, self.claim_statements[id], ok, measured, self.claim_labels.get(id, ""))

    @staticmethod
    def stats_rng(cfg: RunConfig) -> np.random.Generator:
        """The `stats` stream of the first seed: the bootstrap's randomness."""
        return numpy_rng(streams(cfg.seeds[0])["stats"])
