"""Log-log slopes with a seed bootstrap."""

import numpy as np
import pytest

import simulations as sim
from simulations._stats import slope_consistent


def test_slope_recovers_power_law_and_counts_dropped():
    x = np.tile(np.geomspace(1e-6, 1e-1, 6), 3)
    groups = np.repeat([0, 1, 2], 6)
    y = 0.3 * x**0.5 * np.exp(0.01 * np.sin(np.arange(18)))
    y[0] = -1.0  # cannot go on log axes: dropped, and counted
    fit = sim.loglog_slope(x, y, groups, np.random.default_rng(0), n_boot=200)
    assert fit["slope"] == pytest.approx(0.5, abs=0.01)
    assert fit["lo"] <= fit["slope"] <= fit["hi"] and fit["dropped"] == 1 and fit["n"] == 17
    assert slope_consistent(fit, 0.5) and not slope_consistent(fit, 1.0)


def test_single_group_has_degenerate_interval():
    x = np.geomspace(1e-4, 1e-1, 4)
    fit = sim.loglog_slope(x, x, np.zeros(4), np.random.default_rng(0), n_boot=10)
    assert fit["slope"] == pytest.approx(1.0) and fit["lo"] == pytest.approx(1.0) and fit["hi"] == pytest.approx(1.0)
