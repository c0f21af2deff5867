"""Sequence LMs in Equinox (transformer, GRU): causality, the compiled step, checkpoints, the LM record at the ends."""

import chex
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import simulations as sim
import theory
from simulations import models, worlds
from simulations.core import streams
from simulations.experiments.sequence import lm_at_ends, parse_lm
from simulations.runs import read_rows

TINY = models.SequenceLMConfig(width=16, heads=2, layers=1, steps=6, batch=4, corpus=16, warmup=2, checkpoints=2)


@pytest.fixture(scope="module")
def world():
    return worlds.make_sequence_world(streams(0)["world"], worlds.SequenceConfig(vocab_size=40, states=2, length=6))


@pytest.mark.parametrize("kind", models.SEQUENCE_LMS)
def test_a_prefix_never_sees_the_tokens_after_it(kind):
    model = models.init_sequence_lm(jax.random.key(0), models.SequenceLMConfig(kind=kind, width=16, heads=2), 40, 10)
    a = jnp.array([1, 2, 3, 4, 5, 6, 7, 8])
    b = a.at[5:].set(jnp.array([9, 9, 9]))
    la, lb = model.logits(a), model.logits(b)
    assert np.array_equal(np.asarray(la[:5]), np.asarray(lb[:5])) and not np.allclose(la[5:], lb[5:])
    # the output layer is explicit: logits = f(s)ᵀΦ + b
    np.testing.assert_allclose(la, model.features(a) @ model.phi() + model.bias, rtol=1e-6, atol=1e-6)


def test_the_train_step_compiles_once(world):
    corpus, _ = worlds.sample_documents(np.random.default_rng(0), world.hmm, 16, 8)
    chex.clear_trace_counter()
    steps = eqx.filter_jit(chex.assert_max_traces(models.train_sequence_steps, n=1))
    out = models.train_sequence_lm(jax.random.key(1), jax.random.key(2), corpus, 40, TINY, steps_fn=steps)
    assert [s for s, _ in out] == models.sequence_checkpoints(TINY.steps, TINY.checkpoints)
    # a second trace (a new block shape, or a count compiled in) would raise inside chex: the blocks of 1 to 4
    # steps between checkpoints ran on one trace


def test_training_lowers_the_loss_and_is_reproducible(world):
    corpus, _ = worlds.sample_documents(np.random.default_rng(1), world.hmm, 64, 8)
    cfg = models.SequenceLMConfig(
        width=16, heads=2, layers=1, steps=40, batch=16, corpus=64, lr=1e-2, warmup=5, checkpoints=2
    )
    a = models.train_sequence_lm(jax.random.key(1), jax.random.key(2), corpus, 40, cfg)
    b = models.train_sequence_lm(jax.random.key(1), jax.random.key(2), corpus, 40, cfg)
    batch = jnp.asarray(corpus, jnp.int32)
    first, last = (float(models.sequence_loss(m, batch)) for _, m in a)
    assert last < first
    assert np.array_equal(np.asarray(a[-1][1].logits(batch[0])), np.asarray(b[-1][1].logits(batch[0])))


def test_a_checkpoint_reloads_bit_identically(world, tmp_path):
    model = models.init_sequence_lm(jax.random.key(3), TINY, 40, 8)
    path = tmp_path / "m.eqx"
    models.save_checkpoint(path, model)
    again = models.load_checkpoint(path, TINY, 40, 8)
    x = jnp.array([3, 1, 4, 1, 5])
    assert np.array_equal(np.asarray(model.logits(x)), np.asarray(again.logits(x)))
    assert path.read_bytes()[:2] != b"\x80\x04"  # not a pickle


def test_log_probs_are_float64_distributions_of_the_models_logits(world):
    model = models.init_sequence_lm(jax.random.key(4), TINY, 40, 8)
    tokens = np.array([[1, 2, 3], [4, 5, 6]])
    lp = models.sequence_log_probs(model, tokens)
    assert lp.dtype == np.float64 and lp.shape == (2, 3, 40)
    np.testing.assert_allclose(np.exp(lp).sum(-1), 1.0, atol=1e-14)
    ref = jax.nn.log_softmax(jax.vmap(model.logits)(jnp.asarray(tokens)), axis=-1)
    np.testing.assert_allclose(lp, ref, atol=1e-5)


def test_the_model_at_the_ends_is_a_softmax_lm_of_its_features(world):
    docs = worlds.sample_population(streams(1)["data"], world, 12, 6)
    model = models.init_sequence_lm(jax.random.key(5), TINY, 40, 12)
    for suffix in worlds.suffixes(world, 2, streams(0)["world"]):
        view = worlds.end_view(0, streams(0), world, docs, suffix, 2.0)
        lm = lm_at_ends(view, docs, model, "transformer-16", 0)
        logits = lm.F @ lm.Phi
        q = np.exp(logits - logits.max(1, keepdims=True))
        np.testing.assert_allclose(q / q.sum(1, keepdims=True), lm.q, atol=1e-6)  # float32 features
        kl = theory.kl_divergence(view.inst.world.p_star, lm.q)
        assert lm.eps == pytest.approx(float(view.inst.task.p_T @ kl), rel=1e-9)


@pytest.mark.parametrize("spec, match", [("lstm-32", "KIND-WIDTH"), ("transformer", "KIND-WIDTH"),
                                         ("gru-32-big", "KIND-WIDTH"), ("transformer-2000", "width"),
                                         ("gru-016", "without leading zeros"), ("gru-\u0661\u0666", "ASCII digits"),
                                         ("gru-16#01", "KIND-WIDTH"), ("gru-16#", "KIND-WIDTH")])  # fmt: skip
def test_bad_model_specs_are_refused(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_lm(spec, models.SequenceLMConfig())


def test_one_spelling_per_model():
    """Two spellings of one model would train it twice under two names: a width or a copy has one spelling, and a
    copy is its own model (its place in lms picks its initialisation)."""
    from simulations.experiments.sequence import Config

    with pytest.raises(ValueError, match="without leading zeros"):
        Config(lms=("gru-016", "gru-16"))
    cfg = Config(lms=("gru-16", "gru-16#1"))
    assert cfg.lm_config("gru-16") == cfg.lm_config("gru-16#1")  # the same architecture


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="heads must divide width"):
        models.SequenceLMConfig(width=30, heads=4)
    with pytest.raises(ValueError, match="warmup must be below steps"):
        models.SequenceLMConfig(steps=50, warmup=100)
    with pytest.raises(ValueError, match="cannot fill one batch"):
        models.train_sequence_lm(jax.random.key(0), jax.random.key(1), np.zeros((3, 5), int), 40, TINY)


def test_a_run_keeps_its_checkpoints_and_they_reproduce_its_rows(tiny_runs):
    run, _ = tiny_runs["sequence"]
    cfg = sim.get_experiment("sequence").profiles["tiny"]
    gen = (run.store.path / "current").read_text().strip()
    folder = run.store.files_path(gen, cfg.seeds[0])
    spec = cfg.lms[0]
    step = cfg.train.steps
    model = models.load_checkpoint(folder / f"{spec}-step{step}.eqx", cfg.lm_config(spec), cfg.world.vocab_size,
                                   cfg.world.length + 4)  # fmt: skip
    keys = streams(cfg.seeds[0])
    world = worlds.make_sequence_world(keys["world"], cfg.world)
    docs = worlds.sample_population(keys["data"], world, cfg.world.documents, cfg.world.length)
    eps, _, _ = models.sequence_eps(
        world.hmm, docs, log_q=lambda rows: models.sequence_log_probs(model, docs.tokens[rows])
    )
    row = next(r for r in read_rows(run.store.rows_path, run.store.row_type) if r.lm == spec and r.step == step)
    assert eps == row.eps_heldout
