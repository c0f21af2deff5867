"""Language models at measured ε: tilts, bisection, training (compiled once), the LM records."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import rel_entr, softmax

import simulations as sim
import theory


@pytest.mark.parametrize("family", sim.TILT_FAMILIES)
def test_tilt_eps_is_exact_expected_kl(small, family):
    world = small.world
    u = sim.tilt_direction(small.keys["tilt"], world, small.task, family)
    np.testing.assert_allclose(np.sum(world.p_star * u, -1), 0.0, atol=1e-12)
    for t in (1e-5, 1e-3, 0.1, 2.0):
        q = sim.tilt_model(world, u, t)
        exact = theory.expected_kl(world.p_star, q, world.p_L)
        assert sim.tilt_eps(world, u, t)[0] == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("family", sim.TILT_FAMILIES)
def test_bisection_hits_targets(small, family):
    world = small.world
    u = sim.tilt_direction(small.keys["tilt"], world, small.task, family)
    targets = np.geomspace(1e-6, 1e-1, 6)
    t, eps = sim.calibrate_tilts(world, u, targets)
    assert np.all(np.abs(eps / targets - 1) <= sim.EPS_TARGET_RTOL)
    assert np.all(np.diff(t) > 0)
    exact = [theory.expected_kl(world.p_star, sim.tilt_model(world, u, ti), world.p_L) for ti in t]
    np.testing.assert_allclose(eps, exact, rtol=1e-9)


def test_bisection_rejects_unreachable_and_bad_targets(small):
    world = small.world
    with pytest.raises(ValueError, match="must be > 0"):
        sim.calibrate_tilts(world, np.ones_like(world.p_star), [0.0])
    with pytest.raises(ValueError, match="cannot be reached"):
        sim.calibrate_tilts(world, np.zeros_like(world.p_star), [1e-3])


def test_adversarial_tilt_of_row_space_task_is_a_softmax_lm(small):
    world, task = small.world, small.task
    (lm,) = sim.tilted_lms(small, "adversarial", [1e-2])
    # Q = softmax(F Φ) with the world's Φ, checked against the tilt itself
    np.testing.assert_allclose(softmax(lm.F @ lm.Phi, -1), lm.q, atol=1e-12)
    # and it pushes every context's score towards the wrong label
    sign = np.sign(2 * task.eta - 1)
    assert np.all(((lm.q - world.p_star) @ task.v) * sign <= 1e-15)
    (rnd,) = sim.tilted_lms(small, "random", [1e-2])
    assert rnd.F is None and abs(rnd.eps / 1e-2 - 1) <= sim.EPS_TARGET_RTOL


def test_placed_tilts_touch_only_the_masked_contexts(small):
    world = small.world
    mask = np.arange(world.p_L.size) < 30
    (lm,) = sim.placed_tilts(small, mask, [1e-3])
    assert np.array_equal(lm.q[~mask], world.p_star[~mask])
    assert theory.expected_kl(world.p_star, lm.q, world.p_L) == pytest.approx(lm.eps, rel=1e-9)


def test_population_gradient_matches_closed_form(small):
    world = small.world
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
    cfg = sim.TrainConfig(steps=60, checkpoints=4, corpus_size=5000, batch_size=256)
    chex.clear_trace_counter()
    # four segments between checkpoints, of lengths 1, 3, 11 and 45: one trace
    counted = jax.jit(chex.assert_max_traces(sim.train_steps, n=1), static_argnames=("cfg", "objective"))
    ckpts = sim.train(small.keys["init"], small.keys["data"], small.world, cfg, objective, runner=counted)
    assert [s for s, _ in ckpts] == sim.checkpoint_steps(60, 4) == [1, 4, 15, 60]
    eps = [sim.lm_eps(small.world, p) for _, p in ckpts]
    assert eps[-1] < 0.2 * eps[0]
    # the compiled runner and the counted one are the same computation
    plain = sim.train(small.keys["init"], small.keys["data"], small.world, cfg, objective)
    np.testing.assert_allclose(plain[-1][1].F, ckpts[-1][1].F, rtol=1e-6, atol=1e-7)


def test_trained_lm_records_carry_exact_eps(small):
    lms = sim.trained_lms(small, sim.TrainConfig(steps=40, checkpoints=3))
    assert [lm.step for lm in lms] == sim.checkpoint_steps(40, 3)
    for lm in lms:
        assert lm.family == "trained" and np.isnan(lm.target_eps)
        assert lm.Phi is small.world.Phi  # Φ fixed: the LM is (F, the world's float64 Φ)
        q = softmax(lm.F @ lm.Phi, -1)
        naive = np.sum(small.world.p_L * rel_entr(small.world.p_star, q).sum(-1))  # SciPy, summed plainly
        assert lm.eps == pytest.approx(naive, rel=1e-9)


def test_exact_training_approaches_optimum(small):
    ckpts = sim.train(small.keys["init"], small.keys["data"], small.world, sim.TrainConfig(steps=400, checkpoints=2))
    assert sim.lm_eps(small.world, ckpts[-1][1]) < 1e-3


def test_learned_phi_changes_phi(small):
    cfg = sim.TrainConfig(steps=5, checkpoints=1, learn_phi=True)
    ((_, p),) = sim.train(small.keys["init"], small.keys["data"], small.world, cfg)
    assert not np.allclose(p.Phi, small.world.Phi, atol=1e-3)


def test_checkpoint_steps():
    assert sim.checkpoint_steps(1000, 4) == [1, 10, 100, 1000]
    assert sim.checkpoint_steps(3, 10) == [1, 2, 3]
    assert sim.checkpoint_steps(300, 1) == [300]  # one checkpoint is the trained model, not step 1


@given(st.integers(1, 10**6), st.integers(1, 50))
def test_checkpoints_always_end_at_the_last_step(steps, n):
    ckpts = sim.checkpoint_steps(steps, n)
    assert ckpts[-1] == steps and 1 <= len(ckpts) <= n and ckpts[0] >= 1
    assert all(a < b for a, b in zip(ckpts, ckpts[1:], strict=False))


def test_one_checkpoint_is_the_fully_trained_lm(small):
    cfg = sim.TrainConfig(steps=50, checkpoints=1)
    ((step, p),) = sim.train(small.keys["init"], small.keys["data"], small.world, cfg)
    many = sim.train(small.keys["init"], small.keys["data"], small.world, dataclasses.replace(cfg, checkpoints=3))
    assert step == 50 and many[-1][0] == 50
    np.testing.assert_allclose(p.F, many[-1][1].F, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hand_written_xent_gradient_matches_autodiff(seed):
    """population_xent's custom VJP against JAX autodiff of the cross-entropy written out here."""
    rng = np.random.default_rng(seed)
    n, d, v = 30, 4, 50
    F, Phi = rng.normal(size=(n, d)) * 2, rng.normal(size=(d, v))
    p_star = rng.dirichlet(np.full(v, 0.3), size=n)
    p_L = rng.dirichlet(np.ones(n))
    params = sim.SoftmaxLM(jnp.asarray(F, jnp.float32), jnp.asarray(Phi, jnp.float32))
    data = (jnp.asarray(p_star, jnp.float32), jnp.asarray(p_L, jnp.float32))

    def written_out(params, p_star, p_L):
        return -jnp.sum(p_L[:, None] * p_star * jax.nn.log_softmax(params.F @ params.Phi, axis=-1))

    ours = jax.value_and_grad(sim.population_xent)(params, *data)
    ref = jax.value_and_grad(written_out)(params, *data)
    assert float(ours[0]) == pytest.approx(float(ref[0]), rel=1e-5)
    for a, b in ((ours[1].F, ref[1].F), (ours[1].Phi, ref[1].Phi)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6 * float(np.abs(b).max()))


@pytest.mark.parametrize("objective", ["exact", "corpus"])
def test_population_trains_each_member_as_train_does(small, objective):
    """vmapped members get `train`'s initialisation and data: the same checkpoints to float32 rounding."""
    train_population = sim.train_population
    cfg = sim.TrainConfig(steps=30, checkpoints=3, corpus_size=3000, batch_size=128)
    keys_init = [jax.random.fold_in(small.keys["init"], i) for i in range(3)]
    keys_data = [jax.random.fold_in(small.keys["data"], i % 2) for i in range(3)]
    together = train_population(keys_init, keys_data, small.world, cfg, objective, vmap=True)
    for k_i, k_d, member in zip(keys_init, keys_data, together, strict=True):
        alone = sim.train(k_i, k_d, small.world, cfg, objective)
        assert [s for s, _ in member] == [s for s, _ in alone] == sim.checkpoint_steps(30, 3)
        for (_, a), (_, b) in zip(member, alone, strict=True):
            np.testing.assert_allclose(a.F, b.F, rtol=1e-4, atol=1e-5)
            assert a.Phi is b.Phi is small.world.Phi  # Φ fixed: the world's float64 Φ
            assert sim.lm_eps(small.world, a) == pytest.approx(sim.lm_eps(small.world, b), rel=1e-5)
    looped = train_population(keys_init, keys_data, small.world, cfg, objective, vmap=False)
    assert np.array_equal(
        looped[2][-1][1].F, sim.train(keys_init[2], keys_data[2], small.world, cfg, objective)[-1][1].F
    )
    # members differ from each other (the keys are used)
    assert not np.allclose(together[0][-1][1].F, together[1][-1][1].F)


def test_population_is_chosen_only_where_it_pays(small):
    population_pays, train_population = sim.population_pays, sim.train_population
    assert not population_pays(small.world, 8, backend="cpu")
    assert population_pays(small.world, 8, backend="gpu")
    assert not population_pays(small.world, 1, backend="gpu")
    with pytest.raises(ValueError, match="as many init keys as data keys"):
        train_population([small.keys["init"]], [], small.world, sim.TrainConfig(steps=2))
