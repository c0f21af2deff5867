"""Linear probes fitted on the exact population loss, each with a certified bound on its optimality gap.

The floor above `simulations.worlds` (it imports only `core` and `theory`):
the theorem's box class ‖v‖_∞ <= B (`fit_probe`), the polytope ‖Φᵀλ‖_∞ <= B
of tasks natural w.r.t. Φ (`fit_polytope_probe`), ridge and unconstrained
fits, and K-class box probes (`fit_multiclass_probe`). Solvers take arrays,
not worlds or language models, so the worst-case search in
`simulations.models` can refit them and `simulations.features` can pair them
with the bounds (docs/design.md §3).
"""

from ._binary import GAP_TOL, ProbeFit, fit_probe, population_loss_and_grad
from ._multiclass import (
    MULTI_GAP_TOL,
    MultiProbeFit,
    fit_multiclass_probe,
    multiclass_accuracy,
    multiclass_certificate,
)
from ._polytope import fit_polytope_probe

__all__ = [
    "GAP_TOL",
    "MULTI_GAP_TOL",
    "MultiProbeFit",
    "ProbeFit",
    "fit_multiclass_probe",
    "fit_polytope_probe",
    "fit_probe",
    "multiclass_accuracy",
    "multiclass_certificate",
    "population_loss_and_grad",
]
