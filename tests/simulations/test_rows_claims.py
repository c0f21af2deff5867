"""Row schemas, selection, CSV round trips through the store, and claims as data."""

import dataclasses
import math

import numpy as np
import pytest

import simulations as sim


@dataclasses.dataclass(frozen=True)
class Row:
    family: str
    eps: float
    step: int
    ok: bool
    seed: int


ROWS = [
    Row("a", 1e-3, 1, True, 0),
    Row("b", math.inf, 2, False, 0),
    Row("a", math.nan, 3, True, 1),
    Row("c", 0.1 + 0.2, 4, False, 1),
]


def test_select_and_column():
    assert sim.select(ROWS, family="a") == [ROWS[0], ROWS[2]]
    assert sim.select(ROWS, family=("a", "c"), seed=1) == [ROWS[2], ROWS[3]]
    assert sim.select(ROWS, family="z") == []
    np.testing.assert_array_equal(sim.column(ROWS, "step"), [1, 2, 3, 4])


def test_rows_round_trip_through_the_store_exactly(tmp_path):
    cfg = sim.get_experiment("sqrt_eps").profiles["tiny"]
    store = sim.RunStore(tmp_path, "rows-test", cfg, Row)
    store.prepare()
    store.save_part("gen-1", 0, ROWS, {})
    back, manifest = store.load_part("gen-1", 0)
    assert manifest["rows"] == len(ROWS)
    assert list(map(repr, back)) == list(map(repr, ROWS))  # floats by repr: bit-exact, NaN and inf kept
    assert type(back[1].step) is int and type(back[1].ok) is bool


def test_claim_record():
    c = sim.Claim.check("x", "statement", False, "measured 3")
    assert c.verdict == "FAIL" and not c.passed and c.to_dict()["id"] == "x"
    assert sim.Claim.check("x", "s", True, "m").passed
    with pytest.raises(ValueError, match="verdict must be one of PASS, FAIL, INCONCLUSIVE"):
        sim.Claim("x", "s", "MAYBE", "m")
    summary = {"claims": [c.to_dict()]}
    assert sim.claims_by_id(summary)["x"]["measured"] == "measured 3"
