"""Experiment `sqrt_eps` (a package: the experiment, its rows and its figure in three modules)."""

from ._experiment import EXPERIMENT, Config, SqrtEps

__all__ = ["EXPERIMENT", "Config", "SqrtEps"]
