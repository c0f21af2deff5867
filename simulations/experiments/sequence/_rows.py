"""Rows of `sequence`: one checkpoint of one sequence LM, its exact ε, and its features probed at the document ends."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

import theory

from ...features import measure, reference_probe, soft_accuracy, zero_shot_margins
from ...models import LanguageModel, SequenceLM, output_layer, read_ends, sequence_eps, sequence_log_probs
from ...probes import fit_probe
from ...worlds import Documents, EndView, SequenceWorld, append_suffix


@dataclasses.dataclass(frozen=True)
class Row:
    """One feature kind of one checkpoint, probed at the document ends read with a suffix.

    kind: "probe" (the class of the feature, refitted: box on p_f and on the class words, the polytope
      ‖Φᵀλ‖∞ ≤ B on Φp_f, unconstrained on f from the (R6) comparator), "fixed" (the τ probe of p_f kept fixed on
      the model's p_f), "zero_shot" (calibrated: sign of log(m₊/m₋) less its median; no probe) or "reader" (an
      exact reader of the last `step` tokens of the world, its box probe refitted on its p at the ends: the exact
      reference a model is compared with at the same ε).
    lm: the model's name (kind-width; "reader" for readers); step: its optimiser step (a reader's window k).
    eps_heldout, eps_se: ε over all M·L prefixes of the held-out documents, and its Monte Carlo standard error
      over documents; eps_train: ε over the prefixes of training documents (overfitting shows as a gap).
    eps: ε on the task's contexts (the ends after the suffix): the bound's ε with γ = 1.
    bound, r9: the feature's bound (R2 / (R2) through v = Φᵀλ / (R6)) and (R9) with ε on the ends, γ = 1.
    bound_prefixes, r9_prefixes: (R2) and (R9) with ε over all prefixes and γ_ratio = 1/L (p_f rows, no suffix).
    delta: (R6)'s δ_T for f rows.  trivial: H(η̄).  gap: the fit's certificate (NaN: none for f).
    cap: for "fixed" rows, the largest loss the τ probe kept fixed can have on any Q (`theory.fixed_probe_cap`);
      NaN otherwise.
    lipschitz, jensen, holder, pinsker, taylor, cauchy_schwarz: for "fixed" rows, the links of the (R2) and (R9)
      proofs between the τ probe kept fixed and the bound (`theory.proof_ledger`, ε on the ends, γ = 1: the
      transfer link of that form is `pinsker`; the prefix form's is bound_prefixes − τ); NaN otherwise.
    near_eps, near_profile: for p_f "probe" rows without a suffix, the window k of the exact reader nearest the
      model by held-out ε (in log) and by its profile of KL over positions (log KL per position, least squares);
      0 otherwise.
    """

    kind: str
    lm: str
    step: int
    suffix: str
    feature: str
    eps_heldout: float
    eps_se: float
    eps_train: float
    eps: float
    loss: float
    accuracy: float
    tau: float
    B: float
    bound: float
    r9: float
    bound_prefixes: float
    r9_prefixes: float
    delta: float
    trivial: float
    gap: float
    seed: int
    cap: float = math.nan
    lipschitz: float = math.nan
    jensen: float = math.nan
    holder: float = math.nan
    pinsker: float = math.nan
    taylor: float = math.nan
    cauchy_schwarz: float = math.nan
    near_eps: int = 0
    near_profile: int = 0


def population_eps(world: SequenceWorld, docs: Documents, model: SequenceLM) -> tuple[float, float, np.ndarray]:
    """(ε, its Monte Carlo s.e., the per-prefix KLs (M, L)) of the model over all prefixes of `docs` (exact,
    float64)."""
    return sequence_eps(world.hmm, docs, log_q=lambda rows: sequence_log_probs(model, docs.tokens[rows]))


def nearest_readers(kl: np.ndarray, readers: dict[int, tuple[float, np.ndarray]]) -> tuple[int, int]:
    """(k nearest by ε, k nearest by profile): the exact readers `readers` {k: (ε, per-position mean KL (L,))}
    closest to a model whose per-prefix KLs are `kl` (M, L), by |log ε − log ε_k| and by the least-squares
    distance of the log KL per position (each floored at 1e-300)."""
    eps, profile = float(kl.mean()), np.log(np.maximum(kl.mean(axis=0), 1e-300))
    by_eps = min(readers, key=lambda k: abs(math.log(max(eps, 1e-300)) - math.log(max(readers[k][0], 1e-300))))
    by_profile = min(readers, key=lambda k: float(np.sum((profile - np.log(np.maximum(readers[k][1], 1e-300))) ** 2)))
    return int(by_eps), int(by_profile)


def lm_at_ends(view: EndView, docs: Documents, model: SequenceLM, name: str, step: int) -> LanguageModel:
    """The model read at the ends of `docs` after the view's suffix, as a `LanguageModel` of the view:
    Q (float64), its ε on these contexts, and F = [f(s), 1], Φ = [Φ; b] so that Q = softmax(FΦ) exactly."""
    tokens = append_suffix(docs.tokens, view.tokens)
    f, log_q = read_ends(model, tokens)
    q = np.exp(log_q)
    p = view.inst.world.p_star
    eps = float(view.inst.task.p_T @ theory.kl_divergence_log(np.log(p), log_q))
    phi, b = output_layer(model)
    F = np.hstack([f, np.ones((tokens.shape[0], 1))])
    return LanguageModel(name, q, eps, F, np.vstack([phi, b]), step=step, world_id=view.inst.world_id)


def checkpoint_rows(
    world: SequenceWorld, view: EndView, lm: LanguageModel, eps_pop: tuple[float, float, float], B: float,
    class_words: np.ndarray, near: tuple[int, int] = (0, 0),
) -> list[Row]:  # fmt: skip
    """Every feature kind of one checkpoint at the ends after one suffix, with its bounds; `eps_pop` is (held-out
    ε, its s.e., train ε); `near` the nearest exact readers (`nearest_readers`), kept on the p_f row."""
    inst = view.inst
    task = inst.task
    heldout, se, train = eps_pop
    assert lm.Phi is not None and lm.F is not None  # made by `lm_at_ends`
    common: dict[str, Any] = dict(lm=lm.family, step=lm.step, suffix=view.suffix, eps_heldout=heldout,
                                  eps_se=se, eps_train=train, eps=lm.eps, B=B, seed=int(inst.seed))  # fmt: skip
    rows = []
    phi_box = None
    for feature in ("p_f", "phi_p_f", "f"):
        (m,) = measure(inst, lm, feature, ("box",), phi_box=phi_box)
        if feature == "phi_p_f":
            phi_box = m
        g = lm.q if feature == "p_f" else lm.q @ lm.Phi.T if feature == "phi_p_f" else lm.F
        margins = g @ m.fit.v + m.fit.b
        prefixes: dict[str, Any] = dict(bound_prefixes=math.nan, r9_prefixes=math.nan)
        if feature == "p_f" and math.isfinite(view.gamma_prefixes):
            ref = reference_probe(inst, "p_f")
            rho = min(theory.probe_residual(inst.world.p_star, task.p_T, task.eta, ref.v, ref.b), 1.0)
            prefixes = dict(bound_prefixes=theory.natural_task_bound(m.tau, B, heldout, view.gamma_prefixes),
                            r9_prefixes=theory.residual_bound(m.tau, rho, B, heldout, view.gamma_prefixes))  # fmt: skip
        readers: dict[str, Any] = dict(near_eps=near[0], near_profile=near[1]) if feature == "p_f" else {}
        rows.append(Row("probe", feature=feature, loss=m.fit.loss, accuracy=soft_accuracy(margins, task.eta, task.p_T),
                        tau=m.tau, bound=m.bound, r9=m.r9_bound, **prefixes, delta=m.delta, trivial=m.trivial,
                        gap=m.fit.gap, **readers, **common))  # fmt: skip
        if feature == "p_f":  # the τ probe kept fixed on Q: the left side of (R2)/(R9) as proved, and its proof
            ref = reference_probe(inst, "p_f")
            fixed = theory.probe_loss(lm.q, ref.v, ref.b, task.p_T, task.eta)
            ledger = theory.proof_ledger(inst.world.p_star, lm.q, task.p_T, task.eta, ref.v, ref.b, B, lm.eps)
            links = {k: getattr(ledger, k) for k in ("lipschitz", "jensen", "holder", "pinsker", "taylor",
                                                      "cauchy_schwarz")}  # fmt: skip
            rows.append(Row("fixed", feature="p_f", loss=fixed, accuracy=soft_accuracy(lm.q @ ref.v + ref.b, task.eta,
                            task.p_T), tau=m.tau, bound=m.bound, r9=m.r9_bound, **prefixes, delta=math.nan,
                            trivial=m.trivial, gap=0.0, cap=theory.fixed_probe_cap(ref.v, ref.b, task.p_T, task.eta),
                            **links, **common))  # fmt: skip
    # p_f on the evaluative words alone (the paper's class words), box B, no bound (a probe on a subset of the words)
    f = fit_probe(lm.q[:, class_words], task.p_T, task.eta, box=B)
    acc = soft_accuracy(lm.q[:, class_words] @ f.v + f.b, task.eta, task.p_T)
    nan = math.nan
    rows.append(Row("probe", feature="p_f_class", loss=f.loss, accuracy=acc, tau=nan, bound=nan, r9=nan,
                    bound_prefixes=nan, r9_prefixes=nan, delta=nan, trivial=theory.trivial_loss(task.p_T, task.eta),
                    gap=f.gap, **common))  # fmt: skip
    z = zero_shot_margins(world, lm.q, task.p_T)
    rows.append(Row("zero_shot", feature="zero_shot", loss=float(task.p_T @ theory.context_loss(z, task.eta)),
                    accuracy=soft_accuracy(z, task.eta, task.p_T), tau=nan, bound=nan, r9=nan, bound_prefixes=nan,
                    r9_prefixes=nan, delta=nan, trivial=theory.trivial_loss(task.p_T, task.eta), gap=nan,
                    **common))  # fmt: skip
    return rows


def control_rows(view: EndView, lm: LanguageModel, eps_pop: tuple[float, float, float], B: float) -> list[Row]:
    """The box probe refitted on the model's p_f at the ends after a control suffix of the prompt (the claim
    `prompt_helps_the_model` compares the prompt's gain with these); no bounds (only the prompt's are checked)."""
    task = view.inst.task
    heldout, se, train = eps_pop
    f = fit_probe(lm.q, task.p_T, task.eta, box=B)
    nan = math.nan
    return [Row("probe", lm=lm.family, step=lm.step, suffix=view.suffix, feature="p_f", eps_heldout=heldout, eps_se=se,
                eps_train=train, eps=lm.eps, loss=f.loss, accuracy=soft_accuracy(lm.q @ f.v + f.b, task.eta, task.p_T),
                tau=reference_probe(view.inst, "p_f").loss, B=B, bound=nan, r9=nan, bound_prefixes=nan,
                r9_prefixes=nan, delta=nan, trivial=theory.trivial_loss(task.p_T, task.eta), gap=f.gap,
                seed=int(view.inst.seed))]  # fmt: skip


def reader_rows(view: EndView, q: np.ndarray, k: int, eps_pop: tuple[float, float], B: float) -> list[Row]:
    """An exact reader of the last k tokens at the ends (no suffix): the box probe refitted on its p, beside its ε
    over all prefixes and on the ends (no bounds: `sequence_world` checks the readers')."""
    task, p = view.inst.task, view.inst.world.p_star
    eps = theory.expected_kl(p, q, task.p_T)
    f = fit_probe(q, task.p_T, task.eta, box=B)
    nan = math.nan
    return [Row("reader", lm="reader", step=int(k), suffix=view.suffix, feature="p_f", eps_heldout=eps_pop[0],
                eps_se=eps_pop[1], eps_train=nan, eps=eps, loss=f.loss,
                accuracy=soft_accuracy(q @ f.v + f.b, task.eta, task.p_T), tau=reference_probe(view.inst, "p_f").loss,
                B=B, bound=nan, r9=nan, bound_prefixes=nan, r9_prefixes=nan, delta=nan,
                trivial=theory.trivial_loss(task.p_T, task.eta), gap=f.gap, seed=int(view.inst.seed))]  # fmt: skip
