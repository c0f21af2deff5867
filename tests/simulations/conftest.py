"""Small worlds shared by the simulation tests."""

import pytest

import simulations as sim


@pytest.fixture(scope="module")
def small():
    """A well-specified world (V=60, N=120, d=4) with a row-space task."""
    keys = sim.streams(0)
    world = sim.make_world(keys["world"], sim.WorldConfig(vocab_size=60, num_contexts=120, dim=4))
    task = sim.make_task(keys["task"], world, sim.TaskConfig())
    return keys, world, task
