"""Experiment `tightness` (a package: its experiment, its rows and its figure in three modules)."""

from ._experiment import EXPERIMENT, Config, Tightness
from ._rows import Row

__all__ = ["EXPERIMENT", "Config", "Row", "Tightness"]
