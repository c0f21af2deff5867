"""`natural-tasks show EXPERIMENT`: every setting of an experiment and what a sweep of it can plot.

Each config key (nested keys dotted, as `--set` and `--grid` take them) with its meaning, read from the config
classes' docstrings, its type, the range its check enforces (read from the check itself), and its value in each
profile; then the summary numbers `natural-tasks sweep --metric` can plot, read from a stored run of the
experiment (or from its tiny profile, computed into a temporary folder when none is stored).

The top floor of `simulations`: it reads the registry and `simulations.runs`.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import tempfile
import typing
from pathlib import Path
from typing import Any

from .experiments import get_experiment
from .runs import run_experiment, sweep, to_dict

#: A range check in a config's `__post_init__`: check_range("name", self.x, lo, hi, ...).
_CHECK = re.compile(
    r'check_ranges?\(\s*f?"(?P<name>[^"]+)",\s*self\.(?P<field>\w+),\s*(?P<lo>[^,()]+),\s*(?P<hi>[^,()]+)'
)
#: A docstring line naming a field: "  name: meaning" (or "name, other: meaning").
_DOC = re.compile(r"^\s{2,}(?P<names>[a-z_][a-z0-9_]*(?:,\s*[a-z_][a-z0-9_]*)*)\s*:\s*(?P<text>.+)$")


def _meanings(cls: type) -> dict[str, str]:
    """{field: the first line of its meaning} from the class docstring's "name: meaning" lines."""
    out: dict[str, str] = {}
    last: list[str] = []
    indent = 0  # of the line that named the fields in `last`
    for line in (inspect.getdoc(cls) or "").splitlines():
        depth = len(line) - len(line.lstrip(" "))
        m = _DOC.match("  " + line) if not line.startswith(" ") else _DOC.match(line)
        if last and line.strip() and depth > indent:  # a continuation line: deeper than its field's
            for name in last:
                if len(out[name]) < 300:
                    out[name] += " " + line.strip()
        elif m and not line.strip().endswith(":"):
            last, indent = [n.strip() for n in m["names"].split(",")], depth
            for name in last:
                out.setdefault(name, m["text"].strip())
        else:
            last = []
    return out


def _ranges(cls: type) -> dict[str, str]:
    """{field: "[lo, hi]"} from the range checks in the class's `__post_init__` source."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    return {m["field"]: f"[{m['lo'].strip()}, {m['hi'].strip()}]" for m in _CHECK.finditer(source)}


def config_keys(name: str) -> list[dict[str, Any]]:
    """Every config key of experiment `name`: dict(key, type, range, meaning, values: {profile: value})."""
    exp = get_experiment(name)
    profiles = exp.profiles
    first = next(iter(profiles.values()))
    rows: list[dict[str, Any]] = []

    def walk(cfg: Any, prefix: str, values: dict[str, Any]) -> None:
        cls = type(cfg)
        hints = typing.get_type_hints(cls)
        meanings: dict[str, str] = {}
        ranges: dict[str, str] = {}
        for base in reversed(cls.__mro__):  # a field documented on a base class (seeds, bootstrap) keeps its words
            if dataclasses.is_dataclass(base):
                meanings |= _meanings(base)
                ranges |= _ranges(base)
        for f in dataclasses.fields(cfg):
            value = getattr(cfg, f.name)
            per_profile = {p: getattr(v, f.name) for p, v in values.items()}
            if dataclasses.is_dataclass(value):
                walk(value, f"{prefix}{f.name}.", per_profile)
                continue
            kind = getattr(hints.get(f.name), "__name__", None) or str(hints.get(f.name, "")).replace("typing.", "")
            rows.append(dict(key=prefix + f.name, type=kind, range=ranges.get(f.name, ""),
                             meaning=meanings.get(f.name, ""), values=per_profile))  # fmt: skip

    walk(first, "", dict(profiles))
    return rows


def summary_metrics(name: str, results: str | Path = "results") -> tuple[list[str], str]:
    """(the numbers a sweep of `name` can plot, where they were read): from a stored run in `results`, or from
    the tiny profile computed into a temporary folder."""
    stored = sorted(Path(results).glob(f"{name}-*/summary.json")) if Path(results).is_dir() else []
    for path in stored:
        from .runs import loads

        try:
            summary = loads(path.read_text())
        except (OSError, ValueError):
            continue
        return sorted(sweep.metrics(summary)), f"read from {path}"
    with tempfile.TemporaryDirectory(prefix="natural-tasks-show-") as tmp:
        run = run_experiment(name, get_experiment(name).profiles["tiny"], tmp, progress=False)
        return sorted(sweep.metrics(run.summary)), "from the tiny profile, computed now (no stored run found)"


def show_text(name: str, results: str | Path = "results", width: int = 100) -> str:
    """The settings of `name` and the metrics a sweep can plot, as text for a terminal `width` wide."""
    exp = get_experiment(name)
    rows = config_keys(name)
    profiles = list(exp.profiles)
    lines = [_wrap(f"{name}: {exp.title}", width, "  "), "",
             "settings (--set KEY=VALUE, --grid KEY=V1,V2); values per profile:"]  # fmt: skip
    for r in rows:
        values = "  ".join(f"{p}={_value(r['values'][p])}" for p in profiles)
        head = f"  {r['key']} ({r['type']}{', in ' + r['range'] if r['range'] else ''})"
        lines.append(_wrap(head, width, "      "))
        if r["meaning"]:
            lines.append("      " + _wrap(r["meaning"], width - 6, "      "))
        lines.append("      " + _wrap(values, width - 6, "      "))
    metrics, where = summary_metrics(name, results)
    lines += ["", _wrap(f"summary numbers a sweep can plot (--metric), {where}:", width, "")]
    lines.append("  " + _wrap(", ".join(metrics), width - 2, "  "))
    lines += ["", _wrap(f"claims: {', '.join(exp.claim_statements)}", width, "  ")]
    return "\n".join(lines)


def _value(v: Any) -> str:
    v = to_dict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v
    if isinstance(v, tuple | list):
        return ",".join(map(str, v)) or "()"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _wrap(text: str, width: int, indent: str) -> str:
    import textwrap

    return textwrap.fill(text, width, subsequent_indent=indent, break_on_hyphens=False)
