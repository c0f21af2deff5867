"""Language models at measured ε: exponential tilts of P* and trained softmax LMs.

ε is always the exact expected KL in float64 (DESIGN.md §2, "Suboptimality").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy.special import log_softmax

import theory

from ._config import check_choice, check_range
from ._keys import numpy_rng
from ._task import Task
from ._world import World

# ---------------------------------------------------------------------------
# Perturbed language models: exponential tilts Q ∝ P*·exp(t·U).
# ---------------------------------------------------------------------------

TILT_KINDS = ("random", "adversarial")
#: Bisection stops when ε(t) is within this relative distance of the target.
EPS_TARGET_RTOL = 0.01


def tilt_direction(key: jax.Array, world: World, task: Task, kind: str) -> np.ndarray:
    """The tilt direction U (N, V), centred so that E_{P*[s]} U(s) = 0.

    "random": i.i.d. standard normal entries (errors unrelated to the task).
    "adversarial": `adversarial_direction` for the planted v*.
    """
    check_choice("family", kind, set(TILT_KINDS))
    if kind == "adversarial":
        return adversarial_direction(world, task.eta, task.v, task.B)
    u = numpy_rng(key).normal(size=world.p_star.shape)
    return u - np.sum(world.p_star * u, axis=-1, keepdims=True)


def adversarial_direction(world: World, eta: np.ndarray, v: np.ndarray, scale: float | None = None) -> np.ndarray:
    """U(s) = −sign(2η(s) − 1)·v/scale, centred under P*[s]; scale = ‖v‖_∞ by default.

    Pushes every context's score vᵀQ[s] towards the wrong label
    (DESIGN.md (R8)); for the planted v*, scale = B = ‖v*‖_∞.
    """
    sign = np.sign(2.0 * eta - 1.0)
    u = -sign[:, None] * (v / (np.max(np.abs(v)) if scale is None else scale))[None, :]
    return u - np.sum(world.p_star * u, axis=-1, keepdims=True)


def tilt_eps(world: World, u: np.ndarray, t) -> np.ndarray:
    r"""ε(t) = Σ_s p_L(s) KL(P*[s] ‖ P*[s]e^{tU(s)}/Z) for each t (exact, float64).

    With E_{P*}U = 0 the per-context KL is the cumulant log E_{P*} e^{tU},
    computed as log1p(E_{P*}[expm1(tU)]) so it keeps its digits as t → 0.
    """
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    out = np.empty_like(t)
    for i, ti in enumerate(t):
        m = np.sum(world.p_star * np.expm1(ti * u), axis=-1)
        out[i] = np.sum(world.p_L * np.log1p(m))
    return out


def tilt_model(world: World, u: np.ndarray, t: float) -> np.ndarray:
    """Q = softmax(log P* + tU), float64, shape (N, V)."""
    return np.exp(log_softmax(world.log_p_star + t * u, axis=-1))


def calibrate_tilts(
    world: World, u: np.ndarray, targets, max_iter: int = 80, rtol: float = EPS_TARGET_RTOL
) -> tuple[np.ndarray, np.ndarray]:
    """Scales t with ε(t) within `rtol` (default `EPS_TARGET_RTOL`) of each target, by bisection.

    ε(t) is convex in t with ε(0) = 0, hence increasing for t > 0. The
    bracket starts at the quadratic guess √(2ε/Var) and is widened by
    doubling; then bisection on log t, all targets at once.

    Returns:
      (t, eps) arrays matching `targets`.

    Raises:
      ValueError: a target is <= 0, or cannot be reached (U constant on the
        support of P*, or the target exceeds what the direction can reach).
    """
    targets = np.asarray(targets, dtype=np.float64)
    if np.any(~(targets > 0)):
        raise ValueError(f"eps targets must be > 0, got {targets}")
    var = max(float(np.sum(world.p_L * np.sum(world.p_star * u * u, axis=-1))), 1e-300)
    guess = np.sqrt(2.0 * targets / var)
    lo, hi = guess / 2.0, guess * 2.0
    for _ in range(200):
        e_lo, e_hi = tilt_eps(world, u, lo), tilt_eps(world, u, hi)
        bad_lo, bad_hi = e_lo > targets, e_hi < targets
        if not (np.any(bad_lo) or np.any(bad_hi)):
            break
        lo = np.where(bad_lo, lo / 2.0, lo)
        hi = np.where(bad_hi, hi * 2.0, hi)
    else:
        raise ValueError(f"eps targets {targets} cannot be reached along this tilt direction")
    t = np.sqrt(lo * hi)
    for _ in range(max_iter):
        t = np.sqrt(lo * hi)
        e = tilt_eps(world, u, t)
        if np.all(np.abs(e / targets - 1.0) <= rtol):
            return t, e
        lo = np.where(e < targets, t, lo)
        hi = np.where(e >= targets, t, hi)
    raise ValueError(f"bisection did not reach the eps targets to {rtol:g} (increase max_iter)")


# ---------------------------------------------------------------------------
# Trained softmax language models (JAX + optax).
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Training of a softmax LM Q = softmax(F Φ) (DESIGN.md §2, "Language model").

    Attributes:
      steps: optimisation steps, >= 1.
      learning_rate: Adam step size, > 0 (decayed exponentially to
        `final_lr_fraction` of it over the run).
      final_lr_fraction: in (0, 1].
      init_scale: std of the initial F entries, >= 0.
      learn_phi: also learn Φ (initialised at the world's Φ plus noise of
        std init_scale); default False keeps Φ fixed to the world's Φ.
      checkpoints: number of log-spaced checkpoints, >= 1.
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

    def __post_init__(self):
        check_range("lm.steps", self.steps, 1, integer=True)
        check_range("lm.learning_rate", self.learning_rate, 0.0, 10.0, lo_open=True)
        check_range("lm.final_lr_fraction", self.final_lr_fraction, 0.0, 1.0, lo_open=True)
        check_range("lm.init_scale", self.init_scale, 0.0)
        check_range("lm.checkpoints", self.checkpoints, 1, integer=True)
        check_range("lm.corpus_size", self.corpus_size, 1, integer=True)
        check_range("lm.batch_size", self.batch_size, 1, integer=True)


class SoftmaxLM(NamedTuple):
    """Parameters of a softmax LM: F (N, d) context features, Phi (d, V) embeddings."""

    F: jax.Array
    Phi: jax.Array


def init_lm(key: jax.Array, world: World, cfg: TrainConfig) -> SoftmaxLM:
    """Small random F; Φ = the world's Φ (plus noise when learned)."""
    k_f, k_phi = jax.random.split(key)
    N, d = world.theta.shape
    F = cfg.init_scale * jax.random.normal(k_f, (N, d), dtype=jnp.float32)
    Phi = jnp.asarray(world.Phi, dtype=jnp.float32)
    if cfg.learn_phi:
        Phi = Phi + cfg.init_scale * jax.random.normal(k_phi, Phi.shape, dtype=jnp.float32)
    return SoftmaxLM(F, Phi)


def population_xent(params: SoftmaxLM, p_star: jax.Array, p_L: jax.Array) -> jax.Array:
    """Exact population cross-entropy Σ_s p_L(s) Σ_w −P*[s,w] log Q[s,w]."""
    logq = jax.nn.log_softmax(params.F @ params.Phi, axis=-1)  # stable log-probabilities
    return -jnp.sum(p_L * jnp.sum(p_star * logq, axis=-1))


def corpus_xent(params: SoftmaxLM, contexts: jax.Array, words: jax.Array) -> jax.Array:
    """Mean −log Q[s, w] over a minibatch of (context, next word) pairs."""
    logits = params.F[contexts] @ params.Phi
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits, -1), words[:, None], axis=-1))


#: Counts Python traces of the train steps (a recompile shows as a count > 1).
TRACE_COUNTS: dict[str, int] = {"exact": 0, "corpus": 0}


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


def make_exact_step(optimizer: optax.GradientTransformation, learn_phi: bool) -> Callable:
    """A jitted step on the exact population objective: (params, opt_state, P*, p_L) -> (params, opt_state, loss)."""
    loss_and_grad = _value_and_grad(population_xent, learn_phi)

    @jax.jit
    def step(params, opt_state, p_star, p_L):
        TRACE_COUNTS["exact"] += 1  # runs only while tracing
        loss, grads = loss_and_grad(params, p_star, p_L)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def make_corpus_step(optimizer: optax.GradientTransformation, learn_phi: bool, batch_size: int) -> Callable:
    """A jitted minibatch step on a sampled corpus; the minibatch is drawn inside from `key`."""

    loss_and_grad = _value_and_grad(corpus_xent, learn_phi)

    @jax.jit
    def step(params, opt_state, key, contexts, words):
        TRACE_COUNTS["corpus"] += 1
        idx = jax.random.randint(key, (batch_size,), 0, contexts.shape[0])
        loss, grads = loss_and_grad(params, contexts[idx], words[idx])
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def checkpoint_steps(steps: int, n: int) -> list[int]:
    """n log-spaced step counts in [1, steps] (distinct, increasing, ending at steps)."""
    raw = np.unique(np.round(np.geomspace(1, steps, n)).astype(int))
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
):
    """Train a softmax LM; return [(step, SoftmaxLM as float64 NumPy)] at the checkpoints.

    objective "exact": full-batch population cross-entropy (every step sees
    the exact objective); "corpus": minibatches from a sampled corpus of
    `corpus_size` tokens (the LM then cannot reach ε = 0).
    """
    check_choice("objective", objective, {"exact", "corpus"})
    params = init_lm(key_init, world, cfg)
    optimizer = make_optimizer(cfg)
    opt_state = optimizer.init(params)
    keep = set(checkpoint_steps(cfg.steps, cfg.checkpoints))
    out = []
    if objective == "exact":
        step = make_exact_step(optimizer, cfg.learn_phi)
        p_star = jnp.asarray(world.p_star, dtype=jnp.float32)
        p_L = jnp.asarray(world.p_L, dtype=jnp.float32)
        for i in range(1, cfg.steps + 1):
            params, opt_state, _ = step(params, opt_state, p_star, p_L)
            if i in keep:
                out.append((i, to_numpy(params)))
    else:
        step = make_corpus_step(optimizer, cfg.learn_phi, min(cfg.batch_size, cfg.corpus_size))
        contexts, words = sample_corpus(key_data, world, cfg.corpus_size)
        batch_keys = jax.random.split(jax.random.fold_in(key_data, 1), cfg.steps)
        for i in range(1, cfg.steps + 1):
            params, opt_state, _ = step(params, opt_state, batch_keys[i - 1], contexts, words)
            if i in keep:
                out.append((i, to_numpy(params)))
    return out


def to_numpy(params: SoftmaxLM) -> SoftmaxLM:
    """float64 NumPy copy (ε is then exact for exactly these parameters)."""
    return SoftmaxLM(np.asarray(params.F, dtype=np.float64), np.asarray(params.Phi, dtype=np.float64))


def lm_probs(params: SoftmaxLM) -> np.ndarray:
    """Q = softmax(F Φ) in float64."""
    return np.exp(log_softmax(params.F @ params.Phi, axis=-1))


def lm_eps(world: World, params: SoftmaxLM) -> float:
    """ε of a softmax LM: the exact expected KL from P*, via `theory.expected_kl`."""
    return theory.expected_kl(world.p_star, lm_probs(params), world.p_L)
