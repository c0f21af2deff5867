"""The experiment registry: name -> Experiment (config profiles, run, plot, claims)."""

from ._common import Experiment
from .sqrt_eps import EXPERIMENT as _SQRT_EPS

REGISTRY: dict[str, Experiment] = {e.name: e for e in (_SQRT_EPS,)}

__all__ = ["REGISTRY", "Experiment"]
