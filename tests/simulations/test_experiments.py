"""Every registered experiment, through its tiny profile: claims by id, schema, redraw, strict JSON."""

import dataclasses
import json

import pytest

import simulations as sim

NAMES = sim.experiment_names()


def _no_constants(text):
    raise ValueError(f"non-standard JSON constant {text}")


@pytest.fixture(scope="module", params=NAMES)
def tiny_run(request, tmp_path_factory):
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    exp = sim.get_experiment(name)
    cfg = exp.profiles["tiny"]
    rows, summary, store, *_ = sim.run_experiment(name, cfg, tmp / "results", progress=False)
    paths = sim.draw(name, rows, summary, tmp / "figures")
    return exp, cfg, rows, summary, store, paths


def test_every_experiment_has_three_profiles_and_declared_claims():
    for name in NAMES:
        exp = sim.get_experiment(name)
        assert exp.name == name and set(exp.profiles) == {"tiny", "quick", "standard"}
        assert exp.claim_statements and all(isinstance(k, str) for k in exp.claim_statements)


def test_every_claim_is_computed_by_id(tiny_run):
    exp, _, _, summary, _, _ = tiny_run
    claims = sim.claims_by_id(summary)
    assert list(claims) == list(exp.claim_statements)
    for cid, c in claims.items():
        assert c["verdict"] in ("PASS", "FAIL") and c["statement"] == exp.claim_statements[cid] and c["measured"]


def test_rows_match_the_declared_schema(tiny_run):
    exp, cfg, rows, _, store, _ = tiny_run
    names = [f.name for f in dataclasses.fields(exp.Row)]
    assert rows and all(type(r) is exp.Row for r in rows)
    header = store.rows_path.read_text().splitlines()[0].split(",")
    assert header == names
    assert {r.seed for r in rows} == set(cfg.seeds)


def test_figure_redraws_byte_identically_from_stored_rows(tiny_run, tmp_path):
    exp, cfg, _, _, store, paths = tiny_run
    run = sim.run_experiment(exp.name, cfg, store.path.parent, progress=False)
    assert run.status == "reused" and run.computed == []  # read back from disk, not recomputed
    again = sim.draw(exp.name, run.rows, run.summary, tmp_path)
    assert [p.suffix for p in again] == [".png", ".pdf"]
    for a, b in zip(paths, again, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_summary_is_strict_json(tiny_run):
    _, _, _, summary, store, _ = tiny_run
    text = store.summary_path.read_text()
    stored = json.loads(text, parse_constant=_no_constants)
    assert stored["n_rows"] == summary["n_rows"] and stored["claims"] == summary["claims"]
