"""Experiment `sequence_world` (a package: the experiment, its rows, its summary and its figure)."""

from ._experiment import EXPERIMENT, Config, SequenceWorldExperiment
from ._rows import Row

__all__ = ["EXPERIMENT", "Config", "Row", "SequenceWorldExperiment"]
