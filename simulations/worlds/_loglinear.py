"""Synthetic log-linear worlds with known word embeddings and next-word distributions."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import numpy as np
from scipy.special import log_softmax

from ..core import MAX_DIM, check_range, numpy_rng, row_chunks


@dataclasses.dataclass(frozen=True)
class WorldConfig:
    """Knobs of a synthetic world (docs/design.md §2, "World").

    Attributes:
      vocab_size: V, number of words, >= 2.
      num_contexts: N, number of contexts, >= 1.
      dim: d*, true embedding dimension (rank of the true logits), >= 1.
      extra_dims: misspecification: P* is generated with d* + extra_dims
        dimensions but `World.Phi` exposes only d* of them, so no softmax LM
        with that Φ is exact (ε*_Φ > 0). 0 = well specified.
      dirichlet: if > 0, P* rows are drawn Dirichlet(dirichlet · uniform)
        instead (not a softmax of any low rank); 0 = log-linear.
      theta_scale: std of the true context vectors θ*(s) (logit scale), > 0.
      word_zipf: exponent s of the log-unigram bias −s·log(rank), >= 0
        (0 = no bias). The bias is a known row of Φ, paired with θ = 1.
      context_zipf: exponent of the Zipf context weights p_L, >= 0 (0 = uniform).
    """

    vocab_size: int = 200
    num_contexts: int = 400
    dim: int = 8
    extra_dims: int = 0
    dirichlet: float = 0.0
    theta_scale: float = 1.5
    word_zipf: float = 1.0
    context_zipf: float = 0.0

    def __post_init__(self) -> None:
        check_range("world.vocab_size", self.vocab_size, 2, integer=True)
        check_range("world.num_contexts", self.num_contexts, 1, integer=True)
        check_range("world.dim", self.dim, 1, MAX_DIM, integer=True)
        check_range("world.extra_dims", self.extra_dims, 0, MAX_DIM, integer=True)
        check_range("world.dirichlet", self.dirichlet, 0.0)
        check_range("world.theta_scale", self.theta_scale, 0.0, lo_open=True)
        check_range("world.word_zipf", self.word_zipf, 0.0, 5.0)
        check_range("world.context_zipf", self.context_zipf, 0.0, 5.0)


class World(NamedTuple):
    """A finite world where everything is known.

    Phi: (d, V) word embeddings the LMs use: `embedding_dim` rows of
      embeddings, then, when `word_bias` is not None, one more row holding
      it (so d = dim + 1 when word_zipf > 0). theta: (N, d) the context
      vectors that pair with Phi (their last entry is 1 when there is a bias row).
    p_L: (N,) context weights. log_p_star: (N, V) log P*, float64, or None
      when the world keeps P* alone (`make_world(..., keep_log=False)`).
    p_star: (N, V) P*. When well specified, P* = softmax(theta @ Phi) exactly.
    word_bias: (V,) the word bias (log Zipf frequencies up to a constant) that
      is Phi's last row, or None when Phi has no bias row.
    """

    Phi: np.ndarray
    theta: np.ndarray
    p_L: np.ndarray
    log_p_star: np.ndarray | None
    p_star: np.ndarray
    word_bias: np.ndarray | None = None

    def __repr__(self) -> str:
        """Shapes and what the world keeps, not its arrays (a failing property prints it whole)."""
        N, V = self.p_star.shape
        bias = " with a word-bias row" if self.word_bias is not None else ""
        kept = "kept" if self.log_p_star is not None else "not kept"
        return f"World(N={N}, V={V}, d={self.Phi.shape[0]}{bias}, log P* {kept})"

    @property
    def embedding_dim(self) -> int:
        """Rows of Phi that are embeddings (Phi's rows less the bias row, if any)."""
        return self.Phi.shape[0] - (self.word_bias is not None)

    def log_probs(self) -> np.ndarray:
        """log P* (N, V): the stored array, or log of P* for a world that keeps P* alone (a new array)."""
        return np.log(self.p_star) if self.log_p_star is None else self.log_p_star

    @property
    def well_specified(self) -> bool:
        """P* = softmax(θΦ) to 1e-10 in every log-probability (checked a row chunk at a time)."""
        for rows in row_chunks(self.p_star.shape[0]):
            log_p = np.log(self.p_star[rows]) if self.log_p_star is None else self.log_p_star[rows]
            if not np.allclose(log_softmax(self.theta[rows] @ self.Phi, axis=-1), log_p, atol=1e-10):
                return False
        return True


def make_world(key: jax.Array, cfg: WorldConfig, *, keep_log: bool = True) -> World:
    """Draw a world from `cfg` with the `world` PRNG stream `key`.

    keep_log=False keeps P* alone (log_p_star is None; `World.log_probs`
    computes it when asked): the world then holds one N × V array, which is
    what a world of GPT-2's vocabulary can afford (docs/design.md §5).

    Φ* has i.i.d. N(0, 1/d*) entries (Gaussian-like embeddings, for which the
    log-partition is close to quadratic, docs/design.md (R6)) and θ*(s) has i.i.d.
    N(0, theta_scale²) entries, so each true logit θ*(s)ᵀφ*_w has standard
    deviation ≈ theta_scale before the word bias is added.
    """
    rng = numpy_rng(key)
    V, N, d = cfg.vocab_size, cfg.num_contexts, cfg.dim
    d_true = d + cfg.extra_dims
    phi_true = rng.normal(size=(d_true, V)) / np.sqrt(d_true)
    theta_true = rng.normal(size=(N, d_true)) * cfg.theta_scale
    rows, cols = [phi_true[:d]], [theta_true[:, :d]]
    bias = np.zeros(V)
    if cfg.word_zipf > 0:
        bias = -cfg.word_zipf * np.log(1.0 + rng.permutation(V))
        rows.append(bias[None, :])
        cols.append(np.ones((N, 1)))
    Phi, theta = np.vstack(rows), np.hstack(cols)
    if cfg.dirichlet > 0:
        alpha = cfg.dirichlet * np.exp(bias) / np.exp(bias).sum() * V
        p = rng.dirichlet(alpha, size=N)
        p = np.maximum(p, 1e-300)
        log_p = np.log(p / p.sum(-1, keepdims=True))
        p_star = np.exp(log_p)
        log_p_star = log_p if keep_log else None
    else:  # a row chunk at a time: no N × V temporary beyond the arrays kept
        p_star = np.empty((N, V))
        log_p_star = np.empty((N, V)) if keep_log else None
        for chunk in row_chunks(N):
            lp = log_softmax(theta_true[chunk] @ phi_true + bias, axis=-1)
            np.exp(lp, out=p_star[chunk])
            if log_p_star is not None:
                log_p_star[chunk] = lp
    _refuse_one_hot(p_star, cfg)
    ranks = 1.0 + rng.permutation(N)
    p_L = ranks ** (-cfg.context_zipf)
    p_L = p_L / p_L.sum()
    return World(Phi, theta, p_L, log_p_star, p_star, bias if cfg.word_zipf > 0 else None)


#: A world is refused when more than half its contexts put more than 1 − ONE_HOT_SLACK on one word.
ONE_HOT_SLACK = 1e-9


def _refuse_one_hot(p_star: np.ndarray, cfg: WorldConfig) -> None:
    """Refuse a world whose next-word distributions are (numerically) one-hot: there an LM's ε, every tilt and
    every probe margin saturate in float64, and no claim about rates can be read from it."""
    top = np.concatenate([p_star[rows].max(axis=1) for rows in row_chunks(p_star.shape[0])])
    share = float(np.mean(top > 1.0 - ONE_HOT_SLACK))
    if share > 0.5:
        knob = (f"world.dirichlet={cfg.dirichlet:g} (raise it)" if cfg.dirichlet > 0
                else f"world.theta_scale={cfg.theta_scale:g} (lower it, e.g. to 1.5)")  # fmt: skip
        raise ValueError(
            f"this world's next-word distributions are one-hot in float64 ({share:.0%} of the contexts put more than "
            f"1 - {ONE_HOT_SLACK:g} on one word): nothing can be measured at the scale of ε there; {knob}"
        )
