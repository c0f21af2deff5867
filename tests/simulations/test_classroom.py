"""The teaching layer: an LM at a chosen ε in one call, a probe next to its bound in one call, and the
names that keep the fitted τ and the planted classifier's loss apart."""

import math
import re

import numpy as np
import pytest
from scipy.special import rel_entr

import simulations as sim
from simulations import cli
from simulations.demo import DEFAULT_EPS, DEMO_B, DEMO_LEXICON, demo
from simulations.demo import KINDS as DEMO_KINDS


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


# `natural-tasks demo`: its numbers recomputed here from the named-word world, built again from the seed


@pytest.fixture(scope="module")
def demos():
    """The demo at its defaults (seed 0, its default ε), once for each kind of LM."""
    return {kind: demo(kind=kind) for kind in DEMO_KINDS}


def _demo_world(seed: int = 0):
    lex = sim.make_lexicon(np.random.default_rng(seed), DEMO_LEXICON)
    return lex, [sim.make_class_task(lex, "sentiment", prompted) for prompted in (False, True)]


def _kl(p_star: np.ndarray, q: np.ndarray, p_L: np.ndarray) -> float:
    return float(p_L @ rel_entr(p_star, q).sum(axis=1))


def _constant_loss(task) -> float:
    """H(η̄): the loss of always predicting the average label."""
    mean = float(task.p_T @ task.eta[:, 1])
    return -(mean * math.log(mean) + (1 - mean) * math.log(1 - mean))


def _gamma(world, task) -> float:
    live = task.p_T > 0
    return float(np.min(world.p_L[live] / task.p_T[live]))


def test_demo_default_eps_gives_an_informative_bound(demos, capsys):
    """At the default seed and ε the bound τ + 2B√(2ε/γ), with τ, ε, γ and the constant predictor's loss all
    recomputed here, is below the constant predictor's loss on both copies of the contexts."""
    r = demos["adversarial"]
    lex, tasks = _demo_world()
    world = lex.world
    eps = _kl(world.p_star, r.q, world.p_L)
    assert r.target_eps == DEFAULT_EPS and abs(eps / DEFAULT_EPS - 1) <= 0.01
    for task, line in zip(tasks, r.tasks, strict=True):
        tau = sim.fit_multiclass_probe(world.p_star, task.p_T, task.eta, box=DEMO_B).loss
        bound = tau + 2 * DEMO_B * math.sqrt(2 * eps / _gamma(world, task))
        assert bound < _constant_loss(task), (task.prompted, bound, _constant_loss(task))
        assert line.bound == pytest.approx(bound, rel=1e-6) and line.trivial == pytest.approx(_constant_loss(task))
        assert not line.vacuous and line.eps_vacuous > DEFAULT_EPS
    assert "the bound is informative" in r.text
    assert all(f"{t.bound:.3f} (vacuous)" not in r.text and f"{t.bound:.3f}" in r.text for t in r.tasks)
    # the command without --eps runs at the same default, and its help names it
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert f"= {r.eps:.4g} (exact, float64)" in out and "the bound is informative" in out
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    said = re.search(r"--eps EPS .*?\(default ([\d.e+-]+)", " ".join(capsys.readouterr().out.split()))
    assert said and float(said.group(1)) == DEFAULT_EPS


@pytest.mark.parametrize("kind", DEMO_KINDS)
def test_demo_reports_the_exact_kl_of_its_model(demos, kind):
    r = demos[kind]
    lex, tasks = _demo_world()
    world = lex.world
    assert r.kind == kind and r.q.shape == world.p_star.shape and r.q.dtype == np.float64
    np.testing.assert_allclose(r.q.sum(axis=1), 1.0, atol=1e-12)
    assert r.eps == pytest.approx(_kl(world.p_star, r.q, world.p_L), rel=1e-8)
    assert f"= {r.eps:.4g} (exact, float64)" in r.text
    if kind == "trained":
        assert 0 < r.eps <= DEFAULT_EPS and r.step > 0
    else:
        assert abs(r.eps / DEFAULT_EPS - 1) <= sim.EPS_TARGET_RTOL and r.step == 0
    for task, line in zip(tasks, r.tasks, strict=True):
        refit = sim.fit_multiclass_probe(r.q, task.p_T, task.eta, box=DEMO_B)
        assert line.probe_loss == pytest.approx(refit.loss, abs=1e-6)
        assert line.holds and line.probe_loss - line.gap <= line.bound


def test_demo_adversarial_model_costs_the_probe_more_than_a_random_one(demos):
    adv, rnd = demos["adversarial"], demos["random"]
    a, b = adv.tasks[0], rnd.tasks[0]  # no prompt
    assert a.probe_loss - a.tau > 5 * abs(b.probe_loss - b.tau)
    assert all(t.probe_loss - t.tau > 0 for t in adv.tasks)
    assert not np.allclose(adv.q, rnd.q)


def test_demo_measures_why_zero_shot_beats_the_probe(demos):
    """The demo's reason: a box-limited probe on small probabilities cannot be confident, zero-shot reads a ratio.
    Its evidence, recomputed: without the prompt the probe's accuracy on P* rises with B and passes zero-shot's,
    which beats it at the demo's B = 4; the class words carry little of the next word's mass without the prompt."""
    r = demos["adversarial"]
    lex, (plain, prompted) = _demo_world()
    p = lex.world.p_star
    acc = [sim.fit_multiclass_probe(p, plain.p_T, plain.eta, box=B).accuracy for B in r.boxes]
    mass = np.stack([p[:, words].sum(axis=1) for words in plain.class_words], axis=1)
    live = plain.p_T > 0
    zs = float(plain.p_T[live] @ plain.eta[live, np.argmax(mass[live], axis=1)])
    assert r.boxes[0] == DEMO_B and r.box_accuracy == pytest.approx(acc, abs=1e-9)
    assert r.zero_shot_p_star == pytest.approx(zs, abs=1e-12)
    assert acc[0] < zs <= acc[-1] and all(x <= y for x, y in zip(acc, acc[1:], strict=False))
    assert float(plain.p_T @ mass.sum(axis=1)) < 0.1 < r.class_mass[1]
    assert "Why zero-shot beats the probe here" in r.text and f"{acc[-1]:.3f} at B = {r.boxes[-1]:g}" in r.text


def test_demo_plot_is_a_png_of_the_excess_under_the_bound(tmp_path, capsys):
    r = demo(kind="adversarial", plot=tmp_path / "figs" / "hero.png")
    assert r.plot == tmp_path / "figs" / "hero.png"
    assert r.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and r.plot.stat().st_size > 20_000
    lex, tasks = _demo_world()
    world = lex.world
    assert len(r.curve) >= 10 and min(c.eps for c in r.curve) < 1e-6 and max(c.eps for c in r.curve) > 1e-2
    for task, line in zip(tasks, r.tasks, strict=True):
        gamma = _gamma(world, task)
        # the marked vacuous ε: where the bound reaches the constant predictor's loss
        at = line.tau + 2 * DEMO_B * math.sqrt(2 * line.eps_vacuous / gamma)
        assert at == pytest.approx(_constant_loss(task), rel=1e-9)
    for c in r.curve:
        room = 2 * DEMO_B * math.sqrt(2 * c.eps / _gamma(world, tasks[0]))
        assert max(c.excess) - max(c.gap) <= room
    # the same figure through the command line, for a trained LM
    assert cli.main(["demo", "--kind", "trained", "--plot", str(tmp_path / "trained.png")]) == 0
    assert "Figure: " in capsys.readouterr().out
    assert (tmp_path / "trained.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(eps=0.0), "eps must be in"),
        (dict(eps=math.inf), "eps must be in"),
        (dict(kind="tilted"), "kind must be one of"),
        (dict(plot="hero.svg"), "ending in .png"),
        (dict(kind="trained", eps=1e-12), "the trained LM reached"),
    ],
)
def test_demo_refuses_bad_requests(kwargs, words):
    with pytest.raises(ValueError, match=words):
        demo(**kwargs)
