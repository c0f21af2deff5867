"""How far the tiny rows move across machines: the measurement behind the reference tolerances of the test suite.

Runs every experiment's tiny profile three ways, each in a fresh process with one thread, and compares the rows
field by field with the first, by the class `tests.reproducibility.drift_class` gives each number:

- `native`: this machine's kernels (XLA's and OpenBLAS's widest vector instructions);
- `avx2`: the kernels of a CPU without AVX-512 (XLA_FLAGS=--xla_cpu_max_isa=AVX2, OPENBLAS_CORETYPE=Haswell);
- `ulp`: this machine's kernels, every float32 initial weight drawn with `jax.random.normal` moved by one ulp
  (a factor 1 + 2⁻²³), the smallest change a float32 training can see.

Prints, per experiment and class, the largest relative difference |a − b| / max(|a|, |b|) over numbers more
than 1e-9 apart. Run it after a change that moves trained numbers, and set the tolerances in
tests/tolerances.py from what it prints:

    .venv/bin/python -m tests.calibrate_reference [FOLDER]
"""

from __future__ import annotations

import collections
import math
import os
import pathlib
import subprocess
import sys
import tempfile

SETTINGS = {
    "native": {},
    "avx2": {
        "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1 --xla_cpu_max_isa=AVX2",
        "OPENBLAS_CORETYPE": "Haswell",
    },  # fmt: skip
    "ulp": {"NATURAL_TASKS_NUDGE_INIT": "1"},
}
#: Differences at or below this are not reported (rounding of numbers near 0).
FLOOR = 1e-9
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}  # fmt: skip

#: The child process: runs every tiny profile into argv[1] (with the init nudged when asked).
CHILD = """
import os, sys
if os.environ.get("NATURAL_TASKS_NUDGE_INIT"):
    import jax, jax.numpy as jnp
    _normal = jax.random.normal
    jax.random.normal = lambda *a, **k: (_normal(*a, **k) * jnp.float32(1 + 2**-23)).astype(_normal(*a, **k).dtype)
import simulations as sim
for name in sim.experiment_names():
    sim.run_experiment(name, sim.get_experiment(name).profiles["tiny"], sys.argv[1], progress=False)
"""


def run_tiny(folder: pathlib.Path, env: dict[str, str]) -> pathlib.Path:
    """Every tiny profile computed in a fresh process under `env`, into `folder`."""
    subprocess.run([sys.executable, "-c", CHILD, str(folder)], env=os.environ | ONE_THREAD | env, check=True)
    return folder


def stored_rows(folder: pathlib.Path, name: str) -> list:
    import simulations as sim
    from simulations.runs import read_rows

    (run,) = [p for p in folder.iterdir() if p.name.startswith(f"{name}-")]
    return read_rows(run / "rows.csv", sim.get_experiment(name).Row)


def spreads(a: pathlib.Path, b: pathlib.Path) -> dict[tuple[str, str], tuple[float, str]]:
    """{(experiment, class): (largest relative difference, where)} between the rows stored under a and b."""
    import dataclasses

    import simulations as sim

    from .reproducibility import drift_class

    out: dict[tuple[str, str], tuple[float, str]] = collections.defaultdict(lambda: (0.0, ""))
    for name in sim.experiment_names():
        fields = [f.name for f in dataclasses.fields(sim.get_experiment(name).Row)]
        for i, (x, y) in enumerate(zip(stored_rows(a, name), stored_rows(b, name), strict=True)):
            for field in fields:
                u, v = getattr(x, field), getattr(y, field)
                if not isinstance(u, float) or u == v or (math.isnan(u) and math.isnan(v)):
                    continue
                cls = drift_class(name, x, field)
                if abs(u - v) <= FLOOR:
                    continue
                d = abs(u - v) / max(abs(u), abs(v)) if math.isfinite(u - v) else math.inf
                if d > out[name, cls][0]:
                    out[name, cls] = (d, f"row {i} {field}: {u:.9g} vs {v:.9g}")
    return out


def main(argv: list[str]) -> int:
    root = pathlib.Path(argv[0]) if argv else pathlib.Path(tempfile.mkdtemp(prefix="natural-tasks-drift-"))
    folders = {k: run_tiny(root / k, env) for k, env in SETTINGS.items()}
    print(f"tiny rows in {root}; largest relative difference from `native` over numbers more than "
          f"{FLOOR:g} apart, by experiment and class")  # fmt: skip
    for other in ("avx2", "ulp"):
        for (name, cls), (d, where) in sorted(spreads(folders["native"], folders[other]).items()):
            print(f"{other:<5} {name:<17} {cls:<8} {d:9.2g}  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
