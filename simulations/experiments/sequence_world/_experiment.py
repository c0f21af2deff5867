"""Experiment `sequence_world`: documents of real words from a mixture of concept HMMs, P* exact for every prefix.

Claims (docs/design.md §2, "The sequence world"; arXiv:2010.03648 §3, sentence completion, and §4, the bound):
the concept of a document (its sentiment) becomes more natural at the document's end, for probes of the bound's
box B, when the prompt "this movie is" is appended, through the generator's own dynamics (the prompt leads into
a state whose next word carries the concept), and more so than with any of its controls (every other order of
its words, and random words of its length drawn by frequency); the labels are each document's own concept
posterior whatever the suffix, so no suffix can gain by moving them. Exact LMs of the world, readers of the last
k tokens and P* tilted against the concept at the document ends only, stay under (R2) and (R9) in both of the
sequence world's forms, ε on the ends with γ = 1 and ε over all prefixes with γ_ratio = 1/L; the end tilts put
their whole error where the task reads, so there the prefix form's √L is needed.

Reported beside the claims: τ(B) to large B (with M ≫ V the large-B limit is the best loss of any linear
function of p*; with M ≤ V it would be the posterior's own loss for every suffix), the share of the information
each suffix lets a bounded probe read, (H(η̄) − τ)/H(η̄), how far each suffix would move the labels if it were
taken as evidence, and the calibrated zero-shot accuracy, which measures the information about the concept in
the next-word ratio of positive to negative words. The prompt carries no concept, so it moves the information
into the scale a bounded probe reads without adding to it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import jax

from ...core import check_range, check_ranges, streams
from ...models import end_windows, read_windows, sequence_eps, window_beliefs
from ...worlds import (
    MAX_ORDERS,
    SequenceConfig,
    end_view,
    make_sequence_world,
    next_token_probs,
    sample_population,
    suffixes,
)
from ..kit import Experiment, RunConfig, Verdict, check_distinct, forms_verdict
from ._plot import draw, report_text
from ._rows import Row, document_rows, end_tilt_rows, reader_rows, tau_row, zero_shot_row
from ._summary import PROMPT_MARGIN, summarize_rows

#: `Row` under a name that the `Row` class attribute of the experiment does not shadow.
_Row = Row


@dataclasses.dataclass(frozen=True)
class Config(RunConfig):
    """Sizes and seeds of `sequence_world`.

    world: the generator and the population (M = world.documents held-out documents of L = world.length tokens).
    B: the box of the probes whose bounds are checked and at which the prompt claim compares τ.
    B_sweep: the boxes of the τ(B) curves (must contain B).
    windows: the readers' context windows k (each < L; the oracle, k = L, is added).
    random_controls: suffixes of the prompt's length whose words are drawn by frequency, controls of the prompt
      beside every other order of its words.
    end_eps: the ε targets on the ends of P* tilted against the concept at the document ends only.
    top_words: next words shown for the sampled document.
    """

    world: SequenceConfig = SequenceConfig(vocab_size=300, concept_strength=1.5, documents=1024)
    B: float = 2.0
    B_sweep: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 16.0, 64.0, 256.0)
    windows: tuple[int, ...] = (1, 2, 4, 8, 16)
    random_controls: int = 5
    end_eps: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    top_words: int = 8

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("B", self.B, 0.0, 1e6, lo_open=True)
        check_ranges("B_sweep", self.B_sweep, 0.0, 1e6, lo_open=True)
        check_distinct("B_sweep", self.B_sweep)
        if self.B not in self.B_sweep:
            raise ValueError(f"B: {self.B:g} must be one of B_sweep (the prompt claim compares τ at B), got "
                             f"B_sweep = {', '.join(f'{b:g}' for b in self.B_sweep)}")  # fmt: skip
        if self.world.documents < 10:
            raise ValueError(f"world.documents must be >= 10 (probes on fewer end contexts say nothing), got "
                             f"{self.world.documents}")  # fmt: skip
        if self.world.length < 2:
            raise ValueError(f"world.length must be >= 2 (a reader of fewer tokens than the document), got "
                             f"{self.world.length}")  # fmt: skip
        check_ranges("windows", self.windows, 1, self.world.length - 1, integer=True)
        check_distinct("windows", self.windows)
        check_range("random_controls", self.random_controls, 0, 100, integer=True)
        check_ranges("end_eps", self.end_eps, 0.0, 1.0, lo_open=True)
        check_distinct("end_eps", self.end_eps)
        check_range("top_words", self.top_words, 1, 100, integer=True)
        self.world.check_words()  # before any work: a sweep checks every point's prompt words first
        if self.world.concepts < 2:
            raise ValueError(f"world.concepts must be >= 2 for the concept task, got {self.world.concepts}")
        if self.world.prompt_rate <= 0:
            raise ValueError("world.prompt_rate must be > 0: the prompt claims need the generator's prompt states")


class SequenceWorldExperiment(Experiment[Config]):
    name = "sequence_world"
    title = "documents of real words from a mixture of HMMs: exact p* of every prefix, prompts, window readers"
    Row = Row
    profiles = {
        "tiny": Config(
            world=SequenceConfig(
                vocab_size=120, states=3, noise_dims=4, concept_strength=1.5, length=12, documents=400
            ),  # fmt: skip
            B_sweep=(0.5, 2.0, 8.0, 32.0),
            windows=(1, 4),
            bootstrap=20,
        ),
        "quick": Config(seeds=(0, 1)),
        "standard": Config(
            world=SequenceConfig(
                vocab_size=1000, states=8, noise_dims=16, concept_strength=1.5, length=64, documents=2048
            ),  # fmt: skip
            windows=(1, 2, 4, 8, 16, 32),
            seeds=(0, 1, 2),
        ),
    }
    claim_statements = {
        "prompt_makes_concept_natural": "the prompt lowers τ_B of the concept task at the document ends (the best "
        f"box probe on p*, at the bound's box B, labels the bare document's concept posterior for every suffix) "
        f"by ≥ {PROMPT_MARGIN}, through the generator's dynamics, and beats the best of its controls (every other "
        f"order of its words, random words of its length drawn by frequency) by ≥ {PROMPT_MARGIN}; INCONCLUSIVE "
        "without a control. A statement about scale: τ(B) to large B and B_δ are reported beside it",
        "bound_holds": "(R2, R9) exact LMs (readers of the last k tokens, P* tilted at the ends against the concept; "
        "ε > 0): the box probe refitted on their p_f (certified) and the τ probe kept fixed stay under τ + √(2B²ε/γ) "
        "and (R9) in both forms (ε on the ends, γ = 1; ε over all prefixes, γ_ratio = 1/L); decided for each "
        "form and probe on its informative rows (a fixed row whose bound is below the largest loss the fixed "
        "probe can have; a refitted row whose bound is below H(η̄)), INCONCLUSIVE for a form and probe with none",
    }
    claim_labels = {
        "prompt_makes_concept_natural": "the prompt makes the concept natural",
        "bound_holds": "the bounds hold for exact LMs",
    }

    def work_units(self, cfg: Config) -> int:
        """The world and its ends, one per reader (the windows and the oracle), then the end tilts."""
        return 3 + len(cfg.windows)

    def memory_parts(self, cfg: Config) -> list[tuple[str, float]]:
        """One seed's peak: the filtering of every prefix and a reader's, the ends after each suffix (P*, log P*, a
        reader's Q and the probe's copies)."""
        w = cfg.world
        M, L, V = w.documents, w.length, w.vocab_size
        H = w.concepts * w.states_per_concept
        views = 2 + min(MAX_ORDERS, math.factorial(len(w.prompt) or 3) - 1) + cfg.random_controls
        return [
            ("world.documents × world.length × the states (the filtering of every prefix, a reader's)",
             8.0 * M * L * H * 4),
            ("world.documents × world.vocab_size × the suffixes (the ends after each suffix)",
             8.0 * M * V * (2 * views + 8)),
        ]  # fmt: skip

    def run_seed(self, cfg: Config, seed: int, tick: Callable[[], None]) -> list[_Row]:
        keys = streams(seed)
        world = make_sequence_world(keys["world"], cfg.world)
        docs = sample_population(keys["data"], world, cfg.world.documents, cfg.world.length)
        # the controls' random words are part of the world's description: their own stream, from the world's key
        views = [end_view(seed, keys, world, docs, s, cfg.B)
                 for s in suffixes(world, cfg.random_controls, jax.random.fold_in(keys["world"], 1))]  # fmt: skip
        rows = [tau_row(view, B) for view in views[:2] for B in cfg.B_sweep]  # no suffix, the prompt: τ(B)
        rows += [tau_row(view, cfg.B) for view in views[2:]]  # the controls: τ at the claim's B
        rows += [zero_shot_row(world, view) for view in views]
        rows += document_rows(world, views[:2], docs.tokens, cfg.top_words)
        tick()
        L = cfg.world.length
        for k in (*cfg.windows, L):  # k = L: the oracle, which reads every token (a suffix's too)
            beliefs = docs.filtered.pred if k == L else window_beliefs(world.hmm, docs.tokens, k)
            eps_prefixes, eps_se, _ = sequence_eps(world.hmm, docs, model_beliefs=beliefs)
            for view in views[:2]:  # no suffix, and the prompt
                width = k if k < L else L + len(view.tokens)
                q = next_token_probs(world.hmm, read_windows(world.hmm, end_windows(docs.tokens, view.tokens, width)))
                prefixes = (eps_prefixes, eps_se) if view.suffix == "none" else (float("nan"), float("nan"))
                rows += reader_rows(view, q, k, *prefixes)
            tick()
        rows += end_tilt_rows(views[0], cfg.end_eps)
        tick()
        return rows

    def summarize(self, cfg: Config, rows: list[_Row]) -> dict:
        return dict(experiment=self.name) | summarize_rows(cfg, rows)

    def claims(self, cfg: Config | None, summary: dict) -> list:
        out = []
        vs = summary["prompt_vs_controls"]
        if "prompt" in summary["prompt_gain"]:
            share = summary["information_share"]
            measured = (f"τ(no suffix) − τ(+ prompt) = {vs['prompt']:.4f} at B = {summary['B']:g} (share of H(η̄) read: "
                        f"{share['none']:.3f} → {share['prompt']:.3f}); the closest of {vs['controls']} controls, "
                        f"{vs['best_control'] or '—'}: {vs['best_control_gain']:+.4f}, beaten by "
                        f"{vs['beats_best_by']:.4f}")  # fmt: skip
            # the prompt must help, and beat every control by the margin: otherwise the gain is not the prompt's
            verdict = (Verdict.of(vs["helps"]) if vs["controls"] else
                       Verdict.undecided("no control to compare the prompt with (random_controls = 0 and a prompt "
                                         "of one word)"))  # fmt: skip
            out.append(self.claim("prompt_makes_concept_natural", verdict, measured))
        verdict, measured = forms_verdict(summary["checks"])
        out.append(self.claim("bound_holds", verdict, measured))
        return out

    def plot(self, rows: list[_Row], summary: dict, stem: Path) -> list:
        return draw(rows, summary, stem, self.all_claims(None, summary))

    def report(self, summary: dict) -> str:
        return report_text(summary)


EXPERIMENT = SequenceWorldExperiment()
