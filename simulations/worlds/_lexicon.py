"""A world whose words have names: sentiment adjectives and emoticons, topic nouns, function words, filler.

The paper's answer to "why does next-word prediction help classification"
is that tasks of interest are sentence completions: after "This movie is",
"great" or "terrible" carries the label (arXiv:2010.03648, §3, and its
experiments with prompts and class words). This world makes that concrete
and exact: each context has latent attributes (a sentiment level and a
topic) that move next-word mass through structured embeddings, and a prompt
("This movie is") is a second copy of every context whose next word is an
evaluation. Everything is built in: offline and deterministic given the seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np
from scipy.special import log_softmax

from ..core import check_range
from ._loglinear import World

#: Sentiment words and their valence in [−1, 1] (adjectives, then emoticons).
SENTIMENT = {
    "amazing": 1.0, "excellent": 1.0, "brilliant": 0.9, "wonderful": 0.9, "great": 0.8, "good": 0.6,
    "nice": 0.5, "fine": 0.2, "mediocre": -0.3, "dull": -0.5, "boring": -0.6, "poor": -0.6,
    "bad": -0.7, "horrible": -0.9, "awful": -1.0, "terrible": -1.0,
    ":D": 1.0, ":)": 0.7, ":(": -0.7, ":'(": -1.0,
}  # fmt: skip
TOPICS = {
    "sports": ("game", "team", "match", "coach", "season", "goal"),
    "politics": ("vote", "election", "senate", "policy", "minister", "campaign"),
    "science": ("experiment", "theory", "data", "lab", "physics", "research"),
    "business": ("market", "stock", "profit", "company", "trade", "investor"),
}
FUNCTION_WORDS = ("the", "a", "is", "of", "and", "to", "it", "in", "that", "this", "was", "for", "on", "with",
                  "as", "movie", "film", "story", "really", "very")  # fmt: skip
#: Sentiment levels of the fine task, −2 … 2, and the class words of each (by valence).
LEVELS = (-2, -1, 0, 1, 2)
PROMPT = "This movie is"


@dataclasses.dataclass(frozen=True)
class LexiconConfig:
    """Knobs of the named-word world.

    vocab_size: V, >= the named words (70); the rest are filler words w0070, w0071, ….
    num_contexts: N unprompted contexts (the world holds 2N: each also with the prompt).
    noise_dims: extra embedding dimensions shared by all words (context noise), >= 0.
    word_zipf: exponent of the Zipf word frequencies (a known bias row of Φ).
    sentiment, topic: how strongly a context's latent sentiment and topic move
      next-word mass without the prompt.  prompt_slot, prompt_sentiment,
      prompt_topic: the same after "This movie is" (evaluative words become
      likely and carry the sentiment; topic nouns recede).  slot: the
      unprompted evaluative-word offset (evaluations are rare mid-sentence).
    noise: std of the context noise coordinates.
    """

    vocab_size: int = 300
    num_contexts: int = 500
    noise_dims: int = 6
    word_zipf: float = 1.0
    slot: float = -1.0
    sentiment: float = 1.0
    topic: float = 2.5
    prompt_slot: float = 3.0
    prompt_sentiment: float = 4.0
    prompt_topic: float = 1.0
    noise: float = 1.0

    def __post_init__(self) -> None:
        check_range("lexicon.vocab_size", self.vocab_size, len(named_words()), 10**6, integer=True)
        check_range("lexicon.num_contexts", self.num_contexts, 10, 10**6, integer=True)
        check_range("lexicon.noise_dims", self.noise_dims, 0, 1000, integer=True)
        check_range("lexicon.word_zipf", self.word_zipf, 0.0, 5.0)
        for name in ("slot", "sentiment", "topic", "prompt_slot", "prompt_sentiment", "prompt_topic"):
            check_range(f"lexicon.{name}", getattr(self, name), -20.0, 20.0)
        check_range("lexicon.noise", self.noise, 0.0, 20.0)


def named_words() -> list[str]:
    """The named words in their fixed order: function words, sentiment words, topic nouns."""
    return [*FUNCTION_WORDS, *SENTIMENT, *(w for nouns in TOPICS.values() for w in nouns)]


@dataclasses.dataclass(frozen=True)
class Lexicon:
    """A named-word world: the `World` (2N contexts: rows < N unprompted, rows ≥ N the same contexts
    after the prompt), the word names and roles, and each context's latent attributes."""

    world: World
    words: tuple[str, ...]
    valence: np.ndarray  # (V,) sentiment valence (0 for non-sentiment words)
    topic_of_word: np.ndarray  # (V,) topic index of topic nouns, −1 otherwise
    level: np.ndarray  # (N,) sentiment level in LEVELS of each unprompted context
    sentiment: np.ndarray  # (N,) latent continuous sentiment in [−1, 1]
    topic: np.ndarray  # (N,) topic index

    @property
    def num_contexts(self) -> int:
        return self.level.shape[0]

    def index(self, names: Iterable[str]) -> np.ndarray:
        """Word indices of the given names."""
        pos = {w: i for i, w in enumerate(self.words)}
        return np.array([pos[n] for n in names], dtype=int)


def make_lexicon(rng: np.random.Generator, cfg: LexiconConfig) -> Lexicon:
    """Draw the named-word world.

    Φ's rows: an evaluative-slot axis (1 on sentiment words), a valence axis,
    one axis per topic (1 on its nouns), `noise_dims` small random rows, and the
    Zipf bias row (paired with θ = 1). A context with sentiment σ ∈ [−1, 1] and
    topic k has θ = (slot, sentiment·σ, topic·e_k, noise); its prompted copy
    has θ = (prompt_slot, prompt_sentiment·σ, prompt_topic·e_k, noise). The
    world is log-linear, so P* = softmax(θΦ + bias) exactly.
    """
    names = named_words()
    V, N, K = cfg.vocab_size, cfg.num_contexts, len(TOPICS)
    words = (*names, *(f"w{i:04d}" for i in range(len(names), V)))
    valence = np.array([SENTIMENT.get(w, 0.0) for w in words])
    topic_of_word = np.full(V, -1)
    for k, nouns in enumerate(TOPICS.values()):
        for w in nouns:
            topic_of_word[words.index(w)] = k
    evaluative = np.array([w in SENTIMENT for w in words], dtype=float)
    topic_rows = np.stack([(topic_of_word == k).astype(float) for k in range(K)])
    noise_rows = rng.normal(size=(cfg.noise_dims, V)) / np.sqrt(max(cfg.noise_dims, 1))
    rank = np.arange(1, V + 1, dtype=float)  # named words are the frequent ones, fillers the tail
    bias = -cfg.word_zipf * np.log(rank)
    Phi = np.vstack([evaluative, valence, topic_rows, noise_rows, bias])
    level = rng.integers(-2, 3, size=N)
    sentiment = np.clip(level / 2.0 + rng.normal(scale=0.15, size=N), -1.0, 1.0)
    topic = rng.integers(0, K, size=N)
    noise = rng.normal(scale=cfg.noise, size=(N, cfg.noise_dims))
    onehot = np.eye(K)[topic]

    def thetas(slot, sent, top):
        return np.hstack([np.full((N, 1), slot), (sent * sentiment)[:, None], top * onehot, noise, np.ones((N, 1))])

    theta = np.vstack([thetas(cfg.slot, cfg.sentiment, cfg.topic),
                       thetas(cfg.prompt_slot, cfg.prompt_sentiment, cfg.prompt_topic)])  # fmt: skip
    logits = theta @ Phi
    log_p = log_softmax(logits, axis=1)
    p_L = np.full(2 * N, 1.0 / (2 * N))
    world = World(Phi, theta, p_L, log_p, np.exp(log_p), Phi[-1])
    return Lexicon(world, words, valence, topic_of_word, level, sentiment, topic)
