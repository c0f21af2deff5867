"""Experiment `sequence`: causal transformers and a GRU trained on sampled documents, the bounds through training.

Claims (docs/design.md §2, "The sequence world"; arXiv:2010.03648 §4–§5): sequence LMs trained with AdamW on a
finite corpus of documents from the sequence world are measured at log-spaced checkpoints, exactly: ε over all
prefixes of held-out documents (and of training documents), and at the document ends their features p_f(s) (box
probe), Φp_f(s) (polytope probe) and f(s) (unconstrained, from the (R6) comparator), each under its bound in
both forms (ε on the ends with γ = 1; for p_f also ε over all prefixes with γ_ratio = 1/L) — `bound_holds`; the
trained transformer reads the concept better after the prompt than without it, and the inert control does not
help — `prompt_helps_the_model`; and models at the same held-out ε (within 5%) differ in downstream loss, all
under the bound (the bound is an envelope, not a prediction; Liu et al., ICML 2023) —
`same_eps_different_downstream`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from ...core import MAX_COUNT, check_range, numpy_rng, streams
from ...models import SEQUENCE_LMS, SequenceLMConfig, save_checkpoint, train_sequence_lm
from ...worlds import (
    SUFFIXES,
    Documents,
    SequenceConfig,
    end_view,
    forward,
    make_sequence_world,
    sample_documents,
    sample_population,
)
from ..kit import Experiment, RunConfig, Verdict, check_distinct
from ._plot import draw, report_text
from ._rows import Row, checkpoint_rows, lm_at_ends, population_eps
from ._summary import PROMPT_MARGIN, summarize_rows

#: `Row` under a name that the `Row` class attribute of the experiment does not shadow.
_Row = Row


def parse_lm(spec: str, train: SequenceLMConfig) -> SequenceLMConfig:
    """ "transformer-64", "gru-32", "transformer-64-tied" -> `train` with that architecture (kind, width, tied;
    4 heads where they divide the width, else 1)."""
    parts = spec.split("-")
    if (
        len(parts) not in (2, 3)
        or parts[0] not in SEQUENCE_LMS
        or not parts[1].isdigit()
        or parts[2:] not in ([], ["tied"])
    ):
        raise ValueError(f"lms: {spec!r} is not KIND-WIDTH[-tied] with KIND in {SEQUENCE_LMS} (e.g. transformer-64)")
    width = int(parts[1])
    return dataclasses.replace(train, kind=parts[0], width=width, heads=4 if width % 4 == 0 else 1,
                               tied=parts[2:] == ["tied"])  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Config(RunConfig):
    """Sizes and seeds of `sequence`.

    world: the sequence world and the held-out population (M documents of L tokens).
    lms: the models, KIND-WIDTH[-tied] (transformer or gru).
    train: what the models share: the transformers' layers and the training (steps, batch, corpus, lr, warmup,
      weight_decay, checkpoints); the corpus is one sample of documents of L + len(prompt) + 1 tokens, the same
      for every model. Its kind, width, heads and tied are each model's own (from `lms`).
    train_docs: training documents whose prefixes give the train ε.
    B: the box of the probes (p_f, class words; the polytope ‖Φᵀλ‖∞ ≤ B for Φp_f).
    same_eps_rtol, same_eps_factor: two checkpoints of different models are "at the same ε" when their held-out
      ε differ by at most this (relative), and "different downstream" when their p_f probes' excess over τ
      differ by at least this factor.
    decide_below: the claims about trained models read only checkpoints whose held-out ε is below this: an
      undertrained model (the tiny profile's) says nothing about what prompts do for trained LMs.
    min_pairs: same-ε pairs needed to FAIL `same_eps_different_downstream` (one pair that differs PASSes it).
    """

    world: SequenceConfig = SequenceConfig(vocab_size=200, concept_strength=3.0, length=32, documents=512)
    lms: tuple[str, ...] = ("transformer-32", "transformer-64", "gru-64")
    train: SequenceLMConfig = SequenceLMConfig(steps=1200, batch=32, corpus=16384, checkpoints=8)
    train_docs: int = 256
    B: float = 2.0
    same_eps_rtol: float = 0.05
    same_eps_factor: float = 1.5
    decide_below: float = 0.05
    min_pairs: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        check_distinct("lms", self.lms)
        if not self.lms:
            raise ValueError("lms must not be empty")
        own = {f: getattr(self.train, f) for f in ("kind", "width", "heads", "tied")}
        if own != {f: getattr(SequenceLMConfig(), f) for f in own}:
            raise ValueError(f"train: {', '.join(f'{k}={v!r}' for k, v in own.items())} are each model's own: set "
                             "them through lms (KIND-WIDTH[-tied]), not train")  # fmt: skip
        for spec in self.lms:
            self.lm_config(spec)
        if not 2 <= self.train_docs <= self.train.corpus:
            raise ValueError(f"train_docs must be in [2, train.corpus = {self.train.corpus}], got {self.train_docs}")
        if self.world.documents < 10:
            raise ValueError(f"world.documents must be >= 10 (probes on fewer end contexts say nothing), got "
                             f"{self.world.documents}")  # fmt: skip
        check_range("B", self.B, 0.0, 1e6, lo_open=True)
        check_range("same_eps_rtol", self.same_eps_rtol, 0.0, 1.0, lo_open=True)
        check_range("same_eps_factor", self.same_eps_factor, 1.0, 1e6, lo_open=True)
        check_range("decide_below", self.decide_below, 0.0, 100.0, lo_open=True)
        check_range("min_pairs", self.min_pairs, 1, MAX_COUNT, integer=True)
        if self.world.concepts < 2 or self.world.prompt_rate <= 0:
            raise ValueError(
                "world: the concept task and the prompt need world.concepts >= 2 and world.prompt_rate > 0"
            )

    def lm_config(self, spec: str) -> SequenceLMConfig:
        """The full config of the model `spec`: its architecture on the shared `train`."""
        return parse_lm(spec, self.train)


class Sequence(Experiment[Config]):
    name = "sequence"
    title = "transformers and a GRU trained on sampled documents: exact ε, the bounds through training, prompts"
    Row = Row
    stores_files = True
    profiles = {
        "tiny": Config(
            world=SequenceConfig(vocab_size=80, states=3, noise_dims=4, concept_strength=1.5, length=8, documents=96),
            lms=("transformer-16", "gru-16"),
            train=SequenceLMConfig(layers=1, steps=60, batch=16, corpus=512, warmup=10, checkpoints=3),
            train_docs=32,
            bootstrap=20,
        ),
        "quick": Config(
            lms=("transformer-64", "gru-64"), train=SequenceLMConfig(steps=1000, batch=32, corpus=16384, checkpoints=5)
        ),  # fmt: skip
        "standard": Config(train=SequenceLMConfig(steps=1500, batch=32, corpus=16384, checkpoints=10), seeds=(0, 1)),
    }
    claim_statements = {
        "bound_holds": "(R2, R9 on p_f; R2 through v = Φᵀλ on Φp_f; R6 on f) every checkpoint of every model with "
        "ε > 0, each feature's probe at the document ends (certified where its class has a certificate) and the τ "
        "probe kept fixed on p_f, under its bounds in both forms (ε on the ends, γ = 1; ε over all prefixes, "
        "γ_ratio = 1/L, for p_f); decided on informative rows (a fixed row whose bound is below the largest loss "
        "the fixed probe can have, a refitted row whose bound is below H(η̄)), INCONCLUSIVE if there are none",
        "prompt_helps_the_model": "the last checkpoint of each transformer: the box probe on its p_f(s + prompt) "
        f"beats the one on p_f(s) by ≥ {PROMPT_MARGIN} nats on the concept task, and the inert control (the prompt's "
        "words reversed) does not (checked in the verdict); decided on transformers whose held-out ε is below the "
        "config's decide_below (an undertrained model says nothing about trained LMs), INCONCLUSIVE without one",
        "same_eps_different_downstream": "checkpoints of different models at the same held-out ε (within the "
        "config's same_eps_rtol, each below decide_below) differ in the excess of their p_f probe by the config's "
        "same_eps_factor or more, all under their bounds (the bound is an envelope, not a prediction); FAIL when "
        "min_pairs or more such pairs all differ less, INCONCLUSIVE with fewer",
    }
    claim_labels = {
        "bound_holds": "the bounds hold through training",
        "prompt_helps_the_model": "the prompt helps the trained transformer",
        "same_eps_different_downstream": "same ε, different downstream",
    }

    def work_units(self, cfg: Config) -> int:
        """The world, then one per checkpoint of each model."""
        from ...models import sequence_checkpoints

        return 1 + len(cfg.lms) * len(sequence_checkpoints(cfg.train.steps, cfg.train.checkpoints))

    def arrays_nv(self, cfg: Config) -> int:
        return 16

    def world_size(self, cfg: Config) -> tuple[str, int, int]:
        return "world", cfg.world.vocab_size, cfg.world.documents

    def run_seed(self, cfg: Config, seed: int, tick: Callable[[], None], folder: Path | None = None) -> list[_Row]:
        keys = streams(seed)
        world = make_sequence_world(keys["world"], cfg.world)
        L = cfg.world.length
        docs = sample_population(keys["data"], world, cfg.world.documents, L)
        views = [end_view(seed, keys, world, docs, s, cfg.B) for s in SUFFIXES]
        corpus_key = jax.random.fold_in(keys["data"], 1)  # the training corpus, apart from the held-out documents
        corpus, _ = sample_documents(numpy_rng(corpus_key), world.hmm, cfg.train.corpus, L + len(world.prompt) + 1)
        seen = corpus[: cfg.train_docs, :L]
        train_set = Documents(seen, np.zeros(len(seen), dtype=np.int64), forward(world.hmm, seen))
        class_words = np.flatnonzero(world.words.evaluative)
        tick()
        rows = []
        for j, spec in enumerate(cfg.lms):
            lm_cfg = cfg.lm_config(spec)
            init_key = jax.random.fold_in(keys["init"], j)
            for step, model in train_sequence_lm(init_key, jax.random.fold_in(corpus_key, 2), corpus,
                                                 world.hmm.vocab_size, lm_cfg):  # fmt: skip
                if folder is not None:
                    save_checkpoint(folder / f"{spec}-step{step}.eqx", model)
                heldout, se = population_eps(world, docs, model)
                train = population_eps(world, train_set, model)[0]
                for view in views:
                    lm = lm_at_ends(view, docs, model, spec, step)
                    rows += checkpoint_rows(world, view, lm, (heldout, se, train), cfg.B, class_words)
                tick()
        return rows

    def summarize(self, cfg: Config, rows: list[_Row]) -> dict:
        return dict(experiment=self.name) | summarize_rows(cfg, rows)

    def claims(self, cfg: Config | None, summary: dict) -> list:
        out = []
        b = summary["bounds"]
        measured = (f"{b['violations']} violations in {b['n']} rows ({b['informative']} informative); closest approach "
                    f"(loss − τ)/(bound − τ): " + "; ".join(f"{k} {v:.3f}" for k, v in b["closest"].items()
                                                            if math.isfinite(v)))  # fmt: skip
        verdict = Verdict.of(b["violations"] == 0)
        if b["violations"] == 0 and not b["informative"]:
            verdict = Verdict.undecided("every bound is at or above the constant predictor's loss")
        elif b["violations"] == 0 and b["unresolved"]:
            verdict = Verdict.undecided(f"{b['unresolved']} row(s) above a bound but within their certificate")
        out.append(self.claim("bound_holds", verdict, measured))
        gains = summary["prompt_gain"]
        if gains:
            measured = "; ".join(
                f"{m}: probe loss on p_f {g['none']:.4f} → {g['prompt']:.4f} with the prompt "
                f"({g['inert']:.4f} inert), held-out ε {g['eps']:.3g}"
                for m, g in gains.items()
            )
            trained = {m: g for m, g in gains.items() if g["eps"] < summary["decide_below"]}
            verdict = (
                # the prompt must help and its control must not: otherwise the gain is not the prompt's
                Verdict.of(
                    all(g["none"] - g["prompt"] >= PROMPT_MARGIN > g["none"] - g["inert"] for g in trained.values())
                )
                if trained
                else Verdict.undecided(f"no transformer reached a held-out ε below {summary['decide_below']:g}")
            )
            out.append(self.claim("prompt_helps_the_model", verdict, measured))  # fmt: skip
        pairs = summary["same_eps"]
        best = pairs["best"]
        measured = (
            f"{pairs['n_pairs']} pairs of checkpoints below held-out ε {summary['decide_below']:g} within "
            f"{pairs['rtol']:.0%} of the same held-out ε"
        )
        if pairs["n_pairs"]:
            measured += (
                f"; the largest ratio of p_f excess {best['ratio']:.2f} ({best['a']} at ε = {best['eps_a']:.3g}"
                f": {best['excess_a']:.4f}; {best['b']} at ε = {best['eps_b']:.3g}: {best['excess_b']:.4f}); "
                f"{pairs['above_bound']} of them above a bound"
            )
        if pairs["n_pairs"] and best["ratio"] >= pairs["factor"]:
            verdict = Verdict.of(pairs["above_bound"] == 0)
        elif pairs["n_pairs"] >= summary["min_pairs"]:
            verdict = Verdict.of(False)
        else:
            verdict = Verdict.undecided(
                f"{pairs['n_pairs']} pair(s) of checkpoints below held-out ε {summary['decide_below']:g} at the same "
                f"ε, none differing by {pairs['factor']:g}x: too few to tell (a FAIL needs {summary['min_pairs']})"
            )
        out.append(self.claim("same_eps_different_downstream", verdict, measured))  # fmt: skip
        return out

    def plot(self, rows: list[_Row], summary: dict, stem: Path) -> list:
        return draw(rows, summary, stem, self.all_claims(None, summary))

    def report(self, summary: dict) -> str:
        return report_text(summary)


EXPERIMENT = Sequence()
