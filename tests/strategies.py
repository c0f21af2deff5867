"""Hypothesis strategies shared by the test suite, in one place.

Distributions are drawn as softmax of logits in [−50, 50] (entries down to
~1e-44), and `SHARP_LOGIT` adds logits near −690 (entries down to ~1e-300), so
that sharp rows are generated, not only well-conditioned ones; strategies mask
entries to exactly zero on purpose where a test needs it. `@example`s in the
tests add the uniform, one-hot and two-point cases.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import softmax

LOGIT = st.floats(-50.0, 50.0, allow_nan=False, width=64)
#: Logits that also reach probabilities near 1e-300 (exp(−690)) relative to the others.
SHARP_LOGIT = st.one_of(LOGIT, st.floats(-690.0, -600.0, width=64))
#: A context weight before normalisation: exactly 0 (outside the support) or
#: at least 1e-3, so that ratios like p_L/p_T stay representable.
WEIGHT = st.one_of(st.just(0.0), st.floats(1e-3, 1.0))


#: An embedding entry: a multiple of 1e-3 in [−3, 3] (zeros and repeats included). Embeddings
#: mixing scales 1e-10 and 1 within one direction put the softmax optimum beyond float64's
#: reach (`theory.softmax_optimum`'s note); a grid keeps Φ generic without that.
EMBEDDING = st.integers(-3000, 3000).map(lambda k: k / 1000)


def simplex_rows(n: int, v: int, logit=LOGIT):
    """n rows on the V-simplex with all entries positive."""
    return hnp.arrays(np.float64, (n, v), elements=logit).map(lambda x: softmax(x, axis=-1))


@st.composite
def nested_pair(draw, n_max: int = 4, v_max: int = 6):
    """(p, q) of the same shape with supp p ⊆ supp q (finite KL), zeros allowed."""
    n = draw(st.integers(1, n_max))
    v = draw(st.integers(2, v_max))
    q_logits = draw(hnp.arrays(np.float64, (n, v), elements=SHARP_LOGIT))
    p_logits = draw(hnp.arrays(np.float64, (n, v), elements=SHARP_LOGIT))
    q_mask = draw(hnp.arrays(np.bool_, (n, v)))
    q_mask[:, 0] = True
    p_mask = q_mask & draw(hnp.arrays(np.bool_, (n, v)))
    p_mask[:, 0] = True
    return _masked_softmax(p_logits, p_mask), _masked_softmax(q_logits, q_mask)


def _masked_softmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """softmax over the masked entries (exactly 0 elsewhere), shifted by the row max so exp cannot overflow."""
    z = np.where(mask, logits, -np.inf)
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@st.composite
def weights(draw, n: int, zeros: bool = True):
    """A distribution over n contexts; some weights may be exactly 0."""
    w = draw(hnp.arrays(np.float64, n, elements=WEIGHT))
    if not zeros:
        w = w + 0.05
    if w.sum() == 0:
        w[0] = 1.0
    return w / w.sum()


@st.composite
def nested_weights(draw, n: int):
    """(p_L, p_T) over n contexts with supp p_T ⊆ supp p_L."""
    p_L = draw(weights(n))
    raw = draw(hnp.arrays(np.float64, n, elements=WEIGHT)) * (p_L > 0)
    if raw.sum() == 0:
        raw = (p_L > 0).astype(float)
    return p_L, raw / raw.sum()


@st.composite
def finite_world(draw, n_max: int = 6, v_max: int = 6):
    """A small random world for the natural-task bound (R2).

    Returns dict(p_star, q, p_L, p_T, eta, v, b, B).
    """
    n = draw(st.integers(1, n_max))
    v = draw(st.integers(2, v_max))
    p_star = draw(simplex_rows(n, v))
    q = draw(simplex_rows(n, v))
    p_L, p_T = draw(nested_weights(n))
    eta = draw(hnp.arrays(np.float64, n, elements=WEIGHT))
    B = draw(st.floats(0.1, 5.0))
    vec = draw(hnp.arrays(np.float64, v, elements=st.floats(-1.0, 1.0))) * B
    b = draw(st.floats(-3.0, 3.0))
    return dict(p_star=p_star, q=q, p_L=p_L, p_T=p_T, eta=eta, v=vec, b=b, B=B)
