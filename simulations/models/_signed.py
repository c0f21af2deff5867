"""Tilts along signed word directions: ε, Q and ε's bisection without an N × V temporary.

A world of GPT-2's vocabulary (V = 50,257, N = 8,192) holds P* as one float64
N × V array of 3.3 GB. The general tilts of `simulations.models._tilt` hold the
direction U, log P* and several temporaries of that size; the tilts here hold
none. Their direction is a *signed word direction*

    U(s, w) = σ_s·(u_w − E_{P*[s]} u),   σ_s ∈ {−1, 0, +1},

one word vector u pushed up or down in each context, centred under P*[s].
The adversarial direction of (R8) is one (σ_s = −sign(2η(s) − 1), u = v*/B;
`simulations.adversarial_direction` gives the same N × V array); its random
counterpart draws σ_s and u at random: errors unrelated to the task. With
m_s = E_{P*[s]} u, the tilt's per-context KL is the cumulant

    log E_{P*[s]} e^{tU} = log1p(e^{−tσ_s m_s}·P*[s]·expm1(tσ_s u) + expm1(−tσ_s m_s))

(for large t a shifted form of the same cumulant, `signed_eps`), so ε(t)
for any number of t is one pass of matrix products over P* (no N × V
exponential), and Q[s] = P*[s] ⊙ e^{tσ_s u} / Z_s multiplies each row by one
of two vectors. Everything is float64 and walks P* a row chunk at a time
(`simulations.core.row_chunks`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import jax
import numpy as np
from numpy.typing import ArrayLike

from ..core import check_choice, numpy_rng, row_chunks
from ..worlds import Instance, World
from ._lm import LanguageModel
from ._tilt import EPS_TARGET_RTOL, TILT_FAMILIES, bisect_scales, center


class SignedDirection(NamedTuple):
    """U(s, w) = sign[s]·(u[w] − E_{P*[s]} u): sign (N,) in {−1, 0, +1}, u (V,) (module docstring)."""

    sign: np.ndarray
    u: np.ndarray


def signed_direction(key: jax.Array | None, inst: Instance, family: str) -> SignedDirection:
    """The family's signed direction: "adversarial" (against the planted labels, (R8); no key needed)
    or "random" (signs ±1 with probability ½ and u with i.i.d. N(0, 1) entries, drawn from `key`)."""
    check_choice("family", family, set(TILT_FAMILIES))
    world, task = inst.world, inst.task
    if family == "adversarial":
        return SignedDirection(-np.sign(2.0 * task.eta - 1.0), np.asarray(task.v / task.B))
    if key is None:
        raise ValueError("a random signed direction needs a PRNG key (e.g. inst.keys['tilt']), got None")
    rng = numpy_rng(key)
    N, V = world.p_star.shape
    signs: np.ndarray = rng.choice(np.array([-1.0, 1.0]), size=N)
    return SignedDirection(signs, np.asarray(rng.normal(size=V)))


def dense_direction(world: World, d: SignedDirection) -> np.ndarray:
    """The N × V array of the direction (for small worlds and tests: the general tilts take it)."""
    return center(world, d.sign[:, None] * d.u[None, :])


def signed_variance(world: World, d: SignedDirection) -> float:
    """Var = Σ_s p_L(s) E_{P*[s]} U(s)² (the bisection's starting scale)."""
    total = 0.0
    for rows in row_chunks(world.p_star.shape[0]):
        p = world.p_star[rows]
        m, m2 = p @ d.u, p @ (d.u * d.u)
        total += float(world.p_L[rows] @ (d.sign[rows] ** 2 * (m2 - m * m)))
    return total


def signed_eps(world: World, d: SignedDirection, t: ArrayLike) -> np.ndarray:
    """ε(t) = Σ_s p_L(s) KL(P*[s] ‖ Q_t[s]) for each t, exact in float64, in one pass over P*.

    For t·max|u| <= 1 the cumulant of the module docstring (expm1 keeps its digits as t → 0); beyond,
    where e^{−tσm}·P*·expm1(tσu) and expm1(−tσm) would cancel to −1, the same cumulant as
    log(P*[s]·e^{tσ_s(u − a_σ)}) + tσ_s(a_σ − m_s) with a_σ the largest σu (no exponent above 0).
    """
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    k = t.size
    top, bottom = float(np.max(d.u)), float(np.min(d.u))
    reach = max(abs(top), abs(bottom))
    wide = t * reach > 1.0
    cols = [d.u]
    for ti, w in zip(t, wide, strict=True):  # (up, down) columns for each t
        cols += (
            [np.exp(ti * (d.u - top)), np.exp(-ti * (d.u - bottom))] if w else [np.expm1(ti * d.u), np.expm1(-ti * d.u)]
        )
    vecs = np.column_stack(cols)
    out = np.zeros(k)
    for rows in row_chunks(world.p_star.shape[0]):
        pm = world.p_star[rows] @ vecs  # (rows, 1 + 2k): m_s, then P*·(up, down) for each t
        sign, m = d.sign[rows], pm[:, 0]
        for j, tj in enumerate(t):
            up, down = pm[:, 1 + 2 * j], pm[:, 2 + 2 * j]
            if wide[j]:
                with np.errstate(divide="ignore"):
                    kl = np.where(sign > 0, np.log(up) + tj * (top - m), np.log(down) + tj * (m - bottom))
            else:
                pushed = np.where(sign > 0, up, down)
                shift = -tj * sign * m
                kl = np.log1p(np.exp(shift) * pushed + np.expm1(shift))
            out[j] += float(world.p_L[rows] @ np.where(sign != 0, kl, 0.0))
    return out


def signed_tilts(
    world: World, d: SignedDirection, targets: ArrayLike, rtol: float = EPS_TARGET_RTOL
) -> tuple[np.ndarray, np.ndarray]:
    """Scales t with ε(t) within `rtol` of each target: the bisection of `simulations.calibrate_tilts`."""
    return bisect_scales(lambda ts: signed_eps(world, d, ts), signed_variance(world, d), targets, rtol=rtol)


def signed_model(world: World, d: SignedDirection, t: float) -> np.ndarray:
    """Q_t = softmax(log P* + tU), float64 (N, V), built a row chunk at a time: the only N × V array made."""
    up, down = np.exp(t * (d.u - np.max(d.u))), np.exp(-t * (d.u - np.min(d.u)))  # ≤ 1: no overflow; Z divides out
    q = np.empty_like(world.p_star)
    for rows in row_chunks(world.p_star.shape[0]):
        sign = d.sign[rows, None]
        np.multiply(world.p_star[rows], np.where(sign > 0, up, np.where(sign < 0, down, 1.0)), out=q[rows])
        q[rows] /= q[rows].sum(axis=1, keepdims=True)
    return q


def signed_tilted_lms(inst: Instance, family: str, targets: Sequence[float]) -> Iterator[LanguageModel]:
    """The family's signed tilts at each ε target (to 1%), made one at a time as they are asked for
    (each holds one N × V array, Q)."""
    d = signed_direction(inst.keys["tilt"], inst, family)
    ts, eps = signed_tilts(inst.world, d, targets)
    for target, t, e in zip(targets, ts, eps, strict=True):
        # Q is made in the yield itself: a local name would keep the last Q alive while the next one is made
        yield LanguageModel(
            family, signed_model(inst.world, d, float(t)), float(e), target_eps=float(target), world_id=inst.world_id
        )
