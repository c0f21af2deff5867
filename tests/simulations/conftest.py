"""Small instances shared by the simulation tests."""

import pytest

import simulations as sim


@pytest.fixture(scope="module")
def small():
    """A well-specified world (V=60, N=120, d=4) with a row-space task, seed 0."""
    return sim.make_instance(0, sim.WorldConfig(vocab_size=60, num_contexts=120, dim=4), sim.TaskConfig())
