"""The stored runs of a results folder, listed (`natural-tasks results`) and shown on one page (`natural-tasks report`).

A results folder (`results/<experiment>-<config hash>/`, laid out by `simulations.runs.RunStore`) fills up
with folders named by hashes. `find_runs` reads each one without changing anything: its experiment, the
profile its config is closest to and the `--set` overrides that make the difference, its seeds, whether it
finished, and the verdicts of its claims; `format_runs` prints them as a table. `write_report` writes one
self-contained HTML page (no server, no network, no JavaScript): the same table as its contents, then, per
finished run, its figures redrawn from its checked parts (`simulations.runs.draw`) and embedded as PNG, its
claims, and its config's difference from its profile.

The top floor of `simulations`: it reads `simulations.runs` and `simulations.experiments`; only the command
line imports it.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import html
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .core import MARKS, __version__, atomic_write, printable, read_regular
from .experiments import REGISTRY, RunConfig, get_experiment
from .runs import (
    RUN_FOLDER,
    CorruptResults,
    RunStore,
    check_output_path,
    config_hash,
    draw,
    dumps,
    is_run_folder,
    loads,
    stored_summary,
    to_dict,
)

#: The verdicts a claim can have, in the order the tables count them.
VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")
#: The columns of `format_runs` and of the report's contents.
COLUMNS = ("experiment", "profile", "overrides", "seeds", "verdicts", "when", "folder")
#: How to make runs, for a folder that holds none.
HOW_TO_RUN = "make some with `make quick` (every experiment on the quick profile) or `natural-tasks run NAME`"


@dataclasses.dataclass(frozen=True)
class StoredRun:
    """One results folder as `find_runs` read it.

    folder: the folder.  experiment: the experiment it is stored under.
    state: "finished"; "incomplete" (no summary, or fewer finished seeds than
      seeds: the command that made it resumes it); "damaged" (`why` says what:
      config, pointer or summary); "unregistered" (no experiment has its name
      any more); or "other version" (its config has fields this version of
      natural-tasks does not, or lacks some it has: no figure can be redrawn).
    profile: the profile whose config is closest to the stored one ("" when unknown).
    overrides: the `--set key=value` assignments that turn the profile's config into
      the stored one (the seeds apart).
    seeds: the stored config's seeds.  done: how many of them have a finished part.
    summary: the stored summary (of a finished run).  written: when summary.json was
      written (seconds since the epoch).  config: the stored config.
    store, generation: where the finished parts are (`load_rows` reads them).
    """

    folder: Path
    experiment: str
    state: str
    why: str = ""
    profile: str = ""
    overrides: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()
    done: int = 0
    summary: dict | None = None
    written: float | None = None
    config: dict | None = None
    store: RunStore | None = None
    generation: str | None = None
    run_config: Any = None  # the config object the folder's hash names (None when it cannot be rebuilt)

    @property
    def verdicts(self) -> str:
        """The verdicts column: each verdict's count and the ids of the claims that did not PASS, or why there
        are none."""
        if self.state == "incomplete":
            return f"incomplete: {self.done}/{len(self.seeds)} seeds done"
        if self.state == "damaged":
            return f"damaged ({self.why})"
        if self.state == "unregistered":
            return "experiment no longer registered"
        counts = verdict_counts(self.summary["claims"]) if self.summary else "no summary"
        return counts if self.state == "finished" else f"{self.state}: {counts}"

    @property
    def when(self) -> str:
        """When the summary was written, local time to the minute ("-" for a run without one)."""
        if self.written is None:
            return "-"
        return datetime.datetime.fromtimestamp(self.written).strftime("%Y-%m-%d %H:%M")

    def cells(self) -> list[str]:
        """The run's row of `COLUMNS`, every string read from the folder made printable (`core.printable`: no
        escape sequence from a claim id or a prompt word reaches the terminal)."""
        cells = (self.experiment, self.profile or "-", " ".join(self.overrides) or "-", seeds_text(self.seeds) or "-",
                 self.verdicts, self.when, self.folder.name)  # fmt: skip
        return [printable(c) for c in cells]


def find_runs(results: str | Path) -> list[StoredRun]:
    """Every results folder in `results`, read (nothing is written), sorted by experiment and then by when
    it finished; folders and files that are no results folders are left out.

    Raises:
      ValueError: `results` does not exist or is not a folder.
    """
    root = Path(results)
    if not root.exists():
        raise ValueError(f"results folder {root} does not exist; {HOW_TO_RUN}")
    if not root.is_dir():
        raise ValueError(f"results folder {root} is not a folder")
    if is_run_folder(root):
        raise ValueError(f"{root} is the folder of one run; give the results folder that holds it: "
                         f"--results {root.parent}")  # fmt: skip
    found = [read_run(p) for p in sorted(root.iterdir()) if is_run_folder(p)]
    return sorted(found, key=lambda r: (r.experiment, r.written is None, r.written or 0.0, r.folder.name))


def read_run(folder: Path) -> StoredRun:
    """What one results folder holds (see `StoredRun`); a damaged or unfinished folder is described, never
    raised."""
    folder = Path(folder)
    match = RUN_FOLDER.match(folder.name)
    if match is None:
        raise ValueError(f"{folder.name} is not named <experiment>-<config hash>")
    name, digest = match.group("name"), match.group("hash")
    summary_path = folder / "summary.json"
    written = _mtime(summary_path)
    config = _read_json(folder / "config.json")
    seeds = _seeds_of(config)
    if name not in REGISTRY:
        return StoredRun(folder, name, "unregistered", seeds=seeds or (), written=written,
                         config=config if isinstance(config, dict) else None)  # fmt: skip
    if not isinstance(config, dict) or seeds is None or _digest(config) != digest:
        return StoredRun(folder, name, "damaged", why="config")
    exp = get_experiment(name)
    profile, overrides = closest_profile(name, config)
    known = StoredRun(folder, name, "incomplete", profile=profile, overrides=tuple(overrides), seeds=seeds,
                      config=config)  # fmt: skip
    cfg = _rebuild(exp.profiles[profile], config)
    if cfg is None or config_hash(cfg) != digest:
        return dataclasses.replace(known, state="other version", summary=_read_summary(summary_path), written=written)
    store = RunStore(folder.parent, name, cfg, exp.Row)
    known = dataclasses.replace(known, run_config=cfg)
    try:
        gen = store.current() or _pending(folder)
    except CorruptResults:
        return dataclasses.replace(known, state="damaged", why="pointer")
    done = sum(store.has_part(gen, s) for s in seeds) if gen else 0
    known = dataclasses.replace(known, done=done, store=store, generation=gen)
    if not summary_path.exists() or done < len(seeds):
        return known
    summary = _read_summary(summary_path)
    if summary is None:
        return dataclasses.replace(known, state="damaged", why="summary")
    if gen is not None and any(store.check_files(gen, s) for s in seeds):  # a checkpoint replaced or cut
        return dataclasses.replace(known, state="damaged", why="files")
    return dataclasses.replace(known, state="finished", summary=summary, written=written)


def closest_profile(name: str, config: dict) -> tuple[str, list[str]]:
    """(the profile of `name` whose config differs from `config` in the fewest fields, the `--set key=value`
    assignments that turn it into `config`), the seeds apart (they break a tie: the profile with the same seeds
    wins, then the first). Keys are dotted (`world.vocab_size=500`), in the config's order."""
    stored = _flatten(config)
    best: tuple[tuple[int, bool], str, list[str]] | None = None
    for profile, cfg in get_experiment(name).profiles.items():
        ref = _flatten(loads(dumps(to_dict(cfg))))
        differ = [k for k in stored if k != "seeds" and (k not in ref or dumps(stored[k]) != dumps(ref[k]))]
        differ += [k for k in ref if k not in stored]
        rank = (len(differ), dumps(stored.get("seeds")) != dumps(ref.get("seeds")))
        if best is None or rank < best[0]:
            best = (rank, profile, [f"{k}={set_text(stored[k])}" for k in differ if k in stored])
    if best is None:
        raise ValueError(f"{name} has no profiles")
    return best[1], best[2]


def set_text(value: Any) -> str:
    """A config value as `--set` reads it back: true/false, none, a comma-separated list, a float's shortest
    exact text (an integral float as an integer)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ",".join(set_text(v) for v in value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


def seeds_text(seeds: Sequence[int]) -> str:
    """Seeds as `natural-tasks sweep --seeds` reads them: runs of three or more as a range (0-31, 0,2,5, 0-3,7)."""
    out: list[str] = []
    i = 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        out += [f"{seeds[i]}-{seeds[j]}"] if j - i >= 2 else [str(s) for s in seeds[i : j + 1]]
        i = j + 1
    return ",".join(out)


def verdict_counts(claims: Iterable[dict], ids: bool = True) -> str:
    """'5 PASS, 1 FAIL (id), 0 INCONCLUSIVE': each verdict's count and (with `ids`) the ids of those that are not
    PASS."""
    claims = list(claims)
    out = []
    for verdict in VERDICTS:
        named = [c["id"] for c in claims if c["verdict"] == verdict]
        out.append(
            f"{len(named)} {verdict}" + (f" ({', '.join(named)})" if ids and named and verdict != "PASS" else "")
        )
    return ", ".join(out)


def format_runs(runs: Sequence[StoredRun], results: str | Path) -> str:
    """The stored runs as a text table (`COLUMNS`) and a line of totals; for none, how to make some."""
    if not runs:
        return f"no stored runs in {results}; {HOW_TO_RUN}"
    rows = [list(COLUMNS), *(r.cells() for r in runs)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines += ["", _totals(runs, results)]
    if any(r.state == "incomplete" for r in runs):
        lines.append("an incomplete run resumes where it stopped when the command that made it is run again")
    if any(r.state == "damaged" for r in runs):
        lines.append("a damaged folder: rerun its command with --force, or delete the folder")
    return "\n".join(lines)


def _totals(runs: Sequence[StoredRun], results: str | Path) -> str:
    states: dict[str, int] = {}
    for r in runs:
        states[r.state] = states.get(r.state, 0) + 1
    return f"{len(runs)} stored run(s) in {results}: " + ", ".join(f"{n} {s}" for s, n in states.items())


def load_rows(run: StoredRun) -> list:
    """The rows of a finished run, every seed's part checked against its manifest (as the runner reads them).

    Raises:
      CorruptResults: a part is damaged (the message names it).
      ValueError: the run is not finished.
    """
    if run.state != "finished" or run.store is None or run.generation is None:
        raise ValueError(f"{run.folder} holds no finished run ({run.verdicts})")
    rows: list = []
    for seed in run.seeds:
        rows += run.store.load_part(run.generation, seed)[0]
    return rows


def write_report(
    runs: Sequence[StoredRun],
    out: str | Path,
    results: str | Path = "results",
    on_run: Callable[[StoredRun], None] = lambda run: None,
) -> Path:
    """Write the report page of `runs` to `out`: the contents, then one section per finished run with its figures
    redrawn from its checked rows and embedded as PNG, its claims and its config's difference from its profile.
    `on_run` is called before each section is drawn.

    Raises:
      ValueError: before anything is drawn, when `out` is not a file this command may write
      (`simulations.runs.check_output_path`: a new file, or a page natural-tasks wrote there before; never a
      folder, a link, a device, a FIFO, someone else's file or a path inside a results folder).
    """
    out = check_output_path(out, "report --out")
    sections = []
    checked = [_checked(run) if run.state == "finished" else (run, None) for run in runs]
    runs = [run for run, _ in checked]
    with tempfile.TemporaryDirectory(prefix="natural-tasks-report-") as tmp:
        for run, rows in checked:
            if run.state == "finished":
                on_run(run)
                sections.append(_section(run, rows, Path(tmp) / run.folder.name))
    page = _page(runs, results, sections)
    atomic_write(out, lambda fh: fh.write(page.encode()), binary=True)
    return out


# -- reading --------------------------------------------------------------------------------------------------------
def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _read_json(path: Path) -> Any:
    """Strict JSON from a regular file of at most `MAX_JSON_BYTES` (never a FIFO, a device or a link); None
    otherwise."""
    text = read_regular(path)
    try:
        return loads(text) if text is not None else None
    except ValueError:
        return None


def _read_summary(path: Path) -> dict | None:
    """The summary, or None when it is missing or not one (unreadable, not JSON, claims without id or verdict)."""
    summary = _read_json(path)
    claims = summary.get("claims") if isinstance(summary, dict) else None
    if not isinstance(claims, list):
        return None
    if not all(isinstance(c, dict) and isinstance(c.get("id"), str) and c.get("verdict") in VERDICTS for c in claims):
        return None
    return summary


def _seeds_of(config: Any) -> tuple[int, ...] | None:
    seeds = config.get("seeds") if isinstance(config, dict) else None
    if not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        return None
    return tuple(seeds)


def _digest(config: dict) -> str:
    """The hash naming the folder of `config` (as `simulations.core.config_hash` hashes a config's dict)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def _pending(folder: Path) -> str | None:
    """The generation an unfinished first run is computing into (named by the store's `pending` file)."""
    name = (read_regular(folder / "pending", 256) or "").strip()
    return name if re.fullmatch(r"gen-\d+", name) and (folder / name).is_dir() else None


def _flatten(config: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _rebuild(template: RunConfig, config: dict) -> RunConfig | None:
    """The config dataclass holding `config` (validated), built on a profile's; None when their fields differ."""
    try:
        return _replace(template, config)
    except (TypeError, ValueError):
        return None


def _replace(template: Any, data: Any) -> Any:
    fields = dataclasses.fields(template)
    if not isinstance(data, dict) or set(data) != {f.name for f in fields}:
        raise ValueError("the fields differ")
    changes = {}
    for f in fields:
        if f.init:
            current = getattr(template, f.name)
            is_group = dataclasses.is_dataclass(current) and not isinstance(current, type)
            changes[f.name] = _replace(current, data[f.name]) if is_group else _tuples(data[f.name])
    return dataclasses.replace(template, **changes)


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


# -- the page -------------------------------------------------------------------------------------------------------
def _e(text: Any) -> str:
    return html.escape(str(text))


def _checked(run: StoredRun) -> tuple[StoredRun, list | None]:
    """(the run, its rows): its summary recomputed from its checked parts; "damaged" when a part is, or when the
    stored summary differs from the recomputed one (a hand-edited or truncated field, named). A run of another
    package version keeps its stored summary (its claims may differ by design) and is drawn if it can be."""
    if run.store is None or run.generation is None or run.run_config is None:
        return run, None
    try:
        rows, fresh = stored_summary(run.experiment, run.run_config, run.store, run.generation)
    except CorruptResults as err:
        return dataclasses.replace(run, state="damaged", why=f"parts: {err}"), None
    except Exception as err:  # a part that parses but holds what no run writes
        return dataclasses.replace(run, state="damaged", why=f"parts: {type(err).__name__}: {err}"), None
    stored = run.summary or {}
    if stored.get("package_version") != __version__:
        return run, rows
    field = _first_difference(loads(dumps(fresh)), stored)
    if field:
        return dataclasses.replace(run, state="damaged", why=f"summary: {field} differs from its rows"), None
    return dataclasses.replace(run, summary=fresh), rows


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    """The dotted path of the first place where `a` and `b` (JSON values) differ; "" when they are equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}{key}"
            if found := _first_difference(a[key], b[key], f"{path}{key}."):
                return found
        return ""
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if found := _first_difference(x, y, f"{path}{i}."):
                return found
        return ""
    return "" if a == b else (path.rstrip(".") or "the summary")


def _section(run: StoredRun, rows: list | None, folder: Path) -> str:
    try:
        return _section_of(run, rows, folder)
    except Exception as err:  # a stored summary of another version that this code cannot show
        return (f'<section id="{_e(run.folder.name)}"><h2>{_e(run.experiment)}</h2><p class="problem">Not shown: '
                f"its stored summary cannot be read by this version ({_e(type(err).__name__)}: {_e(err)})</p>"
                '<p class="up"><a href="#contents">back to the contents</a></p></section>')  # fmt: skip


def _section_of(run: StoredRun, rows: list | None, folder: Path) -> str:
    assert run.summary is not None
    exp = get_experiment(run.experiment)
    name, summary = run.experiment, run.summary
    parts = [f'<section id="{_e(run.folder.name)}">',
             f"<h2>{_e(name)} <small>{_e(run.profile)} profile · seeds {_e(seeds_text(run.seeds))}</small></h2>",
             f"<p class=\"title\">{_e(exp.title)}</p>",
             f"<p class=\"meta\">{_e(verdict_counts(summary['claims']))} · {_e(summary.get('n_rows', '?'))} rows · "
             f"{_e(summary.get('seconds', '?'))} s of work · finished {_e(run.when)} · natural-tasks "
             f"{_e(summary.get('package_version', '?'))} · folder <code>{_e(run.folder.name)}</code></p>"]  # fmt: skip
    parts += _figures(run, rows, folder)
    parts += _claims(summary["claims"])
    parts += _config(run)
    text = exp.report(summary)
    if text:
        parts.append(f"<details><summary>Numbers (as <code>natural-tasks run</code> prints them)</summary>"
                     f"<pre>{_e(text)}</pre></details>")  # fmt: skip
    parts.append('<p class="up"><a href="#contents">back to the contents</a></p></section>')
    return "\n".join(parts)


def _figures(run: StoredRun, rows: list | None, folder: Path) -> list[str]:
    try:
        paths = draw(run.experiment, load_rows(run) if rows is None else rows, run.summary or {}, folder)
    except CorruptResults as err:
        return [f'<p class="problem">No figure: {_e(err)}</p>']
    except Exception as err:  # one run's figure failing leaves the rest of the page
        return [f'<p class="problem">No figure: drawing it failed ({_e(type(err).__name__)}: {_e(err)})</p>']
    out = []
    pngs = [p for p in paths if p.suffix == ".png"]
    for i, png in enumerate(pngs, start=1):
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        which = f"figure {i} of {len(pngs)}" if len(pngs) > 1 else "figure"
        alt = f"{run.experiment} {which} ({run.profile} profile, seeds {seeds_text(run.seeds)}): {png.stem}"
        out.append(f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}">'
                   f"<figcaption>{_e(png.name)}</figcaption></figure>")  # fmt: skip
    return out or ['<p class="problem">No figure: the experiment drew no PNG.</p>']


def _claims(claims: list[dict]) -> list[str]:
    undecided = any(c["verdict"] == "INCONCLUSIVE" for c in claims)  # a column for the reasons, where there are some
    out = ['<table class="claims">',
           "<thead><tr><th>claim</th><th>verdict</th><th>statement</th><th>measured</th>"
           + ("<th>why undecided</th>" if undecided else "") + "</tr></thead><tbody>"]  # fmt: skip
    for c in claims:
        verdict = c["verdict"]
        reason = (c.get("reason") or "") if verdict == "INCONCLUSIVE" else ""
        out.append(f'<tr class="claim {verdict.lower()}"><td><code>{_e(c["id"])}</code></td>'
                   f'<td class="verdict">{_e(verdict)}</td><td>{_e(c.get("statement", ""))}</td>'
                   f"<td>{_e(c.get('measured', ''))}</td>" + (f"<td>{_e(reason)}</td>" if undecided else "")
                   + "</tr>")  # fmt: skip
    out.append("</tbody></table>")
    return out


def _config(run: StoredRun) -> list[str]:
    sets = " ".join(f"<code>{_e(s)}</code>" for s in run.overrides)
    differ = f"overrides: {sets}" if sets else "no overrides"
    return [f"<p class=\"config\">Config: the <strong>{_e(run.profile)}</strong> profile's, {differ}; seeds "
            f"<code>{_e(seeds_text(run.seeds))}</code>.</p>",
            f"<details><summary>Full config</summary><pre>{_e(dumps(run.config))}</pre></details>"]  # fmt: skip


def _contents(runs: Sequence[StoredRun]) -> list[str]:
    out = ['<table class="toc">', "<thead><tr>" + "".join(f"<th>{c}</th>" for c in COLUMNS) + "</tr></thead><tbody>"]
    for run in runs:
        cells = [_e(c) for c in run.cells()]
        if run.state == "finished":
            cells[-1] = f'<a href="#{_e(run.folder.name)}">{cells[-1]}</a>'
        verdicts = {c["verdict"] for c in run.summary["claims"]} if run.summary else set()
        style = ("fail" if "FAIL" in verdicts or run.state == "damaged" else "unfinished" if run.state != "finished"
                 else "inconclusive" if "INCONCLUSIVE" in verdicts else "")  # fmt: skip
        out.append(f'<tr class="{style}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return out


_STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; padding: 1em 2em;
       max-width: 1400px; color: #1a1a1a; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { margin-top: 2.2em; border-bottom: 2px solid #ccc; padding-bottom: 0.2em; }
h2 small { font-weight: normal; color: #555; font-size: 0.7em; }
section { border-top: 1px solid #eee; }
.meta, .title, .config { color: #333; }
code { font: 0.9em ui-monospace, "DejaVu Sans Mono", Menlo, monospace; background: #f3f3f3; padding: 0 0.2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
table.toc td { white-space: nowrap; }
table.toc td:nth-child(3), table.toc td:nth-child(5) { white-space: normal; }
tr.fail td { background: #fde0e0; }
tr.fail td.verdict { color: #a00000; font-weight: bold; }
tr.inconclusive td { background: #fff3d6; }
tr.inconclusive td.verdict { color: #8a5a00; font-weight: bold; }
tr.pass td.verdict { color: #17692b; }
tr.unfinished td { color: #666; font-style: italic; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #666; font-size: 0.85em; }
.problem { color: #a00000; font-weight: bold; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
details { margin: 0.5em 0; }
summary { cursor: pointer; color: #333; }
.up { font-size: 0.85em; }
"""


def _page(runs: Sequence[StoredRun], results: str | Path, sections: list[str]) -> str:
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    finished = sum(r.state == "finished" for r in runs)
    claims = [c for r in runs if r.state == "finished" and r.summary for c in r.summary["claims"]]
    title = f"natural-tasks: the stored runs of {results}"
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">' + MARKS[".html"].decode(),
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<header><h1>{_e(title)}</h1>",
        f"<p>{_e(_totals(runs, results))}; the finished runs' claims: {_e(verdict_counts(claims, ids=False))}. "
        "Each finished run's figures are redrawn from its stored rows; its claims and verdicts are those stored "
        f"with it. Written {_e(now)} by natural-tasks {_e(__version__)}.</p></header>",
        '<nav id="contents"><h2>Contents</h2>',
        *_contents(runs),
        "</nav>",
    ]
    if not finished:
        head.append("<p>No run here has finished yet: nothing to show beyond the contents.</p>")
    return "\n".join([*head, *sections, "</body></html>", ""])
