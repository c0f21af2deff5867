"""The named-word world, its tasks and the K-class probe, against independent computations."""

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

import theory
from simulations import (
    CLASS_TASKS,
    SENTIMENT,
    TOPICS,
    LexiconConfig,
    fit_multiclass_probe,
    make_class_task,
    make_lexicon,
    zero_shot,
)


@pytest.fixture(scope="module")
def lex():
    return make_lexicon(np.random.default_rng(0), LexiconConfig(vocab_size=100, num_contexts=80))


def test_world_is_log_linear_and_named(lex):
    w = lex.world
    logits = w.theta @ w.Phi
    np.testing.assert_allclose(np.log(w.p_star), logits - np.log(np.exp(logits).sum(1, keepdims=True)), atol=1e-12)
    assert lex.words[:3] == ("the", "a", "is") and ":)" in lex.words and len(lex.words) == 100
    assert set(lex.words[i] for i in np.flatnonzero(lex.topic_of_word == 0)) == set(TOPICS["sports"])


def test_the_prompt_moves_mass_onto_evaluative_words(lex):
    evaluative = lex.index(list(SENTIMENT))
    N = lex.num_contexts
    before, after = lex.world.p_star[:N, evaluative].sum(1), lex.world.p_star[N:, evaluative].sum(1)
    assert np.all(after > before) and after.mean() > 0.5 > before.mean()


@pytest.mark.parametrize("name", CLASS_TASKS)
def test_tasks_are_label_distributions_on_one_copy(lex, name):
    for prompted in (False, True):
        t = make_class_task(lex, name, prompted)
        np.testing.assert_allclose(t.eta.sum(1), 1.0)
        assert t.p_T.sum() == pytest.approx(1.0) and (t.p_T[: lex.num_contexts] > 0).all() != prompted
        assert len(t.class_words) == t.eta.shape[1] and all(len(c) > 0 for c in t.class_words)


def test_zero_shot_by_hand(lex):
    t = make_class_task(lex, "sentiment", True)
    q = lex.world.p_star
    loss, acc = zero_shot(q, t)
    live = t.p_T > 0
    neg, pos = q[:, t.class_words[0]].sum(1), q[:, t.class_words[1]].sum(1)
    p_pos = pos / (neg + pos)
    by_hand = -(t.eta[:, 1] * np.log(p_pos) + t.eta[:, 0] * np.log(1 - p_pos))
    assert loss == pytest.approx(float(t.p_T[live] @ by_hand[live]), rel=1e-12)
    assert acc == pytest.approx(float(t.p_T[live] @ np.where(p_pos > 0.5, t.eta[:, 1], t.eta[:, 0])[live]))


def test_multiclass_probe_matches_sklearn_without_box():
    rng = np.random.default_rng(1)
    n, d, k = 120, 5, 3
    p_T = rng.random(n) + 0.1
    p_T /= p_T.sum()
    raw = rng.normal(size=(n, d))
    mean = p_T @ raw
    g = (raw - mean) / np.sqrt(p_T @ (raw - mean) ** 2)  # p_T-standardised already: the two penalties coincide
    eta = rng.dirichlet(np.ones(k), size=n)
    l2 = 0.05
    ours = fit_multiclass_probe(g, p_T, eta, l2=l2)
    # soft labels as weighted hard labels: one copy of each context per class, weight p_T·η_k
    X, y, w = np.repeat(g, k, axis=0), np.tile(np.arange(k), n), (p_T[:, None] * eta).ravel()
    sk = LogisticRegression(C=1.0 / l2, tol=1e-12, max_iter=10000).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.W - ours.W.mean(0), sk.coef_ - sk.coef_.mean(0), atol=1e-5)
    assert ours.loss == pytest.approx(theory.multiclass_probe_loss(g, sk.coef_, sk.intercept_, p_T, eta), abs=1e-8)


def test_box_fit_is_certified_and_no_worse_than_any_feasible_probe():
    rng = np.random.default_rng(2)
    g, p_T = rng.dirichlet(np.ones(20), size=60), np.full(60, 1 / 60)
    eta = rng.dirichlet(np.ones(4), size=60)
    fit = fit_multiclass_probe(g, p_T, eta, box=2.0)
    assert fit.converged and fit.gap <= 1e-6 and np.abs(fit.W).max() <= 2.0 + 1e-9
    for _ in range(50):  # random feasible W (vertices and interior), each with its best bias
        W = rng.choice([-2.0, 2.0], size=(4, 20)) if rng.random() < 0.5 else rng.uniform(-2, 2, size=(4, 20))
        loss_at = lambda b, W=W: theory.multiclass_probe_loss(g, W, b, p_T, eta)  # noqa: E731
        best_b = minimize(loss_at, np.zeros(4), method="BFGS").fun
        assert best_b >= fit.loss - fit.gap - 1e-9


def test_gamma_is_computed_from_the_weights(lex):
    for prompted in (False, True):
        assert make_class_task(lex, "topic", prompted).gamma == pytest.approx(0.5)
