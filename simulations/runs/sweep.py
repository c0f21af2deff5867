"""Sweeps: one experiment over a product of config overrides, serially or on a Dask cluster.

A sweep expands `--grid key=v1,v2 …` into points (one config each), splits
every point into its seeds, and runs one task per (point, seed) through the
results store: the same per-seed part, under the same seed lock, that
`run_experiment` writes. Then each point is collected as a plain run would be
(rows.csv, summary.json, claims), and the sweep writes one table (CSV) and a
summary figure. Because every part is computed by the same function from
(config, seed) alone, a sweep on a cluster gives rows byte-identical to the
serial run, and an interrupted sweep resumes from the parts it finished.

On a cluster (`workers=N` starts a `distributed.LocalCluster` of N
one-thread processes; `scheduler="tcp://host:port"` joins a running one),
tasks go to the workers; a task whose worker dies is rescheduled by the Dask
scheduler, and the seed lock keeps two workers from computing one part.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ..core import progress as progress_bar
from ..core import write_text
from ..experiments import RunConfig, claims_by_id, get_experiment
from . import _runner
from ._config import override
from ._store import RunStore

#: Columns every sweep table starts with (then the swept keys, the claims, the metrics).
_LEAD = ("point", "seeds", "status", "seconds")


@dataclasses.dataclass(frozen=True)
class Point:
    """One grid point: the swept values, in grid order, and the validated config they give."""

    index: int
    values: tuple[tuple[str, str], ...]
    cfg: RunConfig

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values)


@dataclasses.dataclass
class SweepResult:
    """What `run_sweep` returns: the points, each point's stored summary, and the table's path."""

    name: str
    axes: list[str]
    points: list[Point]
    summaries: list[dict]
    statuses: list[str]
    table: list[dict]
    table_path: Path | None = None

    def failed(self) -> list[str]:
        """`point:claim id` of every claim that FAILed."""
        return self.with_verdict("FAIL")

    def with_verdict(self, verdict: str) -> list[str]:
        """`point:claim id` of every claim with this verdict (PASS, FAIL or INCONCLUSIVE)."""
        return [
            f"{p.index}:{c['id']}"
            for p, s in zip(self.points, self.summaries, strict=True)
            for c in s["claims"]
            if c["verdict"] == verdict
        ]


def parse_grid(items: Iterable[str]) -> list[tuple[str, list[str]]]:
    """`["key=v1,v2", …]` as [(key, [v1, v2]), …].

    Values are split on ';' when the text holds one (for list-valued fields:
    `eps_targets=1e-3,1e-2;1e-4`), otherwise on ','.
    """
    grid: list[tuple[str, list[str]]] = []
    for item in items:
        if "=" not in item:
            raise ValueError(f"--grid expects key=v1,v2,…, got {item!r}")
        key, text = (t.strip() for t in item.split("=", 1))
        values = [v.strip() for v in text.split(";" if ";" in text else ",") if v.strip()]
        if not key or not values:
            raise ValueError(f"--grid expects key=v1,v2,…, got {item!r}")
        if len(set(values)) != len(values):
            raise ValueError(f"--grid {key}: repeated value in {text!r}")
        if key in (k for k, _ in grid):
            raise ValueError(f"--grid {key}: given twice")
        grid.append((key, values))
    if not grid:
        raise ValueError("a sweep needs at least one --grid key=v1,v2,…")
    return grid


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0-31', '0,2,5' or '0-3,7' as a tuple of distinct seeds, in order."""
    seeds: list[int] = []
    try:
        for part in (t.strip() for t in text.split(",")):
            lo, _, hi = part.partition("-")
            first, last = int(lo), int(hi) if hi else int(lo)
            if last < first or first < 0 or last > 2**31 - 1 or last - first >= 100_000:
                raise ValueError
            seeds += range(first, last + 1)
    except ValueError:
        raise ValueError(
            f"--seeds expects a range such as 0-31 or a list such as 0,2,5 (seeds in [0, 2^31 - 1], "
            f"at most 100,000 of them), got {text!r}"
        ) from None
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds {text!r} names a seed twice")
    if not all(0 <= s <= 2**31 - 1 for s in seeds):
        raise ValueError(f"--seeds must be in [0, {2**31 - 1}], got {text!r}")
    return tuple(seeds)


def expand(
    name: str,
    grid: Sequence[tuple[str, Sequence[str]]],
    profile: str = "quick",
    sets: Sequence[str] = (),
    seeds: tuple[int, ...] | None = None,
) -> list[Point]:
    """Every point of the grid's product, each config validated (and memory-checked) before any work."""
    set_keys = {item.split("=", 1)[0].strip() for item in sets}
    for key, _ in grid:
        if key in set_keys:
            raise ValueError(f"--grid {key}: also given with --set; give it in one place")
        if key == "seeds":
            raise ValueError("--grid seeds: give the seeds with --seeds")
    base = _runner.make_config(name, profile, None, list(sets))
    if seeds is not None:
        base = dataclasses.replace(base, seeds=seeds)
    points: list[Point] = []
    for index, combo in enumerate(itertools.product(*(values for _, values in grid))):
        values = tuple((key, v) for (key, _), v in zip(grid, combo, strict=True))
        try:
            cfg = override(base, [f"{k}={v}" for k, v in values])
        except ValueError as err:  # the overlay speaks of --set; these values came from --grid
            raise ValueError(str(err).replace("--set ", "--grid ", 1)) from None
        _runner.check_memory(name, cfg)
        if any(p.cfg == cfg for p in points):
            raise ValueError(f"--grid: {', '.join(f'{k}={v}' for k, v in values)} repeats an earlier point")
        points.append(Point(index, values, cfg))
    return points


def seed_task(name: str, cfg: RunConfig, results: str, seed: int, force: bool, threads: int | None = None) -> int:
    """Compute one (point, seed) part into the store (the unit a worker runs); returns the seed.

    Safe to run twice or on two workers at once: the seed lock lets one compute
    it and the other find it finished.
    """
    if threads is not None:
        from ..core import limit_threads

        limit_threads(threads)
    exp = get_experiment(name)
    store = RunStore(results, name, cfg, exp.Row)
    store.prepare()
    with store.folder_lock():
        gen = store.generation(force)
    _runner.compute_seed(exp, cfg, store, gen, seed, blocking=True)
    return seed


def run_sweep(
    name: str,
    points: list[Point],
    results: str | Path = "results",
    force: bool = False,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    threads: int = 1,
    task: Callable[..., int] = seed_task,
    metric: str | None = None,
) -> SweepResult:
    """Run every (point, seed) task, then collect each point and write the sweep table to `out`.

    workers / scheduler: run the tasks on a Dask cluster (a new LocalCluster
    of `workers` processes, or the scheduler at that address); neither: in
    this process, one after another. `task` is the unit of work (replaced only
    in tests, to kill a worker on purpose). `metric`: a summary number the
    caller will plot; the first point is computed (or read) before the others
    and a metric its summary lacks is refused then, not after the whole sweep.
    """
    if workers is not None and scheduler is not None:
        raise ValueError("give --workers or --scheduler, not both")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if out is not None:
        out = _runner.check_output_folder(out, "sweep output")
    exp = get_experiment(name)
    jobs, statuses = [], []
    for point in points:
        store = RunStore(results, name, point.cfg, exp.Row)
        store.prepare()  # every results folder checked writable before any work
        with store.folder_lock():
            gen = store.generation(force)
            done = [s for s in point.cfg.seeds if store.has_part(gen, s)]
            finished = store.current(tolerate_damage=force) == gen and len(done) == len(point.cfg.seeds)
        statuses.append("reused" if finished else "resumed" if done else "computed")
        jobs += [(point, seed) for seed in point.cfg.seeds if seed not in done]

    def work(todo: list) -> None:
        if workers is None and scheduler is None:
            _serial(name, todo, results, force, progress, task)
        elif todo:  # no cluster is started for a sweep whose parts are all stored
            _on_dask(name, todo, results, force, progress, threads, task, workers, scheduler)

    if metric is not None and points:
        work([j for j in jobs if j[0] is points[0]])
        first = _runner.run_experiment(name, points[0].cfg, results, force, progress=False).summary
        known = sorted(metrics(first))
        if metric not in known:
            raise ValueError(f"unknown metric {metric!r} for {name} (known: {', '.join(known)})")
        jobs = [j for j in jobs if j[0] is not points[0]]
    work(jobs)
    # every part is there: this collects, checks and writes the derived files of each point
    summaries = [_runner.run_experiment(name, p.cfg, results, force, progress=False).summary for p in points]
    axes = [k for k, _ in points[0].values] if points else []
    result = SweepResult(name, axes, points, summaries, statuses, sweep_table(name, points, summaries, statuses))
    if out is not None:
        result.table_path = Path(out) / f"{name}-sweep.csv"
        write_text(result.table_path, table_csv(result.table))
    return result


def _serial(name, jobs, results, force, progress, task) -> None:
    with progress_bar(len(jobs), f"sweep {name}", progress) as bar:
        for point, seed in jobs:
            bar.set_postfix(point=point.index, seed=seed)
            task(name, point.cfg, str(results), seed, force)
            bar.update(1)


def _on_dask(name, jobs, results, force, progress, threads, task, workers, scheduler) -> None:
    try:
        from distributed import Client, KilledWorker, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - a dependency of the package
        raise ValueError("a sweep on a cluster needs the 'distributed' package (pip install distributed)") from None
    import contextlib

    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            client = stack.enter_context(_connect(Client, scheduler))
        else:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
                )
            )
            client = stack.enter_context(Client(cluster))
        futures = [
            client.submit(
                task,
                name,
                point.cfg,
                str(results),
                seed,
                force,
                threads,
                pure=False,
                key=f"{name}-p{point.index}-s{seed}",
            )
            for point, seed in jobs
        ]
        try:
            with progress_bar(len(futures), f"sweep {name} on Dask", progress) as bar:
                for future in as_completed(futures):
                    future.result()  # a task's error (bad config, damaged part) is raised here
                    bar.update(1)
        except KilledWorker as err:
            raise ValueError(
                f"a sweep task killed its worker every time it ran ({err.task}): out of memory? "
                "the finished parts are kept; lower the sizes or give the workers more memory"
            ) from None
        finally:
            client.cancel(futures)


#: Seconds to wait for a Dask scheduler's answer, handshake included.
CONNECT_SECONDS = 30


def _connect(client_type, scheduler: str):
    """A Client of the scheduler at `scheduler`, or a ValueError within `CONNECT_SECONDS`.

    Dask's own timeout covers opening the connection, not the handshake after it, so a listener that
    is not a scheduler (the dashboard's port, say) would hang for ever; the connection is made in a
    daemon thread that is abandoned when it does not answer in time.
    """
    import socket
    import threading
    from urllib.parse import urlsplit

    where = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    if where.hostname and where.port:  # a closed port answers at once: say so now, not after Dask's retries
        try:
            socket.create_connection((where.hostname, where.port), timeout=5).close()
        except ConnectionRefusedError:
            raise ValueError(f"cannot reach the Dask scheduler at {scheduler}: connection refused") from None
        except OSError:
            pass  # a timeout or an unknown host: Dask says which, below
    box: dict = {}

    def connect() -> None:
        try:
            box["client"] = client_type(scheduler, timeout=f"{CONNECT_SECONDS}s")
        except (OSError, TimeoutError, ValueError) as err:
            box["error"] = err

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(CONNECT_SECONDS + 5)
    if "client" in box:
        return box["client"]
    why = f": {box['error']}" if "error" in box else f" within {CONNECT_SECONDS} s (is it a Dask scheduler's address?)"
    raise ValueError(f"cannot reach the Dask scheduler at {scheduler}{why}")


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out[prefix] = value


def metrics(summary: dict) -> dict[str, float]:
    """The numeric values of a summary, nested keys joined by '.' (e.g. `slopes.p_f.slope`)."""
    skip = {"seconds", "n_rows", "config", "seeds", "threads", "claims"}
    out: dict[str, float] = {}
    for key, value in summary.items():
        if key not in skip:
            _flatten(key, value, out)
    return out


def sweep_table(name: str, points: list[Point], summaries: list[dict], statuses: list[str]) -> list[dict]:
    """One row per point: the swept values, each claim's verdict (`claim:<id>`), then every metric."""
    exp = get_experiment(name)
    rows = []
    for point, summary, status in zip(points, summaries, statuses, strict=True):
        found = claims_by_id(summary)
        row = dict(point=point.index, seeds=" ".join(map(str, summary["seeds"])), status=status)
        row["seconds"] = summary["seconds"]
        row.update(point.values)
        row.update({f"claim:{cid}": found[cid]["verdict"] if cid in found else "" for cid in exp.claim_statements})
        row.update(metrics(summary))
        rows.append(row)
    return rows


def table_csv(table: list[dict]) -> str:
    columns: list[str] = []
    for row in table:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return buf.getvalue()


def format_table(result: SweepResult, metric: str | None = None) -> str:
    """The sweep as text: one line per point, its swept values, the metric if asked, each claim's verdict."""
    claim_ids = list(get_experiment(result.name).claim_statements)
    head = ["point", *result.axes] + ([metric] if metric else []) + claim_ids
    lines = [[str(row["point"])] + [str(row[a]) for a in result.axes]
             + ([f"{row.get(metric, float('nan')):.4g}"] if metric else [])
             + [row[f"claim:{c}"] or "-" for c in claim_ids] for row in result.table]  # fmt: skip
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head), *(fmt.format(*line) for line in lines)])


def check_metric(result: SweepResult, metric: str) -> None:
    known = sorted(set().union(*(metrics(s) for s in result.summaries)))
    if metric not in known:
        raise ValueError(f"unknown metric {metric!r} for {result.name} (known: {', '.join(known)})")


def plot_sweep(result: SweepResult, stem: str | Path, metric: str | None = None, axis: str | None = None) -> list[Path]:
    """The summary figure: `metric` against the swept `axis` (one line per value of the other axes),
    and every claim's verdict at every point (green PASS, red FAIL, orange INCONCLUSIVE)."""
    from ..experiments.kit import finish_figure, new_figure

    axis = axis or result.axes[0]
    if axis not in result.axes:
        raise ValueError(f"--axis {axis!r} is not swept (swept: {', '.join(result.axes)})")
    claim_ids = list(get_experiment(result.name).claim_statements)
    fig, axes = new_figure(2 if metric else 1, width=5.2)
    panels = list(axes[0])
    if metric:
        check_metric(result, metric)
        _metric_panel(panels.pop(0), result, metric, axis)
    ax = panels[0]
    colours = {"PASS": "#2ca02c", "FAIL": "#d62728", "INCONCLUSIVE": "#ff7f0e", "": "#cccccc"}
    for j, row in enumerate(result.table):
        for i, cid in enumerate(claim_ids):
            verdict = row[f"claim:{cid}"]
            ax.add_patch(_rectangle(j, i, colours[verdict]))
            ax.text(j + 0.5, i + 0.5, {"INCONCLUSIVE": "INCONCL."}.get(verdict, verdict or "n/a"),
                    ha="center", va="center", fontsize=6)  # fmt: skip
    ax.set_xlim(0, len(result.table))
    ax.set_ylim(len(claim_ids), 0)  # the first claim on top
    ax.set_xticks([j + 0.5 for j in range(len(result.table))])
    ax.set_xticklabels(["\n".join(str(row[a]) for a in result.axes) for row in result.table], fontsize=6)
    ax.set_yticks([i + 0.5 for i in range(len(claim_ids))])
    ax.set_yticklabels(claim_ids, fontsize=7)
    ax.set_xlabel("point: " + " / ".join(result.axes))
    ax.set_title("claims at each point")
    ax.grid(False)
    n_fail, n_open = len(result.failed()), len(result.with_verdict("INCONCLUSIVE"))
    counts = [f"{n_fail} claim verdict(s) FAIL"] * bool(n_fail) + [f"{n_open} INCONCLUSIVE"] * bool(n_open)
    title = f"sweep of {result.name} over {' × '.join(result.axes)}: {len(result.points)} points, " + (
        ", ".join(counts) or "every claim PASSes"
    )
    return finish_figure(fig, title, "FAIL" if n_fail else "INCONCLUSIVE" if n_open else "PASS", stem)


def _rectangle(x, y, colour):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), 1, 1, facecolor=colour, edgecolor="white", alpha=0.6)


def _metric_panel(ax, result: SweepResult, metric: str, axis: str) -> None:
    others = [a for a in result.axes if a != axis]
    lines: dict[tuple, list[tuple[float, float, bool]]] = {}
    for row, summary in zip(result.table, result.summaries, strict=True):
        try:
            x = float(row[axis])
        except ValueError:
            raise ValueError(f"--axis {axis}: values must be numbers to plot, got {row[axis]!r}") from None
        ok = all(c["verdict"] != "FAIL" for c in summary["claims"])
        lines.setdefault(tuple(row[a] for a in others), []).append((x, row.get(metric, math.nan), ok))
    for key, pts in lines.items():
        pts.sort()
        label = ", ".join(f"{a}={v}" for a, v in zip(others, key, strict=True)) or None
        (line,) = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        bad = [p for p in pts if not p[2]]
        if bad:
            ax.plot([p[0] for p in bad], [p[1] for p in bad], "x", color="#d62728", markersize=9)
    xs = [float(row[axis]) for row in result.table]
    if min(xs) > 0 and max(xs) / min(xs) >= 10:
        ax.set_xscale("log")
    ax.set_xlabel(axis)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} (red x: a claim FAILs at that point)", fontsize=8)
    if others:
        ax.legend(loc="best", fontsize=7)
