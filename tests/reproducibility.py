"""How each number of a tiny row can move across machines: the classes the reference comparison reads.

- "trained": a number of a row whose language model was trained in float32 with JAX. The training sums its
  matrix products in an order the CPU's vector width decides, so its weights, and everything measured from
  them (ε, the probes' losses, the bounds that use that ε), differ between CPUs in their last float32 digits
  and by what a training amplifies them to. Compared within `tolerances.REFERENCE_TRAINED_RTOL`.
- "chaotic": a number of the `sequence` experiment, whose transformers and GRUs are trained in float32 for
  thousands of Adam steps: the CPU's kernels (AVX-512 against AVX2) move the weights in their last bits and the
  training amplifies that to percents (measured: `tolerances.REFERENCE_CHAOTIC_RTOL`). Compared within that
  envelope, which still catches a lost factor (√2, 2) but not a small drift; on one machine they are identical.
- "gap": a solver's certificate, an upper bound that depends on the solver's path (measured: 1.4e-7 on one CPU
  where another certified 1.0e-5); two runs agree when both are finite or both are NaN (a fit certified only to a
  larger gap is known to that much: the other numbers of its row are compared within the sum of both rows' gaps).
- A tilt's row is calibrated to its ε target by bisection that stops at the first iterate within
  `EPS_TARGET_RTOL` (1%) of it: on another CPU a last-bit difference can stop it one step earlier or later
  (measured: ε 9.98e-5 against 1.0e-4). Such a row, whose ε moved but stayed within 2% of the reference's, has
  its numbers compared within twice its ε's relative shift (`row_rtol`).
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


#: Experiments whose trained rows are chaotic across CPUs (long float32 training; see the module docstring).
_CHAOTIC = ("sequence",)


def drift_class(experiment: str, row, field: str) -> str:
    """The class ("chaotic", "trained", "gap" or "exact") of the number `field` of `row`, a row of `experiment`."""
    if field == "gap":
        return "gap"
    if not _TRAINED.get(experiment, lambda r: False)(row):
        return "exact"
    return "chaotic" if experiment in _CHAOTIC else "trained"


def row_rtol(got, want, rtol: float) -> float:
    """The relative tolerance of an exact row: `rtol`, or twice the relative shift of its ε where a tilt's
    calibration stopped at another iterate (ε moved, but by at most 2 × EPS_TARGET_RTOL)."""
    from simulations import EPS_TARGET_RTOL

    a, b = getattr(got, "eps", None), getattr(want, "eps", None)
    if not (isinstance(a, float) and isinstance(b, float)) or not (a > 0 and b > 0):
        return rtol
    shift = abs(a - b) / max(a, b)
    return max(rtol, 2.0 * shift) if shift <= 2.0 * EPS_TARGET_RTOL else rtol
