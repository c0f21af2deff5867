"""A sequence world: documents of tokens from a mixture of concept HMMs with softmax emissions over known embeddings.

Each document has one latent concept (a sentiment level, for the `reviews`
words), fixed for the whole document; its tokens come from that concept's
HMM. Emissions are softmaxes over known word embeddings,
E[h, w] = softmax(θ_hᵀΦ*)_w with a frequency bias row in Φ*, so no
next-token probability is 0 and ε of any model stays finite. The exact
next-token distribution of every prefix is a linear image of the belief
state (`simulations.worlds.forward`), so P* is known for every context of a
sampled population of documents (docs/design.md §2, "The sequence world"; the field's synthetic
worlds GINC, Xie et al. ICLR 2022, and Wei, Xie & Ma, NeurIPS 2021, use such
mixtures; this one adds known embeddings and prompts).

Prompts act through the generator's own dynamics: from any content state a
document enters, at rate `prompt_rate`, a chain of states that emit the
prompt's words one after the other ("this", "movie", "is") and then an
*answer* state that emits evaluative words of the concept's valence. The
pretraining documents contain the phrase at that rate, so a model can learn
what follows it; appending the prompt to a document moves the belief into
the answer state, whose next word carries the concept (arXiv:2010.03648 §3,
sentence completion). Its controls (`simulations.worlds.suffixes`) are every other order of the same
words and random words of the prompt's length.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
from scipy.special import log_softmax, softmax

from ..core import MAX_COUNT, check_choice, check_range, numpy_rng
from ._hmm import HMM, make_hmm
from ._words import WordList, review_words, synthetic_words

LEXICONS = ("reviews", "synthetic")
#: The length of both word lists' default prompts ("this movie is"; w0000 w0001 w0002).
DEFAULT_PROMPT_LEN = 3
#: Hidden states × vocabulary above which a world is refused (its emission matrix alone would be 8 GB).
MAX_EMISSION_ENTRIES = 10**9


@dataclasses.dataclass(frozen=True)
class SequenceConfig:
    """Knobs of a sequence world (docs/design.md §2, "The sequence world").

    Words:
      lexicon: "reviews" (real English, `review_words`) or "synthetic" (w0000, …, Zipf frequencies).
      vocab_size: V.
      sentiment_share: the share of the V words that are evaluative.
      word_zipf: the Zipf exponent of synthetic word frequencies (reviews use the real ones).
    Concepts and states:
      concepts: C, the number of concepts (sentiment levels spread evenly over [−1, 1]); a document keeps
        its concept from first token to last.
      states: K content states per concept (each concept also has one state per prompt word and one answer
        state when prompt_rate > 0, so S = K + len(prompt) + 1 states per concept, H = C·S in all).
      noise_dims: embedding dimensions with random word loadings (the "topics" a state can talk about).
      emission_scale: standard deviation of each content state's loadings on the noise dimensions: larger
        makes a state's words more particular (sharper emissions).
      slot: the content states' loading on the evaluative axis (negative: evaluative words are rarer in
        running text than their frequency says).
      concept_strength: the content states' loading on the valence axis, times the concept's level: how
        strongly a document's ordinary text carries its sentiment (0: only through the answer state and
        the transitions).
    Transitions (within a concept):
      stickiness: the probability mass a content state keeps on itself, in [0, 1): 0 lets the random
        transition matrix alone decide; near 1 a document dwells in one state for long runs of tokens.
      temperature: the temperature of the random part of the transitions, softmax(G / temperature) with
        G ~ N(0, 1): small gives near-deterministic successions of states, large near-uniform ones.
    Prompts:
      prompt_rate: per token, the probability that a content state enters the prompt phrase (0: no prompt
        states at all). The pretraining text contains the phrase at about this rate per token.
      prompt_sharpness: s, the prompt states' loading on their word's own axis: each emits its word w with
        probability about e^s f_w / (e^s f_w + 1 − f_w), f_w the word's frequency share (measured at V = 200,
        s = 8: 0.98 for "this" and "is", 0.48 for the rarer "movie").
      answer_slot, answer_valence: the answer state's loadings on the evaluative and valence axes (times the
        concept's level): after the prompt, the next word is evaluative and carries the concept.
      prompt: the prompt's words; () takes the word list's (reviews: "this movie is").
    Documents:
      length: L, tokens per document.
      documents: M, held-out documents whose prefixes are the context population.
    """

    lexicon: str = "reviews"
    vocab_size: int = 500
    sentiment_share: float = 0.2
    word_zipf: float = 1.0
    concepts: int = 2
    states: int = 4
    noise_dims: int = 8
    emission_scale: float = 1.0
    slot: float = -1.0
    concept_strength: float = 1.0
    stickiness: float = 0.5
    temperature: float = 1.0
    prompt_rate: float = 0.02
    prompt_sharpness: float = 8.0
    answer_slot: float = 4.0
    answer_valence: float = 4.0
    prompt: tuple[str, ...] = ()
    length: int = 32
    documents: int = 256

    def __post_init__(self) -> None:
        check_choice("world.lexicon", self.lexicon, set(LEXICONS))
        check_range("world.vocab_size", self.vocab_size, 8, 20_000 if self.lexicon == "reviews" else 10**6,
                    integer=True)  # fmt: skip
        check_range("world.sentiment_share", self.sentiment_share, 0.0, 0.5, lo_open=True)
        check_range("world.word_zipf", self.word_zipf, 0.0, 5.0)
        check_range("world.concepts", self.concepts, 1, 1000, integer=True)
        check_range("world.states", self.states, 1, 10_000, integer=True)
        check_range("world.noise_dims", self.noise_dims, 0, 10_000, integer=True)
        check_range("world.emission_scale", self.emission_scale, 0.0, 20.0)
        for name in ("slot", "concept_strength", "prompt_sharpness", "answer_slot", "answer_valence"):
            check_range(f"world.{name}", getattr(self, name), -20.0, 20.0)
        check_range("world.stickiness", self.stickiness, 0.0, 1.0)
        if self.stickiness >= 1.0:
            raise ValueError(f"world.stickiness must be in [0, 1), got {self.stickiness!r} (1 never leaves a state)")
        check_range("world.temperature", self.temperature, 0.0, 100.0, lo_open=True)
        check_range("world.prompt_rate", self.prompt_rate, 0.0, 0.5)
        check_range("world.length", self.length, 1, 100_000, integer=True)
        check_range("world.documents", self.documents, 1, MAX_COUNT, integer=True)
        if isinstance(self.prompt, str) or not all(isinstance(w, str) for w in self.prompt):
            raise ValueError(
                f"world.prompt must be a tuple of words, e.g. ('this', 'movie', 'is'), got {self.prompt!r}"
            )
        if len(self.prompt) > 20 or len(set(self.prompt)) != len(self.prompt):
            raise ValueError(f"world.prompt must be at most 20 distinct words, got {self.prompt!r}")
        S = self.states_per_concept
        if self.concepts * S * self.vocab_size > MAX_EMISSION_ENTRIES:
            raise ValueError(
                f"sequence: C·S·V = {self.concepts}·{S}·{self.vocab_size} = {self.concepts * S * self.vocab_size:.3g} "
                f"emission entries is above {MAX_EMISSION_ENTRIES:.0e} (8 GB of float64): lower concepts, states "
                "or vocab_size"
            )

    def check_words(self) -> None:
        """Refuse a prompt word that is not in the vocabulary, naming it: the word list is built (and cached) as the
        world will build it, so a config is checked before any work (a sweep checks every point first).

        Raises:
          ValueError: a prompt word outside the vocabulary.
        """
        if not self.prompt or self.prompt_rate <= 0:
            return
        if self.lexicon == "reviews":
            try:
                review_words(self.vocab_size, self.sentiment_share).ids(list(self.prompt))
            except ValueError as err:
                raise ValueError(f"world.prompt: {err}") from None
            return
        known = {f"w{i:04d}" for i in range(self.vocab_size)}
        missing = [w for w in self.prompt if w not in known]
        if missing:
            raise ValueError(f"world.prompt: word {missing[0]!r} is not in the vocabulary (synthetic, V = "
                             f"{self.vocab_size}: w0000 … w{self.vocab_size - 1:04d})")  # fmt: skip

    @property
    def states_per_concept(self) -> int:
        """S: the content states, then (with prompts) one per prompt word and the answer state."""
        return self.states + ((len(self.prompt) or DEFAULT_PROMPT_LEN) + 1 if self.prompt_rate > 0 else 0)


@dataclasses.dataclass(frozen=True, eq=False)
class SequenceWorld:
    """A sequence world: the HMM and everything it was built from.

    hmm: the block-diagonal HMM (C concepts × S states, V tokens).
    Phi: (d*, V) Φ*, rows: evaluative, valence, one indicator per prompt word, noise_dims random rows, the
      log-frequency bias (last).
    theta: (C, S, d*) θ_h, with E[c, s] = softmax(θ_{c,s}ᵀΦ*) exactly; the last entry is 1 (the bias).
    words: the `WordList`.
    levels: (C,) each concept's sentiment level in [−1, 1].
    prompt: the prompt's token ids.
    cfg: the config it was drawn from.
    """

    hmm: HMM
    Phi: np.ndarray
    theta: np.ndarray
    words: WordList
    levels: np.ndarray
    prompt: np.ndarray
    cfg: SequenceConfig

    def text(self, tokens: np.ndarray) -> str:
        """The words of a token sequence, separated by spaces."""
        return " ".join(self.words.words[int(t)] for t in np.asarray(tokens).ravel())


def make_sequence_world(key: jax.Array, cfg: SequenceConfig) -> SequenceWorld:
    """Draw the HMM of a sequence world from `cfg` with the `world` PRNG stream `key`.

    Φ*'s rows: the evaluative indicator, the valence, one indicator row per prompt word, `noise_dims` rows
    of N(0, 1/noise_dims) word loadings, and the words' log-frequencies (paired with θ = 1). Content state k
    of concept c has θ = (slot, concept_strength·level_c, 0, emission_scale·z_k, 1), with z_k ~ N(0, I) shared
    by the concepts (so concepts differ in valence and transitions, not in topics); prompt state j has
    θ = (slot, 0, prompt_sharpness·e_j, 0, 1); the answer state θ = (answer_slot, answer_valence·level_c, 0, 0, 1).

    Raises:
      ValueError: a prompt word not in the vocabulary, or a word list that cannot be built.
    """
    if not (isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)):
        raise ValueError(f"key must be a JAX PRNG key (e.g. simulations.streams(seed)['world']), got {key!r}")
    rng = numpy_rng(key)
    words = (review_words(cfg.vocab_size, cfg.sentiment_share) if cfg.lexicon == "reviews"
             else synthetic_words(rng, cfg.vocab_size, cfg.word_zipf, cfg.sentiment_share))  # fmt: skip
    prompt_words = cfg.prompt or words.prompt
    prompt = words.ids(list(prompt_words)) if cfg.prompt_rate > 0 else np.zeros(0, dtype=np.int64)
    V, C, K, P, D = cfg.vocab_size, cfg.concepts, cfg.states, len(prompt), cfg.noise_dims
    has_prompt = cfg.prompt_rate > 0
    S = K + (P + 1 if has_prompt else 0)
    levels = np.linspace(-1.0, 1.0, C) if C > 1 else np.zeros(1)
    prompt_rows = np.zeros((P, V))
    prompt_rows[np.arange(P), prompt] = 1.0
    noise_rows = rng.normal(size=(D, V)) / np.sqrt(max(D, 1))
    Phi = np.vstack([words.evaluative.astype(float), words.valence, prompt_rows, noise_rows, words.log_freq])
    d = Phi.shape[0]
    z = rng.normal(size=(K, D)) * cfg.emission_scale
    theta = np.zeros((C, S, d))
    theta[:, :, -1] = 1.0
    theta[:, :K, 0] = cfg.slot
    theta[:, :K, 1] = cfg.concept_strength * levels[:, None]
    theta[:, :K, 2 + P : 2 + P + D] = z[None]
    trans = np.zeros((C, S, S))
    init = np.zeros((C, S))
    for c in range(C):
        mix = softmax(rng.normal(size=(K, K)) / cfg.temperature, axis=1)
        trans[c, :K, :K] = (1.0 - cfg.prompt_rate) * (cfg.stickiness * np.eye(K) + (1.0 - cfg.stickiness) * mix)
        start = softmax(rng.normal(size=K))
        init[c, :K] = start / C
        if has_prompt:
            trans[c, :K, K] = cfg.prompt_rate  # enter the phrase
            for j in range(P):
                trans[c, K + j, K + j + 1] = 1.0  # read it word by word, then the answer state
                theta[c, K + j, 0] = cfg.slot
                theta[c, K + j, 2 + j] = cfg.prompt_sharpness
            trans[c, K + P, :K] = start  # after the answer, back to running text
            theta[c, K + P, 0] = cfg.answer_slot
            theta[c, K + P, 1] = cfg.answer_valence * levels[c]
    emit = np.exp(log_softmax(theta @ Phi, axis=-1))
    hmm = make_hmm(init, trans, emit)
    return SequenceWorld(hmm, Phi, theta, words, levels, prompt, cfg)
