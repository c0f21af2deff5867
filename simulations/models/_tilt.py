"""Perturbed language models at an exactly measured ε: exponential tilts of P*.

Q[s] ∝ P*[s]·exp(t·U(s)) for a direction U (N, V) and a strength t. Everything
here is float64 NumPy; ε is the exact expected KL (docs/design.md,
"Suboptimality").
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np
from numpy.typing import ArrayLike
from scipy.special import log_softmax

from ..core import check_choice, numpy_rng
from ..worlds import Task, World

#: The tilt families: errors unrelated to the task, and errors against its labels.
TILT_FAMILIES = ("random", "adversarial")
#: Bisection stops when ε(t) is within this relative distance of the target.
EPS_TARGET_RTOL = 0.01
#: Iterations that widen the bisection bracket by doubling before giving up.
MAX_BRACKET_DOUBLINGS = 200


def tilt_direction(key: jax.Array | None, world: World, task: Task, family: str) -> np.ndarray:
    """The tilt direction U (N, V), centred so that E_{P*[s]} U(s) = 0.

    "random": i.i.d. standard normal entries drawn from `key` (errors
    unrelated to the task). "adversarial": `adversarial_direction` for the
    planted v*; it needs no randomness, so `key` may be None.
    """
    check_choice("family", family, set(TILT_FAMILIES))
    if family == "adversarial":
        return adversarial_direction(world, task.eta, task.v, task.B)
    if key is None:
        raise ValueError("a random tilt direction needs a PRNG key (e.g. inst.keys['tilt']), got None")
    return center(world, numpy_rng(key).normal(size=world.p_star.shape))


def center(world: World, u: np.ndarray) -> np.ndarray:
    """u − E_{P*[s]} u per context: the part of a direction that changes Q."""
    return u - np.sum(world.p_star * u, axis=-1, keepdims=True)


def adversarial_direction(world: World, eta: np.ndarray, v: np.ndarray, scale: float | None = None) -> np.ndarray:
    """U(s) = −sign(2η(s) − 1)·v/scale, centred under P*[s]; scale = ‖v‖_∞ by default.

    Pushes every context's score vᵀQ[s] towards the wrong label
    (docs/design.md, (R8)); for the planted v*, scale = B = ‖v*‖_∞.
    """
    sign = np.sign(2.0 * eta - 1.0)
    u = -sign[:, None] * (v / (np.max(np.abs(v)) if scale is None else scale))[None, :]
    return center(world, u)


def adversarial_class_direction(
    world: World, W: np.ndarray, b: np.ndarray, eta: np.ndarray, p_T: np.ndarray, scale: float
) -> np.ndarray:
    """U(s) = Wᵀ(softmax(W P*[s] + b) − η(s)) / scale on the task's contexts (p_T > 0; 0 elsewhere), centred
    under P*[s]: the direction in which the K-class probe (W, b) on p_f loses loss fastest, the K-class analogue
    of `adversarial_direction` (its first-order term in (R11) is g_sᵀ W ΔQ[s], docs/design.md)."""
    z = world.p_star @ W.T + b
    g = np.exp(log_softmax(z, axis=1)) - eta
    u = (g @ W) / scale
    u[p_T <= 0] = 0.0
    return center(world, u)


def tilt_eps(world: World, u: np.ndarray, t: ArrayLike) -> np.ndarray:
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
    return np.exp(log_softmax(world.log_probs() + t * u, axis=-1))


def calibrate_tilts(
    world: World, u: np.ndarray, targets: ArrayLike, max_iter: int = 80, rtol: float = EPS_TARGET_RTOL
) -> tuple[np.ndarray, np.ndarray]:
    """Scales t with ε(t) within `rtol` (default `EPS_TARGET_RTOL`) of each target, by bisection.

    ε(t) is convex in t with ε(0) = 0, hence increasing for t > 0. The
    bracket starts at the quadratic guess √(2ε/Var) and is widened by
    doubling; then bisection on log t, all targets at once (`bisect_scales`).

    Returns:
      (t, eps) arrays matching `targets`.

    Raises:
      ValueError: a target is <= 0, or cannot be reached (U constant on the
        support of P*, or the target exceeds what the direction can reach).
    """
    var = float(np.sum(world.p_L * np.sum(world.p_star * u * u, axis=-1)))
    return bisect_scales(lambda t: tilt_eps(world, u, t), var, targets, max_iter, rtol)


def bisect_scales(
    eps_of: Callable[[np.ndarray], np.ndarray],
    var: float,
    targets: ArrayLike,
    max_iter: int = 80,
    rtol: float = EPS_TARGET_RTOL,
) -> tuple[np.ndarray, np.ndarray]:
    """The bisection of `calibrate_tilts` for any convex ε(t) with ε(0) = 0, given as `eps_of`
    (an array of t to their ε) and the variance Var = Σ p_L E_{P*}U² of its direction."""
    targets = np.asarray(targets, dtype=np.float64)
    if np.any(~(targets > 0)):
        raise ValueError(f"eps targets must be > 0, got {targets}")
    guess = np.sqrt(2.0 * targets / max(var, 1e-300))
    lo, hi = guess / 2.0, guess * 2.0
    for _ in range(MAX_BRACKET_DOUBLINGS):
        e_lo, e_hi = eps_of(lo), eps_of(hi)
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
        e = eps_of(t)
        if np.all(np.abs(e / targets - 1.0) <= rtol):
            return t, e
        lo = np.where(e < targets, t, lo)
        hi = np.where(e >= targets, t, hi)
    raise ValueError(f"bisection did not reach the eps targets to {rtol:g} (increase max_iter)")
