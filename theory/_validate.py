"""Input checks shared by every public function of `theory`.

Each check raises `ValueError` naming the argument and what was wrong, so a
caller never meets a traceback from deep inside NumPy or a silent NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: Rows of a distribution must sum to 1 within this absolute tolerance. A
#: float64 softmax over V = 10^5 words sums to 1 within ~1e-12; rows built by
#: hand (or read from float32) may be off by ~1e-7, so 1e-6 accepts those and
#: still rejects every row that is not meant to be a distribution.
SIMPLEX_ATOL = 1e-6


def as_array(x: ArrayLike, name: str, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """`x` as a finite float64 array with the allowed number of dimensions."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric, got {type(x).__name__}") from err
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return arr


def simplex_rows(p: ArrayLike, name: str, ndim: int | tuple[int, ...] = (1, 2)) -> np.ndarray:
    """`p` with every row (last axis) a probability distribution."""
    arr = as_array(p, name, ndim)
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} has an empty last axis")
    if np.any(arr < 0):
        raise ValueError(f"{name} has negative entries (min {arr.min():.3g}); rows must be distributions")
    err = np.max(np.abs(arr.sum(axis=-1) - 1.0))
    if err > SIMPLEX_ATOL:
        raise ValueError(f"{name} rows must sum to 1 (within {SIMPLEX_ATOL:g}); worst row is off by {err:.3g}")
    return arr


def weights(w: ArrayLike, name: str, n: int | None = None) -> np.ndarray:
    """`w` as a length-n probability vector over contexts."""
    arr = simplex_rows(w, name, ndim=1)
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have length {n} (one weight per context), got {arr.shape[0]}")
    return arr


def positive(x: ArrayLike, name: str) -> float:
    """`x` as a finite float > 0."""
    val = scalar(x, name)
    if not val > 0:
        raise ValueError(f"{name} must be > 0, got {val}")
    return val


def transferability(x: ArrayLike, name: str = "gamma") -> float:
    """`x` as a float in (0, +inf]: γ(Δ) is +inf when no error reaches the task."""
    if isinstance(x, int | float) and x == float("inf"):
        return float("inf")
    return positive(x, name)


def nonnegative(x: ArrayLike, name: str) -> float:
    """`x` as a finite float >= 0."""
    val = scalar(x, name)
    if not val >= 0:
        raise ValueError(f"{name} must be >= 0, got {val}")
    return val


def scalar(x: ArrayLike, name: str) -> float:
    """`x` as a finite float."""
    arr = as_array(x, name, ndim=0)
    return float(arr)


def nonnegative_array(x: ArrayLike, name: str) -> np.ndarray:
    """`x` as a finite float64 array with no negative entries (broadcast-friendly)."""
    arr = as_array(x, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got minimum {arr.min()}")
    return arr


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}")


def embeddings(phi: ArrayLike, name: str = "Phi") -> np.ndarray:
    """Word embeddings Φ as a d x V matrix."""
    arr = as_array(phi, name, ndim=2)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be d x V with d, V >= 1, got shape {arr.shape}")
    return arr
