"""Reproducible figures and rows: a recomputed tiny run draws the same bytes, and matches the committed rows.

What is identical where (README, "Reproducing"): on one machine with the same thread settings, every row and
every figure byte; on another machine (here: the same machine told to use the kernels of a CPU without
AVX-512), rows within the tolerance of each number's class (`tests.reproducibility`) and the same verdicts.
Regenerate the reference after a change that moves numbers on purpose:
`NATURAL_TASKS_WRITE_REFERENCE=1 .venv/bin/python -m pytest tests/simulations/test_reproducible.py`.
"""

import dataclasses
import math
import os
import pathlib
import platform
import subprocess
import sys

import pytest

import simulations as sim
from simulations.runs import read_rows, rows_text
from tests.reproducibility import GAP_ATOL, drift_class, row_rtol
from tests.tolerances import (
    REFERENCE_ACCURACY_ATOL,
    REFERENCE_ATOL,
    REFERENCE_CHAOTIC_ATOL,
    REFERENCE_EXACT_RTOL,
    REFERENCE_TRAINED_RTOL,
    chaotic_rtol,
)

NAMES = sim.experiment_names()
REFERENCE = pathlib.Path(__file__).resolve().parents[1] / "data" / "tiny"
WRITE = os.environ.get("NATURAL_TASKS_WRITE_REFERENCE") == "1"


@pytest.mark.parametrize("name", NAMES)
def test_a_recomputed_tiny_run_draws_byte_identical_figures(name, tiny_runs, tmp_path):
    run, paths = tiny_runs[name]
    cfg = sim.get_experiment(name).profiles["tiny"]
    again = sim.run_experiment(name, cfg, tmp_path / "results", force=True, progress=False)
    assert again.status == "computed" and again.computed == list(cfg.seeds)
    redrawn = sim.draw(name, again.rows, again.summary, tmp_path / "figures")
    for a, b in zip(paths, redrawn, strict=True):
        assert a.read_bytes() == b.read_bytes(), f"{b.name} differs after recomputing"


def _close(a, b, cls: str = "exact", field: str = "", atol: float = REFERENCE_ATOL, rtol: float | None = None) -> bool:
    """Whether two values of one number agree within the tolerance of its class (`drift_class`); `atol` is the
    absolute tolerance of its row (the fit's certificates, where they are larger), `rtol` an exact row's own
    (`row_rtol`, for a tilt calibrated at another iterate)."""
    if not (isinstance(a, float) and isinstance(b, float)):
        return a == b
    if cls == "gap":  # an upper bound that depends on the solver's path: compared as certified or not
        return math.isnan(a) == math.isnan(b) and (a <= GAP_ATOL) == (b <= GAP_ATOL)
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if cls in ("trained", "chaotic") and field == "accuracy":
        return abs(a - b) <= max(REFERENCE_ACCURACY_ATOL, atol)
    if cls == "chaotic":
        return abs(a - b) <= max(atol, REFERENCE_CHAOTIC_ATOL) + chaotic_rtol(field) * max(abs(a), abs(b))
    rtol = REFERENCE_TRAINED_RTOL if cls == "trained" else (rtol or REFERENCE_EXACT_RTOL)
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def rows_differ(name: str, rows: list, reference: list) -> list[str]:
    """One line per number of `rows` that differs from `reference` beyond its class's tolerance. A row whose fit
    is certified only to a gap above the absolute tolerance is compared within the sum of both gaps: its numbers
    are known to that much."""
    exp = sim.get_experiment(name)
    if len(rows) != len(reference):
        return [f"{name}: {len(rows)} rows against {len(reference)} in the reference"]
    out = []
    for i, (got, want) in enumerate(zip(rows, reference, strict=True)):
        gaps = [getattr(r, "gap", math.nan) for r in (got, want)]
        atol = max(REFERENCE_ATOL, sum(gaps)) if all(math.isfinite(g) for g in gaps) else REFERENCE_ATOL
        rtol = row_rtol(got, want, REFERENCE_EXACT_RTOL)
        for f in dataclasses.fields(exp.Row):
            a, b = getattr(got, f.name), getattr(want, f.name)
            cls = drift_class(name, want, f.name)
            control = f.name == "eps" and str(getattr(want, "suffix", "")).startswith(("order:", "random:"))
            if not _close(a, b, cls, f.name + "@control" * control, atol, rtol):
                out.append(f"{name} row {i} {f.name} ({cls}): {a!r} against {b!r}")
    return out


def verdicts_of(name: str, rows: list) -> dict[str, str]:
    exp = sim.get_experiment(name)
    cfg = exp.profiles["tiny"]
    return {c.id: c.verdict for c in exp.all_claims(cfg, exp.summarize(cfg, rows))}


@pytest.mark.parametrize("name", NAMES)
def test_tiny_rows_match_the_committed_reference_within_tolerance(name, tiny_runs):
    run, _ = tiny_runs[name]
    exp = sim.get_experiment(name)
    path = REFERENCE / f"{name}.csv"
    if WRITE:
        REFERENCE.mkdir(parents=True, exist_ok=True)
        path.write_text(rows_text(run.rows, [f.name for f in dataclasses.fields(exp.Row)]))
    reference = read_rows(path, exp.Row)
    assert rows_differ(name, run.rows, reference) == []
    assert verdicts_of(name, reference) == {c["id"]: c["verdict"] for c in run.summary["claims"]}


#: The kernels of a CPU without AVX-512, chosen on any x86 machine: XLA's code generation and OpenBLAS's kernels.
AVX2 = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1 --xla_cpu_max_isa=AVX2",
    "OPENBLAS_CORETYPE": "Haswell",
}


def _has_avx512() -> bool:
    """Whether this CPU has AVX-512 (Linux's /proc/cpuinfo); without it the native run already is on AVX2 kernels."""
    try:
        return "avx512f" in pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return True  # unknown: run the check


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="AVX2 kernels exist on x86 only")
@pytest.mark.skipif(not _has_avx512(), reason="this CPU has no AVX-512: the native rows above are AVX2's already")
def test_tiny_rows_on_the_kernels_of_another_cpu_match_the_reference(tmp_path):
    """The whole tiny reproduction on AVX2 kernels, in a fresh process (XLA reads its flags when it starts), within
    the same tolerances and with the same verdicts: what a machine without AVX-512 computes."""
    script = (
        "import sys, simulations as sim\nfor n in sim.experiment_names():\n"
        "    sim.run_experiment(n, sim.get_experiment(n).profiles['tiny'], sys.argv[1], progress=False)"
    )
    env = os.environ | {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"} | AVX2
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, check=True, timeout=900)
    problems = []
    for name in NAMES:
        exp = sim.get_experiment(name)
        (folder,) = tmp_path.glob(f"{name}-*")
        rows = read_rows(folder / "rows.csv", exp.Row)
        reference = read_rows(REFERENCE / f"{name}.csv", exp.Row)
        problems += rows_differ(name, rows, reference)
        if (got := verdicts_of(name, rows)) != (want := verdicts_of(name, reference)):
            problems.append(f"{name}: verdicts {got} against {want}")
    assert problems == []


def test_the_tolerance_check_sees_a_moved_number():
    assert _close(1.0, 1.0 + 5e-7) and not _close(1.0, 1.0 + 5e-6) and not _close(1.0, 2.0)
    assert _close(1.0, 1.0 + 5e-4, "trained") and not _close(1.0, 1.01, "trained")
    assert _close(0.6, 0.62, "trained", "accuracy") and not _close(0.6, 0.64, "trained", "accuracy")
    assert not _close(0.6, 0.62, "exact", "accuracy")  # an exact row's accuracy is exact
    assert _close(math.nan, math.nan) and not _close(math.nan, 1.0) and _close(math.inf, math.inf)
    assert _close(4e-6, 1e-9, "gap") and _close(1.0e-5, 1.4e-7, "gap") and not _close(1e-3, math.nan, "gap")
    assert not _close(0.3, 4.8e-11, "gap")  # a certified fit that lost its certificate
    # a sequence LM's numbers: within 1.5 times each field's measured spread; a lost √2 is caught but in δ_T
    assert _close(1.1298, 1.1244, "chaotic", "bound") and not _close(1.1298, 1.1298 * 2**0.5, "chaotic", "bound")
    assert _close(0.764, 0.933, "chaotic", "eps@control") and not _close(
        0.764, 0.764 * 2**0.5, "chaotic", "eps@control"
    )
    assert _close(0.0291, 0.0284, "chaotic", "eps") and not _close(0.0291, 0.0291 * 2**0.5, "chaotic", "eps")
    for field in ("eps_heldout", "eps_se", "loss", "r9", "tau", "taylor", "jensen", "lipschitz", "holder"):
        assert not _close(0.02, 0.02 * 2**0.5, "chaotic", field), field
    assert not _close(0.5, 0.5 + 1e-5) and _close(0.5, 0.5 + 1e-5, atol=2e-5)  # within two certificates of 1e-5


def test_a_tilt_calibrated_at_another_iterate_is_compared_within_its_shift():
    """ε moved 0.2% (both within the calibration's 1% of the target): the row's numbers get twice that; a row
    whose ε left that 1%, or a row with no ε target, keeps the exact tolerance."""
    Row = dataclasses.make_dataclass("Row", [("target_eps", float), ("eps", float), ("excess", float)])
    Free = dataclasses.make_dataclass("Free", [("eps", float), ("excess", float)])
    assert row_rtol(Row(1e-4, 9.98e-5, 0.0), Row(1e-4, 1.0e-4, 0.0), 1e-6) == pytest.approx(4e-3)
    assert row_rtol(Row(1e-4, 9.85e-5, 0.0), Row(1e-4, 1.0e-4, 0.0), 1e-6) == 1e-6  # 1.5% off its target
    assert row_rtol(Free(9.98e-5, 0.0), Free(1.0e-4, 0.0), 1e-6) == 1e-6  # not calibrated to a target
    assert rows_differ_of(Row(1e-4, 9.98e-5, 0.002362), Row(1e-4, 1.0e-4, 0.002364)) == []
    assert rows_differ_of(Row(1e-4, 9.98e-5, 0.00250), Row(1e-4, 1.0e-4, 0.002364)) != []  # the excess moved 6%


def rows_differ_of(got, want) -> list[str]:
    rtol = row_rtol(got, want, REFERENCE_EXACT_RTOL)
    return [f for f in ("eps", "excess") if not _close(getattr(got, f), getattr(want, f), "exact", f, rtol=rtol)]


def test_the_classes_name_what_moves():
    """A trained LM's rows are "trained" (a sequence LM's "chaotic"), a tilt's are "exact", a certificate is "gap"
    (`drift_class`)."""
    rows = {name: read_rows(REFERENCE / f"{name}.csv", sim.get_experiment(name).Row) for name in NAMES}
    trained = next(r for r in rows["sqrt_eps"] if r.family == "trained")
    tilted = next(r for r in rows["sqrt_eps"] if r.family == "adversarial")
    assert drift_class("sqrt_eps", trained, "eps") == "trained" and drift_class("sqrt_eps", tilted, "eps") == "exact"
    assert drift_class("sqrt_eps", tilted, "gap") == "gap"
    assert all(
        drift_class("sequence", r, "loss") == ("exact" if r.kind == "reader" else "chaotic") for r in rows["sequence"]
    )
    assert all(drift_class("sequence_world", r, "loss") == "exact" for r in rows["sequence_world"])
