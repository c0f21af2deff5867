"""How each number of a tiny row can move across machines: the classes the reference comparison reads.

- "trained": a number of a row whose language model was trained in float32 with JAX. The training sums its
  matrix products in an order the CPU's vector width decides, so its weights, and everything measured from
  them (ε, the probes' losses, the bounds that use that ε), differ between CPUs in their last float32 digits
  and by what a training amplifies them to. Compared within `tolerances.REFERENCE_TRAINED_RTOL`.
- "gap": a solver's certificate, an upper bound that depends on the solver's path; two runs agree when both
  are below `GAP_ATOL` or both above it (a fit certified only to a larger gap is known to that much: the other
  numbers of its row are compared within the sum of both rows' gaps).
- "exact": everything else, float64 closed forms, tilts of P* and certified fits on them, sampled labels
  drawn from seeded generators: equal to rounding (`tolerances.REFERENCE_EXACT_RTOL`).

Verdicts are compared exactly. `python -m tests.calibrate_reference` measures each class's spread.
"""

from __future__ import annotations

#: Solver certificates (`gap` fields) are upper bounds that depend on the solver's path, not measured numbers:
#: two runs agree when both are below this (every certified fit is far below 1e-5), or both above, never digit by
#: digit.
GAP_ATOL = 1e-5

#: Per experiment, the rows that measure a language model trained in float32 (by their family or kind).
_TRAINED = {
    "sqrt_eps": lambda r: r.family in ("trained", "corpus"),
    "tightness": lambda r: r.family == "trained",
    "conditional_mean": lambda r: True,  # every row measures an LM trained on the exact objective or with its Φ
    "quad": lambda r: True,  # every row measures a trained LM (Quad or cross-entropy)
    "log_partition": lambda r: r.family in ("trained", "learned"),
    "completion": lambda r: r.family == "trained",
    "sequence": lambda r: True,  # every row measures a checkpoint of a trained sequence LM
}


def drift_class(experiment: str, row, field: str) -> str:
    """The class ("trained", "gap" or "exact") of the number `field` of `row`, a row of `experiment`."""
    if field == "gap":
        return "gap"
    return "trained" if _TRAINED.get(experiment, lambda r: False)(row) else "exact"
