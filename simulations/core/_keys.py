"""One seed per run, split into named PRNG streams (docs/design.md §3).

JAX is imported when a stream is first asked for, not with this module, so
that the floors which only need the range checks below do not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import jax

STREAMS = ("world", "task", "tilt", "init", "data", "probe", "stats")


def streams(seed: int) -> dict[str, jax.Array]:
    """Split `jax.random.key(seed)` once into the named streams."""
    import jax

    keys = jax.random.split(jax.random.key(seed), len(STREAMS))
    return dict(zip(STREAMS, keys, strict=True))


def numpy_rng(key: jax.Array) -> np.random.Generator:
    """A NumPy generator seeded from a JAX key (float64 sampling in NumPy)."""
    import jax

    return np.random.default_rng(np.asarray(jax.random.key_data(key)).astype(np.uint64))
