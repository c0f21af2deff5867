"""simulations: synthetic worlds, language models at measured ε, exact probes, experiments.

Checks the theory of Saunshi, Malladi, Arora, "A Mathematical Exploration of
Why Language Models Help Solve Downstream Tasks" (ICLR 2021,
arXiv:2010.03648) by exact simulation; every bound it draws comes from the
`theory` package. docs/design.md describes the pipeline
config -> world -> task -> LM -> features -> probe -> bound -> rows -> claims.

The public names below are imported on first use (PEP 562), so
``import simulations`` loads neither JAX nor matplotlib until a name that
needs them is touched.
"""

from __future__ import annotations

import importlib
from importlib import metadata

try:
    __version__ = metadata.version("natural-tasks")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

#: public name -> the private module that defines it
_EXPORTS = {
    # worlds, tasks, the per-seed instance
    "WorldConfig": "._world",
    "World": "._world",
    "make_world": "._world",
    "row_chunks": "._world",
    "CHUNK_ROWS": "._world",
    "TaskConfig": "._task",
    "Task": "._task",
    "make_task": "._task",
    "Instance": "._instance",
    "make_instance": "._instance",
    "streams": "._keys",
    "numpy_rng": "._keys",
    # language models at measured ε
    "LanguageModel": "._lm",
    "tilted_lms": "._lm",
    "trained_lms": "._lm",
    "placed_tilts": "._lm",
    "lms_at_eps": "._lm",
    "SignedDirection": "._signed",
    "signed_direction": "._signed",
    "dense_direction": "._signed",
    "signed_variance": "._signed",
    "signed_eps": "._signed",
    "signed_tilts": "._signed",
    "signed_model": "._signed",
    "signed_tilted_lms": "._signed",
    "TILT_FAMILIES": "._tilt",
    "EPS_TARGET_RTOL": "._tilt",
    "tilt_direction": "._tilt",
    "adversarial_direction": "._tilt",
    "tilt_eps": "._tilt",
    "tilt_model": "._tilt",
    "calibrate_tilts": "._tilt",
    "TrainConfig": "._train",
    "SoftmaxLM": "._train",
    "init_lm": "._train",
    "population_xent": "._train",
    "train": "._train",
    "train_steps": "._train",
    "checkpoint_steps": "._train",
    "sample_corpus": "._train",
    "lm_probs": "._train",
    "lm_eps": "._train",
    "train_population": "._train",
    "population_pays": "._train",
    # the theorem in three calls (simulations.classroom)
    "language_model": ".classroom",
    "probe_vs_bound": ".classroom",
    "ProbeReport": ".classroom",
    # features, probes, bounds
    "FEATURES": "._features",
    "Measurement": "._features",
    "ProbeRow": "._features",
    "probe_rows": "._features",
    "measure": "._features",
    "feature_values": "._features",
    "reference_probe": "._features",
    "ProbeFit": "._probe",
    "GAP_TOL": "._probe",
    "fit_probe": "._probe",
    "fit_polytope_probe": "._probe",
    "bound_check": "._features",
    # the named-word world and sentence completion
    "LexiconConfig": "._lexicon",
    "Lexicon": "._lexicon",
    "make_lexicon": "._lexicon",
    "named_words": "._lexicon",
    "SENTIMENT": "._lexicon",
    "TOPICS": "._lexicon",
    "PROMPT": "._lexicon",
    "CLASS_TASKS": "._completion",
    "ClassTask": "._completion",
    "make_class_task": "._completion",
    "zero_shot": "._completion",
    "MultiProbeFit": "._probe",
    "fit_multiclass_probe": "._probe",
    "multiclass_accuracy": "._probe",
    # embedding families (log-partition)
    "sample_embeddings": "._embeddings",
    "sample_thetas": "._embeddings",
    # worst cases
    "WorstCase": "._worst_case",
    "search_fixed": "._worst_case",
    "search_refit": "._worst_case",
    "search_general": "._worst_case",
    "worst_lms": "._worst_case",
    "refit_family": "._worst_case",
    "fixed_classifier_chain": "._worst_case",
    # experiments, runs, results
    "Experiment": ".experiments",
    "RunConfig": ".experiments",
    "experiment_names": ".experiments",
    "get_experiment": ".experiments",
    "Claim": "._claims",
    "claims_by_id": "._claims",
    "select": "._rows",
    "column": "._rows",
    "make_config": "._runner",
    "run_experiment": "._runner",
    "draw": "._runner",
    "RunStore": "._store",
    "override": "._config",
    "config_hash": "._config",
    "loglog_slope": "._stats",
    "slope_consistent": "._stats",
    "slopes_by": "._stats",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simulations' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
