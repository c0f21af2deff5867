"""A mixture of concept HMMs as one block-diagonal HMM: exact filtering, next-token distributions and sampling.

A document draws its concept c once, then runs concept c's own HMM: hidden
states h_1, h_2, … with h_1 ~ π_c, h_{t+1} ~ A_c[h_t], and each token
w_t ~ E_c[h_t]. Stacked over the C concepts this is one HMM over C·S hidden
states whose transition matrix is block-diagonal (docs/design.md §2, "The sequence world").

Filtering (the forward algorithm) gives, for every prefix s = w_≤t of a
document, the predictive state distribution b_t = P(h_{t+1} | w_≤t) = α_t A,
with α_t(h) = P(h_t = h | w_≤t); the exact next-token distribution of the
prefix is then the linear image p*(·|s) = b_t E, and the exact posterior over
the concept is the block sums of b_t (A keeps each concept's mass). All of it
is float64 NumPy: this module is part of the referee's world, not a model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ..core import row_chunks

#: Documents filtered at once by `forward` (their working arrays, n × C·S, stay in the cache).
FORWARD_DOCS = 256
#: Rows of the transition matrices and emissions must sum to 1 within this (and be non-negative).
STOCHASTIC_ATOL = 1e-9


class HMM(NamedTuple):
    """C concept HMMs of S states each over V tokens (the block-diagonal HMM of C·S states).

    init: (C, S) P(concept c, h_1 = s): each block holds its concept's prior mass times π_c.
    trans: (C, S, S) A_c, row-stochastic: P(h_{t+1} = j | h_t = i) within concept c.
    emit: (C, S, V) E_c, row-stochastic: P(w_t = w | h_t = s) in concept c.

    The dense view (state h = c·S + s) is `dense()`: π (H,), A (H, H) block-diagonal, E (H, V).
    """

    init: np.ndarray
    trans: np.ndarray
    emit: np.ndarray

    @property
    def concepts(self) -> int:
        return self.init.shape[0]

    @property
    def states(self) -> int:
        """Hidden states per concept, S."""
        return self.init.shape[1]

    @property
    def vocab_size(self) -> int:
        return self.emit.shape[2]

    def dense(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(π (H,), A (H, H) block-diagonal, E (H, V)) with H = C·S, state h = c·S + s."""
        C, S = self.init.shape
        A = np.zeros((C * S, C * S))
        for c in range(C):
            A[c * S : (c + 1) * S, c * S : (c + 1) * S] = self.trans[c]
        return self.init.reshape(-1), A, self.emit.reshape(C * S, -1)

    def concept_prior(self) -> np.ndarray:
        """(C,) P(concept c)."""
        return self.init.sum(axis=1)


def make_hmm(init: np.ndarray, trans: np.ndarray, emit: np.ndarray) -> HMM:
    """Check the shapes and the stochastic rows, and return the `HMM` (float64 copies).

    Raises:
      ValueError: naming the array and what is wrong with it (a shape, a negative or non-finite entry, a row
      that does not sum to 1).
    """
    init, trans, emit = (np.array(x, dtype=np.float64) for x in (init, trans, emit))
    if init.ndim != 2 or init.shape[0] < 1 or init.shape[1] < 1:
        raise ValueError(f"init must have shape (C, S) with C, S >= 1, got {init.shape}")
    C, S = init.shape
    if trans.shape != (C, S, S):
        raise ValueError(f"trans must have shape (C, S, S) = {(C, S, S)} to match init, got {trans.shape}")
    if emit.ndim != 3 or emit.shape[:2] != (C, S) or emit.shape[2] < 2:
        raise ValueError(f"emit must have shape (C, S, V) = ({C}, {S}, V) with V >= 2, got {emit.shape}")
    for name, x, rows in (("init", init.reshape(1, -1), "its entries"), ("trans", trans, "each row"),
                          ("emit", emit, "each row")):  # fmt: skip
        if not np.all(np.isfinite(x)) or np.any(x < 0):
            raise ValueError(f"{name} must be finite and non-negative")
        worst = float(np.max(np.abs(x.sum(axis=-1) - 1.0)))
        if worst > STOCHASTIC_ATOL:
            raise ValueError(f"{name}: {rows} must sum to 1 (a probability distribution); off by {worst:.3g}")
    return HMM(init, trans, emit)


class Filtered(NamedTuple):
    """The forward pass over M documents of L tokens.

    pred: (M, L, C, S) b_t = P(h_{t+1} | w_≤t) for t = 1..L (index t − 1): the state distribution that the
      next token is emitted from, after reading the prefix w_≤t.
    log_lik: (M, L) log p*(w_t | w_<t) (t = 1..L), so the document's log-likelihood is the row sum.
    Both are views of position-major arrays (not C-contiguous): `pred[:, t]` is a contiguous slab.
    """

    pred: np.ndarray
    log_lik: np.ndarray

    def concept_posterior(self) -> np.ndarray:
        """(M, L, C) P(concept | w_≤t): the block sums of b_t (A keeps each concept's mass, so those of α_t)."""
        return self.pred.sum(axis=-1)


def check_tokens(tokens: np.ndarray, vocab_size: int, name: str = "tokens") -> np.ndarray:
    """An (M, L) integer array of token ids in [0, V), L >= 1; ValueError naming `name` otherwise."""
    arr = np.asarray(tokens)
    if arr.ndim != 2 or arr.shape[1] < 1 or arr.shape[0] < 1:
        raise ValueError(f"{name} must have shape (documents, length) with both >= 1, got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be integer token ids, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= vocab_size:
        bad = int(arr.max()) if arr.max() >= vocab_size else int(arr.min())
        raise ValueError(f"{name}: token {bad} is outside the vocabulary [0, {vocab_size})")
    return arr


def forward(hmm: HMM, tokens: np.ndarray, start: np.ndarray | None = None) -> Filtered:
    """Filter every document at once and keep every prefix's predictive state distribution (exact, float64).

    The normalised forward recursion (Rabiner 1989, "scaling"): with b_0 the prior of the first hidden state
    (π, or `start`), for t = 1..L

        a_t = b_{t−1} ⊙ E[:, w_t],   c_t = Σ a_t = p*(w_t | w_<t),   α_t = a_t / c_t,   b_t = α_t A,

    so log p*(w_≤t) = Σ log c_t is summed in log space and α_t stays a distribution in float64 (no
    underflow of the recursion itself; a state whose probability falls below ~1e-308 of the total flushes
    to 0, which moves p* by at most that much). A acts block by block: C products of (M, S) by (S, S).

    Args:
      hmm: the HMM (C concepts of S states).
      tokens: (M, L) token ids.
      start: (M, C, S) the prior of h_1 per document (for example the `pred` of an earlier pass, to continue
        documents with a suffix); π for every document when None.

    Returns:
      `Filtered` with pred (M, L, C, S) and log_lik (M, L).

    Raises:
      ValueError: tokens of the wrong shape or outside the vocabulary.
    """
    tokens = check_tokens(tokens, hmm.vocab_size)
    M, L = tokens.shape
    C, S = hmm.init.shape
    emit_by_token = np.ascontiguousarray(hmm.emit.transpose(2, 0, 1))  # (V, C, S): one gather per step
    b = np.broadcast_to(hmm.init, (M, C, S)) if start is None else np.asarray(start, dtype=np.float64)
    if b.shape != (M, C, S):
        raise ValueError(f"start must have shape (documents, C, S) = {(M, C, S)}, got {b.shape}")
    # stored position-major, so that each step writes one contiguous block (a strided write into (M, L, ...)
    # made the pass 3-4x slower); `pred` and `log_lik` are returned as (M, L, ...) views of these. Documents
    # are filtered FORWARD_DOCS at a time, whose working arrays stay in cache (2x faster than all at once).
    pred = np.empty((L, M, C, S))
    log_lik = np.empty((L, M))
    for rows in row_chunks(M, FORWARD_DOCS):
        b_rows = b[rows]
        for t in range(L):
            a = emit_by_token[tokens[rows, t]]
            a *= b_rows
            c = a.sum(axis=(1, 2))
            a /= c[:, None, None]
            np.log(c, out=log_lik[t, rows])
            # C products (n, S) @ (S, S), one per concept's block of A
            pred[t, rows] = np.matmul(a.transpose(1, 0, 2), hmm.trans).transpose(1, 0, 2)
            b_rows = pred[t, rows]
    return Filtered(pred.transpose(1, 0, 2, 3), log_lik.T)


def next_token_probs(hmm: HMM, pred: np.ndarray) -> np.ndarray:
    """p*(·|s) = b E for predictive state distributions `pred` (..., C, S): an array (..., V)."""
    C, S = hmm.init.shape
    flat = np.asarray(pred).reshape(-1, C * S)
    return (flat @ hmm.emit.reshape(C * S, -1)).reshape(*np.shape(pred)[:-2], hmm.vocab_size)


def next_token_chunks(hmm: HMM, pred: np.ndarray, size: int = 1024) -> Iterator[tuple[slice, np.ndarray]]:
    """(rows, p*(·|s) of those rows) over the rows of `pred` (n, C, S), `size` rows at a time: the N × V
    next-token distributions of a large population are never held at once."""
    n = pred.shape[0]
    for rows in row_chunks(n, size):
        yield rows, next_token_probs(hmm, pred[rows])


def entropies(hmm: HMM, pred: np.ndarray, size: int = 1024) -> np.ndarray:
    """(n,) the exact entropy H(p*(·|s)) in nats of each row of `pred` (n, C, S), a chunk of rows at a time
    (0·log 0 = 0; no entry of a softmax emission is 0, but a hand-made HMM may have zeros)."""
    out = np.empty(pred.shape[0])
    for rows, p in next_token_chunks(hmm, pred, size):
        logp = np.log(p, out=np.zeros_like(p), where=p > 0)
        out[rows] = -np.einsum("ij,ij->i", p, logp)
    return out


def sample_documents(rng: np.random.Generator, hmm: HMM, documents: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw `documents` documents of `length` tokens: (tokens (M, L) int64, concepts (M,) int64).

    The concept and h_1 are drawn together from `init`, then each token from its state's emission row and
    the next state from its transition row (inverse-CDF sampling, one uniform per draw, grouped by state).
    """
    if documents < 1 or length < 1:
        raise ValueError(f"documents and length must be >= 1, got {documents} and {length}")
    S = hmm.states
    pi, A, E = hmm.dense()
    cum_E, cum_A = np.cumsum(E, axis=1), np.cumsum(A, axis=1)
    state = _draw(rng, np.cumsum(pi)[None, :], np.zeros(documents, dtype=np.int64))
    concepts = state // S
    tokens = np.empty((documents, length), dtype=np.int64)
    for t in range(length):
        tokens[:, t] = _draw(rng, cum_E, state)
        if t + 1 < length:
            state = _draw(rng, cum_A, state)
    return tokens, concepts


def _draw(rng: np.random.Generator, cum: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw from each row `cum[rows[i]]` (cumulative distributions), by inverse CDF."""
    u: np.ndarray = rng.random(size=int(rows.shape[0]))
    out = np.empty(rows.shape[0], dtype=np.int64)
    for r in np.unique(rows):
        idx = np.flatnonzero(rows == r)
        c: np.ndarray = cum[int(r)]
        total = float(c[-1])
        out[idx] = np.minimum(np.searchsorted(c, u[idx] * total, side="right"), c.shape[0] - 1)
    return out
