"""Word lists for the sequence world: real English (`reviews`) or anonymous words (`synthetic`).

The `reviews` list is real English: the most frequent words of the wordfreq
package (code Apache-2.0; word frequencies CC-BY-SA 4.0, by Robyn Speer and
contributors, built from Wikipedia, subtitles, news, books, web text, Twitter
and Reddit) with, for the evaluative words, their human-rated valence from
the VADER lexicon bundled with vaderSentiment (MIT; Hutto & Gilbert, ICWSM
2014: ten raters per word on a scale of −4 … 4). Both packages are read
offline from their installed files, so a sampled document reads as words.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..core import check_range

#: A word is evaluative when its VADER mean rating is at least this far from 0 (on −4 … 4).
EVALUATIVE_RATING = 1.0
#: The prompt of the `reviews` word list, as in the paper's sentiment probes (arXiv:2010.03648 §6).
REVIEW_PROMPT = ("this", "movie", "is")
#: Rated words left out of the `reviews` list so that a sampled document can be shown in a class: profanity,
#: and words of violence and death (they are frequent in web text, and VADER rates them).
UNPRINTABLE = frozenset(
    "shit fuck fucked fucking damn hell ass bitch dick crap bullshit rape suicide sexy pissed wtf lmao racist "
    "racism murder murdered kill kills killed killing killer terrorist terrorists terrorism slavery cancer death "
    "died dead die suck sucks idiot drunk bloody gun shoot assault abuse victim victims bomb prison".split()
)


class WordList(NamedTuple):
    """The vocabulary of a sequence world.

    words: (V,) the words, most frequent first.
    valence: (V,) valence in [−1, 1] (a VADER mean rating / 4 for `reviews`; 0 for words without one).
    evaluative: (V,) True for the evaluative words (|rating| ≥ 1 for `reviews`).
    log_freq: (V,) natural log of each word's relative frequency within the list (log-sum-exp 0).
    prompt: the default prompt, as words of the list.
    source: "reviews" or "synthetic".
    """

    words: tuple[str, ...]
    valence: np.ndarray
    evaluative: np.ndarray
    log_freq: np.ndarray
    prompt: tuple[str, ...]
    source: str

    def ids(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        """Token ids of the given words; ValueError naming a word that is not in the list."""
        pos = {w: i for i, w in enumerate(self.words)}
        missing = [n for n in names if n not in pos]
        if missing:
            raise ValueError(f"word {missing[0]!r} is not in the vocabulary ({self.source}, V = {len(self.words)})")
        return np.array([pos[n] for n in names], dtype=np.int64)


def synthetic_words(rng: np.random.Generator, vocab_size: int, zipf: float, sentiment_share: float) -> WordList:
    """Anonymous words w0000, w0001, … with Zipf frequencies rank^(−zipf), and a random `sentiment_share` of the
    words (never the three most frequent, which form the default prompt) evaluative, with valences drawn
    uniformly from [−1, −0.25] ∪ [0.25, 1], half of each sign."""
    check_range("vocab_size", vocab_size, 8, 10**6, integer=True)
    words = tuple(f"w{i:04d}" for i in range(vocab_size))
    n_eval = max(2, round(sentiment_share * vocab_size))
    pick = 3 + rng.permutation(vocab_size - 3)[:n_eval]
    valence = np.zeros(vocab_size)
    signs = np.where(np.arange(n_eval) % 2 == 0, 1.0, -1.0)
    valence[pick] = signs * rng.uniform(0.25, 1.0, size=n_eval)
    evaluative = valence != 0
    return WordList(words, valence, evaluative, _normalise(-zipf * np.log(np.arange(1.0, vocab_size + 1))),
                    words[:3], "synthetic")  # fmt: skip


def review_words(vocab_size: int, sentiment_share: float) -> WordList:
    """Real English: the most frequent evaluative words of VADER (a `sentiment_share` of V), the prompt's words,
    and the most frequent other words of wordfreq's English list, ordered by frequency.

    Raises:
      ValueError: vaderSentiment or wordfreq is not installed (with the command that installs them), or
      V is too small to hold the prompt and two evaluative words.
    """
    check_range("vocab_size", vocab_size, 8, 20_000, integer=True)
    return _review_words(vocab_size, round(sentiment_share * vocab_size))


@functools.lru_cache(maxsize=8)
def _review_words(vocab_size: int, n_eval: int) -> WordList:
    wordfreq, ratings = _packages()
    ranked = [w for w in wordfreq.top_n_list("en", 60_000) if re.fullmatch(r"[a-z]{2,}", w)]
    rated = [w for w in ranked if abs(ratings.get(w, 0.0)) >= EVALUATIVE_RATING and w not in UNPRINTABLE]
    chosen = set(REVIEW_PROMPT) | set(rated[: max(2, min(n_eval, vocab_size - len(REVIEW_PROMPT)))])
    for w in ranked:
        if len(chosen) >= vocab_size:
            break
        if w not in UNPRINTABLE and abs(ratings.get(w, 0.0)) < EVALUATIVE_RATING:
            chosen.add(w)
    words = tuple(w for w in ranked if w in chosen)
    freq = np.array([wordfreq.word_frequency(w, "en") for w in words])
    valence = np.clip(np.array([ratings.get(w, 0.0) for w in words]) / 4.0, -1.0, 1.0)
    evaluative = np.abs(valence) >= EVALUATIVE_RATING / 4.0
    return WordList(words, valence, evaluative, _normalise(np.log(freq)), REVIEW_PROMPT, "reviews")


def english_ratings():
    """(the wordfreq module, {word: VADER mean rating, from −4 to 4}) read from the installed packages (the lexicon
    file itself: importing vaderSentiment's analyser is not needed).

    Raises:
      ValueError: either package is missing (with the command that installs them) or the lexicon file is.
    """
    return _packages()


def _packages():
    """(the wordfreq module, {word: VADER mean rating}) read from the installed packages."""
    spec = importlib.util.find_spec("vaderSentiment")
    try:
        import wordfreq
    except ImportError:
        wordfreq = None
    if wordfreq is None or spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "the reviews word list needs the packages wordfreq and vaderSentiment: "
            "pip install 'wordfreq>=3.1' 'vaderSentiment>=3.3' (both are dependencies of natural-tasks)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "vader_lexicon.txt"
    if not path.is_file():
        raise ValueError(f"the VADER lexicon is missing from the installed vaderSentiment ({path}): reinstall it")
    ratings = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            ratings[parts[0]] = float(parts[1])
    return wordfreq, ratings


def _normalise(log_w: np.ndarray) -> np.ndarray:
    return log_w - np.logaddexp.reduce(log_w)
