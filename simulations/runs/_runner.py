"""Run an experiment through the results store, with a progress bar, and draw its figure."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, cast

from ..core import __version__, check_output_file, thread_settings
from ..core import progress as progress_bar
from ..experiments import Experiment, RunConfig, get_experiment
from ._config import override, to_dict
from ._memory import ADDRESS_SPACE, memory_limits, tightest_limit
from ._store import RunStore, dumps, loads, results_folder_of

#: Bytes of one float64 N × V array.
_NV = 8


class Run(NamedTuple):
    """What `run_experiment` returns.

    rows: every seed's rows.  summary: the summary with its claims.
    store: the `RunStore`.  status: "computed", "resumed" (some seeds were
    finished by an earlier, interrupted call, or by another process) or
    "reused" (all were).  computed: the seeds this call computed.
    rebuilt: derived files (rows.csv, summary.json) that were missing or
    damaged and were rebuilt from the parts.
    """

    rows: list
    summary: dict
    store: RunStore
    status: str
    computed: list[int]
    rebuilt: list[str]


def make_config(
    name: str, profile: str = "standard", seed: int | None = None, sets: list[str] | None = None
) -> RunConfig:
    """The config of `name` for a profile, with `--seed` and `--set key=value` applied (validated)."""
    exp = get_experiment(name)
    if profile not in exp.profiles:
        raise ValueError(f"unknown profile {profile!r} for {name} (known: {', '.join(exp.profiles)})")
    cfg = exp.profiles[profile]
    if seed is not None:
        cfg = dataclasses.replace(cfg, seeds=(seed,))
    cfg = override(cfg, sets or [])
    check_memory(name, cfg)
    return cfg


def memory_parts(name: str, cfg: RunConfig) -> list[tuple[str, float]]:
    """The estimated peak of `name` under `cfg`, by part ((what, bytes), largest first: `Experiment.memory_parts`)."""
    return sorted(get_experiment(name).memory_parts(cfg), key=lambda part: -part[1])


def check_memory(name: str, cfg: RunConfig) -> None:
    """Refuse, before any allocation, a config whose peak needs more memory than is available.

    The estimate is the sum of the experiment's parts (`Experiment.memory_parts`: float64 N × V arrays of its
    world, and for the sequence experiments the filtering of every prefix, the ends after each suffix, a
    training step's logits and activations, the corpus); what is available is the smallest of free RAM, the
    memory cgroup's limit and the address-space limit (`tightest_limit`). The message names the largest parts.
    """
    parts = memory_parts(name, cfg)
    need = sum(b for _, b in parts)
    for limit in memory_limits():
        # under ulimit -v, XLA's CPU client reserves about 1 GiB of address space when it starts (measured: a
        # tiny run aborts in C++ at 1.5 GB and runs at 2 GB), which a count of arrays does not see
        extra = XLA_ADDRESS_SPACE if limit.source == ADDRESS_SPACE and not _jax_started() else 0
        if need + extra > limit.available:
            largest = "; ".join(f"{what}: {b / 2**30:.3g} GiB" for what, b in parts[:2] if b > 0)
            raise ValueError(
                f"{name} needs about {(need + extra) / 2**30:.3g} GiB"
                + (", with JAX's start" if extra else "")
                + f", but {limit.available / 2**30:.3g} GiB are available under {limit.source}; the largest parts: "
                + largest
                + "; lower those sizes"
                + (" or raise the limit" if extra else "")
            )


#: Address space XLA's CPU client reserves when JAX starts (measured 1.0 GiB on jax 0.10; a margin above it).
XLA_ADDRESS_SPACE = int(1.25 * 2**30)


def _jax_started() -> bool:
    """Has this process started a JAX backend (whose address space is then in VmSize already)?"""
    import sys

    bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(getattr(bridge, "_backends", None))


def available_memory() -> int:
    """Bytes of memory available now: the smallest of free RAM, the cgroup's limit and RLIMIT_AS."""
    return tightest_limit().available


def run_experiment(
    name: str, cfg: RunConfig, results: str | Path = "results", force: bool = False, progress: bool = True
) -> Run:
    """Run (or reuse) `name` under `cfg`.

    Seeds finished by an earlier call (an interrupted run, or another process
    working on the same folder) are loaded, not recomputed; a finished run is
    reused whole unless `force`, which computes a new generation beside the
    finished one and replaces it only when complete.
    """
    exp = get_experiment(name)
    check_memory(name, cfg)
    store = RunStore(results, name, cfg, exp.Row)
    store.prepare()
    with store.folder_lock():
        gen = store.generation(force)
        if store.current(tolerate_damage=force) == gen and all(store.has_part(gen, s) for s in cfg.seeds):
            rows, summary = _collect(exp, cfg, store, gen)
            return Run(rows, summary, store, "reused", [], store.write_derived(rows, summary))
    computed: list[int] = []
    try:
        _compute(exp, cfg, store, gen, progress, computed)
    except BaseException:
        with store.folder_lock():
            store.discard_if_empty(gen, cfg.seeds)
        raise
    with store.folder_lock():
        rows, summary = _collect(exp, cfg, store, gen)
        store.complete(gen, cfg.seeds)
        rebuilt = store.write_derived(rows, summary)
    status = "computed" if sorted(computed) == sorted(cfg.seeds) else "resumed"
    return Run(rows, summary, store, status, computed, rebuilt)


def _compute(
    exp: Experiment[Any], cfg: RunConfig, store: RunStore, gen: str, progress: bool, computed: list[int]
) -> None:
    """Compute every seed without a part: free seeds first, then wait for those another process holds."""
    units = exp.work_units(cfg)
    todo = [s for s in cfg.seeds if not store.has_part(gen, s)]
    with progress_bar(units * len(cfg.seeds), exp.name, progress, initial=units * (len(cfg.seeds) - len(todo))) as bar:

        def one(seed: int, blocking: bool) -> bool:
            bar.set_postfix(seed=seed)
            got, done = compute_seed(exp, cfg, store, gen, seed, blocking, tick=lambda: bar.update(1))
            if done:
                computed.append(seed)
            return got

        for seed in [s for s in todo if not one(s, blocking=False)]:
            bar.set_postfix(waiting_for_seed=seed)
            one(seed, blocking=True)


def compute_seed(
    exp: Experiment[Any],
    cfg: RunConfig,
    store: RunStore,
    gen: str,
    seed: int,
    blocking: bool,
    tick: Callable[[], None] = lambda: None,
) -> tuple[bool, bool]:
    """Compute and save one seed's part of `gen` under its seed lock; returns (lock acquired, computed here).

    A part another process finished meanwhile is left as it is (not computed again).
    """
    with store.seed_lock(gen, seed, blocking) as got:
        if not got or store.has_part(gen, seed):
            return got, False
        start = time.perf_counter()
        if exp.stores_files:  # model checkpoints beside the rows, in the same generation
            folder = store.files_path(gen, seed)
            folder.mkdir(parents=True, exist_ok=True)
            rows = cast(Any, exp).run_seed(cfg, seed, tick=tick, folder=folder)  # the contract's keyword for these
        else:
            rows = exp.run_seed(cfg, seed, tick=tick)
        info = dict(seconds=round(time.perf_counter() - start, 2), threads=thread_settings())
        store.save_part(gen, seed, rows, info)
        return True, True


def stored_summary(name: str, cfg: RunConfig, store: RunStore, gen: str) -> tuple[list, dict]:
    """(rows, summary) of a finished generation, recomputed from its parts (each checked against its manifest),
    as `run_experiment` writes them; nothing is written.

    Raises:
      CorruptResults: a part is damaged.
    """
    return _collect(get_experiment(name), cfg, store, gen)


def _collect(exp: Experiment[Any], cfg: RunConfig, store: RunStore, gen: str) -> tuple[list, dict]:
    """Every seed's checked rows and the summary recomputed from them (call under the folder lock)."""
    rows, manifests = [], []
    for seed in cfg.seeds:
        part, manifest = store.load_part(gen, seed)
        rows += part
        manifests.append(manifest)
    return rows, _summarize(exp, cfg, rows, manifests)


def _summarize(exp: Experiment[Any], cfg: RunConfig, rows: list, manifests: list[dict]) -> dict:
    summary = exp.summarize(cfg, rows)
    threads = {dumps(m.get("threads")) for m in manifests}
    summary.update(
        config=to_dict(cfg),
        seeds=list(cfg.seeds),
        package_version=__version__,
        seconds=round(sum(m.get("seconds", 0.0) for m in manifests), 2),
        threads=[loads(t) for t in sorted(threads)],
        claims=[c.to_dict() for c in exp.all_claims(cfg, summary)],
    )
    # through JSON once, so a fresh summary compares equal to a stored one
    return loads(dumps(summary))


def draw(name: str, rows: list, summary: dict, figures: str | Path = "figures") -> list[Path]:
    return get_experiment(name).plot(rows, summary, Path(figures) / name)


def check_output_path(path: str | Path, what: str) -> Path:
    """The file `path` a command will write, checked before any work: new, or a page or figure this package
    wrote there before (`simulations.core.check_output_file`), outside every results folder, in a folder that is
    created if needed and writable.

    Raises:
      ValueError: one line naming `what`, the path and why.
    """
    target = check_output_file(path, what)
    if (inside := results_folder_of(target)) is not None:
        raise ValueError(f"{what}: {target} lies inside the results folder {inside}, where only the results store "
                         "writes; name a file elsewhere")  # fmt: skip
    check_output_folder(target.parent, what)
    return target


def check_output_folder(folder: str | Path, what: str = "figures") -> Path:
    """`folder` created if needed and checked writable, before any computation."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{what} folder {folder} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"{what} folder {folder} is not writable: {err.strerror}") from None
    return folder
