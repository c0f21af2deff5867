"""The experiment registry: name -> Experiment (config profiles, run, plot, claims)."""

from ._common import Experiment
from .sqrt_eps import EXPERIMENT as _SQRT_EPS
from .tightness import EXPERIMENT as _TIGHTNESS
from .transferability import EXPERIMENT as _TRANSFERABILITY

REGISTRY: dict[str, Experiment] = {e.name: e for e in (_SQRT_EPS, _TIGHTNESS, _TRANSFERABILITY)}

__all__ = ["REGISTRY", "Experiment"]
