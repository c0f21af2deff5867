"""Language models at an exactly measured ε, as one record whatever made them.

An experiment asks for "the adversarial tilts of this instance at these ε"
or "the checkpoints of an LM trained on a corpus" and gets a list of
`LanguageModel`s: Q in float64, its exact ε, and (F, Φ) when Q is a softmax
LM, so the feature kinds of `simulations.features` can be computed from it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import jax
import numpy as np

from ..core import numpy_rng
from ..worlds import Instance
from ._tilt import adversarial_direction, calibrate_tilts, center, tilt_direction, tilt_model
from ._train import TrainConfig, lm_eps, lm_probs, train, train_population


class LanguageModel(NamedTuple):
    """A language model Q with its exact ε (docs/design.md, "Language model", "Suboptimality").

    family: how it was made ("random", "adversarial", "trained", "corpus", ...).
    q: (N, V) float64 next-word distributions Q[s].
    eps: ε(Q) = Σ p_L KL(P*‖Q), exact.
    F, Phi: (N, d) and (d, V) with Q = softmax(F Φ), or None if Q is not
      given as a softmax LM.
    target_eps: the ε it was calibrated to (NaN for trained LMs).
    step: the optimiser step of a trained LM's checkpoint (0 for tilts).
    world_id: the `Instance.world_id` of the world it was made for (every
      maker here records it; "" for a model made by hand, which is then only
      checked for its shape when paired with an instance).
    """

    family: str
    q: np.ndarray
    eps: float
    F: np.ndarray | None = None
    Phi: np.ndarray | None = None
    target_eps: float = math.nan
    step: int = 0
    world_id: str = ""

    def __repr__(self) -> str:
        """Its family, ε, shapes and world, not its arrays."""
        N, V = np.shape(self.q)
        softmax = (
            f", F {np.shape(self.F)}, Φ {np.shape(self.Phi)}" if self.F is not None and self.Phi is not None else ""
        )
        made = f", step {self.step}" if self.step else (f", target ε {self.target_eps:.3g}" if not math.isnan(
            self.target_eps) else "")  # fmt: skip
        return f"LanguageModel({self.family}, ε={self.eps:.4g}{made}, Q {N}×{V}{softmax}, world_id={self.world_id!r})"


def tilted_lms(inst: Instance, family: str, targets: Sequence[float]) -> list[LanguageModel]:
    """Exponential tilts of P* along the family's direction, one per ε target (to 1%).

    The adversarial tilt of a row-space task in a well-specified world is
    itself a softmax LM with the world's Φ: U(s) = −sign_s v*/B + const =
    Φᵀ(−sign_s λ*/B) + const, so F = θ* − t·sign_s λ*/B, and its f and Φp_f
    features exist. In a misspecified world P* is not softmax(θ*Φ), so no
    such F is attached (the LM is then only its Q).
    """
    world, task = inst.world, inst.task
    u = tilt_direction(inst.keys["tilt"], world, task, family)
    ts, eps = calibrate_tilts(world, u, targets)
    out = []
    lam = task.lam if family == "adversarial" and task.lam is not None and world.well_specified else None
    for target, t, e in zip(targets, ts, eps, strict=True):
        F = Phi = None
        if lam is not None:
            sign = np.sign(2.0 * task.eta - 1.0)
            F, Phi = world.theta - float(t) * sign[:, None] * (lam / task.B)[None, :], world.Phi
        out.append(LanguageModel(family, tilt_model(world, u, t), float(e), F, Phi, float(target), 0, inst.world_id))
    return out


def trained_lms(
    inst: Instance, cfg: TrainConfig, objective: str = "exact", family: str | None = None
) -> list[LanguageModel]:
    """The checkpoints of one softmax LM trained with `cfg` (streams `init` and `data`) as `LanguageModel`s."""
    out = []
    name = family or ("trained" if objective == "exact" else "corpus")
    for step, params in train(inst.keys["init"], inst.keys["data"], inst.world, cfg, objective):
        # ε from log-probabilities: exact even where Q underflows; NaN if the training diverged
        out.append(
            LanguageModel(
                name,
                lm_probs(params),
                lm_eps(inst.world, params),
                params.F,
                params.Phi,
                math.nan,
                step,
                inst.world_id,
            )  # fmt: skip
        )
    return out


def placed_tilts(
    inst: Instance, mask: np.ndarray, targets: Sequence[float], family: str = "adversarial"
) -> list[LanguageModel]:
    """Tilts along the family's direction on the contexts in `mask` only, at each ε target.

    Contexts outside the mask are exactly P* (Δ = 0 there), so all of the
    LM's ε sits on the masked contexts (used to make γ visible).
    """
    world = inst.world
    u = tilt_direction(inst.keys["tilt"], world, inst.task, family) * mask[:, None]
    ts, eps = calibrate_tilts(world, u, targets)
    out = []
    for target, t, e in zip(targets, ts, eps, strict=True):
        q = tilt_model(world, u, t)
        q[~mask] = world.p_star[~mask]
        out.append(LanguageModel(family, q, float(e), target_eps=float(target), world_id=inst.world_id))
    return out


def lms_at_eps(
    inst: Instance, directions: list[tuple[str, np.ndarray]], targets: Sequence[float]
) -> list[LanguageModel]:
    """For each (family, direction U) and each ε target: the tilt of P* along U with exactly that ε (to 1%)."""
    world, out = inst.world, []
    for family, u in directions:
        u = center(world, u)
        ts, es = calibrate_tilts(world, u, targets)
        out += [
            LanguageModel(family, tilt_model(world, u, t), float(e), target_eps=float(target), world_id=inst.world_id)
            for target, t, e in zip(targets, ts, es, strict=True)
        ]
    return out


def tilt_directions(inst: Instance, n_random: int, n_mixed: int, stream: int) -> list[tuple[str, np.ndarray]]:
    """The adversarial direction, n_random random ones and n_mixed mixtures cos a·adv + sin a·random.

    The random directions come from `fold_in(keys["tilt"], stream)`; the
    mixing angles a are evenly spaced in (0, π/2).
    """
    world, task = inst.world, inst.task
    u_adv = adversarial_direction(world, task.eta, task.v, task.B)
    rng = numpy_rng(jax.random.fold_in(inst.keys["tilt"], stream))
    rand = [center(world, rng.normal(size=world.p_star.shape)) for _ in range(max(n_random, n_mixed))]
    out = [("adversarial", u_adv)] + [("random", r) for r in rand[:n_random]]
    for i in range(n_mixed):
        angle = (i + 1) * (math.pi / 2) / (n_mixed + 1)
        r = rand[i] * np.linalg.norm(u_adv) / np.linalg.norm(rand[i])
        out.append(("mixed", math.cos(angle) * u_adv + math.sin(angle) * r))
    return out


def trained_directions(
    inst: Instance, cfg: TrainConfig, inits: int, corpus_sizes: Iterable[int]
) -> list[tuple[str, np.ndarray]]:
    """Error directions (F − θ*)Φ of softmax LMs trained from `inits` other initialisations (exact
    objective) and on corpora of each size, each at its last checkpoint."""
    world, keys = inst.world, inst.keys
    last = dataclasses.replace(cfg, checkpoints=1)
    # the `inits` LMs differ only in their initialisation: one population (vmapped where that pays)
    inits_keys = [jax.random.fold_in(keys["init"], i + 1) for i in range(inits)]
    finals = [c[-1][1] for c in train_population(inits_keys, [keys["data"]] * inits, world, last)] if inits else []
    for j, size in enumerate(corpus_sizes):  # corpora of different sizes: one run each
        k_data = jax.random.fold_in(keys["data"], j + 1)
        finals.append(train(keys["init"], k_data, world, dataclasses.replace(last, corpus_size=size), "corpus")[-1][1])
    return [("trained", (p.F - world.theta) @ p.Phi) for p in finals]
