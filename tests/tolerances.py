"""Every numerical tolerance of the test suite, named and justified in one place."""

#: float64 closed forms compared with an independent float64 computation of
#: the same quantity: a few hundred ulps of O(1) values.
CLOSED_FORM_RTOL = 1e-10
CLOSED_FORM_ATOL = 1e-12

#: An inequality checked on floats may be "violated" by rounding of its two
#: sides; both sides are O(1) sums of at most ~100 float64 terms.
INEQUALITY_SLACK = 1e-10

#: Fitted probes: the library certifies a projected-gradient norm below
#: 1e-7 (simulations.PROBE_GTOL). On these strongly convex-ish problems the
#: loss gap to the optimum is O(gtol²/μ) ≲ 1e-9; two independent solvers may
#: each be that far from the optimum.
PROBE_LOSS_ATOL = 1e-7

#: Conditional-mean residual of softmax_optimum (R3), as the issue demands.
CONDITIONAL_MEAN_ATOL = 1e-9

#: KL against 50-digit arithmetic: each term p·(e^d − 1 − d) inherits the rounding
#: of d = log(q/p) (one ulp of the ratio, one of the log) and of the sum, so its
#: error is a few ulps of p·|d|; 8 leaves room for the summation of V <= 6 terms.
KL_ULPS = 8

#: Rows of a fresh tiny run against the committed reference rows (tests/data/tiny/), by how a number can move
#: across machines (`tests.reproducibility.drift_class`); `python -m tests.calibrate_reference` measures each
#: spread, on the kernels of a CPU without AVX-512 (XLA and OpenBLAS told to use AVX2) and with every float32
#: initial weight moved by one ulp.
#: Exact numbers (float64 closed forms, tilts, certified fits on them): at most 2.3e-8 relative apart (K-class fits
#: of the completion experiment, whose solvers stop at different points within their 1e-7-nat certificates) and
#: 1e-9 absolute everywhere else; 40 times that.
REFERENCE_EXACT_RTOL = 1e-6
#: Numbers of LMs trained in float32: at most 1.9e-4 relative apart (δ_T of the sequence LMs' f, a least-squares
#: residual) and 2.3e-6 for every ε, loss and bound; five times the largest.
REFERENCE_TRAINED_RTOL = 1e-3
#: Numbers of the sequence experiment's trained LMs (float32 transformers and GRUs, thousands of Adam steps),
#: measured between the machine that wrote the reference (AVX-512) and a 2-core AMD EPYC with AVX2 only, and on
#: that machine's AVX2 kernels told to act as another CPU's: the largest relative difference of each field above an
#: absolute floor of 1e-4. Each field is compared within 1.5 times its measured spread and at least 0.05; above
#: 0.29 a lost √2 would pass, which is so only for δ_T (a least-squares residual).
CHAOTIC_SPREAD = {
    "delta": 0.259,  # δ_T of f: √2 is not caught here
    "eps@control": 0.181,  # ε at the ends after a control suffix (0.933 against 0.764)
    "taylor": 0.0682,
    "cauchy_schwarz": 0.0302,
    "eps": 0.0297,
    "jensen": 0.0293,
    "lipschitz": 0.0263,
    "bound": 0.023,
}
REFERENCE_CHAOTIC_ATOL = 1e-4


def chaotic_rtol(field: str) -> float:
    """The relative tolerance of a chaotic field (`CHAOTIC_SPREAD`; "eps@control" for ε after a control suffix)."""
    return max(0.05, 1.5 * CHAOTIC_SPREAD.get(field, 0.0))


#: Absolute floor of both: differences of nearly equal numbers (an excess of 1e-5 moved 1e-9 by one ulp).
REFERENCE_ATOL = 1e-8
#: The soft accuracy of a probe on trained features moves in steps, p_T(s)·|2η(s) − 1| each time a context's margin
#: crosses 0 (measured: 0.0086, one context of the tiny sequence world's 96); three such steps of 1/96.
REFERENCE_ACCURACY_ATOL = 0.03
