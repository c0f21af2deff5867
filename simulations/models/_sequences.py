"""Language models of a sequence world whose Q is exact: the oracle and the context-window oracles.

The oracle is the true conditionals themselves, p*(·|s) (the "lookup table"
of a sequence world): ε = 0 exactly. A window-k oracle is the exact
predictor that reads only the last k tokens of the prefix: it filters
w_{t−k+1..t} from the prior π and predicts from that belief. It is a real
sequence model with a finite memory (an HMM reader of an n-gram's context),
every Q it gives is exact, and its ε falls to 0 as k reaches L, which makes
it a family of models at measured ε without any training. Trained sequence
models are in the next module.

`sequence_eps` computes ε = Σ_s p_L(s) KL(p*(·|s) ‖ q(·|s)) over a whole
population of prefixes a chunk of rows at a time (no N × V array is held),
with its Monte Carlo error over documents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import jax
import numpy as np

import theory

from ..core import numpy_rng, row_chunks
from ..worlds import (
    HMM,
    Documents,
    SequenceWorld,
    append_suffix,
    eps_by_document,
    next_token_probs,
    sample_documents,
)


def window_beliefs(hmm: HMM, tokens: np.ndarray, k: int) -> np.ndarray:
    """(M, L, C, S) the predictive state distribution of each prefix w_≤t read through a window of its last k
    tokens: the forward recursion from π over w_{max(1, t−k+1)..t} only.

    For k ≥ L it is the exact filtering of the whole prefix (the oracle).

    Raises:
      ValueError: k < 1.
    """
    if not (isinstance(k, int | np.integer) and k >= 1):
        raise ValueError(f"the window k must be an integer >= 1, got {k!r}")
    tokens = np.asarray(tokens)
    M, L = tokens.shape
    k = min(int(k), L)
    pos = np.arange(L)[:, None] - (k - 1) + np.arange(k)[None, :]  # (L, k) positions of each window
    windows = np.where(pos >= 0, tokens[:, np.maximum(pos, 0)], -1).reshape(M * L, k)
    return read_windows(hmm, windows).reshape(M, L, *hmm.init.shape)


def read_windows(hmm: HMM, windows: np.ndarray) -> np.ndarray:
    """(n, C, S) the predictive state distribution after reading each row of `windows` (n, k) from π; entries
    −1 before a row's first token are skipped (the row starts there, from π)."""
    C, S = hmm.init.shape
    n = windows.shape[0]
    emit_by_token = hmm.emit.transpose(2, 0, 1)
    b = np.broadcast_to(hmm.init, (n, C, S)).copy()
    for j in range(windows.shape[1]):
        live = windows[:, j] >= 0
        if not live.any():
            continue
        a = b[live] * emit_by_token[windows[live, j]]
        a /= a.sum(axis=(1, 2))[:, None, None]
        b[live] = np.matmul(a.transpose(1, 0, 2), hmm.trans).transpose(1, 0, 2)
    return b


def end_windows(tokens: np.ndarray, suffix: np.ndarray | None, k: int) -> np.ndarray:
    """(M, min(k, L + len(suffix))) the last k tokens of each document followed by `suffix`."""
    ext = append_suffix(tokens, suffix)
    return ext[:, -min(int(k), ext.shape[1]) :]


def sequence_eps(
    hmm: HMM, docs: Documents, model_beliefs: np.ndarray | None = None, log_q: Callable | None = None
) -> tuple[float, float, np.ndarray]:
    """ε of a model over the population of all M·L prefixes of `docs` (p_L uniform), exact in float64, with its
    Monte Carlo standard error over documents and the per-prefix KLs (M, L).

    The model is either an HMM reader (`model_beliefs` (M, L, C, S): its predictive state distributions, so
    q = b E) or any function `log_q(rows)` that takes a `slice` of the documents' indices and gives log q
    (n, L, V) for `docs.tokens[rows]` (a sequence LM reads a batch of documents and predicts every position at
    once), e.g. ``log_q=lambda rows: sequence_log_probs(model, docs.tokens[rows])``. P*'s rows are made and
    dropped a few documents at a time (about 2^20 entries), so no N × V array is held.

    Raises:
      ValueError: not exactly one of the two, or model beliefs of another shape than the documents'.
    """
    if (model_beliefs is None) == (log_q is None):
        raise ValueError("give exactly one of model_beliefs and log_q")
    M, L = docs.tokens.shape
    V = hmm.vocab_size
    if model_beliefs is not None and model_beliefs.shape != docs.filtered.pred.shape:
        raise ValueError(f"model_beliefs must have the documents' shape (M, L, C, S) = {docs.filtered.pred.shape}, "
                         f"got {model_beliefs.shape}")  # fmt: skip
    kl = np.empty((M, L))
    for rows in row_chunks(M, max(1, 2**20 // (L * V))):
        p = next_token_probs(hmm, docs.filtered.pred[rows]).reshape(-1, V)
        if model_beliefs is not None:
            q = next_token_probs(hmm, model_beliefs[rows]).reshape(-1, V)
            kl[rows] = theory.kl_divergence(p, q).reshape(-1, L)
        elif log_q is not None:
            lq = np.asarray(log_q(rows), dtype=np.float64).reshape(-1, V)
            kl[rows] = theory.kl_divergence_log(np.log(p), lq).reshape(-1, L)
    eps, se = eps_by_document(kl)
    return eps, se, kl


def document_batches(key: jax.Array, world: SequenceWorld, batch: int, length: int) -> Iterator[np.ndarray]:
    """An endless stream of freshly sampled documents, `batch` at a time: (batch, length) token ids, the
    pretraining corpus of a sequence LM (deterministic given `key`)."""
    rng = numpy_rng(key)
    while True:
        yield sample_documents(rng, world.hmm, batch, length)[0]
