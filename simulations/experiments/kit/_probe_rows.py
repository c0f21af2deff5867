"""The shared row of "a probe on one feature of one LM, next to its bounds", and the verdict numbers of its bounds.

`probe_rows` turns the `Measurement`s of `simulations.features.measure` into
rows; `bound_check` computes, from rows alone, how many violate each bound.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np

import theory

from ...features import FEATURES, check_pair, measure, reference_probe
from ...models import LanguageModel
from ...worlds import Instance
from ._claims import FAIL, PASS, Verdict


@dataclasses.dataclass(frozen=True)
class ProbeRow:
    """The shared row schema of "a probe on one feature of one LM, next to its bounds".

    Experiments that measure LMs feature by feature (`sqrt_eps`, and the
    softmax-half experiments) store these rows; `probe_rows` makes them.
    """

    family: str
    target_eps: float  # NaN for trained LMs
    step: int  # optimiser step of a trained LM's checkpoint, 0 for tilts
    eps: float  # exact ε of the LM
    eps_check: float  # ε recomputed by theory.expected_kl from Q
    eps_bound: float  # the ε the bound uses: ε, or ε_Φ(F) for (R5)
    feature: str
    probe: str
    probe_loss: float
    probe_error: float  # probe_loss / log 2, a bound on the 0-1 error
    tau_ref: float  # the same probe class on the ε = 0 features
    excess: float  # probe_loss − tau_ref (signed)
    tau: float
    B: float
    gamma: float
    delta: float  # (R6) δ_T for f rows
    bound: float  # the paper's bound (R2 / R5 / R6)
    slack: float  # bound − probe_loss
    r9_bound: float  # the residual-weighted bound (R9)
    vacuous: bool  # the bound is at or above the best constant predictor's loss
    trivial: float  # that loss, H(η̄): a bound at or above it cannot be violated
    seed: int
    converged: bool
    gap: float  # certified bound on the fit's optimality gap (NaN: unconstrained class, no certificate)
    flag: str = ""  # why the numbers are missing (a training that diverged), else empty
    # the (R2) proof ledger of a p_f box row, when asked for (`probe_rows(ledger=True)`; NaN otherwise): the excess
    # of the τ probe kept fixed on Q, then E_T|v̂ᵀΔ|, √E_T(v̂ᵀΔ)², B√E_T‖Δ‖₁², √(2B²ε_T); the transfer link is
    # bound − tau (`theory.proof_ledger`)
    fixed: float = math.nan
    lipschitz: float = math.nan
    jensen: float = math.nan
    holder: float = math.nan
    pinsker: float = math.nan


def probe_rows(
    inst: Instance,
    lm: LanguageModel,
    features: Iterable[str],
    probes: Sequence[str],
    l2: float = 0.0,
    l2_features: Collection[str] = FEATURES,
    ledger: bool = False,
) -> list[ProbeRow]:
    """`ProbeRow`s of every (feature, probe class) of one LM; the l2 class only for `l2_features`; with `ledger`,
    the p_f box row carries the links of the (R2) proof (`theory.proof_ledger`, against the τ probe of P*).

    An LM whose ε or Q is not finite (a training that diverged) gets flagged
    rows with NaN numbers and the family and step named in `flag`, so the run
    records it instead of failing.
    """
    check_pair(inst, lm)
    rows = []
    finite = np.isfinite(lm.eps) and np.all(np.isfinite(lm.q))
    eps_check = theory.expected_kl(inst.world.p_star, lm.q, inst.world.p_L) if finite else math.nan
    phi_box = None  # the Φp_f box measurement, reused by f
    for feature in features:
        classes = [p for p in probes if p != "l2" or feature in l2_features]
        if not finite:
            rows += [_flagged(inst, lm, feature, probe) for probe in classes]
            continue
        ms = measure(inst, lm, feature, classes, l2, phi_box)
        if feature == "phi_p_f" and "box" in classes:
            phi_box = ms[classes.index("box")]
        for m in ms:
            f = m.fit
            links = {}
            if ledger and feature == "p_f" and m.probe == "box":
                ref, task = reference_probe(inst, "p_f"), inst.task
                chain = theory.proof_ledger(inst.world.p_star, lm.q, task.p_T, task.eta, ref.v, ref.b, task.B,
                                            lm.eps, inst.gamma)  # fmt: skip
                links = {k: getattr(chain, k) for k in ("fixed", "lipschitz", "jensen", "holder", "pinsker")}
            rows.append(
                ProbeRow(
                    lm.family, float(lm.target_eps), int(lm.step), float(lm.eps), float(eps_check), m.eps_bound,
                    m.feature, m.probe, f.loss, f.loss / math.log(2), m.tau_ref, m.excess, m.tau, m.B, inst.gamma,
                    m.delta, m.bound, m.bound - f.loss, m.r9_bound, m.vacuous, m.trivial, int(inst.seed), f.converged,
                    f.gap, **links,
                )
            )  # fmt: skip
    return rows


def _flagged(inst: Instance, lm: LanguageModel, feature: str, probe: str) -> ProbeRow:
    """The row of an LM without finite numbers: every measured field NaN, and why in `flag`."""
    nan = {f.name: math.nan for f in dataclasses.fields(ProbeRow) if f.type == "float"}
    flag = f"{lm.family} LM at step {lm.step}: non-finite parameters or ε (the training diverged)"
    known: dict[str, Any] = dict(
        family=lm.family, target_eps=float(lm.target_eps), step=int(lm.step), feature=feature, probe=probe
    )
    known |= dict(gamma=inst.gamma, vacuous=False, seed=int(inst.seed), converged=False, flag=flag)
    return ProbeRow(**nan | known)


def bound_check(rows: list[ProbeRow], tol: float) -> dict:
    """Verdict numbers of every bound on `ProbeRow`s, from the rows alone.

    A row of the theorem's classes (probe "box") violates a bound when even
    the certified lower end of its class's optimum, probe_loss − gap, is above
    it by more than `tol`; f rows need no certificate (their fit starts at the
    (R6) comparator, so a loss above the bound is the comparator's). A row
    whose loss is above a bound but whose gap leaves it undecided is
    `unresolved`, never counted either way; `unconverged` counts rows whose gap
    exceeds `tol`. `informative` counts the rows whose tighter bound is below
    the constant predictor's loss: only there can a violation be seen.
    """
    theorem = [r for r in rows if r.probe == "box" and not r.flag and math.isfinite(r.bound)]
    lower = {id(r): r.probe_loss - (0.0 if r.feature == "f" else r.gap) for r in theorem}
    violations = [r for r in theorem if lower[id(r)] > r.bound + tol]
    r9 = [r for r in theorem if math.isfinite(r.r9_bound) and lower[id(r)] > r.r9_bound + tol]
    failed = {id(r) for r in violations + r9}
    tighter = {id(r): min(r.bound, r.r9_bound) if math.isfinite(r.r9_bound) else r.bound for r in theorem}
    return dict(
        n_checked=len(theorem),
        violations=len(violations),
        r9_violations=len(r9),
        unresolved=sum(1 for r in theorem if r.probe_loss > tighter[id(r)] + tol and id(r) not in failed),
        violation_rows=[
            {k: getattr(r, k) for k in ("family", "eps", "feature", "probe", "seed", "slack", "r9_bound")}
            for r in theorem
            if id(r) in failed
        ],
        unconverged=sum(1 for r in rows if not r.flag and r.gap > tol),
        uncertified=sum(1 for r in rows if not r.flag and math.isnan(r.gap)),
        max_gap=max((r.gap for r in rows if math.isfinite(r.gap)), default=math.nan),
        vacuous={f: sum(1 for r in theorem if r.feature == f and r.vacuous) for f in FEATURES},
        informative=sum(1 for r in theorem if tighter[id(r)] < r.trivial),
        l2_above_bound=sum(1 for r in rows if r.probe == "l2" and r.slack < -tol),
        flagged=sorted({r.flag for r in rows if r.flag}),
    )


def bound_verdict(check: dict) -> Verdict:
    """The verdict of "no probe of the theorem's classes above its bounds" from `bound_check`'s numbers.

    FAIL on any violation; INCONCLUSIVE when no row could show one (no rows, or every bound at or above the
    constant predictor's loss) or when a row is above a bound within its fit's certificate (`unresolved`);
    PASS otherwise.
    """
    if check["violations"] or check["r9_violations"]:
        return Verdict(FAIL)
    if check["n_checked"] == 0:
        return Verdict.undecided("no row of the theorem's classes to check")
    if check["informative"] == 0:
        return Verdict.undecided("every bound is at or above the constant predictor's loss: none could be violated")
    if check["unresolved"]:
        return Verdict.undecided(f"{check['unresolved']} row(s) above a bound but within their fit's certificate")
    return Verdict(PASS)


#: The steps of the (R2) proof ledger, each (link, the link after it): refit, Lipschitz, Jensen, Hölder, Pinsker,
#: transfer (`theory.proof_ledger`).
LEDGER_STEPS = {
    "refit": ("refitted", "fixed"),
    "Lipschitz": ("fixed", "lipschitz"),
    "Jensen": ("lipschitz", "jensen"),
    "Hölder": ("jensen", "holder"),
    "Pinsker": ("holder", "pinsker"),
    "transfer": ("pinsker", "transfer"),
}


def ledger_steps(chains: Iterable[dict]) -> dict:
    """Each step's mean log ratio (a link over the one before it) over the chains {link: excess} where both links
    are positive, its count, and the costliest step (the largest mean log ratio; "" with none)."""
    ratios: dict[str, list[float]] = {name: [] for name in LEDGER_STEPS}
    for chain in chains:
        for name, (lo, hi) in LEDGER_STEPS.items():
            if chain[lo] > 0 and chain[hi] > 0:
                ratios[name].append(math.log(chain[hi] / chain[lo]))
    steps = {name: dict(mean_log_ratio=float(np.mean(v)) if v else math.nan, n=len(v)) for name, v in ratios.items()}
    decided = {k: v["mean_log_ratio"] for k, v in steps.items() if math.isfinite(v["mean_log_ratio"])}
    return dict(steps=steps, costliest=max(decided, key=lambda k: decided[k], default=""))


def row_chain(r: ProbeRow) -> dict:
    """The (R2) ledger of a p_f box row as a chain {link: excess over τ}."""
    return dict(refitted=r.probe_loss - r.tau, fixed=r.fixed, lipschitz=r.lipschitz, jensen=r.jensen,
                holder=r.holder, pinsker=r.pinsker, transfer=r.bound - r.tau)  # fmt: skip
