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

from .core._version import __version__

#: public name -> the private module that defines it
_EXPORTS = {
    # worlds, tasks, the per-seed instance
    "WorldConfig": ".worlds",
    "World": ".worlds",
    "make_world": ".worlds",
    "row_chunks": ".core",
    "CHUNK_ROWS": ".core",
    "TaskConfig": ".worlds",
    "Task": ".worlds",
    "make_task": ".worlds",
    "Instance": ".worlds",
    "make_instance": ".worlds",
    "streams": ".core",
    "numpy_rng": ".core",
    # language models at measured ε
    "LanguageModel": ".models",
    "tilted_lms": ".models",
    "trained_lms": ".models",
    "placed_tilts": ".models",
    "lms_at_eps": ".models",
    "SignedDirection": ".models",
    "signed_direction": ".models",
    "dense_direction": ".models",
    "signed_variance": ".models",
    "signed_eps": ".models",
    "signed_tilts": ".models",
    "signed_model": ".models",
    "signed_tilted_lms": ".models",
    "TILT_FAMILIES": ".models",
    "EPS_TARGET_RTOL": ".models",
    "tilt_direction": ".models",
    "adversarial_direction": ".models",
    "tilt_eps": ".models",
    "tilt_model": ".models",
    "calibrate_tilts": ".models",
    "TrainConfig": ".models",
    "SoftmaxLM": ".models",
    "init_lm": ".models",
    "population_xent": ".models",
    "train": ".models",
    "train_steps": ".models",
    "checkpoint_steps": ".models",
    "sample_corpus": ".models",
    "lm_probs": ".models",
    "lm_eps": ".models",
    "train_population": ".models",
    "population_pays": ".models",
    # the theorem in three calls (simulations.classroom)
    "language_model": ".classroom",
    "probe_vs_bound": ".classroom",
    "ProbeReport": ".classroom",
    # features, probes, bounds
    "FEATURES": ".features",
    "Measurement": ".features",
    "ProbeRow": ".experiments.kit",
    "probe_rows": ".experiments.kit",
    "measure": ".features",
    "feature_values": ".features",
    "reference_probe": ".features",
    "ProbeFit": ".probes",
    "GAP_TOL": ".probes",
    "fit_probe": ".probes",
    "fit_polytope_probe": ".probes",
    "bound_check": ".experiments.kit",
    "check_pair": ".features",
    # the named-word world and sentence completion
    "LexiconConfig": ".worlds",
    "Lexicon": ".worlds",
    "make_lexicon": ".worlds",
    "named_words": ".worlds",
    "SENTIMENT": ".worlds",
    "TOPICS": ".worlds",
    "PROMPT": ".worlds",
    "CLASS_TASKS": ".worlds",
    "ClassTask": ".worlds",
    "make_class_task": ".worlds",
    "zero_shot": ".features",
    "MultiProbeFit": ".probes",
    "fit_multiclass_probe": ".probes",
    "multiclass_accuracy": ".probes",
    "multiclass_certificate": ".probes",
    "MULTI_GAP_TOL": ".probes",
    # the sequence world: documents from a mixture of concept HMMs, exact p* of every prefix
    "SequenceConfig": ".worlds",
    "SequenceWorld": ".worlds",
    "make_sequence_world": ".worlds",
    "HMM": ".worlds",
    "make_hmm": ".worlds",
    "forward": ".worlds",
    "next_token_probs": ".worlds",
    "sample_documents": ".worlds",
    "Documents": ".worlds",
    "sample_population": ".worlds",
    "EndView": ".worlds",
    "end_view": ".worlds",
    "context_world": ".worlds",
    "concept_task": ".worlds",
    "review_words": ".worlds",
    "window_beliefs": ".models",
    "read_windows": ".models",
    "sequence_eps": ".models",
    "document_batches": ".models",
    # embedding families (log-partition)
    "sample_embeddings": ".worlds",
    "sample_thetas": ".worlds",
    # worst cases
    "WorstCase": ".models",
    "search_fixed": ".models",
    "search_refit": ".models",
    "search_general": ".models",
    "worst_lms": ".models",
    "refit_family": ".models",
    "fixed_classifier_chain": ".models",
    # experiments, runs, results
    "Experiment": ".experiments",
    "RunConfig": ".experiments",
    "experiment_names": ".experiments",
    "get_experiment": ".experiments",
    "Claim": ".experiments.kit",
    "claims_by_id": ".experiments.kit",
    "select": ".experiments.kit",
    "column": ".experiments.kit",
    "make_config": ".runs",
    "run_experiment": ".runs",
    "draw": ".runs",
    "RunStore": ".runs",
    "override": ".runs",
    "config_hash": ".runs",
    "loglog_slope": ".experiments.kit",
    "slope_consistent": ".experiments.kit",
    "slopes_by": ".experiments.kit",
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
