"""theory: the referee. Exact float64 closed forms for every result checked by natural-tasks.

Saunshi, Malladi, Arora, "A Mathematical Exploration of Why Language Models
Help Solve Downstream Tasks", ICLR 2021, arXiv:2010.03648. Results (R1)-(R11)
as stated in docs/design.md §2; see theory/README.md for the index to tests.
No JAX, no randomness, no I/O.
"""

from ._bounds import (
    conditional_mean_bound,
    natural_task_bound,
    quad_bound,
    quadratic_partition_bound,
    required_eps,
    residual_bound,
)
from ._divergences import (
    expected_kl,
    expected_kl_log,
    kl_divergence,
    kl_divergence_log,
    pinsker_bound,
    total_variation,
)
from ._ledger import R2_LINKS, R9_LINKS, ProofLedger, proof_ledger
from ._multiclass import (
    multiclass_context_loss,
    multiclass_fixed_cap,
    multiclass_probe_loss,
    multiclass_residual,
    multiclass_residual_bound,
    multiclass_task_bound,
)
from ._probe import context_loss, fixed_probe_cap, logistic_loss, probe_loss, probe_residual, trivial_loss
from ._quad import quad_loss, quad_minimizer
from ._softmax import (
    EmbeddingMoments,
    GaussianLogPartition,
    GradientMap,
    PartitionFit,
    QuadraticFit,
    SoftmaxOptimum,
    SoftmaxSplit,
    embedding_moments,
    fit_gradient_map,
    fit_quadratic_log_partition,
    gaussian_log_partition,
    log_partition,
    partition_fit,
    softmax_optimum,
    softmax_split,
)
from ._transfer import transferability, transferability_ratio
from ._validate import SIMPLEX_ATOL

__all__ = [
    "R2_LINKS",
    "R9_LINKS",
    "ProofLedger",
    "proof_ledger",
    "SIMPLEX_ATOL",
    "EmbeddingMoments",
    "GaussianLogPartition",
    "GradientMap",
    "PartitionFit",
    "QuadraticFit",
    "SoftmaxOptimum",
    "SoftmaxSplit",
    "conditional_mean_bound",
    "context_loss",
    "embedding_moments",
    "expected_kl",
    "expected_kl_log",
    "fit_gradient_map",
    "fixed_probe_cap",
    "fit_quadratic_log_partition",
    "gaussian_log_partition",
    "kl_divergence",
    "kl_divergence_log",
    "log_partition",
    "logistic_loss",
    "multiclass_context_loss",
    "multiclass_fixed_cap",
    "multiclass_probe_loss",
    "multiclass_residual",
    "multiclass_residual_bound",
    "multiclass_task_bound",
    "partition_fit",
    "natural_task_bound",
    "pinsker_bound",
    "probe_loss",
    "probe_residual",
    "quad_bound",
    "quad_loss",
    "quad_minimizer",
    "quadratic_partition_bound",
    "required_eps",
    "residual_bound",
    "softmax_optimum",
    "softmax_split",
    "total_variation",
    "transferability",
    "transferability_ratio",
    "trivial_loss",
]
