"""Small instances and tiny experiment runs shared by the simulation tests."""

import os

import pytest

import simulations as sim


@pytest.fixture(scope="module")
def small():
    """A well-specified world (V=60, N=120, d=4) with a row-space task, seed 0."""
    return sim.make_instance(0, sim.WorldConfig(vocab_size=60, num_contexts=120, dim=4), sim.TaskConfig())


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """Every registered experiment run once on its tiny profile: {name: (Run, figure paths)}.

    Under pytest-xdist (`make test` runs two workers) the workers share one results folder and walk
    the experiments in opposite orders: each computes about half and then reuses what the other
    stored (the results store's seed locks make that safe), so the fixture costs each worker half.
    """
    root = tmp_path_factory.mktemp("tiny")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    results = tmp_path_factory.getbasetemp().parent / "tiny-results" if worker else root / "results"
    names = sim.experiment_names()
    if worker.removeprefix("gw").isdigit() and int(worker.removeprefix("gw")) % 2:
        names = names[::-1]
    out = {}
    for name in names:
        run = sim.run_experiment(name, sim.get_experiment(name).profiles["tiny"], results, progress=False)
        out[name] = (run, sim.draw(name, run.rows, run.summary, root / "figures"))
    return out
