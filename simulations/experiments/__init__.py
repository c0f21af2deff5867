"""The experiments and their registry: name -> module, imported on first use.

The floor above the kit (`simulations.experiments.kit`) and below
`simulations.runs`: one module (or a small package, for a large figure) per
experiment, each importing the kit and the floors below it, never another
experiment. Adding an experiment is one new module in this folder (a subclass
of `Experiment` bound to the module-level name `EXPERIMENT`) and one entry here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # imported on first use below: the registry itself loads neither JAX nor matplotlib
    from .kit import PROFILES, Claim, Experiment, RunConfig, claims_by_id


class Entry(NamedTuple):
    """One registered experiment: the module defining `EXPERIMENT`, and what `natural-tasks list` shows of it
    (its title and profiles, the experiment's own, repeated here so that listing imports no experiment)."""

    module: str
    title: str
    profiles: tuple[str, ...]


_STANDARD = ("tiny", "quick", "standard")
#: name -> its entry (module relative to this package).
REGISTRY: dict[str, Entry] = {
    "sqrt_eps": Entry(
        ".sqrt_eps",
        "excess probe loss vs ε for tilted and trained LMs, next to τ + √(2B²ε/γ) and (R9)",
        (*_STANDARD, "gpt2"),
    ),
    "tightness": Entry(
        ".tightness",
        "worst-case LMs at fixed ε, strips of many LMs at one ε, and the families where the bounds are tight",
        _STANDARD,
    ),
    "transferability": Entry(
        ".transferability",
        "same ε placed on, across or outside a task slice of mass γ: excess vs γ, γ_ratio vs γ(Δ)",
        _STANDARD,
    ),
    "random_errors": Entry(
        ".random_errors",
        "random (mean-zero) errors: refitted excess against its first-order prediction, and against N_T",
        _STANDARD,
    ),
    "conditional_mean": Entry(
        ".conditional_mean",
        "d < V: Φp_f → ΦP* while p_f stays at the bottleneck; (R5) on two tasks, fixed and learned Φ",
        _STANDARD,
    ),
    "quad": Entry(
        ".quad",
        "the Quad objective (R7): f(s) features under τ + √(2‖v‖²ε_quad/γ), and what a learned Quad Φ spans",
        _STANDARD,
    ),
    "log_partition": Entry(
        ".log_partition",
        "how close log Z_θ is to quadratic (R6), by embedding family, V and ‖θ‖; the f(s) bound on trained LMs",
        _STANDARD,
    ),
    "completion": Entry(
        ".completion",
        "sentence completion in a named-word world: prompts, K-class tasks, zero-shot, finite samples (Table 1)",
        _STANDARD,
    ),
    "sequence_world": Entry(
        ".sequence_world",
        "documents of real words from a mixture of HMMs: exact p* of every prefix, prompts, window readers",
        _STANDARD,
    ),
    "sequence": Entry(
        ".sequence",
        "transformers and a GRU trained on sampled documents: exact ε, the bounds through training, prompts",
        (*_STANDARD, "long"),
    ),
}


def experiment_names() -> list[str]:
    """The registered experiments, in registry order."""
    return list(REGISTRY)


def get_experiment(name: str) -> Experiment[Any]:
    """The registered experiment `name` (its module is imported here, on first use)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown experiment {name!r} (known: {', '.join(REGISTRY)})")
    return importlib.import_module(REGISTRY[name].module, __name__).EXPERIMENT


#: The kit's names re-exported here, imported when first asked for (PEP 562).
_KIT = ("PROFILES", "Claim", "Experiment", "RunConfig", "claims_by_id")


def __getattr__(name: str) -> Any:
    if name in _KIT:
        return getattr(importlib.import_module(".kit", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PROFILES",
    "REGISTRY",
    "Entry",
    "Claim",
    "Experiment",
    "RunConfig",
    "claims_by_id",
    "experiment_names",
    "get_experiment",
]
