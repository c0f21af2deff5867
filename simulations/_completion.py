"""Tasks of the named-word world read as sentence completion: labels, class words, features, zero-shot.

The labels come from the contexts' latent attributes, not from a planted
linear function of P*: whether a task is natural, and how much a prompt
helps, is measured (arXiv:2010.03648, §3, sentence completion reformulation;
its Table 1 compares these feature kinds with and without a prompt).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import expit, log_softmax

import theory

from ._lexicon import LEVELS, SENTIMENT, TOPICS, Lexicon
from ._probe import MultiProbeFit, fit_multiclass_probe, multiclass_accuracy

CLASS_TASKS = ("sentiment", "topic", "fine_sentiment")
#: Feature kinds: the LM's f(s) (softmax LMs only), Φp_f(s), p_f(s) on all words, p_f(s) on the task's
#: class words, and the zero-shot rule (no probe: class scores = log of each class's word probability).
FEATURES = ("f", "phi_p_f", "p_f", "p_f_class", "zero_shot")
#: Label sharpness: sentiment η = σ(6·sentiment); topic 0.85 on the true topic; fine sentiment ∝ exp(−2(l − level)²).
SENTIMENT_SHARPNESS = 6.0
TOPIC_MASS = 0.85
LEVEL_SHARPNESS = 2.0


@dataclasses.dataclass(frozen=True)
class ClassTask:
    """A K-class task on the 2N contexts of a `Lexicon`: η (2N, K), p_T on one copy, class words per class."""

    name: str
    prompted: bool
    eta: np.ndarray
    p_T: np.ndarray
    class_words: tuple[np.ndarray, ...]
    classes: tuple[str, ...]
    gamma: float  # γ_ratio = min p_L/p_T over the task's contexts (1/2: p_L covers both copies)


def make_class_task(lex: Lexicon, name: str, prompted: bool) -> ClassTask:
    """The task `name` read on the unprompted contexts or on their prompted copies (same labels)."""
    N = lex.num_contexts
    classes: tuple[str, ...]
    if name == "sentiment":
        pos = expit(SENTIMENT_SHARPNESS * lex.sentiment)
        eta = np.stack([1.0 - pos, pos], axis=1)
        groups = tuple(lex.index([w for w, v in SENTIMENT.items() if sign * v > 0]) for sign in (-1, 1))
        classes = ("negative", "positive")
    elif name == "topic":
        K = len(TOPICS)
        eta = np.full((N, K), (1.0 - TOPIC_MASS) / (K - 1))
        eta[np.arange(N), lex.topic] = TOPIC_MASS
        groups = tuple(lex.index(nouns) for nouns in TOPICS.values())
        classes = tuple(TOPICS)
    elif name == "fine_sentiment":
        levels = np.array(LEVELS, dtype=float)
        eta = np.exp(log_softmax(-LEVEL_SHARPNESS * (levels[None, :] - lex.level[:, None]) ** 2, axis=1))
        bins = (-np.inf, -0.85, -0.4, 0.4, 0.85, np.inf)
        groups = tuple(
            lex.index([w for w, v in SENTIMENT.items() if lo < v <= hi] if hi < np.inf else
                      [w for w, v in SENTIMENT.items() if v > lo])
            for lo, hi in zip(bins[:-1], bins[1:], strict=True)
        )  # fmt: skip
        classes = tuple(f"level {lv:+d}" for lv in LEVELS)
    else:
        raise ValueError(f"unknown task {name!r} (known: {', '.join(CLASS_TASKS)})")
    p_T = np.zeros(2 * N)
    p_T[N * prompted : N * (prompted + 1)] = 1.0 / N
    live = p_T > 0
    gamma = float(np.min(lex.world.p_L[live] / p_T[live]))
    return ClassTask(name, prompted, np.vstack([eta, eta]), p_T, groups, classes, gamma)


def feature_values(
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
    raise ValueError(f"unknown feature {feature!r} (known: {', '.join(FEATURES)})")


def zero_shot(q: np.ndarray, task: ClassTask) -> tuple[float, float]:
    """(loss, accuracy) of predicting softmax_k(log Σ_{w ∈ class k} q(w|s)): no probe, no training."""
    mass = np.stack([q[:, idx].sum(axis=1) for idx in task.class_words], axis=1)
    scores = np.log(np.maximum(mass, 1e-300))
    live = task.p_T > 0
    loss = float(task.p_T[live] @ theory.multiclass_context_loss(scores[live], task.eta[live]))
    return loss, multiclass_accuracy(scores[live], task.p_T[live], task.eta[live])


def fit(values: np.ndarray, task: ClassTask, B: float) -> MultiProbeFit:
    """The box-B K-class probe on one feature kind."""
    return fit_multiclass_probe(values, task.p_T, task.eta, box=B)
