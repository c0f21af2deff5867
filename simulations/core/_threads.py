"""Thread settings of the numerical libraries, chosen deliberately and recorded with every result.

On small machines BLAS and XLA each start one thread per core, and the two
oversubscribe the cores; one BLAS thread per process is also what makes a
float64 reduction order, hence a figure, reproducible. The command line calls
`limit_threads` before any work, and every results part records
`thread_settings()`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadpoolctl import threadpool_limits

#: XLA's CPU backend reads its thread settings from this variable once, when JAX starts.
_XLA_THREADS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={n}"


def limit_threads(n: int) -> threadpool_limits:
    """Limit BLAS/OpenMP to n threads (threadpoolctl, for the whole process) and XLA to n, if JAX is not loaded yet.

    Returns the threadpoolctl limiter (it stays in force until the process ends).
    """
    import sys

    from threadpoolctl import threadpool_limits

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    if "jax" not in sys.modules and "XLA_FLAGS" not in os.environ:
        os.environ["XLA_FLAGS"] = _XLA_THREADS.format(n=n)
    return threadpool_limits(limits=n)


def thread_settings() -> dict:
    """The thread counts in force: each loaded BLAS/OpenMP library's, and XLA's flags."""
    from threadpoolctl import threadpool_info

    libs = sorted({(i.get("internal_api", "?"), int(i.get("num_threads", 0))) for i in threadpool_info()})
    return dict(blas={name: n for name, n in libs}, xla_flags=os.environ.get("XLA_FLAGS", ""))
