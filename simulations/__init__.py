"""simulations: synthetic worlds, softmax LMs at measured ε, exact probes, experiments.

Checks the theory of Saunshi, Malladi, Arora (arXiv:2010.03648) by exact
simulation; every bound it draws comes from the `theory` package.
"""

__version__ = "0.1.0"

from ._config import config_hash, override  # noqa: E402
from ._keys import numpy_rng, streams  # noqa: E402
from ._lm import (  # noqa: E402
    EPS_TARGET_RTOL,
    TILT_KINDS,
    TRACE_COUNTS,
    SoftmaxLM,
    TrainConfig,
    adversarial_direction,
    calibrate_tilts,
    checkpoint_steps,
    corpus_xent,
    init_lm,
    lm_eps,
    lm_probs,
    make_corpus_step,
    make_exact_step,
    make_optimizer,
    population_xent,
    sample_corpus,
    tilt_direction,
    tilt_eps,
    tilt_model,
    train,
)
from ._probe import PROBE_GTOL, ProbeFit, fit_probe, population_loss_and_grad  # noqa: E402
from ._runner import draw, get_experiment, make_config, run_experiment  # noqa: E402
from ._stats import loglog_slope  # noqa: E402
from ._store import RunStore  # noqa: E402
from ._task import Task, TaskConfig, make_task  # noqa: E402
from ._world import World, WorldConfig, make_world  # noqa: E402
from .experiments import REGISTRY  # noqa: E402

__all__ = [
    "EPS_TARGET_RTOL",
    "PROBE_GTOL",
    "REGISTRY",
    "TILT_KINDS",
    "TRACE_COUNTS",
    "ProbeFit",
    "RunStore",
    "SoftmaxLM",
    "Task",
    "TaskConfig",
    "TrainConfig",
    "World",
    "WorldConfig",
    "__version__",
    "adversarial_direction",
    "calibrate_tilts",
    "checkpoint_steps",
    "config_hash",
    "corpus_xent",
    "draw",
    "fit_probe",
    "get_experiment",
    "init_lm",
    "lm_eps",
    "lm_probs",
    "loglog_slope",
    "make_config",
    "make_corpus_step",
    "make_exact_step",
    "make_optimizer",
    "make_task",
    "make_world",
    "numpy_rng",
    "override",
    "population_loss_and_grad",
    "population_xent",
    "run_experiment",
    "sample_corpus",
    "streams",
    "tilt_direction",
    "tilt_eps",
    "tilt_model",
    "train",
]
