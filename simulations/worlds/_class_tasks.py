"""Tasks of the named-word world read as sentence completion: labels from latent attributes, and class words.

The labels come from the contexts' latent attributes, not from a planted
linear function of P*: whether a task is natural, and how much a prompt
helps, is measured (arXiv:2010.03648, §3, sentence completion reformulation;
its Table 1 compares feature kinds with and without a prompt). The feature
kinds and the zero-shot rule are in `simulations.features`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import expit, log_softmax

from ._lexicon import LEVELS, SENTIMENT, TOPICS, Lexicon

CLASS_TASKS = ("sentiment", "topic", "fine_sentiment")
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
