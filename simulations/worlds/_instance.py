"""The per-seed setting every experiment starts from: keys, world, task, γ_ratio, reference probes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

import theory

from ..core import check_range, config_hash, streams
from ._loglinear import World, WorldConfig, make_world
from ._task import Task, TaskConfig, make_task


@dataclasses.dataclass(frozen=True, eq=False)
class Instance:
    """One seed's world and task (docs/design.md, "World", "Task", "Transferability").

    Attributes:
      seed: the run seed; `keys` are its named PRNG streams (`streams`).
      world: the world (Φ, θ, p_L, P*).
      task: the planted natural task (v*, b*, η, p_T, B, τ_planted).
      gamma: γ_ratio = min p_L/p_T over the task's contexts.
      world_id: what drew the world ("seed 0, world <config hash>"; any other
        text for a world made otherwise). Every language model made for this
        instance records it (`LanguageModel.world_id`), and every call that
        pairs a model with an instance refuses a model of another world.

    Reference probes (the probe classes fitted on the ε = 0 features, the τ
    every excess is measured from) are computed on first use and cached on
    the instance; see `simulations.reference_probe`.
    """

    seed: int
    keys: Mapping[str, jax.Array]
    world: World
    task: Task
    gamma: float
    world_id: str = ""
    cache: dict[Any, Any] = dataclasses.field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        """The seed, the world's shapes and the task's key numbers, not the arrays."""
        t = self.task
        live = int(np.count_nonzero(t.p_T))
        return (f"Instance(seed={self.seed}, {self.world!r}, task: B={t.B:g}, τ_planted={t.tau_planted:.4g}, "
                f"{live} task contexts, γ={self.gamma:.3g}, world_id={self.world_id!r})")  # fmt: skip

    def with_task(self, cfg: TaskConfig) -> Instance:
        """The same world with another task drawn from the same `task` stream (fresh cache)."""
        return _with_task(self.seed, self.keys, self.world, cfg, self.world_id)


def make_instance(seed: int, world: WorldConfig, task: TaskConfig, *, keep_log: bool = True) -> Instance:
    """Split `seed` into its streams, draw the world and plant the task (keep_log: see `make_world`).

    Raises:
      ValueError: a seed outside [0, 2³¹ − 1] (the command line's range), or configs of the wrong kind.
    """
    check_range("seed", seed, 0, 2**31 - 1, integer=True)
    if not isinstance(world, WorldConfig) or not isinstance(task, TaskConfig):
        raise ValueError(f"make_instance(seed, world, task) takes a WorldConfig and a TaskConfig, got "
                         f"{type(world).__name__} and {type(task).__name__}")  # fmt: skip
    keys = streams(seed)
    world_id = f"seed {seed}, world {config_hash(world)}"
    return _with_task(seed, keys, make_world(keys["world"], world, keep_log=keep_log), task, world_id)


def _with_task(seed, keys, world: World, cfg: TaskConfig, world_id: str) -> Instance:
    task = make_task(keys["task"], world, cfg)
    gamma = theory.transferability_ratio(world.p_L, task.p_T)
    return Instance(seed, keys, world, task, gamma, world_id)
