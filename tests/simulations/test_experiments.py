"""Every registered experiment, through its tiny profile: claims by id, schema, redraw, strict JSON."""

import dataclasses
import json

import pytest

import simulations as sim
from simulations.cli import PROFILES

NAMES = sim.experiment_names()


def _no_constants(text):
    raise ValueError(f"non-standard JSON constant {text}")


@pytest.fixture(params=NAMES)
def tiny_run(request, tiny_runs):
    run, paths = tiny_runs[request.param]
    exp = sim.get_experiment(request.param)
    return exp, exp.profiles["tiny"], run, paths


def test_every_experiment_has_three_profiles_and_declared_claims():
    for name in NAMES:
        exp = sim.get_experiment(name)
        assert exp.name == name and set(exp.profiles) >= {"tiny", "quick", "standard"}
        assert set(exp.profiles) <= set(PROFILES), "a profile the command line does not offer"
        assert exp.claim_statements and all(isinstance(k, str) for k in exp.claim_statements)


#: Claims the tiny profile cannot decide, by their stated power rules, with the words of the reason: the tiny
#: sequence LMs (seconds of training, held-out ε ≈ 6e-3) have no refitted row whose bound is below H(η̄), one seed
#: gives no spread to test a difference against, and their readable checkpoints span less than a decade of ε.
#: Never FAIL; the quick profile decides them.
UNDECIDED_IN_TINY = {
    ("sequence", "bound_holds"): "no informative row",
    ("sequence", "same_eps_different_downstream"): "fewer than 3 seeds",
    ("sequence", "same_eps_as_an_exact_reader"): "fewer than 3 seeds",
    ("sequence", "excess_rate_on_trained_models"): "less than 10",
}


def test_every_claim_is_computed_by_id_and_passes_on_the_tiny_profile(tiny_run):
    exp, _, run, _ = tiny_run
    claims = sim.claims_by_id(run.summary)
    assert list(claims) == list(exp.claim_statements)
    for cid, c in claims.items():
        assert c["statement"] == exp.claim_statements[cid] and c["measured"]
        if (exp.name, cid) in UNDECIDED_IN_TINY:
            assert c["verdict"] == "INCONCLUSIVE" and UNDECIDED_IN_TINY[exp.name, cid] in c["reason"], c
        else:
            assert c["verdict"] == "PASS", (cid, c["measured"])


@pytest.mark.slow
def test_sequence_quick_profile_decides_the_prompt_claim(tmp_path):
    """The quick profile trains long enough (held-out ε ≈ 0.02) for the prompt claim to be decided, and it PASSes;
    the same-ε claim there has one pair of checkpoints at the same ε (INCONCLUSIVE by its rule), never FAIL."""
    run = sim.run_experiment("sequence", sim.get_experiment("sequence").profiles["quick"], tmp_path, progress=False)
    verdicts = {c["id"]: c["verdict"] for c in run.summary["claims"]}
    assert verdicts["bound_holds"] == verdicts["prompt_helps_the_model"] == "PASS"
    assert verdicts["same_eps_different_downstream"] != "FAIL"


def test_rows_match_the_declared_schema(tiny_run):
    exp, cfg, run, _ = tiny_run
    names = [f.name for f in dataclasses.fields(exp.Row)]
    assert run.rows and all(type(r) is exp.Row for r in run.rows)
    assert run.store.rows_path.read_text().splitlines()[0].split(",") == names
    assert {r.seed for r in run.rows} == set(cfg.seeds)


def test_figure_redraws_byte_identically_from_stored_rows(tiny_run, tmp_path):
    exp, cfg, run, paths = tiny_run
    again_run = sim.run_experiment(exp.name, cfg, run.store.path.parent, progress=False)
    assert again_run.status == "reused" and again_run.computed == []  # read back from disk, not recomputed
    again = sim.draw(exp.name, again_run.rows, again_run.summary, tmp_path)
    figures = [p for p in again if p.suffix in (".png", ".pdf")]
    assert [p.suffix for p in figures] == [".png", ".pdf"] * (len(figures) // 2) and again[0].stem == exp.name
    for a, b in zip(paths, again, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_summary_is_strict_json(tiny_run):
    _, _, run, _ = tiny_run
    stored = json.loads(run.store.summary_path.read_text(), parse_constant=_no_constants)
    assert stored["n_rows"] == run.summary["n_rows"] and stored["claims"] == run.summary["claims"]
