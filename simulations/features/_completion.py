"""Feature kinds of the named-word world's K-class tasks, their box probe, and the zero-shot rule.

Its Table 1 compares these feature kinds with and without a prompt
(arXiv:2010.03648, §3, sentence completion reformulation); the tasks
themselves (`ClassTask`) are in `simulations.worlds`.
"""

from __future__ import annotations

import numpy as np

import theory

from ..probes import MultiProbeFit, fit_multiclass_probe, multiclass_accuracy
from ..worlds import ClassTask, Lexicon

#: Feature kinds: the LM's f(s) (softmax LMs only), Φp_f(s), p_f(s) on all words, p_f(s) on the task's
#: class words, and the zero-shot rule (no probe: class scores = log of each class's word probability).
CLASS_FEATURES = ("f", "phi_p_f", "p_f", "p_f_class", "zero_shot")


def class_feature_values(
    lex: Lexicon, q: np.ndarray, F: np.ndarray | None, task: ClassTask, feature: str
) -> np.ndarray | None:
    """The features of one LM (Q, and F for a softmax LM with the world's Φ) for one task; None if absent."""
    if feature == "f":
        return F
    if feature == "phi_p_f":
        return q @ lex.world.Phi.T
    if feature == "p_f":
        return q
    if feature == "p_f_class":
        return q[:, np.concatenate(task.class_words)]
    raise ValueError(f"unknown feature {feature!r} (known: {', '.join(CLASS_FEATURES)})")


def feature_words(lex: Lexicon, task: ClassTask, feature: str) -> np.ndarray:
    """The words (columns of Q) that a next-word feature kind reads: all of them for p_f, the class words for
    p_f_class, in the order of `class_feature_values`."""
    if feature == "p_f":
        return np.arange(lex.world.p_star.shape[1])
    if feature == "p_f_class":
        return np.concatenate(task.class_words)
    raise ValueError(f"feature {feature!r} is not read from next-word probabilities (p_f, p_f_class)")


def zero_shot(q: np.ndarray, task: ClassTask) -> tuple[float, float]:
    """(loss, accuracy) of predicting softmax_k(log Σ_{w ∈ class k} q(w|s)): no probe, no training."""
    mass = np.stack([q[:, idx].sum(axis=1) for idx in task.class_words], axis=1)
    scores = np.log(np.maximum(mass, 1e-300))
    live = task.p_T > 0
    loss = float(task.p_T[live] @ theory.multiclass_context_loss(scores[live], task.eta[live]))
    return loss, multiclass_accuracy(scores[live], task.p_T[live], task.eta[live])


def fit_class_probe(values: np.ndarray, task: ClassTask, B: float) -> MultiProbeFit:
    """The box-B K-class probe on one feature kind."""
    return fit_multiclass_probe(values, task.p_T, task.eta, box=B)
