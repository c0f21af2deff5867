"""Experiment `transferability` (a package: the experiment, its rows and its figure in three modules)."""

from ._experiment import EXPERIMENT, Config, Transferability
from ._rows import Row

__all__ = ["EXPERIMENT", "Config", "Row", "Transferability"]
