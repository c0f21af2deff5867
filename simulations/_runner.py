"""Run an experiment through the results store, with a progress bar, and draw its figure."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from tqdm import tqdm

from ._config import override, to_dict
from ._store import RunStore, dumps, loads
from .experiments import get_experiment


def make_config(name: str, profile: str = "standard", seed: int | None = None, sets: list[str] | None = None):
    """The config of `name` for a profile, with `--seed` and `--set key=value` applied (validated)."""
    exp = get_experiment(name)
    if profile not in exp.profiles:
        raise ValueError(f"unknown profile {profile!r} for {name} (known: {', '.join(exp.profiles)})")
    cfg = exp.profiles[profile]
    if seed is not None:
        cfg = dataclasses.replace(cfg, seeds=(seed,))
    return override(cfg, sets or [])


def run_experiment(name: str, cfg, results: str | Path = "results", force: bool = False, progress: bool = True):
    """Run (or reuse) `name` under `cfg`; returns (rows, summary, store).

    Seeds already finished (an interrupted earlier call) are loaded, not
    recomputed; a finished run is reused whole unless `force`.
    """
    exp = get_experiment(name)
    store = RunStore(results, name, cfg, exp.Row)
    store.prepare(force=force)
    if store.finished():
        # Rows are the data; the summary (slopes, verdicts) is recomputed from
        # them so it always reflects the current analysis code.
        rows, stored = store.load()
        summary = _summarize(exp, cfg, rows, stored.get("seconds", float("nan")))
        # compared as JSON text: NaN != NaN would force a rewrite on every reuse
        if dumps(summary) != dumps(stored):
            store.finish(rows, summary)
        return rows, summary, store
    start = time.perf_counter()
    todo = [s for s in cfg.seeds if not store.has_part(s)]
    units = exp.work_units(cfg)
    with tqdm(
        total=units * len(cfg.seeds),
        initial=units * (len(cfg.seeds) - len(todo)),
        desc=name,
        disable=not progress,
        leave=True,
        dynamic_ncols=True,
    ) as bar:
        for seed in todo:
            bar.set_postfix(seed=seed)
            rows = exp.run_seed(cfg, seed, tick=lambda: bar.update(1))
            store.save_part(seed, rows)
    rows = [r for s in cfg.seeds for r in store.load_part(s)]
    summary = _summarize(exp, cfg, rows, round(time.perf_counter() - start, 2))
    store.finish(rows, summary)
    return rows, summary, store


def _summarize(exp, cfg, rows, seconds) -> dict:
    from . import __version__

    summary = exp.summarize(cfg, rows)
    summary.update(
        config=to_dict(cfg),
        seeds=list(cfg.seeds),
        package_version=__version__,
        seconds=seconds,
        claims=[c.to_dict() for c in exp.claims(cfg, summary)],
    )
    # through JSON once, so a fresh summary compares equal to a stored one
    return loads(dumps(summary))


def draw(name: str, rows, summary, figures: str | Path = "figures") -> list[Path]:
    return get_experiment(name).plot(rows, summary, Path(figures) / name)
