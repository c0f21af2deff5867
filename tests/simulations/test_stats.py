"""Log-log slopes with a seed bootstrap."""

import dataclasses

import numpy as np
import pytest

import simulations as sim


def test_slope_recovers_power_law_and_counts_dropped():
    x = np.tile(np.geomspace(1e-6, 1e-1, 6), 3)
    groups = np.repeat([0, 1, 2], 6)
    y = 0.3 * x**0.5 * np.exp(0.01 * np.sin(np.arange(18)))
    y[0] = -1.0  # cannot go on log axes: dropped, and counted
    fit = sim.loglog_slope(x, y, groups, np.random.default_rng(0), n_boot=200)
    assert fit["slope"] == pytest.approx(0.5, abs=0.01)
    assert fit["lo"] <= fit["slope"] <= fit["hi"] and fit["dropped"] == 1 and fit["n"] == 17
    assert sim.slope_consistent(fit, 0.5) and not sim.slope_consistent(fit, 1.0)


def test_single_group_has_degenerate_interval():
    x = np.geomspace(1e-4, 1e-1, 4)
    fit = sim.loglog_slope(x, x, np.zeros(4), np.random.default_rng(0), n_boot=10)
    assert fit["slope"] == pytest.approx(1.0) and fit["lo"] == pytest.approx(1.0) and fit["hi"] == pytest.approx(1.0)


@dataclasses.dataclass(frozen=True)
class _Row:
    family: str
    eps: float
    excess: float
    seed: int


def test_slopes_by_groups_counts_negatives_and_is_independent_of_other_groups():
    eps = np.geomspace(1e-5, 1e-1, 5)
    rows = [_Row("a", e, (-1) ** i * e**0.5 * (1 + 0.05 * s), s) for s in range(3) for i, e in enumerate(eps)]
    rows += [_Row("b", e, e, s) for s in range(3) for e in eps]
    both = sim.slopes_by(rows, ("family",), "eps", "excess", seed=0, n_boot=100)
    alone = sim.slopes_by(sim.select(rows, family="a"), ("family",), "eps", "excess", seed=0, n_boot=100)
    assert set(both) == {"a", "b"} and both["a"] == alone["a"]
    assert both["a"]["slope"] == pytest.approx(0.5, abs=1e-9) and both["a"]["negative"] == 6
    assert both["b"]["slope"] == pytest.approx(1.0) and both["b"]["negative"] == 0
