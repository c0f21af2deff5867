"""Experiment `conditional_mean` (a package: the experiment, its rows and its figure in three modules)."""

from ._experiment import EXPERIMENT, ConditionalMean, Config
from ._rows import Row

__all__ = ["EXPERIMENT", "Config", "Row", "ConditionalMean"]
