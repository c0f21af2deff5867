"""Small instances and tiny experiment runs shared by the simulation tests."""

import pytest

import simulations as sim


@pytest.fixture(scope="module")
def small():
    """A well-specified world (V=60, N=120, d=4) with a row-space task, seed 0."""
    return sim.make_instance(0, sim.WorldConfig(vocab_size=60, num_contexts=120, dim=4), sim.TaskConfig())


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """Every registered experiment run once on its tiny profile: {name: (Run, figure paths)}."""
    root = tmp_path_factory.mktemp("tiny")
    out = {}
    for name in sim.experiment_names():
        run = sim.run_experiment(name, sim.get_experiment(name).profiles["tiny"], root / "results", progress=False)
        out[name] = (run, sim.draw(name, run.rows, run.summary, root / "figures"))
    return out
