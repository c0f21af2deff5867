"""The sequence world (docs/design.md §2b): the forward pass against hmmlearn and brute force, the sampler against
p*, invariances, the generator's softmax emissions and prompts, the population's labels and ε, bad input."""

import importlib.util
import itertools
import math
import pathlib

import numpy as np
import pytest
from hmmlearn.hmm import CategoricalHMM
from hypothesis import given, settings
from scipy.special import log_softmax, logsumexp
from scipy.stats import chi2

import theory
from simulations import models, worlds
from simulations.core import streams
from tests import strategies as S
from tests.tolerances import CLOSED_FORM_ATOL, CLOSED_FORM_RTOL

#: log p(w_≤t) differences of hmmlearn's forward pass against ours: both are float64 sums of at most L terms.
HMMLEARN_ATOL = 1e-10
#: A sampler check fails with probability 1e-6 when the sampler is right (a chi-square quantile, not a margin).
SAMPLER_ALPHA = 1e-6


def brute_force(init, trans, emit, tokens):
    """p(w_1..w_t) for t = 1..L and p(w_1..w_t, h_t, h_{t+1}) summed over every hidden path, by enumeration:
    returns (prefix probabilities (L,), next-state joint (L, H)) with nothing shared with the forward pass."""
    pi = init.reshape(-1)
    C, S = init.shape
    H = C * S
    A = np.zeros((H, H))
    for c in range(C):
        A[c * S : (c + 1) * S, c * S : (c + 1) * S] = trans[c]
    E = emit.reshape(H, -1)
    L = len(tokens)
    probs, nxt = np.zeros(L), np.zeros((L, H))
    for t in range(1, L + 1):
        for path in itertools.product(range(H), repeat=t):
            p = pi[path[0]] * E[path[0], tokens[0]]
            for i in range(1, t):
                p *= A[path[i - 1], path[i]] * E[path[i], tokens[i]]
            probs[t - 1] += p
            nxt[t - 1] += p * A[path[-1]]
    return probs, nxt


@settings(max_examples=25)
@given(S.hmms(c_max=2, s_max=2, v_max=3))
def test_forward_matches_brute_force_enumeration(hmm_arrays):
    init, trans, emit = hmm_arrays
    hmm = worlds.make_hmm(init, trans, emit)
    V = emit.shape[2]
    L = 3
    sequences = np.array(list(itertools.product(range(V), repeat=L)))
    filt = worlds.forward(hmm, sequences)
    total = 0.0
    for i, seq in enumerate(sequences):
        probs, nxt = brute_force(init, trans, emit, seq)
        total += probs[-1]
        np.testing.assert_allclose(np.exp(filt.log_lik[i].cumsum()), probs, rtol=1e-10)
        # the predictive state distribution, and through it p*(·|w_≤t) and the concept posterior
        pred = nxt / probs[:, None]
        np.testing.assert_allclose(filt.pred[i].reshape(L, -1), pred, atol=1e-12)
        np.testing.assert_allclose(worlds.next_token_probs(hmm, filt.pred[i]), pred @ emit.reshape(-1, V), atol=1e-12)
        np.testing.assert_allclose(filt.concept_posterior()[i], pred.reshape(L, *init.shape).sum(-1), atol=1e-12)
    assert total == pytest.approx(1.0, abs=1e-12)  # every sequence of length L, each once


@settings(max_examples=15)
@given(S.hmms(c_max=2, s_max=3, v_max=5, zeros=False))
def test_forward_log_likelihoods_match_hmmlearn(hmm_arrays):
    init, trans, emit = hmm_arrays
    hmm = worlds.make_hmm(init, trans, emit)
    pi, A, E = hmm.dense()
    ref = CategoricalHMM(n_components=pi.shape[0], implementation="scaling", init_params="", params="")
    ref.n_features = E.shape[1]
    ref.startprob_, ref.transmat_, ref.emissionprob_ = pi, A, E
    tokens, _ = worlds.sample_documents(np.random.default_rng(0), hmm, 3, 6)
    filt = worlds.forward(hmm, tokens)
    for m in range(tokens.shape[0]):
        scores = [ref.score(tokens[m, :t].reshape(-1, 1)) for t in range(1, tokens.shape[1] + 1)]
        # log p(w_≤t) − log p(w_<t) = log p*(w_t | w_<t)
        np.testing.assert_allclose(filt.log_lik[m], np.diff(np.concatenate([[0.0], scores])), atol=HMMLEARN_ATOL)


def test_sampler_draws_documents_with_their_exact_probabilities():
    rng = np.random.default_rng(1)
    init = np.array([[0.3, 0.2], [0.1, 0.4]])
    trans = np.array([[[0.7, 0.3], [0.0, 1.0]], [[0.5, 0.5], [0.9, 0.1]]])
    emit = np.array([[[0.6, 0.3, 0.1], [0.1, 0.1, 0.8]], [[0.2, 0.5, 0.3], [1 / 3, 1 / 3, 1 / 3]]])
    hmm = worlds.make_hmm(init, trans, emit)
    n, L = 40_000, 3
    tokens, concepts = worlds.sample_documents(rng, hmm, n, L)
    sequences = np.array(list(itertools.product(range(3), repeat=L)))
    expected = n * np.exp(worlds.forward(hmm, sequences).log_lik.sum(axis=1))
    codes = tokens @ (3 ** np.arange(L)[::-1])
    observed = np.bincount(codes, minlength=len(sequences))
    stat = float(np.sum((observed - expected) ** 2 / expected))
    assert stat < chi2.ppf(1 - SAMPLER_ALPHA, df=len(sequences) - 1)
    # the concepts, drawn with the first state, by their prior
    expected_c = n * hmm.concept_prior()
    stat_c = float(np.sum((np.bincount(concepts, minlength=2) - expected_c) ** 2 / expected_c))
    assert stat_c < chi2.ppf(1 - SAMPLER_ALPHA, df=1)


def test_sampler_misses_a_wrong_distribution():
    """The chi-square check has power: documents drawn from another HMM fail it."""
    rng = np.random.default_rng(2)
    init = np.full((1, 2), 0.5)
    trans = np.array([[[0.9, 0.1], [0.1, 0.9]]])
    emit = np.array([[[0.8, 0.2], [0.2, 0.8]]])
    other = np.array([[[0.7, 0.3], [0.2, 0.8]]])
    n, L = 20_000, 3
    tokens, _ = worlds.sample_documents(rng, worlds.make_hmm(init, trans, other), n, L)
    sequences = np.array(list(itertools.product(range(2), repeat=L)))
    expected = n * np.exp(worlds.forward(worlds.make_hmm(init, trans, emit), sequences).log_lik.sum(axis=1))
    observed = np.bincount(tokens @ (2 ** np.arange(L)[::-1]), minlength=len(sequences))
    assert float(np.sum((observed - expected) ** 2 / expected)) > chi2.ppf(1 - SAMPLER_ALPHA, df=len(sequences) - 1)


@settings(max_examples=30)
@given(S.hmms(c_max=3, s_max=3, v_max=4))
def test_permuting_hidden_states_changes_nothing_observable(hmm_arrays):
    init, trans, emit = hmm_arrays
    C, S_ = init.shape
    rng = np.random.default_rng(3)
    blocks, within = rng.permutation(C), rng.permutation(S_)
    p_init = init[blocks][:, within]
    p_trans = trans[blocks][:, within][:, :, within]
    p_emit = emit[blocks][:, within]
    tokens, _ = worlds.sample_documents(rng, worlds.make_hmm(init, trans, emit), 4, 5)
    a = worlds.forward(worlds.make_hmm(init, trans, emit), tokens)
    b = worlds.forward(worlds.make_hmm(p_init, p_trans, p_emit), tokens)
    np.testing.assert_allclose(b.log_lik, a.log_lik, rtol=CLOSED_FORM_RTOL, atol=CLOSED_FORM_ATOL)
    np.testing.assert_allclose(b.concept_posterior(), a.concept_posterior()[..., blocks], atol=1e-12)
    np.testing.assert_allclose(b.pred, a.pred[..., blocks, :][..., within], atol=1e-12)


def test_entropies_match_an_independent_computation():
    hmm = worlds.make_hmm(*_small_arrays())
    tokens, _ = worlds.sample_documents(np.random.default_rng(4), hmm, 5, 4)
    pred = worlds.forward(hmm, tokens).pred.reshape(20, *hmm.init.shape)
    p = worlds.next_token_probs(hmm, pred)
    np.testing.assert_allclose(worlds.entropies(hmm, pred, size=3), -(p * np.log(p)).sum(1), rtol=1e-12)


def _small_arrays():
    init = np.array([[0.25, 0.25], [0.3, 0.2]])
    trans = np.array([[[0.6, 0.4], [0.3, 0.7]], [[0.9, 0.1], [0.2, 0.8]]])
    emit = np.exp(log_softmax(np.random.default_rng(5).normal(size=(2, 2, 6)), axis=-1))
    return init, trans, emit


# -- the generator -------------------------------------------------------------------------------------------------

SMALL = worlds.SequenceConfig(vocab_size=120, concepts=2, states=3, noise_dims=4, length=12, documents=40)


@pytest.fixture(scope="module")
def small_world():
    return worlds.make_sequence_world(streams(0)["world"], SMALL)


def test_emissions_are_softmaxes_of_the_known_embeddings(small_world):
    sw = small_world
    logits = sw.theta @ sw.Phi
    np.testing.assert_allclose(np.log(sw.hmm.emit), logits - logsumexp(logits, axis=-1, keepdims=True), atol=1e-12)
    assert sw.hmm.emit.min() > 0  # no next-token probability is 0, so every ε is finite
    assert np.all(sw.theta[..., -1] == 1.0) and np.array_equal(sw.Phi[-1], sw.words.log_freq)
    # the concept never changes inside a document: the transitions are block-diagonal by construction
    assert sw.hmm.trans.shape == (2, SMALL.states_per_concept, SMALL.states_per_concept)


def test_the_prompt_moves_the_belief_into_the_answer_state(small_world):
    sw = small_world
    docs = worlds.sample_population(streams(0)["data"], sw, 30, SMALL.length)
    prompted = worlds.end_beliefs(sw, docs, sw.prompt)
    reversed_ = worlds.end_beliefs(sw, docs, sw.prompt[::-1].copy())
    answer = SMALL.states_per_concept - 1
    # (a document that ends inside the phrase itself reads the prompt less cleanly: most, not all, are > 0.9)
    assert np.mean(prompted[:, :, answer].sum(axis=1) > 0.9) >= 0.9
    assert reversed_[:, :, answer].sum(axis=1).max() < 0.1
    # and the next word of a prompted end is mostly evaluative, carrying the concept (a linear image of it)
    p = worlds.next_token_probs(sw.hmm, prompted)
    assert np.median(p[:, sw.words.evaluative].sum(axis=1)) > 0.5
    # read through the phrase's chain, the prompt carries no concept: the posterior over it is unchanged
    clean = prompted[:, :, answer].sum(axis=1) > 0.9
    before, after = (worlds.positive_posterior(sw, b)[clean] for b in (docs.filtered.pred[:, -1], prompted))
    np.testing.assert_allclose(after, before, atol=1e-3)


def test_reviews_words_are_real_english_with_vader_valences():
    words = worlds.review_words(300, 0.2)
    assert {"this", "movie", "is", "the"} <= set(words.words)
    assert words.words.index("the") < words.words.index("movie")  # ordered by frequency
    ratings = {}
    path = pathlib.Path(importlib.util.find_spec("vaderSentiment").submodule_search_locations[0]) / "vader_lexicon.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        w, mean = line.split("\t")[:2]
        ratings[w] = float(mean)
    for w, v, e in zip(words.words, words.valence, words.evaluative, strict=True):
        assert v == pytest.approx(min(1.0, max(-1.0, ratings.get(w, 0.0) / 4)))
        assert e == (abs(ratings.get(w, 0.0)) >= 1.0)
    assert 50 <= words.evaluative.sum() <= 70 and not set(words.words) & worlds.UNPRINTABLE
    assert logsumexp(words.log_freq) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: worlds.make_hmm([[0.5, 0.6]], [[[1, 0], [0, 1]]], [[[0.5, 0.5], [0.5, 0.5]]]), "init: its entries"),
        (lambda: worlds.make_hmm([[0.5, 0.5]], [[[0.9, 0], [0, 1]]], [[[0.5, 0.5], [0.5, 0.5]]]), "trans: each row"),
        (lambda: worlds.make_hmm([[1.0]], [[[1.0]]], [[[1.5, -0.5]]]), "emit must be finite and non-negative"),
        (lambda: worlds.make_hmm([[1.0]], [[[1.0]]], [[1.0, 0.0]]), "emit must have shape"),
        (lambda: worlds.forward(worlds.make_hmm(*_small_arrays()), np.zeros((2, 0), dtype=int)), "shape"),
        (lambda: worlds.forward(worlds.make_hmm(*_small_arrays()), np.array([[0, 6]])), "token 6 is outside"),
        (lambda: worlds.forward(worlds.make_hmm(*_small_arrays()), np.array([[0.5, 1.0]])), "integer token ids"),
        (lambda: worlds.SequenceConfig(length=0), "world.length"),
        (lambda: worlds.SequenceConfig(prompt="this movie is"), "a tuple of words"),
        (lambda: worlds.make_sequence_world(0, worlds.SequenceConfig()), "JAX PRNG key"),
        (lambda: worlds.SequenceConfig(stickiness=1.0), "world.stickiness"),
        (lambda: worlds.SequenceConfig(concepts=1000, states=10_000, vocab_size=2000), "emission entries"),
        (lambda: worlds.make_sequence_world(streams(0)["world"], worlds.SequenceConfig(prompt=("zzzq",))), "'zzzq'"),
        (lambda: models.window_beliefs(worlds.make_hmm(*_small_arrays()), np.zeros((1, 3), dtype=int), 0), "window"),
    ],
)
def test_bad_input_is_refused_with_one_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- the population: labels, the concept task, ε ----------------------------------------------------------------------


def test_window_readers_reach_the_oracle_and_their_eps_is_exact(small_world):
    sw = small_world
    docs = worlds.sample_population(streams(1)["data"], sw, 8, SMALL.length)
    oracle_eps, se, kl = models.sequence_eps(sw.hmm, docs, model_beliefs=docs.filtered.pred)
    assert oracle_eps == 0.0 and se == 0.0 and not kl.any()  # eight documents, every KL exactly 0
    np.testing.assert_allclose(models.window_beliefs(sw.hmm, docs.tokens, SMALL.length), docs.filtered.pred, atol=1e-13)
    # a window of k tokens: the forward pass on the last k tokens alone, document by document
    k = 3
    win = models.window_beliefs(sw.hmm, docs.tokens, k)
    for m, t in ((0, 0), (2, 5), (7, SMALL.length - 1)):
        alone = worlds.forward(sw.hmm, docs.tokens[m : m + 1, max(0, t - k + 1) : t + 1]).pred[0, -1]
        np.testing.assert_allclose(win[m, t], alone, atol=1e-13)
    eps, se, kl = models.sequence_eps(sw.hmm, docs, model_beliefs=win)
    p = worlds.next_token_probs(sw.hmm, docs.filtered.pred)
    q = worlds.next_token_probs(sw.hmm, win)
    assert eps == pytest.approx(float(np.mean((p * np.log(p / q)).sum(-1))), rel=1e-10)
    per_doc = kl.mean(axis=1)
    assert se == pytest.approx(per_doc.std(ddof=1) / math.sqrt(8), rel=1e-12)
    # the same ε through the log-probability path
    eps_log, _, _ = models.sequence_eps(sw.hmm, docs, log_q=lambda rows: np.log(q[rows]))
    assert eps_log == pytest.approx(eps, rel=1e-12)


def test_concept_task_labels_are_the_exact_posterior(small_world):
    sw = small_world
    docs = worlds.sample_population(streams(2)["data"], sw, 20, SMALL.length)
    beliefs = docs.filtered.pred[:, -1]
    ctx = worlds.context_world(sw, beliefs)
    task = worlds.concept_task(sw, ctx, worlds.positive_posterior(sw, beliefs), B=4.0)
    # η by Bayes' rule from each concept's own likelihood of the document (an independent computation)
    log_like = np.stack([worlds.forward(_one_concept(sw.hmm, c), docs.tokens).log_lik.sum(1) for c in range(2)], 1)
    log_post = np.log(sw.hmm.concept_prior()) + log_like
    eta = np.exp(log_post[:, 1] - logsumexp(log_post, axis=1))
    np.testing.assert_allclose(task.eta, eta, atol=1e-12)
    assert task.tau_planted == pytest.approx(theory.trivial_loss(task.p_T, task.eta), abs=1e-12)
    assert not ctx.well_specified  # P* is a mixture of softmaxes, not softmax(θ(s)Φ*)
    np.testing.assert_allclose(ctx.p_star.sum(1), 1.0, atol=1e-12)
    # documents drawn with the positive concept get a larger posterior on average
    assert worlds.soft_labels_agree(sw, docs) > 0


def _one_concept(hmm, c):
    """Concept c's HMM alone (its prior renormalised to 1)."""
    return worlds.make_hmm(hmm.init[c : c + 1] / hmm.init[c].sum(), hmm.trans[c : c + 1], hmm.emit[c : c + 1])


def test_a_world_of_one_concept_has_no_concept_task():
    sw = worlds.make_sequence_world(streams(0)["world"], worlds.SequenceConfig(vocab_size=60, concepts=1, length=4))
    docs = worlds.sample_population(streams(0)["data"], sw, 5, 4)
    b = docs.filtered.pred[:, -1]
    with pytest.raises(ValueError, match="concepts of both signs"):
        worlds.concept_task(sw, worlds.context_world(sw, b), worlds.positive_posterior(sw, b), 1.0)


def test_document_batches_are_fresh_and_reproducible(small_world):
    a = models.document_batches(streams(3)["data"], small_world, 4, 6)
    b = models.document_batches(streams(3)["data"], small_world, 4, 6)
    first, second = next(a), next(a)
    assert first.shape == (4, 6) and not np.array_equal(first, second)
    assert np.array_equal(first, next(b))


def test_samples_use_the_key_given(small_world):
    x = worlds.sample_population(streams(5)["data"], small_world, 3, 4).tokens
    y = worlds.sample_population(streams(5)["data"], small_world, 3, 4).tokens
    z = worlds.sample_population(streams(6)["data"], small_world, 3, 4).tokens
    assert np.array_equal(x, y) and not np.array_equal(x, z)


def test_synthetic_words_have_zipf_frequencies_and_a_prompt_without_valence():
    words = worlds.synthetic_words(np.random.default_rng(0), 100, 1.0, 0.2)
    assert words.words[:3] == words.prompt == ("w0000", "w0001", "w0002")
    assert words.evaluative.sum() == 20 and not words.evaluative[:3].any()
    assert np.all(np.diff(words.log_freq) < 0) and logsumexp(words.log_freq) == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.abs(words.valence[words.evaluative]) >= 0.25)
    sw = worlds.make_sequence_world(streams(0)["world"], worlds.SequenceConfig(lexicon="synthetic", vocab_size=100))
    assert sw.text(sw.prompt) == "w0000 w0001 w0002"


def test_the_controls_are_every_other_order_and_random_words_of_the_prompts_length(small_world):
    sw = small_world
    sfx = worlds.suffixes(sw, 5, streams(0)["world"])
    assert [s.name for s in sfx[:2]] == ["none", "prompt"] and len(sfx[0].tokens) == 0
    orders = [s for s in sfx if s.kind == "order"]
    randoms = [s for s in sfx if s.kind == "random"]
    prompt = tuple(sw.prompt)
    assert len(orders) == 5 and {tuple(s.tokens) for s in orders} == set(itertools.permutations(prompt)) - {prompt}
    assert len(randoms) == 5 and all(len(s.tokens) == len(prompt) and tuple(s.tokens) != prompt for s in randoms)
    assert len({tuple(s.tokens) for s in randoms}) == 5 and all(s.name == f"random: {sw.text(s.tokens)}"
                                                                 for s in randoms)  # fmt: skip
    again = worlds.suffixes(sw, 5, streams(0)["world"])
    other = worlds.suffixes(sw, 5, streams(1)["world"])
    assert [s.name for s in again] == [s.name for s in sfx] and [s.name for s in other] != [s.name for s in sfx]
    assert [s.kind for s in worlds.suffixes(sw, 0, streams(0)["world"])] == ["none", "prompt"] + ["order"] * 5


def test_the_label_is_the_documents_own_whatever_the_suffix(small_world):
    """η of every suffix is η of the bare document (to 1e-9): the suffix is appended by the user and is no evidence
    about the document; filtered through the suffix η moves, and that is kept only as a diagnostic."""
    sw = small_world
    docs = worlds.sample_population(streams(0)["data"], sw, 40, SMALL.length)
    bare = worlds.positive_posterior(sw, docs.filtered.pred[:, -1])
    views = [worlds.end_view(0, streams(0), sw, docs, s, 2.0) for s in worlds.suffixes(sw, 3, streams(0)["world"])]
    for view in views:
        np.testing.assert_allclose(view.inst.task.eta, bare, atol=1e-9, rtol=0)
        np.testing.assert_allclose(view.eta_suffix, worlds.positive_posterior(sw, view.beliefs), atol=1e-15)
    assert max(float(np.abs(v.eta_suffix - bare).max()) for v in views) > 0.05  # some suffix would move the label
