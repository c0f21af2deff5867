"""The teaching layer: an LM at a chosen ε in one call, a probe next to its bound in one call, and the
names that keep the fitted τ and the planted classifier's loss apart."""

import math

import numpy as np
import pytest

import simulations as sim


@pytest.fixture(scope="module")
def inst():
    return sim.make_instance(0, sim.WorldConfig(vocab_size=60, num_contexts=120, dim=4), sim.TaskConfig())


@pytest.mark.parametrize("kind", ["adversarial", "random"])
def test_tilted_lm_has_the_asked_eps(inst, kind):
    for eps in (1e-4, 1e-2):
        lm = sim.language_model(inst, eps, kind)
        assert lm.family == kind and abs(lm.eps / eps - 1) <= sim.EPS_TARGET_RTOL
        # its ε is the KL from P*, recomputed here from Q
        kl = np.sum(inst.world.p_star * (inst.world.log_p_star - np.log(lm.q)), axis=1)
        assert lm.eps == pytest.approx(float(inst.world.p_L @ kl), rel=1e-9)


def test_trained_lm_is_at_or_below_the_target(inst):
    lm = sim.language_model(inst, 1e-3, "trained")
    assert lm.family == "trained" and lm.F is not None and 0 < lm.eps <= 1e-3
    with pytest.raises(ValueError, match="reached ε = .*raise max_steps"):
        sim.language_model(inst, 1e-12, "trained", max_steps=3)


BAD = [(0.0, "random", "eps must be"), (-1.0, "random", "eps must be"), (math.nan, "random", "eps must be"),
       (1e-3, "tilted", "kind must be")]  # fmt: skip


@pytest.mark.parametrize("eps, kind, words", BAD)
def test_bad_requests_are_refused(inst, eps, kind, words):
    with pytest.raises(ValueError, match=words):
        sim.language_model(inst, eps, kind)


def test_report_names_the_fitted_tau_and_the_planted_loss_apart(inst):
    lm = sim.language_model(inst, 1e-3, "adversarial")
    r = sim.probe_vs_bound(inst, lm)
    task = inst.task
    # the planted classifier's loss on P*, computed here from its definition
    z = inst.world.p_star @ task.v + task.b
    planted = float(task.p_T @ (task.eta * np.logaddexp(0, -z) + (1 - task.eta) * np.logaddexp(0, z)))
    assert r.planted_classifier_loss == pytest.approx(planted, rel=1e-12)
    # the fitted τ is the best box probe on P*: no worse than the planted one, which is in the class
    assert r.tau_fitted <= r.planted_classifier_loss + 1e-12
    assert r.tau_fitted < r.planted_classifier_loss - 1e-3  # in this world, clearly better
    assert r.excess == pytest.approx(r.probe_loss - r.tau_fitted, abs=1e-15)
    assert r.bound_excess == pytest.approx(math.sqrt(2 * task.B**2 * lm.eps / inst.gamma), rel=1e-12)
    assert r.gamma == 1.0  # p_T = p_L: exactly 1, not 1 − ulp
    assert r.holds and 0 < r.excess <= r.bound_excess
    text = str(r)
    assert "τ: same probe class fitted on P*" in text and "planted classifier (v*, b*) on P*" in text
    assert "holds" in text


def test_report_check_fails_when_the_eps_is_understated(inst):
    """Negative control: the same adversarial LM, with its ε understated 1000-fold, is above that bound (measured
    through `measure`, which trusts the record's ε); `probe_vs_bound` recomputes ε from Q and refuses it."""
    lm = sim.language_model(inst, 1e-2, "adversarial")
    assert sim.probe_vs_bound(inst, lm).holds
    lying = lm._replace(eps=lm.eps / 1000)
    (m,) = sim.measure(inst, lying, "p_f")
    assert m.fit.loss - m.fit.gap > m.bound
    with pytest.raises(ValueError, match="is not the KL of its Q"):
        sim.probe_vs_bound(inst, lying)


def test_report_on_conditional_means_uses_eps_phi(inst):
    lm = sim.language_model(inst, 1e-3, "trained")
    r = sim.probe_vs_bound(inst, lm, "phi_p_f")
    assert r.feature == "phi_p_f" and r.holds and 0 <= r.eps_bound <= r.eps * (1 + 1e-6)
    with pytest.raises(ValueError, match="feature must be"):
        sim.probe_vs_bound(inst, lm, "f")


def test_world_says_which_row_of_phi_is_the_bias():
    cfg = sim.WorldConfig(vocab_size=40, num_contexts=30, dim=4)
    world = sim.make_world(sim.streams(0)["world"], cfg)
    assert world.Phi.shape == (5, 40) and world.embedding_dim == 4
    np.testing.assert_array_equal(world.Phi[-1], world.word_bias)
    np.testing.assert_array_equal(world.theta[:, -1], 1.0)
    flat = sim.make_world(sim.streams(0)["world"], sim.WorldConfig(vocab_size=40, num_contexts=30, dim=4, word_zipf=0))
    assert flat.word_bias is None and flat.Phi.shape == (4, 40) and flat.embedding_dim == 4


def test_adversarial_direction_needs_no_key(inst):
    u = sim.tilt_direction(None, inst.world, inst.task, "adversarial")
    np.testing.assert_array_equal(u, sim.tilt_direction(inst.keys["tilt"], inst.world, inst.task, "adversarial"))
    with pytest.raises(ValueError, match="needs a PRNG key"):
        sim.tilt_direction(None, inst.world, inst.task, "random")


def test_adversarial_tilt_of_a_misspecified_world_carries_no_wrong_softmax_parameters():
    """In a misspecified world P* is not softmax(θ*Φ): the tilt keeps its Q and claims no F (an F built from
    θ* would give another distribution, and a wrong ε_Φ)."""
    inst = sim.make_instance(0, sim.WorldConfig(vocab_size=60, num_contexts=120, dim=4, extra_dims=3), sim.TaskConfig())
    lm = sim.language_model(inst, 1e-3, "adversarial")
    assert lm.F is None and lm.Phi is None
    r = sim.probe_vs_bound(inst, lm, "phi_p_f")
    assert r.eps_bound == r.eps  # no ε_Φ without softmax parameters
    well = sim.make_instance(0, sim.WorldConfig(vocab_size=60, num_contexts=120, dim=4), sim.TaskConfig())
    tilt = sim.language_model(well, 1e-3, "adversarial")
    q = np.exp(tilt.F @ tilt.Phi - np.log(np.exp(tilt.F @ tilt.Phi).sum(1, keepdims=True)))
    np.testing.assert_allclose(q, tilt.q, atol=1e-12)  # where it is attached, F gives exactly its Q


def test_a_model_that_is_not_one_is_refused_in_one_line(inst):
    lm = sim.language_model(inst, eps=1e-3)
    inst_cfg = (sim.WorldConfig(vocab_size=60, num_contexts=120, dim=4), sim.TaskConfig())
    for call, match in (
        (lambda: sim.probe_vs_bound(inst, None), "expected \\(an Instance, a LanguageModel\\)"),
        (lambda: sim.probe_vs_bound(lm, inst), "got \\(LanguageModel, Instance\\)"),
        (lambda: sim.probe_vs_bound(inst, lm._replace(q=2 * lm.q)), "must be next-word distributions"),
        (lambda: sim.probe_vs_bound(inst, lm._replace(eps=-1e-3)), "ε must be >= 0"),
        (lambda: sim.probe_vs_bound(inst, lm._replace(eps=1e-9)), "is not the KL of its Q"),
        (
            lambda: sim.probe_vs_bound(sim.make_instance(1, inst_cfg[0], inst_cfg[1]), lm._replace(world_id="")),
            "is not the KL of its Q",
        ),
        (lambda: sim.make_instance(-1, sim.WorldConfig(), sim.TaskConfig()), "seed must be in"),
        (lambda: sim.make_instance(0, sim.TaskConfig(), sim.WorldConfig()), "takes a WorldConfig and a TaskConfig"),
    ):
        with pytest.raises(ValueError, match=match):
            call()
