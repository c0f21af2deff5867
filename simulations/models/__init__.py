"""Language models at an exactly measured ε: tilts of P*, softmax LMs trained in JAX, worst cases.

The floor above `simulations.probes` (it imports `core`, `worlds`, `probes`
and `theory`): exponential tilts of P* calibrated to an ε target (`_tilt`,
and `_signed` for worlds of a real vocabulary), softmax LMs Q = softmax(FΦ)
trained with JAX/optax (`_train`), the `LanguageModel` record every maker
returns (`_lm`), the exact readers of a sequence world (the oracle and
its context-window versions, `_sequences`), and the worst-case search, which refits the probes of the
floor below against each candidate LM (`_worst_case`). Features, probes and
bounds of a model are paired on the floor above, `simulations.features`
(docs/design.md §3).
"""

from ._lm import (
    LanguageModel,
    lms_at_eps,
    placed_tilts,
    tilt_directions,
    tilted_lms,
    trained_directions,
    trained_lms,
)
from ._sequences import document_batches, end_windows, read_windows, sequence_eps, window_beliefs
from ._signed import (
    SignedDirection,
    dense_direction,
    signed_direction,
    signed_eps,
    signed_model,
    signed_tilted_lms,
    signed_tilts,
    signed_variance,
)
from ._tilt import (
    EPS_TARGET_RTOL,
    TILT_FAMILIES,
    adversarial_class_direction,
    adversarial_direction,
    bisect_scales,
    calibrate_tilts,
    center,
    tilt_direction,
    tilt_eps,
    tilt_model,
)
from ._train import (
    OBJECTIVES,
    POPULATION_MAX_WORK,
    SoftmaxLM,
    TrainConfig,
    checkpoint_steps,
    init_lm,
    lm_eps,
    lm_log_probs,
    lm_probs,
    make_optimizer,
    population_pays,
    population_xent,
    population_xent_autodiff,
    run_steps,
    sample_corpus,
    train,
    train_population,
    train_steps,
)
from ._worst_case import (
    ChainPoint,
    WorstCase,
    fixed_classifier_chain,
    refit_family,
    search_fixed,
    search_general,
    search_refit,
    worst_lms,
)

__all__ = [
    "EPS_TARGET_RTOL",
    "OBJECTIVES",
    "POPULATION_MAX_WORK",
    "TILT_FAMILIES",
    "ChainPoint",
    "LanguageModel",
    "SignedDirection",
    "SoftmaxLM",
    "TrainConfig",
    "WorstCase",
    "adversarial_class_direction",
    "adversarial_direction",
    "bisect_scales",
    "calibrate_tilts",
    "center",
    "checkpoint_steps",
    "dense_direction",
    "document_batches",
    "end_windows",
    "fixed_classifier_chain",
    "init_lm",
    "lm_eps",
    "lm_log_probs",
    "lm_probs",
    "lms_at_eps",
    "make_optimizer",
    "placed_tilts",
    "population_pays",
    "population_xent",
    "population_xent_autodiff",
    "read_windows",
    "refit_family",
    "run_steps",
    "sample_corpus",
    "search_fixed",
    "search_general",
    "search_refit",
    "sequence_eps",
    "signed_direction",
    "signed_eps",
    "signed_model",
    "signed_tilted_lms",
    "signed_tilts",
    "signed_variance",
    "tilt_direction",
    "tilt_directions",
    "tilt_eps",
    "tilt_model",
    "tilted_lms",
    "train",
    "train_population",
    "train_steps",
    "trained_directions",
    "trained_lms",
    "window_beliefs",
    "worst_lms",
]
