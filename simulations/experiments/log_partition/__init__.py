"""Experiment `log_partition` (a package: the experiment, its rows and its figure in three modules)."""

from ._experiment import EXPERIMENT, Config, LogPartition
from ._rows import Row

__all__ = ["EXPERIMENT", "Config", "Row", "LogPartition"]
