"""Worst-case language models at a fixed ε budget, and an analytic tight family.

How close can an ε-optimal LM come to the natural-task bound τ + √(2B²ε/γ)
(docs/design.md (R2), (R8); arXiv:2010.03648 §4)? The search allocates per-context
KL budgets where they hurt the task most.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import ArrayLike

import theory

from ..core import streams
from ..probes import fit_probe
from ..worlds import Instance, Task, World
from ._tilt import adversarial_direction, calibrate_tilts, tilt_model

#: Uniform-tilt candidates are calibrated to ε within this relative distance
#: below the budget (so they use it fully without exceeding it).
BUDGET_RTOL = 1e-6
#: Tilt strengths tried per context (both signs), in units of 1/‖direction‖_∞:
#: dense near 0 (small budgets) and reaching far (large ones).
T_GRID = np.concatenate([-np.geomspace(1e-4, 30.0, 48)[::-1], [0.0], np.geomspace(1e-4, 30.0, 48)])
#: The allocation aims this far below each budget (float32 tables), then `_within_budget` shrinks the
#: tilts by SHRINK_NEAR per pass while ε is within BUDGET_NEAR of the budget, and by SHRINK_FAR otherwise.
ALLOCATION_MARGIN = 1e-4
BUDGET_NEAR, SHRINK_NEAR, SHRINK_FAR = 1.01, 0.999, 0.9
#: Bisection on log μ of the Lagrangian allocation: bracket and iterations.
LOG_MU_BRACKET, MU_BISECTIONS = 40.0, 80


class WorstCase(NamedTuple):
    """Result of a worst-case search at one ε budget.

    t: (N,) per-context tilt strengths along the direction used.
    q: (N, V) the language model.  eps: its exact ε (<= the budget).
    excess: its downstream excess (planted: ℓ_T(Q, v*, b*) − τ_planted;
      refit: ℓ_T(Q) − τ_fit).  source: which candidate won.
    """

    t: np.ndarray
    q: np.ndarray
    eps: float
    excess: float
    source: str


def _grid_tables(world: World, direction: np.ndarray, v: np.ndarray, b: float, eta: np.ndarray):
    """Per context and grid value t: KL κ_s(t) and the loss gain of classifier (v, b).

    Q_s(t) ∝ P*_s·exp(t·d) with one direction d (V,) for all contexts, so
    every table is a matrix product with E = exp(t·d) over the grid. κ_s(t)
    = log E_{P*_s} e^{t(d − m_s)} with m_s = P*_s·d is computed as
    r + (log1p(y) − y), y = t·m_s + r, r = E_{P*_s}[expm1(td) − td] >= 0, which
    keeps its digits as t → 0 (the final ε is recomputed exactly anyway).

    Returns:
      (a, kappa, gain): a (N, V) the centred direction per context, and the
      (N, G) tables.
    """
    p = world.p_star
    m = p @ direction
    td = T_GRID[:, None] * direction[None, :]  # (G, V)
    r = p @ (np.expm1(td) - td).T  # (N, G), >= 0
    y = T_GRID[None, :] * m[:, None] + r
    kappa = np.maximum(r + (np.log1p(y) - y), 0.0)
    # Q_s(t)·v = E_{P*}[e^{td} v] / E_{P*}[e^{td}]; shift by max(td) per t against overflow.
    w = np.exp(td - td.max(axis=1, keepdims=True))
    score = (p @ (w * v[None, :]).T) / (p @ w.T)
    z0 = p @ v + b
    gain = theory.context_loss(score + b, eta[:, None]) - theory.context_loss(z0, eta)[:, None]
    a = np.broadcast_to(direction, p.shape) - m[:, None]
    return a, kappa, gain


@jax.jit
def _allocate(gain, kappa, p_T, p_L, budgets):
    """Lagrangian allocation, vmapped over ε budgets (one table per budget).

    For each budget k: per context, argmax over the grid of
    p_T·gain − μ·p_L·κ, with μ found by bisection on log μ so that
    Σ p_L κ_s(t_s) <= budget (the used budget falls as μ grows).

    Args:
      gain, kappa: (K, N, G) tables.  p_T, p_L: (N,).  budgets: (K,).

    Returns:
      (K, N) grid indices.
    """

    def one(gain_k, kappa_k, budget):
        value = p_T[:, None] * gain_k
        cost = p_L[:, None] * kappa_k

        def choose(log_mu):
            return jnp.argmax(value - jnp.exp(log_mu) * cost, axis=1)

        def body(_, lohi):
            lo, hi = lohi
            mid = 0.5 * (lo + hi)
            ok = jnp.sum(jnp.take_along_axis(cost, choose(mid)[:, None], axis=1)) <= budget
            return jnp.where(ok, lo, mid), jnp.where(ok, mid, hi)

        bracket = (jnp.asarray(-LOG_MU_BRACKET), jnp.asarray(LOG_MU_BRACKET))
        _, hi = jax.lax.fori_loop(0, MU_BISECTIONS, body, bracket)
        return choose(hi)

    return jax.vmap(one)(gain, kappa, budgets)


def _within_budget(world: World, a: np.ndarray, t: np.ndarray, budget: float):
    """Shrink t by a common factor until the exact float64 ε is within budget."""
    q = tilt_model(world, t[:, None] * a, 1.0)
    eps = theory.expected_kl(world.p_star, q, world.p_L)
    scale = 1.0
    while eps > budget:
        scale *= SHRINK_NEAR if eps < budget * BUDGET_NEAR else SHRINK_FAR
        q = tilt_model(world, (t * scale)[:, None] * a, 1.0)
        eps = theory.expected_kl(world.p_star, q, world.p_L)
    return t * scale, q, eps


def search_fixed(
    world: World,
    task: Task,
    classifiers: tuple[np.ndarray, float] | list[tuple[np.ndarray, float]],
    budgets: ArrayLike,
    uniform_candidate: bool = True,
) -> list[WorstCase]:
    """Worst LMs for fixed classifiers at each ε budget (vectorised over budgets).

    Args:
      classifiers: one (v, b) for all budgets, or a list with one per budget.
      budgets: ε budgets, shape (K,).
      uniform_candidate: also try the uniform adversarial tilt for a shared
        classifier, so the result is never worse than it.

    For each budget, the per-context Lagrangian allocation of exponential
    tilts along v/‖v‖_∞ (locally the direction that moves vᵀQ most per unit
    of KL) is computed by `_allocate`, vmapped over the budgets; then shrunk
    if needed so that its exact float64 ε is within the budget.

    Returns:
      list of `WorstCase` (excess = ℓ_T(Q, v, b) − ℓ_T(P*, v, b)).
    """
    budgets = np.asarray(budgets, dtype=np.float64)
    shared = isinstance(classifiers, tuple)
    per_budget = [classifiers] * budgets.size if isinstance(classifiers, tuple) else list(classifiers)
    distinct = per_budget[:1] if shared else per_budget
    tables = [_grid_tables(world, v / np.max(np.abs(v)), v, b, task.eta) for v, b in distinct]
    if shared:
        tables = tables * budgets.size
    idx = np.asarray(
        _allocate(
            jnp.asarray(np.stack([g for _, _, g in tables]), jnp.float32),
            jnp.asarray(np.stack([kp for _, kp, _ in tables]), jnp.float32),
            jnp.asarray(task.p_T, jnp.float32),
            jnp.asarray(world.p_L, jnp.float32),
            jnp.asarray(budgets * (1 - ALLOCATION_MARGIN), jnp.float32),
        )
    )
    out = []
    for k, budget in enumerate(budgets):
        v, b = per_budget[k]
        base = theory.probe_loss(world.p_star, v, b, task.p_T, task.eta)
        t, q, eps = _within_budget(world, tables[k][0], T_GRID[idx[k]], budget)
        out.append(WorstCase(t, q, eps, theory.probe_loss(q, v, b, task.p_T, task.eta) - base, "allocation"))
    if isinstance(classifiers, tuple) and uniform_candidate:
        v, b = classifiers
        base = theory.probe_loss(world.p_star, v, b, task.p_T, task.eta)
        u_adv = adversarial_direction(world, task.eta, v)
        t_adv, e_adv = calibrate_tilts(world, u_adv, budgets * (1 - BUDGET_RTOL), rtol=BUDGET_RTOL)
        for k in range(budgets.size):
            q_adv = tilt_model(world, u_adv, t_adv[k])
            exc = theory.probe_loss(q_adv, v, b, task.p_T, task.eta) - base
            if exc > out[k].excess:
                out[k] = WorstCase(np.full(world.p_L.shape, t_adv[k]), q_adv, float(e_adv[k]), exc, "adversarial")
    return out


def search_refit(
    world: World, task: Task, budgets: ArrayLike, rounds: int = 3, planted: list[WorstCase] | None = None
) -> tuple[list[WorstCase], float]:
    """Worst LMs for the refitted box probe (a max–min), by alternation with restarts.

    Local method: fix a classifier, find the worst LM for it
    (`search_fixed`), refit the box probe on that LM, and repeat `rounds`
    times; restarts from the planted (v*, b*) and from the probe fitted on
    P*. The uniform adversarial tilt of `tilt_direction` and the worst LMs
    for the planted classifier are candidates too, so the result is never
    below either.
    The score of an LM is its refitted excess ℓ_T(Q) − τ_fit. `planted`:
    the result of `search_fixed` for (v*, b*) at these budgets, if the
    caller has it already (it is computed otherwise).

    Returns:
      (list of `WorstCase`, τ_fit).
    """
    budgets = np.asarray(budgets, dtype=np.float64)
    ref = fit_probe(world.p_star, task.p_T, task.eta, box=task.B, init=(task.v, task.b))
    tau_fit = ref.loss

    def refit(q, init):
        return fit_probe(q, task.p_T, task.eta, box=task.B, init=init)

    best: list[WorstCase] = []
    u = adversarial_direction(world, task.eta, task.v, task.B)
    t_adv, e_adv = calibrate_tilts(world, u, budgets * (1 - BUDGET_RTOL), rtol=BUDGET_RTOL)
    for k in range(budgets.size):
        q = tilt_model(world, u, t_adv[k])
        best.append(
            WorstCase(
                np.full(world.p_L.shape, t_adv[k]),
                q,
                float(e_adv[k]),
                refit(q, (ref.v, ref.b)).loss - tau_fit,
                "adversarial",
            )
        )
    # the worst LMs for the planted classifier are candidates too
    if planted is None:
        planted = search_fixed(world, task, (task.v, task.b), budgets)
    for k, cand in enumerate(planted):
        excess = refit(cand.q, (ref.v, ref.b)).loss - tau_fit
        if excess > best[k].excess:
            best[k] = cand._replace(excess=excess, source=f"planted-{cand.source}")
    for start_name, start in (("planted", (task.v, task.b)), ("fitted", (ref.v, ref.b))):
        classifiers = [start] * budgets.size
        for r in range(rounds):
            cands = search_fixed(world, task, classifiers, budgets, uniform_candidate=False)
            for k, cand in enumerate(cands):
                fit = refit(cand.q, (ref.v, ref.b))
                if fit.loss - tau_fit > best[k].excess:
                    best[k] = cand._replace(excess=fit.loss - tau_fit, source=f"{start_name}+{r + 1}")
                classifiers[k] = (fit.v, fit.b)
    return best, tau_fit


@functools.partial(jax.jit, static_argnames=("steps",))
def _ascent(log_p, p_L, p_T, eta, U, v, b, budgets, steps: int, lr: float):
    """Projected ascent of the fixed classifiers' losses over logit perturbations U, vmapped over budgets.

    Each budget k has its own U_k (N, V) and classifier (v_k, b_k). A step
    moves U by rate·‖U‖ along the gradient of Σ_s p_T φ_η(v·softmax(log P* + U)_s + b)
    projected onto the tangent of the budget surface (its component along the
    KL's gradient removed), then rescales U onto that surface, Σ p_L KL(P*‖Q) = budget
    (the KL of sU computed as the cumulant log E_P*[e^{sU}] − sE_P*[U]; two
    secant corrections of s from the quadratic guess); a step is kept only if
    it raises the loss (the rate then grows by 1.5, else it halves). float32:
    the final LMs are re-measured exactly in float64 by the caller.
    """

    def kl(U):
        c = U - jnp.sum(jnp.exp(log_p) * U, axis=-1, keepdims=True)
        return jnp.sum(p_L * jnp.log1p(jnp.sum(jnp.exp(log_p) * jnp.expm1(c), axis=-1)))

    def project(U, budget):
        s = jnp.sqrt(budget / jnp.maximum(kl(U), 1e-30))
        for _ in range(2):
            s = s * jnp.sqrt(budget / jnp.maximum(kl(s * U), 1e-30))
        return s * U

    def one(U, v, b, budget):
        def loss(U):
            q = jax.nn.softmax(log_p + U, axis=-1)
            z = q @ v + b
            return jnp.sum(p_T * (eta * jnp.logaddexp(0.0, -z) + (1 - eta) * jnp.logaddexp(0.0, z)))

        def step(carry, _):
            U, rate, cur = carry
            g, h = jax.grad(loss)(U), jax.grad(kl)(U)
            g = g - jnp.sum(g * h) / jnp.maximum(jnp.sum(h * h), 1e-30) * h  # along the budget surface
            new = project(U + rate * jnp.linalg.norm(U) * g / jnp.maximum(jnp.linalg.norm(g), 1e-30), budget)
            val = loss(new)
            better = val > cur  # keep improvements only; halve the step after a failure, grow it after a success
            return (jnp.where(better, new, U), jnp.where(better, rate * 1.5, rate * 0.5), jnp.maximum(val, cur)), None

        U = project(U, budget)
        (U, _, _), _ = jax.lax.scan(step, (U, jnp.asarray(lr, U.dtype), loss(U)), None, length=steps)
        return U

    return jax.vmap(one)(U, v, b, budgets)


def search_general(
    world: World, task: Task, budgets: ArrayLike, start: list[WorstCase], rounds: int = 2, steps: int = 60
) -> list[WorstCase]:
    """Worst LMs for the refitted box probe over general logit perturbations, from the given starting LMs.

    Beyond tilts along a classifier's own direction: per-context, per-word
    perturbations U of log P*, moved by projected ascent (`_ascent`, vmapped
    over the budgets) against the probe refitted on the current LM, for
    `rounds` alternations. Each result is re-measured exactly (float64 ε,
    shrunk into the budget if needed; refitted excess with a certified fit)
    and kept only if it beats its starting LM.

    Returns:
      list of `WorstCase` (source "general+r" where the search improved on its start).
    """
    budgets = np.asarray(budgets, dtype=np.float64)
    ref = fit_probe(world.p_star, task.p_T, task.eta, box=task.B, init=(task.v, task.b))
    best = list(start)
    U = np.stack([np.log(np.maximum(w.q, 1e-300)) - world.log_probs() for w in start])
    fits = [fit_probe(w.q, task.p_T, task.eta, box=task.B, init=(ref.v, ref.b)) for w in start]
    args = [jnp.asarray(a, jnp.float32) for a in (world.log_probs(), world.p_L, task.p_T, task.eta)]
    for r in range(rounds):
        V = jnp.asarray(np.stack([f.v for f in fits]), jnp.float32)
        Bs = jnp.asarray([f.b for f in fits], jnp.float32)
        U = np.asarray(
            _ascent(*args, jnp.asarray(U, jnp.float32), V, Bs, jnp.asarray(budgets, jnp.float32), steps, 0.2)
        )
        U = U.astype(np.float64)
        for k, budget in enumerate(budgets):
            t, q, eps = _within_budget(world, U[k], np.ones(world.p_L.shape), budget)
            U[k] = t[:, None] * U[k]
            fits[k] = fit_probe(q, task.p_T, task.eta, box=task.B, init=(fits[k].v, fits[k].b))
            if fits[k].loss - ref.loss > best[k].excess:
                best[k] = WorstCase(t, q, eps, fits[k].loss - ref.loss, f"general+{r + 1}")
    return best


def worst_lms(
    world: World, task: Task, budgets: ArrayLike, rounds: int, general_rounds: int, general_steps: int
) -> tuple[list[WorstCase], list[WorstCase]]:
    """The worst LMs found at each budget: (for the planted classifier, for the refitted probe).

    The planted classifier's by the allocation search (`search_fixed`); the
    refitted probe's by the allocation max–min (`search_refit`), then projected
    ascent over general logit perturbations (`search_general`, if
    general_steps > 0).
    """
    planted = search_fixed(world, task, (task.v, task.b), budgets)
    refit, _ = search_refit(world, task, budgets, rounds=rounds, planted=planted)
    if general_steps:
        refit = search_general(world, task, budgets, refit, rounds=general_rounds, steps=general_steps)
    return planted, refit


def refit_family(
    B: float, kappa: float, groups: int = 4, contexts: int = 8, keys: Mapping[str, jax.Array] | None = None
) -> Instance:
    r"""A world and task on which the refitted excess approaches the (R9) first-order term ρ√X as ε → 0.

    Two groups of `groups` words; context s puts mass ½ + σ_s κ/B on the +
    group (uniformly within each group), with σ_s = ±1 alternating and labels
    η_s = 1 if σ_s > 0 else 0; p_T = p_L uniform (γ = 1). The best box probe on
    P* is v̂ = ±B on the two groups with margins ±2κ, not Bayes-optimal, with
    residual ρ = σ(−2κ). Tilting each context along −σ_s v̂ (the adversarial
    direction) makes every step of (R9) tight as ε → 0 and B → ∞: Danskin
    (the refit moves the loss at the rate of the fixed optimal probe),
    Cauchy–Schwarz (v̂ᵀΔ_s ∝ σ(m_s) − η_s), Hölder (Δ moves mass between the
    groups only, where v̂ = ±B), Pinsker (the group masses → ½ as B → ∞) and
    γ (p_T = p_L). The ratio of the refitted excess to the paper's √X then
    tends to ρ = σ(−2κ), which → ½ as κ → 0.

    Returns:
      An `Instance` (a log-linear world with d = 1: Φ is the + group's indicator),
      with the PRNG streams `keys` (unused by the adversarial tilt; seed 0's if None).
    """
    sign = np.where(np.arange(contexts) % 2 == 0, 1.0, -1.0)
    a = 0.5 + sign * kappa / B
    if not np.all((a > 0) & (a < 1)):
        raise ValueError(f"kappa/B must be < 1/2, got kappa={kappa}, B={B}")
    plus = np.r_[np.ones(groups), np.zeros(groups)]
    p_star = np.where(plus[None, :] > 0, a[:, None], 1 - a[:, None]) / groups
    p_L = np.full(contexts, 1.0 / contexts)
    world = World(plus[None, :], np.log(a / (1 - a))[:, None], p_L, np.log(p_star), p_star)
    v = B * (2 * plus - 1)
    eta = (sign > 0).astype(float)
    tau = theory.probe_loss(p_star, v, 0.0, p_L, eta)
    keys = streams(0) if keys is None else keys
    world_id = f"refit_family(B={B:g}, kappa={kappa:g}, groups={groups}, contexts={contexts})"
    return Instance(0, keys, world, Task(v, 0.0, None, eta, p_L, float(B), tau), 1.0, world_id)


class ChainPoint(NamedTuple):
    """One member of the fixed-classifier chain (see `fixed_classifier_chain`)."""

    k: int
    margin: float  # M: the planted score is −M on a +1 label
    delta: float  # Q = (½+δ, ½−δ)
    eps: float
    excess: float  # of the FIXED classifier (v, −M)
    refit_excess: float  # of the probe refitted in the same box (the theorem's quantity): 0
    bound_excess: float
    ratio: float


def fixed_classifier_chain(k_max: int = 12, B: float = 1.0) -> list[ChainPoint]:
    r"""Worlds on which excess / (bound − τ) → 1 for a FIXED, confidently wrong classifier.

    Each step of the proof chain is made tight in the limit k → ∞:
    Lipschitz — the label is +1 and the classifier's score is −M_k = −k, deep
    in the linear part of ℓ (slope → −1); Jensen and γ — one context, p_T = p_L;
    Hölder — V = 2 and v = (−B, B), so |vᵀΔ| = B‖Δ‖₁; Pinsker — P* = (½, ½)
    and Q = (½+δ_k, ½−δ_k) with δ_k = ¼·2^{−k} → 0, where ‖Δ‖₁² / 2KL → 1.
    Then ratio_k = [ℓ(−M−2Bδ) − ℓ(−M)] / √(2B²ε) is a product of two factors
    each increasing to 1 (the slope of ℓ over [−M−2Bδ, −M], and 2δ/√(2ε)).
    This is the proof chain's tightness for a fixed classifier only: the
    probe refitted in the same box with a free bias reaches loss 0 on P* and
    on Q, so the theorem's own quantity, the refitted excess, is 0 here
    (`refit_excess`; `refit_family` is the family for that quantity). An
    analytic fact, checked by unit tests, not a claim of an experiment.
    """
    out = []
    p_star = np.array([[0.5, 0.5]])
    v = np.array([-B, B])
    one = np.array([1.0])
    for k in range(1, k_max + 1):
        margin, delta = float(k), 0.25 * 2.0**-k
        q = np.array([[0.5 + delta, 0.5 - delta]])
        tau = theory.probe_loss(p_star, v, -margin, one, one)
        eps = theory.expected_kl(p_star, q, one)
        excess = theory.probe_loss(q, v, -margin, one, one) - tau
        refit = fit_probe(q, one, one, box=B).loss - fit_probe(p_star, one, one, box=B).loss
        bound_excess = theory.natural_task_bound(tau, B, eps) - tau
        out.append(ChainPoint(k, margin, delta, eps, excess, refit, bound_excess, excess / bound_excess))
    return out
