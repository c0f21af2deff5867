"""The experiments and their registry: name -> module, imported on first use.

The floor above the kit (`simulations.experiments.kit`) and below
`simulations.runs`: one module (or a small package, for a large figure) per
experiment, each importing the kit and the floors below it, never another
experiment. Adding an experiment is one new module in this folder (a subclass
of `Experiment` bound to the module-level name `EXPERIMENT`) and one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

from .kit import PROFILES, Claim, Experiment, RunConfig, claims_by_id

#: name -> module (relative to this package) defining `EXPERIMENT`.
REGISTRY: dict[str, str] = {
    "sqrt_eps": ".sqrt_eps",
    "tightness": ".tightness",
    "transferability": ".transferability",
    "random_errors": ".random_errors",
    "conditional_mean": ".conditional_mean",
    "quad": ".quad",
    "log_partition": ".log_partition",
    "completion": ".completion",
}


def experiment_names() -> list[str]:
    """The registered experiments, in registry order."""
    return list(REGISTRY)


def get_experiment(name: str) -> Experiment[Any]:
    """The registered experiment `name` (its module is imported here, on first use)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown experiment {name!r} (known: {', '.join(REGISTRY)})")
    return importlib.import_module(REGISTRY[name], __name__).EXPERIMENT


__all__ = [
    "PROFILES",
    "REGISTRY",
    "Claim",
    "Experiment",
    "RunConfig",
    "claims_by_id",
    "experiment_names",
    "get_experiment",
]
