"""Test-suite settings: one BLAS/XLA thread, and the hypothesis profiles.

Profiles (HYPOTHESIS_PROFILE): `dev` (default, quick), `ci` (`make test`: at
least 5,000 examples over the property tests per run, derandomised so CI is
reproducible) and `fuzz` (`make fuzz`: a much longer randomised search).
"""

import os

from hypothesis import HealthCheck, settings

# Before anything imports JAX or NumPy's BLAS: two cores, and BLAS and XLA each
# starting one thread per core made the suite twice as slow.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

from threadpoolctl import threadpool_limits  # noqa: E402

_BLAS_LIMIT = threadpool_limits(limits=1)

settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile(
    "ci",
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
