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

#: Rows of a fresh tiny run against the committed reference rows (tests/data/tiny/): on the machine that wrote
#: them the rows are identical; on another CPU the float64 tilt and probe rows move at ~1e-16 and the rows of
#: LMs trained in float32 (whose matrix products sum in another order there) by up to 6e-4 relative (measured
#: on the quick profile between two machines of the project's kind), so every number may move by this much.
REFERENCE_RTOL = 2e-3
REFERENCE_ATOL = 1e-9
