"""Softmax language models Q = softmax(F Φ) trained with JAX/optax.

Two objectives: the exact population cross-entropy (a weighted sum over the
finite set of contexts) and minibatches of a sampled corpus. The trained
parameters are returned as float64 NumPy, so that ε is then measured exactly
for exactly those parameters (docs/design.md, "Language model").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy.special import log_softmax

import theory

from ..core import MAX_CORPUS, MAX_COUNT, check_choice, check_range, numpy_rng
from ..worlds import World

#: Cross-entropy on the exact population or a sampled corpus; the Quad objective (R7) likewise.
OBJECTIVES = ("exact", "corpus", "quad", "quad_corpus")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Training of a softmax LM Q = softmax(F Φ).

    Attributes:
      steps: optimisation steps, >= 1.
      learning_rate: Adam step size, > 0 (decayed exponentially to
        `final_lr_fraction` of it over the run).
      final_lr_fraction: in (0, 1].
      init_scale: std of the initial F entries, >= 0.
      learn_phi: also learn Φ (initialised at the world's Φ plus noise of
        std init_scale); default False keeps Φ fixed to the world's Φ.
      checkpoints: number of log-spaced checkpoints, >= 1 (the last is `steps`).
      corpus_size: tokens in the sampled corpus (objective "corpus"), >= 1.
      batch_size: minibatch size for the corpus objective, >= 1.
    """

    steps: int = 300
    learning_rate: float = 0.1
    final_lr_fraction: float = 0.05
    init_scale: float = 0.1
    learn_phi: bool = False
    checkpoints: int = 6
    corpus_size: int = 100_000
    batch_size: int = 1024

    def __post_init__(self) -> None:
        check_range("lm.steps", self.steps, 1, MAX_COUNT, integer=True)
        check_range("lm.learning_rate", self.learning_rate, 0.0, 10.0, lo_open=True)
        check_range("lm.final_lr_fraction", self.final_lr_fraction, 0.0, 1.0, lo_open=True)
        check_range("lm.init_scale", self.init_scale, 0.0)
        check_range("lm.checkpoints", self.checkpoints, 1, MAX_COUNT, integer=True)
        check_range("lm.corpus_size", self.corpus_size, 1, MAX_CORPUS, integer=True)
        check_range("lm.batch_size", self.batch_size, 1, MAX_CORPUS, integer=True)


#: The array type of a `SoftmaxLM`'s parameters.
_ArrayT = TypeVar("_ArrayT", jax.Array, np.ndarray)


class SoftmaxLM(NamedTuple, Generic[_ArrayT]):
    """Parameters of a softmax LM: F (N, d) context features, Phi (d, V) embeddings.

    JAX arrays while training (`SoftmaxLM[jax.Array]`); float64 NumPy arrays once `train` returns
    them (`SoftmaxLM[np.ndarray]`, made by `to_numpy`).
    """

    F: _ArrayT
    Phi: _ArrayT


def init_lm(key: jax.Array, world: World, cfg: TrainConfig) -> SoftmaxLM[jax.Array]:
    """Small random F; Φ = the world's Φ (plus noise when learned)."""
    k_f, k_phi = jax.random.split(key)
    N, d = world.theta.shape
    F = cfg.init_scale * jax.random.normal(k_f, (N, d), dtype=jnp.float32)
    Phi = jnp.asarray(world.Phi, dtype=jnp.float32)
    if cfg.learn_phi:
        Phi = Phi + cfg.init_scale * jax.random.normal(k_phi, Phi.shape, dtype=jnp.float32)
    return SoftmaxLM(F, Phi)


def population_xent_autodiff(params: SoftmaxLM[jax.Array], p_star: jax.Array, p_L: jax.Array) -> jax.Array:
    """Exact population cross-entropy Σ_s p_L(s) Σ_w −P*[s,w] log Q[s,w], differentiated by JAX's autodiff
    (the reference `population_xent` is checked against, and the benchmark's baseline)."""
    logq = jax.nn.log_softmax(params.F @ params.Phi, axis=-1)  # stable log-probabilities
    return -jnp.sum(p_L * jnp.sum(p_star * logq, axis=-1))


@jax.custom_vjp
def population_xent(params: SoftmaxLM[jax.Array], p_star: jax.Array, p_L: jax.Array) -> jax.Array:
    """Exact population cross-entropy Σ_s p_L(s) Σ_w −P*[s,w] log Q[s,w], with a hand-written gradient.

    With logits L = FΦ and r = diag(p_L)(Q·ΣP* − P*) (ΣP* per row, 1 up to
    rounding), ∂/∂F = rΦᵀ and ∂/∂Φ = Fᵀr: two matrix products and one exp
    pass over N × V, where autodiff through log_softmax makes several more
    passes (benchmarks/bench.py measures both; tests check the gradients agree).
    """
    return _xent_forward(params, p_star, p_L)[0]


def _xent_forward(params, p_star, p_L):
    logits = params.F @ params.Phi
    top = jnp.max(logits, axis=-1, keepdims=True)
    e = jnp.exp(logits - top)
    total = jnp.sum(e, axis=-1, keepdims=True)
    lse = (top + jnp.log(total))[:, 0]
    mass = jnp.sum(p_star, axis=-1)
    loss = jnp.sum(p_L * (lse * mass - jnp.sum(p_star * logits, axis=-1)))
    return loss, (params, p_star, p_L, e / total, mass)


def _xent_backward(res, g):
    params, p_star, p_L, q, mass = res
    r = (g * p_L)[:, None] * (q * mass[:, None] - p_star)
    return SoftmaxLM(r @ params.Phi.T, params.F.T @ r), jnp.zeros_like(p_star), jnp.zeros_like(p_L)


population_xent.defvjp(_xent_forward, _xent_backward)


def corpus_xent(params: SoftmaxLM[jax.Array], contexts: jax.Array, words: jax.Array) -> jax.Array:
    """Mean −log Q[s, w] over a minibatch of (context, next word) pairs."""
    logits = params.F[contexts] @ params.Phi
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits, -1), words[:, None], axis=-1))


def population_quad(params: SoftmaxLM[jax.Array], p_star: jax.Array, p_L: jax.Array) -> jax.Array:
    """The exact Quad loss Σ_s p_L(s)[−f(s)ᵀΦP*[s] + ½‖Φᵀf(s)‖²] (R7; arXiv:2010.03648 §5.3)."""
    logits = params.F @ params.Phi
    return jnp.sum(p_L * (-jnp.sum(logits * p_star, axis=-1) + 0.5 * jnp.sum(logits * logits, axis=-1)))


def corpus_quad(params: SoftmaxLM[jax.Array], contexts: jax.Array, words: jax.Array) -> jax.Array:
    """Mean of −f(s)ᵀφ_w + ½‖Φᵀf(s)‖² over (context, next word) pairs: unbiased for the Quad loss."""
    f = params.F[contexts]
    logits = f @ params.Phi
    return jnp.mean(-jnp.take_along_axis(logits, words[:, None], axis=-1)[:, 0] + 0.5 * jnp.sum(logits * logits, -1))


_LOSSES: dict[str, Callable[..., jax.Array]] = {
    "exact": population_xent,
    "corpus": corpus_xent,
    "quad": population_quad,
    "quad_corpus": corpus_quad,
}
#: Full-batch objectives; "exact_autodiff" (the exact objective through autodiff) is the benchmark's baseline.
_FULL_BATCH = ("exact", "quad", "exact_autodiff")
_LOSSES["exact_autodiff"] = population_xent_autodiff


def make_optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    schedule = optax.exponential_decay(cfg.learning_rate, cfg.steps, cfg.final_lr_fraction)
    return optax.adam(schedule)


def _value_and_grad(loss_fn: Callable, learn_phi: bool) -> Callable:
    """value_and_grad of loss_fn(params, ...) in F only (Φ fixed: no work spent on dΦ) or in both."""
    if learn_phi:
        return jax.value_and_grad(loss_fn)

    def fixed_phi(params, *args):
        loss, g_f = jax.value_and_grad(lambda F: loss_fn(SoftmaxLM(F, params.Phi), *args))(params.F)
        return loss, SoftmaxLM(g_f, jnp.zeros_like(params.Phi))

    return fixed_phi


def train_steps(
    params: SoftmaxLM[jax.Array],
    opt_state: optax.OptState,
    start: int | jax.Array,
    count: int | jax.Array,
    data: tuple[jax.Array, ...],
    *,
    cfg: TrainConfig,
    objective: str,
) -> tuple[SoftmaxLM[jax.Array], optax.OptState]:
    """Optimiser steps start, ..., start + count − 1 of a training run; returns (params, opt_state).

    `data` is (P*, p_L) for the exact objective and (contexts, words,
    batch_keys) for the corpus one, where step i draws its minibatch with
    batch_keys[i]. The steps run in a `jax.lax.fori_loop` whose bounds are
    traced: `lax.scan` needs a static length, and the segments between
    log-spaced checkpoints all differ in length, so a scan would compile once
    per segment, while this loop compiles once per (config, objective,
    shapes); the tests assert it with `chex.assert_max_traces`. Jit it with
    `cfg` and `objective` static, as `run_steps` does.
    """
    optimizer = make_optimizer(cfg)
    loss_and_grad = _value_and_grad(_LOSSES[objective], cfg.learn_phi)
    if objective in _FULL_BATCH:

        def grads(params, i):
            return loss_and_grad(params, *data)[1]
    else:
        contexts, words, batch_keys = data
        batch = min(cfg.batch_size, cfg.corpus_size)

        def grads(params, i):
            idx = jax.random.randint(batch_keys[i], (batch,), 0, contexts.shape[0])
            return loss_and_grad(params, contexts[idx], words[idx])[1]

    def body(i, carry):
        params, opt_state = carry
        updates, opt_state = optimizer.update(grads(params, i), opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    return jax.lax.fori_loop(start, start + count, body, (params, opt_state))


#: The jitted training segment; the config and the objective are static (hashable), so LMs trained
#: with the same config on worlds of the same shape share one compilation.
run_steps = jax.jit(train_steps, static_argnames=("cfg", "objective"))


def population_steps(
    params: SoftmaxLM[jax.Array],
    opt_state: optax.OptState,
    start: int | jax.Array,
    count: int | jax.Array,
    data: tuple[jax.Array, ...],
    *,
    cfg: TrainConfig,
    objective: str,
    data_axis: int | None,
) -> tuple[SoftmaxLM[jax.Array], optax.OptState]:
    """`train_steps` for a population: every leaf of params and opt_state has a leading member axis, and so
    does `data` where `data_axis` is 0 (each member its own corpus) rather than None (one data set for all).

    `jax.vmap` over the members and the same `fori_loop` over steps: one compiled program steps every
    member at once, which pays on an accelerator, where one member's products leave most of the chip idle.
    """

    def one(p, o, d):
        return train_steps(p, o, start, count, d, cfg=cfg, objective=objective)

    return jax.vmap(one, in_axes=(0, 0, data_axis))(params, opt_state, data)


run_population_steps = jax.jit(population_steps, static_argnames=("cfg", "objective", "data_axis"))

#: On an accelerator a population is trained vmapped when one member's step costs at most this many
#: multiply-adds (N·d·V), the largest world bench P5 measured there (an H200: 1.6–2.0× the loop at every
#: size up to this one); beyond it the choice is untested, so the loop stays.
POPULATION_MAX_WORK = 260_000_000


def population_pays(world: World, members: int, backend: str | None = None) -> bool:
    """Whether vmapping `members` LMs on `world` beats training them one after another.

    Never on a CPU: the loop already runs each member's steps in one compiled
    `fori_loop`, so vmap has little dispatch to save; bench P5 measured 1.2× the
    loop's speed on the tiny and quick worlds and 0.4× on tightness's standard
    world (one thread). On an accelerator, up to `POPULATION_MAX_WORK`.
    """
    N, d = world.theta.shape
    backend = backend or jax.default_backend()
    return members > 1 and backend != "cpu" and N * d * world.Phi.shape[1] <= POPULATION_MAX_WORK


def train_population(
    keys_init: list[jax.Array],
    keys_data: list[jax.Array],
    world: World,
    cfg: TrainConfig,
    objective: str = "exact",
    *,
    vmap: bool | None = None,
) -> list[list[tuple[int, SoftmaxLM[np.ndarray]]]]:
    """Train one LM per (init key, data key) on `world`; return each member's checkpoints as `train` does.

    vmap: True trains the members together (`jax.vmap` over parameters and
    optimiser states, one `fori_loop` over steps); False one after another
    with `train`; None (default) chooses by `population_pays`. Both give each
    member the initialisation and data `train` gives it; the parameters agree
    to float32 rounding (a batched product may sum in another order).
    """
    check_choice("objective", objective, set(OBJECTIVES))
    if len(keys_init) != len(keys_data) or not keys_init:
        raise ValueError(f"need as many init keys as data keys (>= 1), got {len(keys_init)} and {len(keys_data)}")
    if vmap is None:
        vmap = population_pays(world, len(keys_init))
    if not vmap:
        return [train(k_i, k_d, world, cfg, objective) for k_i, k_d in zip(keys_init, keys_data, strict=True)]
    members = [init_lm(k, world, cfg) for k in keys_init]
    params = jax.tree.map(lambda *leaves: jnp.stack(leaves), *members)
    opt_state = jax.vmap(make_optimizer(cfg).init)(params)
    if objective in _FULL_BATCH:
        data, axis = (jnp.asarray(world.p_star, dtype=jnp.float32), jnp.asarray(world.p_L, dtype=jnp.float32)), None
    else:
        data, axis = (
            jax.tree.map(lambda *leaves: jnp.stack(leaves), *[_corpus_data(k, world, cfg) for k in keys_data]),
            0,
        )
    out: list[list[tuple[int, SoftmaxLM[np.ndarray]]]] = [[] for _ in keys_init]
    done = 0
    for step in checkpoint_steps(cfg.steps, cfg.checkpoints):
        params, opt_state = run_population_steps(
            params, opt_state, done, step - done, data, cfg=cfg, objective=objective, data_axis=axis
        )
        done = step
        for i, member in enumerate(out):
            one = SoftmaxLM(params.F[i], params.Phi[i])
            member.append((step, to_numpy(one, None if cfg.learn_phi else world.Phi)))
    return out


def _corpus_data(key_data: jax.Array, world: World, cfg: TrainConfig) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The corpus objective's data of one LM: its sampled corpus and one minibatch key per step."""
    contexts, words = sample_corpus(key_data, world, cfg.corpus_size)
    return contexts, words, jax.random.split(jax.random.fold_in(key_data, 1), cfg.steps)


def checkpoint_steps(steps: int, n: int) -> list[int]:
    """At most n log-spaced step counts in [1, steps]: distinct, increasing, and the last is always `steps`.

    One checkpoint is the trained model (`steps`), never the model after one step.
    """
    raw = np.unique(np.round(np.geomspace(1, steps, n)).astype(int)) if n > 1 else np.array([steps])
    return [int(s) for s in raw]


def sample_corpus(key: jax.Array, world: World, size: int) -> tuple[jax.Array, jax.Array]:
    """`size` (context, next word) pairs: s ~ p_L, w ~ P*[s] (a sampled corpus).

    Drawn as counts (multinomial over contexts, then over words per
    context) in float64 NumPy, so memory is O(N·V + size), then expanded
    into pairs in a random order.
    """
    rng = numpy_rng(key)
    per_context = rng.multinomial(size, world.p_L)
    counts = rng.multinomial(per_context, world.p_star)  # (N, V)
    s_idx, w_idx = np.nonzero(counts)
    reps = counts[s_idx, w_idx]
    order = rng.permutation(size)
    contexts = np.repeat(s_idx, reps)[order]
    words = np.repeat(w_idx, reps)[order]
    return jnp.asarray(contexts, dtype=jnp.int32), jnp.asarray(words, dtype=jnp.int32)


def train(
    key_init: jax.Array,
    key_data: jax.Array,
    world: World,
    cfg: TrainConfig,
    objective: str = "exact",
    *,
    runner: Callable = run_steps,
) -> list[tuple[int, SoftmaxLM[np.ndarray]]]:
    """Train a softmax LM; return [(step, SoftmaxLM as float64 NumPy)] at the checkpoints.

    objective "exact": full-batch population cross-entropy (every step sees
    the exact objective); "corpus": minibatches from a sampled corpus of
    `corpus_size` tokens (the LM then cannot reach ε = 0); "quad" and
    "quad_corpus": the Quad objective (R7), exact or on the corpus. `runner` runs the
    steps between two checkpoints: the jitted `train_steps` (a test passes a
    trace-counting jit of it).
    """
    check_choice("objective", objective, set(OBJECTIVES))
    params = init_lm(key_init, world, cfg)
    optimizer = make_optimizer(cfg)
    opt_state = optimizer.init(params)
    data: tuple[jax.Array, ...]
    if objective in _FULL_BATCH:
        data = (jnp.asarray(world.p_star, dtype=jnp.float32), jnp.asarray(world.p_L, dtype=jnp.float32))
    else:
        data = _corpus_data(key_data, world, cfg)
    out, done = [], 0
    for step in checkpoint_steps(cfg.steps, cfg.checkpoints):
        params, opt_state = runner(params, opt_state, done, step - done, data, cfg=cfg, objective=objective)
        done = step
        out.append((step, to_numpy(params, None if cfg.learn_phi else world.Phi)))
    return out


def to_numpy(params: SoftmaxLM[Any], fixed_phi: np.ndarray | None = None) -> SoftmaxLM[np.ndarray]:
    """float64 NumPy copy (ε is then exact for exactly these parameters).

    With Φ fixed during training, the LM is (F, the world's float64 Φ): the
    float32 copy the optimiser used is a detail of the arithmetic, and keeping
    the world's Φ makes Q_F a member of exactly the family (R3)/(R5) speak of.
    """
    phi = np.asarray(params.Phi, dtype=np.float64) if fixed_phi is None else fixed_phi
    return SoftmaxLM(np.asarray(params.F, dtype=np.float64), phi)


def lm_log_probs(params: SoftmaxLM[np.ndarray]) -> np.ndarray:
    """log Q = log_softmax(F Φ) in float64."""
    return log_softmax(params.F @ params.Phi, axis=-1)


def lm_probs(params: SoftmaxLM[np.ndarray]) -> np.ndarray:
    """Q = softmax(F Φ) in float64."""
    return np.exp(lm_log_probs(params))


def lm_eps(world: World, params: SoftmaxLM[np.ndarray]) -> float:
    """ε of a softmax LM: the exact expected KL from P*, from log-probabilities (`theory.expected_kl_log`).

    NaN when the parameters are not finite (a training that diverged).
    """
    if not (np.all(np.isfinite(params.F)) and np.all(np.isfinite(params.Phi))):
        return float("nan")
    return theory.expected_kl_log(world.log_probs(), lm_log_probs(params), world.p_L)
