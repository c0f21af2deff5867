"""The context population of a sequence world: sampled documents, all their prefixes, their ends, and tasks on them.

A held-out sample of M documents of L tokens gives N = M·L contexts, the
prefixes s = w_≤t (t = 1..L); p_L is uniform over them and every quantity
(ε, τ, probes, bounds) is exact with respect to that population. Downstream
contexts are the document ends s = w_≤L, or the ends followed by a prompt;
with p_T uniform over the M ends, γ_ratio = p_L(s)/p_T(s) = 1/L exactly
(docs/design.md §2, "The sequence world"). ε over the population estimates the generator's
expected ε with a Monte Carlo error over documents (`eps_by_document`).

The pipeline's `World` is made for the contexts a probe needs (`context_world`):
P* (n, V) from the predictive state distributions, p_L uniform over them, Φ*
and, as θ(s), the belief-weighted emission parameters Σ_h b_s(h) θ_h. The
world is not well specified: P*[s] is a mixture of softmaxes, not
softmax(θ(s)ᵀΦ*).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import jax
import numpy as np
from scipy.special import logit

import theory

from ..core import config_hash, numpy_rng
from ._hmm import Filtered, forward, next_token_probs, sample_documents
from ._instance import Instance
from ._loglinear import World
from ._sequence import SequenceWorld
from ._task import Task


class Documents(NamedTuple):
    """M sampled documents and their exact filtering.

    tokens: (M, L) token ids.  concepts: (M,) the concept each document was drawn with.
    filtered: the forward pass (`Filtered`): pred (M, L, C, S), log_lik (M, L).
    """

    tokens: np.ndarray
    concepts: np.ndarray
    filtered: Filtered


def sample_population(key: jax.Array, world: SequenceWorld, documents: int, length: int) -> Documents:
    """Draw `documents` documents of `length` tokens with the PRNG stream `key` and filter them."""
    tokens, concepts = sample_documents(numpy_rng(key), world.hmm, documents, length)
    return Documents(tokens, concepts, forward(world.hmm, tokens))


def append_suffix(tokens: np.ndarray, suffix: np.ndarray | None) -> np.ndarray:
    """(M, L + len(suffix)) every document followed by the same `suffix` (a prompt); the documents when there is
    none."""
    if suffix is None or len(suffix) == 0:
        return tokens
    return np.hstack([tokens, np.broadcast_to(np.asarray(suffix), (tokens.shape[0], len(suffix)))])


def end_beliefs(world: SequenceWorld, docs: Documents, suffix: np.ndarray | None = None) -> np.ndarray:
    """(M, C, S) the predictive state distribution at each document's end, after reading `suffix` (token ids
    appended to every document: a prompt) when given."""
    last = docs.filtered.pred[:, -1]
    if suffix is None or len(suffix) == 0:
        return last
    tail = np.broadcast_to(np.asarray(suffix), (last.shape[0], len(suffix)))
    return forward(world.hmm, tail, start=last).pred[:, -1]


def context_world(world: SequenceWorld, beliefs: np.ndarray) -> World:
    """The pipeline's `World` over the contexts whose predictive state distributions are `beliefs` (n, C, S):
    P* = b E exactly, p_L uniform, Φ = Φ*, θ(s) = Σ_h b(h) θ_h (its last entry 1, paired with the bias row)."""
    flat = beliefs.reshape(beliefs.shape[0], -1)
    p_star = next_token_probs(world.hmm, beliefs)
    theta = flat @ world.theta.reshape(flat.shape[1], -1)
    n = p_star.shape[0]
    return World(world.Phi, theta, np.full(n, 1.0 / n), np.log(p_star), p_star, world.Phi[-1])


def positive_posterior(world: SequenceWorld, beliefs: np.ndarray) -> np.ndarray:
    """(n,) P(the concept's level > 0 | s): the block sums of the belief over the positive concepts."""
    return beliefs[:, world.levels > 0].sum(axis=(1, 2))


def concept_task(world: SequenceWorld, ctx: World, beliefs: np.ndarray, B: float) -> Task:
    """The concept task on contexts `ctx` (their beliefs `beliefs`): y = +1 when the document's concept has a
    positive level, with the exact soft label η(s) = P(level > 0 | s); p_T = ctx.p_L.

    No weights are planted: (v, b) = (0, logit η̄), the best constant predictor, a valid (weak) τ; the
    smallest τ of the box class is the probe fitted on P* (`simulations.reference_probe`).

    Raises:
      ValueError: a world with no concept of positive level or none of non-positive level (C = 1), or
      contexts whose labels are all one class.
    """
    if not (np.any(world.levels > 0) and np.any(world.levels <= 0)):
        raise ValueError(f"the concept task needs concepts of both signs of level; this world has C = "
                         f"{world.levels.shape[0]} (set sequence.concepts >= 2)")  # fmt: skip
    eta = np.clip(positive_posterior(world, beliefs), 0.0, 1.0)
    mean = float(ctx.p_L @ eta)
    if not 0.0 < mean < 1.0:
        raise ValueError(f"the concept task's labels are all one class on these contexts (mean η = {mean:g})")
    V = ctx.p_star.shape[1]
    b = float(logit(mean))
    tau = theory.probe_loss(ctx.p_star, np.zeros(V), b, ctx.p_L, eta)
    return Task(np.zeros(V), b, None, eta, ctx.p_L.copy(), float(B), tau)


def eps_by_document(kl: np.ndarray) -> tuple[float, float]:
    """(ε, its Monte Carlo standard error) from per-prefix KLs (M, L): ε is the mean over the population's
    prefixes (p_L uniform); as an estimate of the generator's expected ε (documents drawn afresh) its error is
    the standard deviation of the per-document means over √M (NaN for one document: no spread to estimate)."""
    per_doc = np.asarray(kl).mean(axis=1)
    M = per_doc.shape[0]
    se = float(per_doc.std(ddof=1) / np.sqrt(M)) if M > 1 else float("nan")
    return float(per_doc.mean()), se


def soft_labels_agree(world: SequenceWorld, docs: Documents) -> float:
    """The mean of η at the ends over the documents drawn with a positive concept, minus that over the
    others: how well the exact posterior tells the sampled concepts apart (1 would be perfect)."""
    eta = positive_posterior(world, docs.filtered.pred[:, -1])
    pos = world.levels[docs.concepts] > 0
    return float(eta[pos].mean() - eta[~pos].mean()) if pos.any() and (~pos).any() else float("nan")


#: The suffixes a document end is read with: nothing, the prompt, and the prompt's words reversed (inert).
SUFFIXES = ("none", "prompt", "inert")


class EndView(NamedTuple):
    """The downstream contexts of a population: the M document ends (after a suffix), as an `Instance`.

    inst: the `Instance` whose world is the M end contexts (P* exact, p_L = p_T uniform over them) and whose
      task is the concept task; its γ is 1, the form whose ε is measured on these contexts themselves.
    beliefs: (M, C, S) the predictive state distributions at the ends.
    suffix: the suffix's name ("none", "prompt", "inert") and `tokens`, its token ids.
    gamma_prefixes: γ_ratio = p_L(s)/p_T(s) = 1/L of the other form, with ε over all M·L prefixes (NaN after a
      suffix: a prompted end is not a prefix of the population, so only the form with γ = 1 applies).
    """

    inst: Instance
    beliefs: np.ndarray
    suffix: str
    tokens: np.ndarray
    gamma_prefixes: float


def end_view(
    seed: int, keys: Mapping[str, jax.Array], world: SequenceWorld, docs: Documents, suffix: str, B: float
) -> EndView:
    """The end contexts of `docs` read with `suffix` ("none", "prompt" or "inert"), with the concept task at box B.

    Every model paired with this view must be made for it (`LanguageModel.world_id` = the view's `world_id`, which
    names the seed, the world's config and the suffix).
    """
    if suffix not in SUFFIXES:
        raise ValueError(f"suffix must be one of {SUFFIXES}, got {suffix!r}")
    tokens = {"none": np.zeros(0, dtype=np.int64), "prompt": world.prompt, "inert": world.inert}[suffix]
    beliefs = end_beliefs(world, docs, tokens)
    ctx = context_world(world, beliefs)
    task = concept_task(world, ctx, beliefs, B)
    M, L = docs.tokens.shape
    world_id = f"seed {seed}, sequence world {config_hash(world.cfg)}, {M} documents, ends + {suffix}"
    inst = Instance(seed, keys, ctx, task, 1.0, world_id)
    return EndView(inst, beliefs, suffix, tokens, 1.0 / L if suffix == "none" else float("nan"))
