"""Language models at measured ε: tilts, bisection, training, no recompilation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import softmax

import simulations as sim
import theory


@pytest.mark.parametrize("kind", sim.TILT_KINDS)
def test_tilt_eps_is_exact_expected_kl(small, kind):
    keys, world, task = small
    u = sim.tilt_direction(keys["tilt"], world, task, kind)
    np.testing.assert_allclose(np.sum(world.p_star * u, -1), 0.0, atol=1e-12)
    for t in (1e-5, 1e-3, 0.1, 2.0):
        q = sim.tilt_model(world, u, t)
        exact = theory.expected_kl(world.p_star, q, world.p_L)
        assert sim.tilt_eps(world, u, t)[0] == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("kind", sim.TILT_KINDS)
def test_bisection_hits_targets(small, kind):
    keys, world, task = small
    u = sim.tilt_direction(keys["tilt"], world, task, kind)
    targets = np.geomspace(1e-6, 1e-1, 6)
    t, eps = sim.calibrate_tilts(world, u, targets)
    assert np.all(np.abs(eps / targets - 1) <= sim.EPS_TARGET_RTOL)
    assert np.all(np.diff(t) > 0)
    exact = [theory.expected_kl(world.p_star, sim.tilt_model(world, u, ti), world.p_L) for ti in t]
    np.testing.assert_allclose(eps, exact, rtol=1e-9)


def test_bisection_rejects_unreachable_and_bad_targets(small):
    _, world, _ = small
    with pytest.raises(ValueError, match="must be > 0"):
        sim.calibrate_tilts(world, np.ones_like(world.p_star), [0.0])
    with pytest.raises(ValueError, match="cannot be reached"):
        sim.calibrate_tilts(world, np.zeros_like(world.p_star), [1e-3])


def test_adversarial_tilt_of_row_space_task_is_softmax_lm(small):
    keys, world, task = small
    u = sim.tilt_direction(keys["tilt"], world, task, "adversarial")
    t = 0.7
    sign = np.sign(2 * task.eta - 1)
    F = world.theta - t * sign[:, None] * (task.lam / task.B)[None, :]
    np.testing.assert_allclose(softmax(F @ world.Phi, -1), sim.tilt_model(world, u, t), atol=1e-12)
    # and it pushes every context's score towards the wrong label
    moved = (sim.tilt_model(world, u, t) - world.p_star) @ task.v
    assert np.all(moved * sign <= 1e-15)


def test_population_gradient_matches_closed_form(small):
    _, world, _ = small
    params = sim.init_lm(jax.random.key(1), world, sim.TrainConfig(init_scale=0.5))
    # Full float32 products: on GPUs, float32 matmuls default to TF32 (~1e-3 relative).
    with jax.default_matmul_precision("float32"):
        g = jax.grad(sim.population_xent)(
            params, jnp.asarray(world.p_star, jnp.float32), jnp.asarray(world.p_L, jnp.float32)
        )
    F, Phi = np.asarray(params.F, np.float64), np.asarray(params.Phi, np.float64)
    q = softmax(F @ Phi, -1)
    expected = world.p_L[:, None] * (q - world.p_star) @ Phi.T
    np.testing.assert_allclose(np.asarray(g.F), expected, atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("objective", ["exact", "corpus"])
def test_training_reduces_eps_and_compiles_once(small, objective):
    keys, world, _ = small
    cfg = sim.TrainConfig(steps=60, checkpoints=4, corpus_size=5000, batch_size=256)
    before = dict(sim.TRACE_COUNTS)
    ckpts = sim.train(keys["init"], keys["data"], world, cfg, objective)
    assert sim.TRACE_COUNTS[objective] - before[objective] == 1  # 60 steps, one trace
    assert [s for s, _ in ckpts] == sim.checkpoint_steps(60, 4)
    eps = [sim.lm_eps(world, p) for _, p in ckpts]
    assert eps[-1] < 0.2 * eps[0]
    # ε of a trained LM is the exact float64 expected KL of its parameters
    last = ckpts[-1][1]
    assert eps[-1] == pytest.approx(
        theory.expected_kl(world.p_star, softmax(last.F @ last.Phi, -1), world.p_L), rel=1e-12
    )


def test_exact_training_approaches_optimum(small):
    keys, world, _ = small
    ckpts = sim.train(keys["init"], keys["data"], world, sim.TrainConfig(steps=400, checkpoints=2))
    assert sim.lm_eps(world, ckpts[-1][1]) < 1e-3


def test_learned_phi_changes_phi(small):
    keys, world, _ = small
    ((_, p),) = sim.train(keys["init"], keys["data"], world, sim.TrainConfig(steps=5, checkpoints=1, learn_phi=True))
    assert not np.allclose(p.Phi, world.Phi, atol=1e-3)


def test_checkpoint_steps():
    assert sim.checkpoint_steps(1000, 4) == [1, 10, 100, 1000]
    assert sim.checkpoint_steps(3, 10) == [1, 2, 3]
