"""World and task invariants."""

import dataclasses

import numpy as np
import pytest

import simulations as sim
import theory


def test_world_rows_and_weights(small):
    world = small.world
    np.testing.assert_allclose(world.p_star.sum(-1), 1.0, atol=1e-12)
    assert world.p_L.sum() == pytest.approx(1.0) and np.all(world.p_L > 0)
    assert world.Phi.shape == (5, 60) and world.theta.shape == (120, 5)  # d + bias row
    assert world.well_specified


def test_world_deterministic_from_seed():
    cfg = sim.WorldConfig(vocab_size=30, num_contexts=20, dim=3)
    a = sim.make_world(sim.streams(3)["world"], cfg)
    b = sim.make_world(sim.streams(3)["world"], cfg)
    c = sim.make_world(sim.streams(4)["world"], cfg)
    assert np.array_equal(a.p_star, b.p_star) and not np.array_equal(a.p_star, c.p_star)


@pytest.mark.parametrize("change", [dict(extra_dims=3), dict(dirichlet=0.5)])
def test_misspecified_worlds_have_positive_bottleneck_price(change):
    cfg = sim.WorldConfig(vocab_size=30, num_contexts=20, dim=3, **change)
    world = sim.make_world(sim.streams(0)["world"], cfg)
    assert not world.well_specified
    opt = theory.softmax_optimum(world.Phi, world.p_star, world.p_L)
    # ε*_Φ = ℓ*(Φ) − ℓ*_xent = expected KL of the best softmax model with this Φ
    assert theory.expected_kl(world.p_star, opt.probs, world.p_L) > 1e-3


def test_zipf_context_weights():
    world = sim.make_world(
        sim.streams(0)["world"],
        sim.WorldConfig(vocab_size=10, num_contexts=50, dim=2, context_zipf=1.0),
    )
    w = np.sort(world.p_L)[::-1]
    np.testing.assert_allclose(w / w[0], 1.0 / np.arange(1, 51), rtol=1e-12)


def test_row_space_task(small):
    world, task = small.world, small.task
    assert np.max(np.abs(task.v)) == pytest.approx(task.B)
    np.testing.assert_allclose(task.v, world.Phi.T @ task.lam, atol=1e-12)
    assert task.lam[-1] == 0.0  # no weight on the word-bias row
    assert np.all((task.eta > 0) & (task.eta < 1))
    # labels balanced under p_T: b* is the weighted median of the scores
    assert np.sum(task.p_T * (world.p_star @ task.v + task.b > 0)) == pytest.approx(0.5, abs=0.05)
    brute = 0.0  # the planted classifier's loss, one context at a time
    for s, w in enumerate(task.p_T):
        z = world.p_star[s] @ task.v + task.b
        brute += w * (task.eta[s] * np.log1p(np.exp(-z)) + (1 - task.eta[s]) * np.log1p(np.exp(z)))
    assert task.tau_planted == pytest.approx(brute, rel=1e-12)


def test_word_group_task_and_task_slice(small):
    world = small.world
    task = small.with_task(sim.TaskConfig(structure="word_groups", B=2.0, task_fraction=0.25)).task
    assert task.lam is None
    assert sorted(set(task.v)) == [-2.0, 0.0, 2.0] and np.sum(task.v == 2.0) == 6
    assert np.sum(task.p_T > 0) == 30
    assert theory.transferability_ratio(world.p_L, task.p_T) == pytest.approx(world.p_L[task.p_T > 0].sum())


def test_calibrated_labels_make_planted_probe_optimal(small):
    # α = 1: η(s) = σ(v*ᵀP*[s] + b*), so (v*, b*) minimises the population
    # logistic loss over *all* predictors; the fitted box probe must find it.
    world = small.world
    task = small.with_task(sim.TaskConfig(alpha=1.0)).task
    fit = sim.fit_probe(world.p_star, task.p_T, task.eta, box=task.B)
    assert fit.converged
    assert fit.loss == pytest.approx(task.tau_planted, abs=1e-9)
    entropy = -np.sum(task.p_T * (task.eta * np.log(task.eta) + (1 - task.eta) * np.log1p(-task.eta)))
    assert task.tau_planted == pytest.approx(entropy, rel=1e-12)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: sim.WorldConfig(vocab_size=1), r"world.vocab_size must be in \[2"),
        (lambda: sim.WorldConfig(theta_scale=0.0), r"world.theta_scale must be in \(0"),
        (lambda: sim.WorldConfig(dim=2.5), "world.dim must be an integer"),
        (lambda: sim.TaskConfig(structure="nope"), "task.structure must be one of"),
        (lambda: sim.TaskConfig(B=-1.0), "task.B"),
        (lambda: sim.TaskConfig(task_fraction=0.0), "task.task_fraction"),
        (
            lambda: sim.TrainConfig(learning_rate=float("nan")),
            "lm.learning_rate must be a finite number",
        ),
        (lambda: dataclasses.replace(sim.TrainConfig(), steps=0), r"lm.steps must be in \[1"),
    ],
)
def test_config_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_reprs_name_shapes_and_key_numbers_not_arrays():
    """A failing property prints its drawn instance and LM: a few lines naming shapes, seeds and ε, not P*."""
    inst = sim.make_instance(0, sim.WorldConfig(vocab_size=60, num_contexts=120, dim=4), sim.TaskConfig())
    lm = sim.language_model(inst, eps=1e-3, kind="adversarial")
    for obj, words in ((inst.world, "N=120, V=60"), (inst, "seed=0"), (lm, "ε=0.001")):
        text = repr(obj)
        assert words in text and len(text) < 400 and "array" not in text, text
