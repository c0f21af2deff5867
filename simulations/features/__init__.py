"""Features of a language model paired with their probe class and the bound the theory gives them.

The floor above `simulations.models` (it imports `worlds`, `probes`, `models`
and `theory`): `measure` fits a probe class on one feature kind of one LM
(p_f, Φp_f or f) and attaches its bounds from `theory` (R2, R5, R6, R9),
measured from τ, the same class fitted on the ε = 0 features
(`reference_probe`); the named-word world's K-class feature kinds and the
zero-shot rule (`zero_shot`) are here too (docs/design.md §3).
"""

from ._completion import CLASS_FEATURES, class_feature_values, feature_words, fit_class_probe, zero_shot
from ._measure import (
    FEATURES,
    LABELS,
    PROBES,
    Measurement,
    check_gradient_fit,
    check_pair,
    eps_phi,
    feature_values,
    measure,
    reference_probe,
    softmax_optimum,
)
from ._sequence import soft_accuracy, weighted_median, zero_shot_margins

__all__ = [
    "CLASS_FEATURES",
    "FEATURES",
    "LABELS",
    "PROBES",
    "Measurement",
    "check_gradient_fit",
    "check_pair",
    "class_feature_values",
    "eps_phi",
    "feature_values",
    "feature_words",
    "fit_class_probe",
    "measure",
    "reference_probe",
    "soft_accuracy",
    "softmax_optimum",
    "weighted_median",
    "zero_shot",
    "zero_shot_margins",
]
