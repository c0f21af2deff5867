"""Worlds of a real vocabulary, a row chunk at a time: signed tilts, P*-only worlds, the chunked sqrt_eps.

Every chunked computation is checked against the general in-memory one (the N × V direction given to
`simulations.models._tilt`, the in-memory sqrt_eps run), on worlds with more contexts than one row chunk.
"""

import dataclasses
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import simulations as sim
import theory
from simulations import CHUNK_ROWS

#: More contexts than two row chunks and a ragged last chunk; a Zipf context weighting.
WORLD = sim.WorldConfig(vocab_size=150, num_contexts=2 * CHUNK_ROWS + 37, dim=4, context_zipf=1.0)


@pytest.fixture(scope="module")
def inst():
    return sim.make_instance(3, WORLD, sim.TaskConfig())


@pytest.fixture(scope="module")
def misspecified():
    cfg = dataclasses.replace(WORLD, extra_dims=3)
    return sim.make_instance(4, cfg, sim.TaskConfig(structure="word_groups", task_fraction=0.5))


def test_a_world_that_keeps_p_star_alone_has_the_same_p_star(inst):
    lean = sim.make_world(inst.keys["world"], WORLD, keep_log=False)
    assert lean.log_p_star is None
    np.testing.assert_array_equal(lean.p_star, inst.world.p_star)
    np.testing.assert_allclose(lean.log_probs(), inst.world.log_p_star, rtol=0, atol=1e-13)
    assert lean.well_specified and inst.world.well_specified


def test_well_specified_is_false_in_a_misspecified_world(misspecified):
    world = misspecified.world
    assert not world.well_specified
    lean = sim.make_world(misspecified.keys["world"], dataclasses.replace(WORLD, extra_dims=3), keep_log=False)
    assert not lean.well_specified


@pytest.mark.parametrize("which", ["inst", "misspecified"])
@pytest.mark.parametrize("family", sim.TILT_FAMILIES)
def test_signed_tilts_equal_the_general_tilts_along_the_same_direction(request, which, family):
    case = request.getfixturevalue(which)
    world = case.world
    d = sim.signed_direction(case.keys["tilt"], case, family)
    u = sim.dense_direction(world, d)
    if family == "adversarial":  # the same N x V array as the (R8) direction
        np.testing.assert_array_equal(u, sim.adversarial_direction(world, case.task.eta, case.task.v, case.task.B))
    ts = [1e-4, 1e-2, 0.3, 3.0]
    np.testing.assert_allclose(sim.signed_eps(world, d, ts), sim.tilt_eps(world, u, ts), rtol=1e-11)
    var = float(np.sum(world.p_L * np.sum(world.p_star * u * u, axis=-1)))
    assert sim.signed_variance(world, d) == pytest.approx(var, rel=1e-12)
    for t in (1e-3, 0.7):
        np.testing.assert_allclose(sim.signed_model(world, d, t), sim.tilt_model(world, u, t), rtol=1e-12)
    targets = [1e-5, 1e-3, 1e-1]
    t_s, e_s = sim.signed_tilts(world, d, targets)
    t_g, e_g = sim.calibrate_tilts(world, u, targets)
    np.testing.assert_allclose(t_s, t_g, rtol=1e-12)
    np.testing.assert_allclose(e_s, e_g, rtol=1e-11)


@given(t=st.floats(1e-6, 5.0), seed=st.integers(0, 2**16))
def test_signed_eps_is_the_expected_kl_of_its_model(inst, t, seed):
    """ε(t) against theory.expected_kl of the Q the tilt makes (an independent computation), any signs."""
    world = inst.world
    rng = np.random.default_rng(seed)
    d = sim.SignedDirection(rng.choice([-1.0, 0.0, 1.0], size=world.p_L.size), rng.normal(size=150))
    exact = theory.expected_kl(world.p_star, sim.signed_model(world, d, t), world.p_L)
    assert sim.signed_eps(world, d, t)[0] == pytest.approx(exact, rel=1e-8, abs=1e-300)


def test_a_random_signed_direction_needs_a_key(inst):
    with pytest.raises(ValueError, match="PRNG key"):
        sim.signed_direction(None, inst, "random")
    with pytest.raises(ValueError, match="family"):
        sim.signed_direction(None, inst, "trained")


def _cfg(**kw):
    base = dict(
        world=WORLD,
        families=sim.TILT_FAMILIES,
        features=("p_f",),
        probes=("box",),
        eps_targets=(1e-4, 1e-3, 1e-2),
        seeds=(3,),
    )
    return dataclasses.replace(sim.get_experiment("sqrt_eps").profiles["tiny"], **base | kw)


def test_the_chunked_run_gives_the_in_memory_run_rows():
    """The adversarial rows of sqrt_eps, chunked and in memory: the same LMs, fits and bounds."""
    exp = sim.get_experiment("sqrt_eps")
    chunked = exp.run_seed(_cfg(families=("adversarial",), chunked=True), 3, lambda: None)
    memory = exp.run_seed(_cfg(families=("adversarial",)), 3, lambda: None)
    assert len(chunked) == len(memory) == 3
    for a, b in zip(chunked, memory, strict=True):
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            if f.name == "gap":  # both certified; the certificate itself is a rounding-level number
                assert x <= sim.GAP_TOL and y <= sim.GAP_TOL
            elif isinstance(x, float) and not math.isnan(x):
                assert x == pytest.approx(y, rel=1e-9, abs=1e-12), f.name
            elif not isinstance(x, float):
                assert x == y, f.name


def _peak_bytes(cfg) -> int:
    exp = sim.get_experiment("sqrt_eps")
    tracemalloc.start()
    try:
        exp.run_seed(cfg, 3, lambda: None)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_chunked_run_holds_about_two_n_by_v_arrays(monkeypatch):
    """Peak NumPy memory of a chunked seed: P*, one Q and row chunks; the in-memory run, on the same
    world, holds several times more (the measurement can fail). The KL's row chunks are made as small,
    relative to this world, as they are relative to a GPT-2-sized one."""
    monkeypatch.setattr("theory._divergences.CHUNK_ENTRIES", 2**15)
    world = sim.WorldConfig(vocab_size=1000, num_contexts=32 * CHUNK_ROWS, dim=8)  # a chunk: 1/32 of the rows
    nv = 8 * world.vocab_size * world.num_contexts
    eps = (1e-4, 1e-3, 1e-2)  # the adversarial rate claim needs three ε over a decade
    chunked = _peak_bytes(_cfg(world=world, families=sim.TILT_FAMILIES, eps_targets=eps, chunked=True))
    memory = _peak_bytes(_cfg(world=world, families=("adversarial",), eps_targets=eps))
    assert chunked < 2.5 * nv, chunked / nv
    assert memory > 4.0 * nv, memory / nv


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(families=("trained",)), "gpt2 profile.* take only the tilt families"),
        (dict(features=("p_f", "phi_p_f")), "p_f features in the box class"),
        (dict(probes=("box", "l2")), "p_f features in the box class"),
    ],
)
def test_chunked_configs_refuse_what_they_cannot_do(change, match):
    with pytest.raises(ValueError, match=match):
        _cfg(chunked=True, **change)


def test_the_gpt2_profile_is_gpt2_sized_and_fits_the_memory_check():
    cfg = sim.get_experiment("sqrt_eps").profiles["gpt2"]
    assert (cfg.world.vocab_size, cfg.world.dim) == (50_257, 768) and cfg.world.num_contexts >= 8_192
    assert cfg.chunked and sim.get_experiment("sqrt_eps").arrays_nv(cfg) == 3


def test_signed_tilts_stay_finite_where_a_sharp_world_makes_the_cumulant_cancel():
    """A world of sharp P* rows (logit scale 20, Zipf 5): at large t the expm1 form cancels to −1; the
    shifted form keeps ε and Q finite and equal to the general tilts' (which overflow only later)."""
    cfg = sim.WorldConfig(vocab_size=120, num_contexts=300, dim=4, theta_scale=20.0, word_zipf=5.0)
    case = sim.make_instance(1, cfg, sim.TaskConfig())
    d = sim.signed_direction(None, case, "adversarial")
    u = sim.dense_direction(case.world, d)
    for t in (0.5, 5.0, 36.7, 100.0, 300.0):
        assert sim.signed_eps(case.world, d, t)[0] == pytest.approx(sim.tilt_eps(case.world, u, t)[0], rel=1e-9)
        np.testing.assert_allclose(sim.signed_model(case.world, d, t), sim.tilt_model(case.world, u, t), atol=1e-14)
    t_s, e_s = sim.signed_tilts(case.world, d, [10.0])
    t_g, e_g = sim.calibrate_tilts(case.world, u, [10.0])
    assert t_s[0] == pytest.approx(t_g[0], rel=1e-9) and e_s[0] == pytest.approx(e_g[0], rel=1e-9)


def test_a_dirichlet_world_can_keep_p_star_alone():
    cfg = sim.WorldConfig(vocab_size=50, num_contexts=40, dirichlet=0.5)
    key = sim.streams(0)["world"]
    full, lean = sim.make_world(key, cfg), sim.make_world(key, cfg, keep_log=False)
    assert lean.log_p_star is None
    np.testing.assert_array_equal(full.p_star, lean.p_star)
