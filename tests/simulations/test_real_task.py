"""The real-LM table's sentiment task (simulations/real.py), which needs no model: labels are the sign of the VADER
rating, and no word, nor any word sharing its first letters (a form of it), is on both sides of the split."""

import numpy as np

from simulations import real
from simulations.worlds import english_ratings


def test_labels_are_the_ratings_sign_and_no_word_form_crosses_the_split():
    cfg = real.RealConfig(words=120)
    task = real.sentiment_task(cfg)
    _, ratings = english_ratings()
    assert len(task.texts) == 2 * cfg.words * len(real.TEMPLATES)
    for word, label in zip(task.words, task.labels, strict=True):
        assert label == int(ratings[word] > 0) and abs(ratings[word]) >= cfg.min_valence
    train = {real.stem(w) for w, t in zip(task.words, task.test, strict=True) if not t}
    test = {real.stem(w) for w, t in zip(task.words, task.test, strict=True) if t}
    assert train and test and not train & test
    share = task.test.mean()
    assert abs(share - cfg.test_share) < 0.05, share
    for w, text in zip(task.words, task.texts, strict=True):
        assert w in text
    assert np.array_equal(real.sentiment_task(cfg).test, task.test)  # seeded
