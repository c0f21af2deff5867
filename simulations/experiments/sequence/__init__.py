"""Experiment `sequence` (a package: the experiment, its rows, its summary and its figure)."""

from ._experiment import EXPERIMENT, Config, Sequence, parse_lm
from ._rows import Row, lm_at_ends

__all__ = ["EXPERIMENT", "Config", "Row", "Sequence", "lm_at_ends", "parse_lm"]
