"""The sequence world's readings of a next-token distribution: zero-shot on the evaluative words, soft accuracy."""

from __future__ import annotations

import numpy as np

from ..worlds import SequenceWorld


def soft_accuracy(margins: np.ndarray, eta: np.ndarray, p_T: np.ndarray) -> float:
    """E_T[η·1{m > 0} + (1 − η)·1{m < 0} + ½·1{m = 0}]: the expected accuracy of sign(m) against soft labels."""
    right = np.where(margins > 0, eta, np.where(margins < 0, 1.0 - eta, 0.5))
    return float(p_T @ right)


def weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    """The w-weighted median of x (the smallest x whose cumulative weight reaches ½)."""
    order = np.argsort(x, kind="stable")
    return float(x[order][np.searchsorted(np.cumsum(w[order]), 0.5)])


def zero_shot_margins(world: SequenceWorld, q: np.ndarray, p_T: np.ndarray) -> np.ndarray:
    """Calibrated zero-shot margins log(m₊/m₋) − c, with m± the next-word mass on the evaluative words of each
    valence sign and c its p_T-weighted median (no probe, no training; the paper's reading of class words,
    arXiv:2010.03648 §3). The median calibrates the rule: the words of one sign are more frequent than those of
    the other, so the raw ratio says "negative" almost everywhere; calibrated, its accuracy measures the
    information in the ratio, not its bias."""
    pos = world.words.evaluative & (world.words.valence > 0)
    neg = world.words.evaluative & (world.words.valence < 0)
    log_ratio = np.log(q[:, pos].sum(axis=1)) - np.log(q[:, neg].sum(axis=1))
    return log_ratio - weighted_median(log_ratio, p_T)
