"""Worst-case language models at a fixed ε budget, and an analytic tight family.

How close can an ε-optimal LM come to the natural-task bound τ + √(2B²ε/γ)
(docs/design.md (R2), (R8); arXiv:2010.03648 §4)? The search allocates per-context
KL budgets where they hurt the task most.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import theory

from ._probe import fit_probe
from ._task import Task
from ._tilt import adversarial_direction, calibrate_tilts, tilt_model
from ._world import World

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


def search_fixed(world: World, task: Task, classifiers, budgets, uniform_candidate: bool = True):
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
    per_budget = [classifiers] * budgets.size if shared else list(classifiers)
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
    if shared and uniform_candidate:
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


def search_refit(world: World, task: Task, budgets, rounds: int = 3, planted=None):
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

    best: list[WorstCase | None] = [None] * budgets.size
    u = adversarial_direction(world, task.eta, task.v, task.B)
    t_adv, e_adv = calibrate_tilts(world, u, budgets * (1 - BUDGET_RTOL), rtol=BUDGET_RTOL)
    for k in range(budgets.size):
        q = tilt_model(world, u, t_adv[k])
        best[k] = WorstCase(
            np.full(world.p_L.shape, t_adv[k]),
            q,
            float(e_adv[k]),
            refit(q, (ref.v, ref.b)).loss - tau_fit,
            "adversarial",
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


class TightPoint(NamedTuple):
    """One member of the tight family (see `tight_family`)."""

    k: int
    margin: float  # M: the planted score is −M on a +1 label
    delta: float  # Q = (½+δ, ½−δ)
    eps: float
    excess: float
    bound_excess: float
    ratio: float


def tight_family(k_max: int = 12, B: float = 1.0) -> list[TightPoint]:
    r"""Worlds on which excess / (bound − τ) → 1 for the planted classifier.

    Each step of the proof chain is made tight in the limit k → ∞:
    Lipschitz — the label is +1 and the planted score is −M_k = −k, deep in
    the linear part of ℓ (slope → −1); Jensen and γ — one context, p_T = p_L;
    Hölder — V = 2 and v = (−B, B), so |vᵀΔ| = B‖Δ‖₁; Pinsker — P* = (½, ½)
    and Q = (½+δ_k, ½−δ_k) with δ_k = ¼·2^{−k} → 0, where ‖Δ‖₁² / 2KL → 1.
    Then ratio_k = [ℓ(−M−2Bδ) − ℓ(−M)] / √(2B²ε) is a product of two factors
    each increasing to 1 (the slope of ℓ over [−M−2Bδ, −M], and 2δ/√(2ε)).
    All quantities are computed with `theory`.
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
        bound_excess = theory.natural_task_bound(tau, B, eps) - tau
        out.append(TightPoint(k, margin, delta, eps, excess, bound_excess, excess / bound_excess))
    return out
