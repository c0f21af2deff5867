"""Experiment `completion` (a package: the experiment, its rows and its figure in three modules)."""

from ._experiment import EXPERIMENT, Completion, Config
from ._rows import Row

__all__ = ["EXPERIMENT", "Config", "Row", "Completion"]
