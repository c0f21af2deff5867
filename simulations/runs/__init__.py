"""Running experiments: the config overlay, the results store, the runner, sweeps.

The floor above `simulations.experiments` (it reads the registry and runs
what it finds): `override` applies `--set key=value` to a frozen config
(validated again), `RunStore` is one results folder per config hash (atomic
files, per-seed locks, generations, resuming), `run_experiment` computes or
reuses a run and `draw` redraws its figure from stored rows and `sweep` runs a
grid of configs serially or on Dask (docs/design.md §3, §5).
"""

from . import sweep
from ._config import config_hash, override, to_dict
from ._helper import helper_command, helpers
from ._memory import MemoryLimit, cgroup_limits, memory_limits, tightest_limit
from ._runner import (
    Run,
    available_memory,
    check_memory,
    check_output_folder,
    check_output_path,
    compute_seed,
    draw,
    make_config,
    memory_parts,
    run_experiment,
    stored_summary,
)
from ._store import (
    NONFINITE,
    RUN_FOLDER,
    CorruptResults,
    RunStore,
    dumps,
    is_run_folder,
    loads,
    parse_rows,
    read_rows,
    results_folder_of,
    rows_text,
)

__all__ = [
    "NONFINITE",
    "RUN_FOLDER",
    "MemoryLimit",
    "CorruptResults",
    "Run",
    "RunStore",
    "available_memory",
    "cgroup_limits",
    "check_memory",
    "check_output_folder",
    "check_output_path",
    "compute_seed",
    "config_hash",
    "draw",
    "helper_command",
    "helpers",
    "dumps",
    "is_run_folder",
    "loads",
    "make_config",
    "memory_parts",
    "memory_limits",
    "override",
    "parse_rows",
    "read_rows",
    "results_folder_of",
    "rows_text",
    "run_experiment",
    "stored_summary",
    "sweep",
    "tightest_limit",
    "to_dict",
]
