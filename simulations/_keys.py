"""One seed per run, split into named PRNG streams (docs/design.md §3)."""

from __future__ import annotations

import jax
import numpy as np

STREAMS = ("world", "task", "tilt", "init", "data", "probe", "stats")


def streams(seed: int) -> dict[str, jax.Array]:
    """Split `jax.random.key(seed)` once into the named streams."""
    keys = jax.random.split(jax.random.key(seed), len(STREAMS))
    return dict(zip(STREAMS, keys, strict=True))


def numpy_rng(key: jax.Array) -> np.random.Generator:
    """A NumPy generator seeded from a JAX key (float64 sampling in NumPy)."""
    return np.random.default_rng(np.asarray(jax.random.key_data(key)).astype(np.uint64))
