"""How each number of a tiny row can move across machines: the classes the reference comparison reads.

- "trained": a number of a row whose language model was trained in float32 with JAX. The training sums its
  matrix products in an order the CPU's vector width decides, so its weights, and everything measured from
  them (ε, the probes' losses, the bounds that use that ε), differ between CPUs in their last float32 digits
  and by what a training amplifies them to. Compared within `tolerances.REFERENCE_TRAINED_RTOL`.
- "chaotic": a number of the `sequence` experiment's trained transformers and GRUs (float32, thousands of Adam
  steps): the CPU's kernels (AVX-512 against AVX2) move the weights in their last bits and the training amplifies
  that to percents. Compared field by field within 1.5 times the spread measured for that field
  (`tolerances.chaotic_rtol`), so a lost √2 is caught in every field but δ_T; on one machine they are identical.
  The exact readers' rows of that experiment are "exact".
- "gap": a solver's certificate, an upper bound that depends on the solver's path (measured: 1.4e-7 on one CPU
  where another certified 1.0e-5); two runs agree when both are below `GAP_ATOL` or both above it, never digit by
  digit (a fit certified only to a larger gap is known to that much: the other numbers of its row are compared
  within the sum of both rows' gaps).
- A row calibrated to an ε target (a `target_eps` field: tilts and worst cases found at a budget) stops at the
  first iterate within `EPS_TARGET_RTOL` (1%) of it: on another CPU a last-bit difference can stop it one step
  elsewhere (measured: ε 9.98e-5 against 1.0e-4, a worst case of tightness). Such a row, both of whose ε are
  within 1% of the target, has its numbers compared within twice its ε's relative shift (`row_rtol`).
- "exact": everything else, float64 closed forms, tilts of P* and certified fits on them, sampled labels
  drawn from seeded generators: equal to rounding (`tolerances.REFERENCE_EXACT_RTOL`).

Verdicts are compared exactly. `python -m tests.calibrate_reference` measures each class's spread.
"""

from __future__ import annotations

#: Solver certificates (`gap` fields) are upper bounds that depend on the solver's path, not measured numbers:
#: two runs agree when both are below this, or both above, never digit by digit (measured across CPUs: 1.4e-7
#: against 1.0e-5, a τ fit that stopped near 1e-5 on one of them; ten times the 1e-5 the fits aim for).
GAP_ATOL = 1e-4

#: Per experiment, the rows that measure a language model trained in float32 (by their family or kind).
_TRAINED = {
    "sqrt_eps": lambda r: r.family in ("trained", "corpus"),
    "tightness": lambda r: r.family == "trained",
    "conditional_mean": lambda r: True,  # every row measures an LM trained on the exact objective or with its Φ
    "quad": lambda r: True,  # every row measures a trained LM (Quad or cross-entropy)
    "log_partition": lambda r: r.family in ("trained", "learned"),
    "completion": lambda r: r.family == "trained",
    "sequence": lambda r: r.kind != "reader",  # a checkpoint of a trained sequence LM; the exact readers are exact
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
    """The relative tolerance of an exact row: `rtol`, or, for a row calibrated to an ε target whose calibration
    stopped at another iterate (both ε within EPS_TARGET_RTOL of the target), twice the relative shift of its ε."""
    from simulations import EPS_TARGET_RTOL

    a, b, target = (getattr(r, f, None) for r, f in ((got, "eps"), (want, "eps"), (want, "target_eps")))
    if not all(isinstance(x, float) and x > 0 for x in (a, b, target)):
        return rtol
    if max(abs(a / target - 1.0), abs(b / target - 1.0)) > EPS_TARGET_RTOL:
        return rtol
    return max(rtol, 2.0 * abs(a - b) / max(a, b))
