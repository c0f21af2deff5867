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
import re
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from ...core import check_range, check_ranges, numpy_rng, streams
from ...models import (
    SEQUENCE_LMS,
    SequenceLMConfig,
    end_windows,
    read_windows,
    save_checkpoint,
    sequence_checkpoints,
    sequence_eps,
    train_sequence_lm,
    window_beliefs,
)
from ...worlds import (
    MAX_ORDERS,
    Documents,
    SequenceConfig,
    end_view,
    forward,
    make_sequence_world,
    next_token_probs,
    sample_documents,
    sample_population,
    suffixes,
)
from ..kit import Experiment, RunConfig, Verdict, band_verdict, check_distinct, forms_verdict
from ._plot import draw, report_text
from ._rows import Row, checkpoint_rows, control_rows, lm_at_ends, nearest_readers, population_eps, reader_rows
from ._summary import PROMPT_MARGIN, RATE_MARGIN, RATE_SPAN, READABLE_SHARE, SAME_EPS_ALPHA, summarize_rows

#: `Row` under a name that the `Row` class attribute of the experiment does not shadow.
_Row = Row


#: A model's spelling: KIND-WIDTH[-tied][#COPY], ASCII digits without leading zeros (one spelling per model).
LM_SPEC = re.compile(r"^(?P<kind>[a-z]+)-(?P<width>[1-9][0-9]*)(?P<tied>-tied)?(?:#(?P<copy>[1-9][0-9]*))?$")


def parse_lm(spec: str, train: SequenceLMConfig) -> SequenceLMConfig:
    """ "transformer-64", "gru-32", "transformer-64-tied" -> `train` with that architecture (kind, width, tied;
    4 heads where they divide the width, else 1). "gru-32#1" is a second copy of gru-32: the same architecture,
    trained from its own initialisation (its place in `lms` picks its init stream), on the same documents."""
    m = LM_SPEC.match(spec)
    if m is None or m["kind"] not in SEQUENCE_LMS:
        raise ValueError(f"lms: {spec!r} is not KIND-WIDTH[-tied][#COPY] with KIND in {SEQUENCE_LMS} and ASCII digits "
                         "without leading zeros (e.g. transformer-64, gru-32#1)")  # fmt: skip
    width = int(m["width"])
    return dataclasses.replace(train, kind=m["kind"], width=width, heads=4 if width % 4 == 0 else 1,
                               tied=m["tied"] is not None)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Config(RunConfig):
    """Sizes and seeds of `sequence`.

    world: the sequence world and the held-out population (M documents of L tokens).
    lms: the models, KIND-WIDTH[-tied][#COPY] (transformer or gru; #1, #2, … further copies of one architecture).
    train: what the models share: the transformers' layers and the training (steps, batch, corpus, lr, warmup,
      weight_decay, checkpoints); the corpus is one sample of documents of L + len(prompt) + 1 tokens, the same
      for every model. Its kind, width, heads and tied are each model's own (from `lms`).
    train_docs: training documents whose prefixes give the train ε (with a finite corpus; with fresh documents,
      train.corpus = 0, no document is seen twice and the train ε is NaN).
    B: the box of the probes (p_f, class words; the polytope ‖Φᵀλ‖∞ ≤ B for Φp_f).
    random_controls: suffixes of the prompt's length whose words are drawn by frequency, controls of the prompt
      beside every other order of its words (the p_f probe of each model's last checkpoint reads them).
    windows: the exact readers of the last k tokens (each k < L) that every checkpoint is compared with: the one
      nearest by ε and by its profile over positions names the model's phase, and at the same ε the model and
      the readers read the concept (claim `model_reads_like_an_exact_reader`).
    same_eps_factor: two architectures differ downstream when, at matched held-out ε, their refitted p_f
      probes' excess over τ differ by at least this factor, beyond the spread between seeds (a permutation test
      over the seeds; `_summary.same_eps`).
    decide_below: the claims about trained models read only checkpoints whose held-out ε is below this: an
      undertrained model (the tiny profile's) says nothing about what prompts do for trained LMs.
    """

    world: SequenceConfig = SequenceConfig(vocab_size=200, concept_strength=3.0, length=32, documents=512)
    lms: tuple[str, ...] = ("transformer-32", "transformer-64", "gru-64")
    train: SequenceLMConfig = SequenceLMConfig(steps=1200, batch=32, corpus=16384, checkpoints=8)
    train_docs: int = 256
    B: float = 2.0
    random_controls: int = 5
    windows: tuple[int, ...] = (1, 2, 4, 8)
    same_eps_factor: float = 1.5
    decide_below: float = 0.05

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
        if self.train.corpus and not 2 <= self.train_docs <= self.train.corpus:
            raise ValueError(f"train_docs must be in [2, train.corpus = {self.train.corpus}], got {self.train_docs}")
        if self.world.documents < 10:
            raise ValueError(f"world.documents must be >= 10 (probes on fewer end contexts say nothing), got "
                             f"{self.world.documents}")  # fmt: skip
        check_range("B", self.B, 0.0, 1e6, lo_open=True)
        check_range("random_controls", self.random_controls, 0, 100, integer=True)
        check_ranges("windows", self.windows, 1, self.world.length - 1, integer=True)
        check_distinct("windows", self.windows)
        check_range("same_eps_factor", self.same_eps_factor, 1.0, 1e6, lo_open=True)
        check_range("decide_below", self.decide_below, 0.0, 100.0, lo_open=True)
        self.world.check_words()  # before any work: a sweep checks every point's prompt words first
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
            train=SequenceLMConfig(layers=1, steps=2000, batch=32, corpus=0, lr=1e-2, warmup=100, checkpoints=5),
            train_docs=32,
            windows=(1, 2, 4),
            bootstrap=20,
        ),
        "quick": Config(
            lms=("transformer-32", "gru-32"),
            train=SequenceLMConfig(steps=1500, batch=32, corpus=0, lr=5e-3, checkpoints=8),
            seeds=(0, 1, 2),
        ),
        "standard": Config(
            lms=("transformer-64", "gru-64"),
            train=SequenceLMConfig(steps=3000, batch=64, corpus=0, lr=3e-3, checkpoints=10),
            seeds=(0, 1, 2),
        ),
        # trained to where the bound bites (`make long`): held-out ε ≈ 1.6e-3 for the transformer; the transformer
        # only (the GRU of the same width is twice as slow per step and ends higher), two seeds on the two cores
        "long": Config(
            lms=("transformer-64",),
            train=SequenceLMConfig(steps=12000, batch=128, corpus=0, lr=3e-3, warmup=300, checkpoints=12),
            seeds=(0, 1),
        ),
    }
    claim_statements = {
        "bound_holds": "(R2, R9 on p_f; R2 through v = Φᵀλ on Φp_f; R6 on f) every checkpoint of every model with "
        "ε > 0, each feature's probe at the document ends (certified where its class has a certificate) and the τ "
        "probe kept fixed on p_f, under its bounds in both forms (ε on the ends, γ = 1; ε over all prefixes, "
        "γ_ratio = 1/L, for p_f); each probe decided on its informative rows (a fixed row whose bound is below the "
        "largest loss the fixed probe can have, a refitted row whose bound is below H(η̄)); a form without one is "
        "named untested (the prefix form rarely binds for a trained LM: its ε-term carries √L), INCONCLUSIVE for a "
        "probe with none in any form",
        "prompt_helps_the_model": "the last checkpoint of each transformer: the box probe on its p_f(s + prompt) "
        f"beats the one on p_f(s) by ≥ {PROMPT_MARGIN} nats on the concept task (the bare document's labels for "
        f"every suffix), and beats the best of the prompt's controls (every other order of its words, random "
        f"words of its length) by ≥ {PROMPT_MARGIN}; decided on transformers whose held-out ε is below the "
        "config's decide_below (an undertrained model says nothing about trained LMs), INCONCLUSIVE without one",
        "same_eps_different_downstream": "two architectures at matched held-out ε (below decide_below) differ in "
        "the excess of their refitted p_f probe beyond the spread between seeds (a paired t interval of the log "
        "ratio over the seeds, each a world in which both are trained, at level "
        f"{SAME_EPS_ALPHA:g} shared by the pairs, excludes 0) and by an estimated ratio of same_eps_factor or more; "
        "FAIL when every pair's interval lies within the factor, INCONCLUSIVE otherwise (fewer than 3 seeds, or no "
        "matched ε)",
        "excess_rate_on_trained_models": "across checkpoints, seeds and models in the regime where the concept is "
        f"readable (held-out ε below decide_below, the refitted p_f probe reading ≥ {READABLE_SHARE:g} of what it "
        "reads on P*), the refitted p_f excess at the ends falls with ε on the ends at a log-log slope between the "
        f"first-order √ε and the second-order ε: its 95% interval over seeds lies in [{0.5 - RATE_MARGIN:g}, "
        f"{1 + RATE_MARGIN:g}] (the slope within each model's curve, one per seed, a t interval over seeds); FAIL "
        "when it lies wholly outside (slower than √ε: a step still to come; faster than ε); INCONCLUSIVE when no "
        f"model's readable checkpoints span a factor {RATE_SPAN:g} of ε, or with fewer than 2 seeds",
        "same_eps_as_an_exact_reader": "a trained model and the world's exact readers of the last k tokens, at "
        "the same held-out ε (the readers' curve over k, in log ε), differ in the excess of their refitted p_f probe "
        "by same_eps_factor or more beyond the spread between seeds (the paired test of "
        "same_eps_different_downstream); FAIL when every model is within the factor of the readers",
    }
    claim_labels = {
        "bound_holds": "bounds hold",
        "prompt_helps_the_model": "the prompt helps",
        "same_eps_different_downstream": "same ε, different downstream",
        "excess_rate_on_trained_models": "excess rate √ε to ε",
        "same_eps_as_an_exact_reader": "unlike the exact reader",
    }

    def work_units(self, cfg: Config) -> int:
        """The world and the exact readers, then for each model every block of training steps and every
        checkpoint's measurement (progress moves while a long training runs)."""
        from ...models import sequence_blocks

        per_model = sequence_blocks(cfg.train.steps, cfg.train.checkpoints) + len(
            sequence_checkpoints(cfg.train.steps, cfg.train.checkpoints)
        )
        return 1 + len(cfg.lms) * per_model

    def memory_parts(self, cfg: Config) -> list[tuple[str, float]]:
        """One seed's peak: the filtering of every prefix (and the readers'), the ends after each suffix, a
        training step's logits and activations (float32, forward and backward, in XLA's buffers), the corpus."""
        w, t = cfg.world, cfg.train
        M, L, V = w.documents, w.length, w.vocab_size
        H = w.concepts * w.states_per_concept
        T = L + (len(w.prompt) or 3) + 1
        widths = [cfg.lm_config(spec).width for spec in cfg.lms]
        d, heads = max(widths), max(cfg.lm_config(spec).heads for spec in cfg.lms)
        views = 2 + min(MAX_ORDERS, math.factorial(len(w.prompt) or 3) - 1) + cfg.random_controls
        return [
            ("world.documents × world.length × the states (the filtering of every prefix, the readers')",
             8.0 * M * L * H * 4),
            ("world.documents × world.vocab_size × the suffixes (the ends after each suffix)", 8.0 * M * V * 4 * views),
            ("train.batch × world.length × world.vocab_size (a training step's logits)", 4.0 * t.batch * T * V * 6),
            ("train.batch × world.length × the width × train.layers (a training step's activations)",
             4.0 * t.batch * T * (d * (16 * t.layers + 4) * 3 + heads * T * t.layers * 4)),
            ("train.corpus × world.length (the corpus)", 12.0 * t.corpus * T),
        ]  # fmt: skip

    def run_seed(self, cfg: Config, seed: int, tick: Callable[[], None], folder: Path | None = None) -> list[_Row]:
        keys = streams(seed)
        world = make_sequence_world(keys["world"], cfg.world)
        L = cfg.world.length
        docs = sample_population(keys["data"], world, cfg.world.documents, L)
        # the prompt's controls are those of sequence_world (the same stream of the same world)
        views = [end_view(seed, keys, world, docs, s, cfg.B)
                 for s in suffixes(world, cfg.random_controls, jax.random.fold_in(keys["world"], 1))]  # fmt: skip
        corpus_key = jax.random.fold_in(keys["data"], 1)  # the training documents, apart from the held-out ones
        T = L + len(world.prompt) + 1  # a document, then room for the prompt's words and the word after them
        train_set = None
        if cfg.train.corpus:  # a finite corpus, the same for every model; its first documents give the train ε
            corpus, _ = sample_documents(numpy_rng(corpus_key), world.hmm, cfg.train.corpus, T)
            seen = corpus[: cfg.train_docs, :L]
            train_set = Documents(seen, np.zeros(len(seen), dtype=np.int64), forward(world.hmm, seen))
        class_words = np.flatnonzero(world.words.evaluative)
        # the exact readers of the last k tokens: ε over all prefixes, its profile over positions, the concept read
        # at the ends (the exact reference a model is compared with at the same ε)
        rows, readers = [], {}
        for k in cfg.windows:
            eps_k, se_k, kl_k = sequence_eps(world.hmm, docs, model_beliefs=window_beliefs(world.hmm, docs.tokens, k))
            readers[k] = (eps_k, kl_k.mean(axis=0))
            q = next_token_probs(world.hmm, read_windows(world.hmm, end_windows(docs.tokens, None, k)))
            rows += reader_rows(views[0], q, k, (eps_k, se_k), cfg.B)
        tick()
        for j, spec in enumerate(cfg.lms):
            lm_cfg = cfg.lm_config(spec)
            init_key = jax.random.fold_in(keys["init"], j)
            if cfg.train.corpus:
                data: np.ndarray | Callable[[int], np.ndarray] = corpus
            else:  # fresh documents, the same stream for every model
                rng = numpy_rng(jax.random.fold_in(corpus_key, 3))
                data = lambda n, rng=rng: sample_documents(rng, world.hmm, n, T)[0]  # noqa: E731
            for step, model in train_sequence_lm(init_key, jax.random.fold_in(corpus_key, 2), data,
                                                 world.hmm.vocab_size, lm_cfg, tick_block=tick):  # fmt: skip
                if folder is not None:
                    save_checkpoint(folder / f"{spec}-step{step}.eqx", model)
                heldout, se, kl = population_eps(world, docs, model)
                train = population_eps(world, train_set, model)[0] if train_set is not None else float("nan")
                eps_pop = (heldout, se, train)
                near = nearest_readers(kl, readers) if readers else (0, 0)
                for view in views[:2]:  # no suffix, the prompt: every feature kind
                    lm = lm_at_ends(view, docs, model, spec, step)
                    rows += checkpoint_rows(world, view, lm, eps_pop, cfg.B, class_words, near)
                if step == lm_cfg.steps:  # the prompt's controls, at the last checkpoint: the p_f probe
                    for view in views[2:]:
                        rows += control_rows(view, lm_at_ends(view, docs, model, spec, step), eps_pop, cfg.B)
                tick()
        return rows

    def summarize(self, cfg: Config, rows: list[_Row]) -> dict:
        return dict(experiment=self.name) | summarize_rows(cfg, rows)

    def claims(self, cfg: Config | None, summary: dict) -> list:
        # trained LMs never reach an ε at which the prefix form (ε-term √(2B²Lε)) binds for the refitted probe: each
        # probe is decided on the forms where it has informative rows, the others named as untested
        verdict, measured = forms_verdict(summary["bounds"], every_form=False)
        out = [self.claim("bound_holds", verdict, measured)]
        prompts = summary["prompt"]
        if prompts:
            measured = "; ".join(
                f"{m}: p_f probe loss {g['loss']['none']:.4f} → {g['loss']['prompt']:.4f} with the prompt "
                f"(gain {g['vs']['prompt']:+.4f}); the best of {g['vs']['controls']} controls, "
                f"{g['vs']['best_control'] or '—'}, gains {g['vs']['best_control_gain']:+.4f} (beaten by "
                f"{g['vs']['beats_best_by']:+.4f}); held-out ε {g['eps']:.3g}"
                for m, g in prompts.items()
            )
            trained = {m: g for m, g in prompts.items() if g["trained"]}
            if not trained:
                verdict = Verdict.undecided(f"no transformer reached a held-out ε below {summary['decide_below']:g}")
            elif not all(g["vs"]["controls"] for g in trained.values()):
                verdict = Verdict.undecided("no control to compare the prompt with (random_controls = 0 and a "
                                            "prompt of one word)")  # fmt: skip
            else:  # the prompt must help, and beat every control by the margin: otherwise the gain is not the prompt's
                verdict = Verdict.of(all(g["vs"]["helps"] for g in trained.values()))
            out.append(self.claim("prompt_helps_the_model", verdict, measured))
        pairs = summary["same_eps"]["pairs"]
        verdict, measured = _pairs_verdict(pairs), _pairs_text(pairs)
        out.append(self.claim("same_eps_different_downstream", verdict, measured))
        rate = summary["rate"]
        measured = (f"slope {rate['slope']:.2f} [{rate['lo']:.2f}, {rate['hi']:.2f}] (within each model's curve, "
                    f"t interval over {rate['groups']} seeds) from {rate['n']} checkpoints of "
                    f"{', '.join(rate['models']) or 'no model'} in the readable regime, ε on the ends "
                    f"{rate['eps_min']:.3g}–{rate['eps_max']:.3g}; "
                    "readable from held-out ε "
                    + ", ".join(f"{m} {e:.3g}" for m, e in summary["onset"].items()))  # fmt: skip
        if not rate["span"] >= RATE_SPAN:
            verdict = Verdict.undecided(f"a model's readable checkpoints span at most a factor {rate['span']:.3g} of ε "
                                        f"on the ends, less than {RATE_SPAN:g}")  # fmt: skip
        else:
            verdict = band_verdict(rate, 0.5 - RATE_MARGIN, 1.0 + RATE_MARGIN)
        out.append(self.claim("excess_rate_on_trained_models", verdict, measured))
        readers = summary["same_eps"]["readers"]
        out.append(self.claim("same_eps_as_an_exact_reader", _pairs_verdict(readers), _pairs_text(readers)))
        return out

    def plot(self, rows: list[_Row], summary: dict, stem: Path) -> list:
        return draw(rows, summary, stem, self.all_claims(None, summary))

    def report(self, summary: dict) -> str:
        return report_text(summary)


def _pairs_text(pairs: dict) -> str:
    """What the paired comparisons measured, one clause each."""
    return "; ".join(
        f"{name}: {p['seeds']} seeds"
        + (f", at ε {p['eps_range'][0]:.3g}–{p['eps_range'][1]:.3g} the excess ratio is {p['ratio']:.2f} "
           f"(log {p['D']:+.3f}, {100 * (1 - p['level']):.3g}% interval [{p['ci'][0]:+.3f}, {p['ci'][1]:+.3f}], "
           f"spread of the difference between seeds {p['seed_spread']:.3f}), unadjusted p = {p['p']:.3g}"
           if "D" in p else "")
        + f": {p['verdict']}"
        for name, p in pairs.items()
    ) or "no pair with checkpoints below decide_below"  # fmt: skip


def _pairs_verdict(pairs: dict) -> Verdict:
    """PASS when some comparison differs, FAIL when every one is within the factor, INCONCLUSIVE otherwise."""
    verdicts = [p["verdict"] for p in pairs.values()]
    if "PASS" in verdicts:
        return Verdict.of(True)
    if verdicts and all(v == "FAIL" for v in verdicts):
        return Verdict.of(False)
    why = "; ".join(f"{n}: {p['reason']}" for n, p in pairs.items() if p["verdict"] == "INCONCLUSIVE")
    return Verdict.undecided(why or "fewer than two models with checkpoints below decide_below")


EXPERIMENT = Sequence()
