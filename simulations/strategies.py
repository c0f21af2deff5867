"""Hypothesis strategies for worlds, distributions, natural tasks and LMs at ε, and a bound checker (public).

Used by the project's own tests and meant for anyone who wants to
property-test a bound of their own: `find_counterexample(bound)` searches
finite worlds for an LM whose probe loss exceeds `bound(tau, B, eps, gamma)`
(arXiv:2010.03648, §4: the natural-task bound τ + √(2B²ε/γ) survives it; a
tempting variant without the √2 or without γ does not).

Distributions are drawn as softmax of logits in [−50, 50] (entries down to
~1e-44), and `SHARP_LOGIT` adds logits near −690 (entries down to ~1e-300), so
that sharp rows are generated, not only well-conditioned ones; strategies mask
entries to exactly zero on purpose where a test needs it. `@example`s in the
tests add the uniform, one-hot and two-point cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import log_softmax, softmax

import theory

if TYPE_CHECKING:  # the package's own types (importing them at run time would load JAX)
    from .models import LanguageModel
    from .worlds import Instance

LOGIT = st.floats(-50.0, 50.0, allow_nan=False, width=64)
#: Suboptimalities ε of `lms_at_eps`.
EPS = st.floats(1e-6, 1e-1)
#: Logits that also reach probabilities near 1e-300 (exp(−690)) relative to the others.
SHARP_LOGIT = st.one_of(LOGIT, st.floats(-690.0, -600.0, width=64))
#: A context weight before normalisation: exactly 0 (outside the support) or
#: at least 1e-3, so that ratios like p_L/p_T stay representable.
WEIGHT = st.one_of(st.just(0.0), st.floats(1e-3, 1.0))


#: An embedding entry: a multiple of 1e-3 in [−3, 3] (zeros and repeats included). Embeddings
#: mixing scales 1e-10 and 1 within one direction put the softmax optimum beyond float64's
#: reach (`theory.softmax_optimum`'s note); a grid keeps Φ generic without that.
EMBEDDING = st.integers(-3000, 3000).map(lambda k: k / 1000)


def simplex_rows(n: int, v: int, logit: st.SearchStrategy[float] = LOGIT) -> st.SearchStrategy[np.ndarray]:
    """n rows on the V-simplex with all entries positive."""
    return hnp.arrays(np.float64, (n, v), elements=logit).map(lambda x: softmax(x, axis=-1))


@st.composite
def nested_pair(draw: st.DrawFn, n_max: int = 4, v_max: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """(p, q) of the same shape with supp p ⊆ supp q (finite KL), zeros allowed."""
    n = draw(st.integers(1, n_max))
    v = draw(st.integers(2, v_max))
    q_logits = draw(hnp.arrays(np.float64, (n, v), elements=SHARP_LOGIT))
    p_logits = draw(hnp.arrays(np.float64, (n, v), elements=SHARP_LOGIT))
    q_mask = draw(hnp.arrays(np.bool_, (n, v)))
    q_mask[:, 0] = True
    p_mask = q_mask & draw(hnp.arrays(np.bool_, (n, v)))
    p_mask[:, 0] = True
    return _masked_softmax(p_logits, p_mask), _masked_softmax(q_logits, q_mask)


def _masked_softmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """softmax over the masked entries (exactly 0 elsewhere), shifted by the row max so exp cannot overflow."""
    z = np.where(mask, logits, -np.inf)
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@st.composite
def hmms(
    draw: st.DrawFn, c_max: int = 2, s_max: int = 3, v_max: int = 4, zeros: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(init (C, S), trans (C, S, S), emit (C, S, V)) of a mixture of C concept HMMs (`simulations.worlds.make_hmm`),
    rows from logits in [−50, 50]; with `zeros`, transitions may be exactly 0 (each row keeps its diagonal), as
    deterministic state chains have. Emissions stay positive (the sequence world's are softmaxes)."""
    C = draw(st.integers(1, c_max))
    S = draw(st.integers(1, s_max))
    V = draw(st.integers(2, v_max))
    init = draw(simplex_rows(1, C * S)).reshape(C, S)
    logits = draw(hnp.arrays(np.float64, (C, S, S), elements=LOGIT))
    mask = draw(hnp.arrays(np.bool_, (C, S, S))) if zeros else np.ones((C, S, S), dtype=bool)
    mask |= np.eye(S, dtype=bool)[None]
    trans = _masked_softmax(logits, mask)
    emit = draw(simplex_rows(C * S, V)).reshape(C, S, V)
    return init, trans, emit


@st.composite
def weights(draw: st.DrawFn, n: int, zeros: bool = True) -> np.ndarray:
    """A distribution over n contexts; some weights may be exactly 0."""
    w = draw(hnp.arrays(np.float64, n, elements=WEIGHT))
    if not zeros:
        w = w + 0.05
    if w.sum() == 0:
        w[0] = 1.0
    return w / w.sum()


@st.composite
def nested_weights(draw: st.DrawFn, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(p_L, p_T) over n contexts with supp p_T ⊆ supp p_L."""
    p_L = draw(weights(n))
    raw = draw(hnp.arrays(np.float64, n, elements=WEIGHT)) * (p_L > 0)
    if raw.sum() == 0:
        raw = (p_L > 0).astype(float)
    return p_L, raw / raw.sum()


@st.composite
def finite_world(draw: st.DrawFn, n_max: int = 6, v_max: int = 6) -> dict[str, Any]:
    """A small random world for the natural-task bound (R2).

    Returns dict(p_star, q, p_L, p_T, eta, v, b, B).
    """
    n = draw(st.integers(1, n_max))
    v = draw(st.integers(2, v_max))
    p_star = draw(simplex_rows(n, v))
    q = draw(simplex_rows(n, v))
    p_L, p_T = draw(nested_weights(n))
    eta = draw(hnp.arrays(np.float64, n, elements=WEIGHT))
    B = draw(st.floats(0.1, 5.0))
    vec = draw(hnp.arrays(np.float64, v, elements=st.floats(-1.0, 1.0))) * B
    b = draw(st.floats(-3.0, 3.0))
    return dict(p_star=p_star, q=q, p_L=p_L, p_T=p_T, eta=eta, v=vec, b=b, B=B)


@st.composite
def instances(
    draw: st.DrawFn,
    vocab: tuple[int, int] = (20, 60),
    contexts: tuple[int, int] = (20, 80),
    dims: tuple[int, int] = (2, 6),
    structures: tuple[str, ...] = ("row_space", "word_groups"),
) -> Instance:
    """A package world with a planted natural task (`simulations.make_instance`): sizes in the given
    inclusive ranges, a seed, the box B, the label sharpness α and the task's share of the contexts drawn.

    The task is natural by construction: its planted classifier (`task.v`, `task.b`, ‖v‖∞ = B) has
    loss `task.tau_planted` on P*; the probe fitted on P* (`reference_probe`) is the smaller τ.
    """
    from .worlds import TaskConfig, WorldConfig, make_instance

    world = WorldConfig(
        vocab_size=draw(st.integers(*vocab)), num_contexts=draw(st.integers(*contexts)), dim=draw(st.integers(*dims))
    )
    task = TaskConfig(
        structure=draw(st.sampled_from(structures)),
        B=draw(st.floats(0.25, 4.0)),
        alpha=draw(st.floats(1.0, 16.0)),
        task_fraction=draw(st.sampled_from([1.0, 0.5, 0.25])),
    )
    return make_instance(draw(st.integers(0, 2**31 - 1)), world, task)


@st.composite
def lms_at_eps(
    draw: st.DrawFn,
    worlds: st.SearchStrategy[Instance] | None = None,
    kinds: tuple[str, ...] = ("adversarial", "random"),
    eps: st.SearchStrategy[float] = EPS,
) -> tuple[Instance, LanguageModel]:
    """(instance, LM) with the LM made by `simulations.language_model` at a drawn ε: a tilt of P*
    (ε to 1%) or, with "trained" in `kinds`, a softmax LM trained until its ε is at most the target
    (a target it cannot reach in its step budget is rejected, not failed)."""
    from hypothesis import reject

    from .classroom import language_model

    inst = draw(instances() if worlds is None else worlds)
    kind = draw(st.sampled_from(kinds))
    try:
        return inst, language_model(inst, draw(eps), kind)
    except ValueError:
        if kind == "trained":
            reject()
        raise


class BoundInstance(NamedTuple):
    """A finite world, an LM Q and a binary probe (v, b) with ‖v‖_∞ ≤ B, with what a bound needs.

    tau: ℓ_T of (v, b) on P* (a feasible τ).  loss: ℓ_T of the same, fixed
    (v, b) on Q, not refitted: a per-classifier bound must exceed it (the best
    probe on Q can only do better).  eps: Σ p_L KL(P*‖Q).  gamma: γ_ratio =
    min p_L/p_T on the task's contexts.
    """

    p_star: np.ndarray
    q: np.ndarray
    p_L: np.ndarray
    p_T: np.ndarray
    eta: np.ndarray
    v: np.ndarray
    b: float
    B: float
    tau: float
    loss: float
    eps: float
    gamma: float


@st.composite
def natural_task_instance(draw: st.DrawFn, n_max: int = 3, v_max: int = 4) -> BoundInstance:
    """A `BoundInstance`: Q is P* tilted by t·u on some contexts, with t from 1e-3 to 3 (small ε is where
    constants show), v a vertex of the box or inside it, labels 0, 1 or in between; u is random, or
    aimed against the labels, u(s) = −sign(2η(s) − 1)·v/B (the adversarial direction of docs/design.md
    (R8), where a fixed classifier's excess comes closest to √(2B²ε/γ))."""
    n = draw(st.integers(1, n_max))
    V = draw(st.integers(2, v_max))
    log_p = log_softmax(draw(hnp.arrays(np.float64, (n, V), elements=st.floats(-5.0, 5.0))), axis=-1)
    t = draw(st.floats(1e-3, 3.0))
    p_L, p_T = draw(nested_weights(n))
    if draw(st.booleans()):  # a task on the rarest context only: γ = its p_L, as small as p_L makes it
        p_T = np.zeros(n)
        p_T[np.argmin(np.where(p_L > 0, p_L, np.inf))] = 1.0
    B = draw(st.floats(0.1, 5.0))
    vertex = draw(st.booleans())
    unit = st.sampled_from([-1.0, 1.0]) if vertex else st.floats(-1.0, 1.0)
    v = B * draw(hnp.arrays(np.float64, V, elements=unit))
    b = draw(st.floats(-5.0, 5.0))
    eta = draw(hnp.arrays(np.float64, n, elements=st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0))))
    if draw(st.booleans()):
        u = -np.sign(2.0 * eta - 1.0)[:, None] * (v / B)[None, :]
    else:
        u = draw(hnp.arrays(np.float64, (n, V), elements=st.floats(-1.0, 1.0)))
    # errors on the task's contexts only (where γ shows: p_T may weight what p_L barely sees), or on some contexts
    u *= (p_T > 0)[:, None] if draw(st.booleans()) else draw(hnp.arrays(np.bool_, (n, 1)))
    p_star, q = np.exp(log_p), softmax(log_p + t * u, axis=-1)
    live = p_T > 0
    return BoundInstance(
        p_star, q, p_L, p_T, eta, v, b, B,
        theory.probe_loss(p_star, v, b, p_T, eta), theory.probe_loss(q, v, b, p_T, eta),
        theory.expected_kl(p_star, q, p_L), float(np.min(p_L[live] / p_T[live])),
    )  # fmt: skip


def find_counterexample(
    bound: Callable[[float, float, float, float], float],
    max_examples: int = 2000,
    slack: float = 1e-9,
    derandomize: bool = False,
    shrink: bool = True,
    seed: int | None = None,
) -> BoundInstance | None:
    """Search `natural_task_instance`s for a classifier whose loss on Q exceeds `bound(tau, B, eps, gamma)`.

    What is tested is the per-classifier form of a bound: for every (v, b) with ‖v‖∞ ≤ B,
    ℓ_T(Q; v, b) ≤ bound(ℓ_T(P*; v, b), B, ε, γ). The paper's proof establishes exactly this form
    for τ + √(2B²ε/γ) (arXiv:2010.03648, §4), and it implies the theorem for the best probe on Q.
    A counterexample refutes a bound in this form. It does not show that the bound fails for the
    refitted probe: refitting on Q can only lower the loss (the `tightness` experiment measures how much).

    Returns the counterexample (simplified by hypothesis unless `shrink=False`, which returns the
    first one found and is many times faster), or None if none was found in `max_examples` tries:
    evidence, not proof. `seed` (or `derandomize`, which means seed 0): a reproducible search for the
    same code and the same loaded modules (hypothesis also draws constants found in loaded modules, so
    another import or another version of the package may change which examples are tried). Counterexamples
    of a tempting bound are rare: give the search a few thousand examples. Example, the per-classifier
    bound without its √2::

        find_counterexample(lambda tau, B, eps, gamma: tau + (B * B * eps / gamma) ** 0.5)
    """
    import random

    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ValueError(f"max_examples must be an integer >= 1, got {max_examples!r}")

    def exceeds(x: BoundInstance) -> bool:
        value = float(bound(x.tau, x.B, x.eps, x.gamma))
        if not np.isfinite(value):
            raise ValueError(
                f"the bound returned {value} for tau={x.tau!r}, B={x.B!r}, eps={x.eps!r}, gamma={x.gamma!r}"
            )
        return x.loss > value + slack

    phases = [p for p in Phase if shrink or p not in (Phase.shrink, Phase.explain)]
    config = settings(max_examples=max_examples, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck), phases=phases)  # fmt: skip
    rng = random.Random(0 if derandomize and seed is None else seed) if (derandomize or seed is not None) else None
    try:
        return find(natural_task_instance(), exceeds, settings=config, random=rng)
    except NoSuchExample:
        return None
