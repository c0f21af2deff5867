"""Feature kinds of an LM with their probe classes and bounds (simulations.measure)."""

import dataclasses

import numpy as np
import pytest

import simulations as sim
import theory


@pytest.fixture(scope="module")
def lms(small):
    adv = sim.tilted_lms(small, "adversarial", [1e-3, 1e-1])
    rnd = sim.tilted_lms(small, "random", [1e-3])
    exact = sim.LanguageModel("exact", small.world.p_star, 0.0, small.world.theta, small.world.Phi)
    return adv, rnd, exact


def test_feature_values(small, lms):
    adv, rnd, _ = lms
    lm = adv[0]
    assert sim.feature_values(small, lm, "p_f") is lm.q
    np.testing.assert_allclose(sim.feature_values(small, lm, "phi_p_f"), lm.q @ small.world.Phi.T)
    assert sim.feature_values(small, lm, "f") is lm.F
    # a Q that is not a softmax LM is read through the world's Φ, and has no f features
    np.testing.assert_allclose(sim.feature_values(small, rnd[0], "phi_p_f"), rnd[0].q @ small.world.Phi.T)
    assert sim.feature_values(small, rnd[0], "f") is None and sim.measure(small, rnd[0], "f") == []


def test_exact_lm_has_zero_excess_for_every_feature(small, lms):
    *_, exact = lms
    for feature in sim.FEATURES:
        (m,) = sim.measure(small, exact, feature)
        assert m.fit.converged and abs(m.excess) < 1e-9
        if feature != "f":  # at ε = 0 the bound is τ itself (ε_Φ of the exact LM is ~1e-24)
            assert m.bound == pytest.approx(m.tau, abs=1e-10)


def test_reference_probes_are_cached_per_class(small):
    a = sim.reference_probe(small, "p_f")
    assert sim.reference_probe(small, "p_f") is a
    ridge = sim.reference_probe(small, "p_f", "l2", 1e-2)
    assert ridge is not a and sim.reference_probe(small, "p_f", "l2", 1e-2) is ridge
    assert np.max(np.abs(a.v)) <= small.task.B + 1e-12  # the box class


def test_bounds_hold_and_grow_with_eps(small, lms):
    adv, _, _ = lms
    for feature in ("p_f", "phi_p_f", "f"):
        ms = [sim.measure(small, lm, feature)[0] for lm in adv]
        assert all(m.fit.loss <= m.bound + 1e-9 for m in ms)
        assert ms[0].bound < ms[1].bound
    (f,) = sim.measure(small, adv[0], "f")
    (phi,) = sim.measure(small, adv[0], "phi_p_f")
    assert f.delta >= 0 and f.bound >= phi.bound  # R6 adds ‖λ‖₂δ to the Φp_f bound


def test_an_lm_with_another_phi_gets_the_row_space_bound_of_its_own_phi(small, lms):
    # (R5) needs the world's Φ; for another Φ' the probe λ on Φ'Q is the probe Φ'ᵀλ on Q, so (R2) holds with ε
    # and τ of the polytope class of Φ' fitted on Φ'P*
    adv, _, _ = lms
    phi = adv[0].Phi + 1e-2 * np.random.default_rng(0).normal(size=adv[0].Phi.shape)
    other = adv[0]._replace(Phi=phi, F=adv[0].F)
    (m,) = sim.measure(small, other, "phi_p_f")
    ref = sim.fit_polytope_probe(small.world.p_star, phi, small.task.p_T, small.task.eta, small.task.B)
    assert m.eps_bound == other.eps and m.tau == pytest.approx(ref.loss, abs=1e-8)
    assert m.fit.loss <= m.bound and m.fit.converged


def test_probe_rows_are_measurements_with_their_bound(small, lms):
    adv, _, _ = lms
    rows = sim.probe_rows(small, adv[0], sim.FEATURES, ("box", "l2"), 1e-2, l2_features=("p_f",))
    assert {(r.feature, r.probe) for r in rows} == {("p_f", "box"), ("p_f", "l2"), ("phi_p_f", "box"), ("f", "box")}
    for r in rows:
        assert r.eps_check == pytest.approx(theory.expected_kl(small.world.p_star, adv[0].q, small.world.p_L))
        assert r.slack == pytest.approx(r.bound - r.probe_loss)
        assert dataclasses.is_dataclass(r) and r.seed == small.seed


def test_a_diverged_lm_is_recorded_as_flagged_rows(small, lms):
    adv, _, _ = lms
    bad = adv[0]._replace(family="trained", q=np.full_like(adv[0].q, np.nan), eps=np.nan, step=40)
    rows = sim.probe_rows(small, bad, sim.FEATURES, ("box",))
    assert len(rows) == 3 and all("step 40" in r.flag and "trained" in r.flag for r in rows)
    assert all(np.isnan(r.probe_loss) and np.isnan(r.bound) and not r.converged for r in rows)
    good = sim.probe_rows(small, adv[0], ("p_f",), ("box",))
    assert good[0].flag == ""
